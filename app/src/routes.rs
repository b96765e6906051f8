//! The route table. Pages render on the server only; what runs in the browser are the islands
//! inside them (forms, copy buttons), so following a link loads the next page from the server.

use crate::components::layout::ConsoleLayout;
use crate::pages::{
    account::AccountPage,
    account_forms::{AccountPasswordPage, RequestApplicationPage},
    admin_tokens::AdminTokensPage,
    administrator_delete::DeleteAdministratorPage,
    administrator_edit::EditAdministratorPage,
    administrator_new::AddAdministratorPage,
    administrators::AdministratorsPage,
    audit_log::AuditLogPage,
    client_confirm::{DeleteClientPage, DisableClientPage, RegenerateSecretPage},
    client_detail::ClientDetailPage,
    client_new::NewClientPage,
    clients_list::ClientsPage,
    dashboard::DashboardPage,
    deleted::DeletedPage,
    not_found::NotFoundPage,
    security_settings::SecuritySettingsPage,
    setup::SetupPage,
    sign_in::SignInPage,
    site_settings::SiteSettingsPage,
    sites::SitesPage,
    terms::TermsPage,
    webhooks::WebhooksPage,
};
use leptos::prelude::*;
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Routes},
    path,
};

/// Every console URL. Pages render fully on the server before the response starts
/// (`SsrMode::Async`), so redirects and status codes are always set in time.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFoundPage>
            <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
            <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
            <Route path=path!("/terms") view=TermsPage ssr=SsrMode::Async/>
            <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
            <Route path=path!("/account/applications/new") view=RequestApplicationPage ssr=SsrMode::Async/>
            <Route path=path!("/account/password") view=AccountPasswordPage ssr=SsrMode::Async/>
            <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/clients") view=ClientsPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/new") view=NewClientPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id") view=ClientDetailPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/regenerate") view=RegenerateSecretPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/disable") view=DisableClientPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/delete") view=DeleteClientPage ssr=SsrMode::Async/>
                <Route path=path!("/administrators") view=AdministratorsPage ssr=SsrMode::Async/>
                <Route path=path!("/administrators/new") view=AddAdministratorPage ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id") view=EditAdministratorPage ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id/delete") view=DeleteAdministratorPage ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id/security") view=SecuritySettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/sites") view=SitesPage ssr=SsrMode::Async/>
                <Route path=path!("/sites/:id") view=SiteSettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=AuditLogPage ssr=SsrMode::Async/>
                <Route path=path!("/deleted") view=DeletedPage ssr=SsrMode::Async/>
                <Route path=path!("/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                <Route path=path!("/api-tokens") view=AdminTokensPage ssr=SsrMode::Async/>
            </ParentRoute>
        </Routes>
    }
}
