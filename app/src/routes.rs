//! The route table, and the console areas its pages are split into.
//!
//! Every page is a lazy route of one console area: `cargo leptos --split` moves the area's code
//! into its own WASM chunk, which the browser loads the first time it shows one of its pages.
//! The server names the chunks the current page needs in `<link rel="modulepreload">`, so they
//! download alongside the main bundle rather than after it. What every page shares — the
//! layout, the router, the reactive runtime — stays in the main bundle.

use crate::components::layout::ConsoleLayout;
use crate::pages::{
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
    not_found::NotFoundPage,
    security_settings::SecuritySettingsPage,
    setup::SetupPage,
    sign_in::SignInPage,
    site_settings::SiteSettingsPage,
    sites::SitesPage,
    terms::TermsPage,
};
use leptos::prelude::*;
use leptos_router::{
    Lazy, LazyRoute, SsrMode,
    components::{ParentRoute, Route, Routes},
    path,
};

/// Declares one console area: `$pages`, a `#[lazy]` function that renders any of the area's
/// pages (so their code, and the code only they use, travels in one WASM chunk, which
/// `$preload` fetches), an enum `$page` naming them, and for each `$route => $variant:
/// $component` a lazily loaded route that renders `$component` through `$pages`.
///
/// Pages load their own data (resources inside the component), so `data()` has nothing to
/// start: on a client-side navigation to an area not yet loaded, its chunk arrives first and
/// the page's data request follows.
macro_rules! lazy_area {
    (
        $(#[$doc:meta])*
        $pages:ident($page:ident), $preload:ident {
            $($route:ident => $variant:ident: $component:ident),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        enum $page {
            $($variant),+
        }

        #[doc = concat!("Renders one page of `", stringify!($page), "` (a lazily loaded chunk).")]
        #[lazy]
        fn $pages(page: $page) -> AnyView {
            match page {
                $($page::$variant => view! { <$component/> }.into_any()),+
            }
        }

        $(
            #[doc = concat!("The route of [`", stringify!($component), "`].")]
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(_this: Self) -> AnyView {
                    $pages($page::$variant).await
                }

                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    $preload().await;
                }
            }
        )+
    };
}

lazy_area! {
    /// Pages seen before signing in.
    public_pages(PublicPage), __preload_public_pages {
        SetupRoute => Setup: SetupPage,
        SignInRoute => SignIn: SignInPage,
        TermsRoute => Terms: TermsPage,
    }
}

lazy_area! {
    /// The dashboard and the Audit Log.
    overview_pages(OverviewPage), __preload_overview_pages {
        DashboardRoute => Dashboard: DashboardPage,
        AuditLogRoute => AuditLog: AuditLogPage,
    }
}

lazy_area! {
    /// The API Clients tab and a client's pages.
    client_pages(ClientPage), __preload_client_pages {
        ClientsRoute => List: ClientsPage,
        NewClientRoute => New: NewClientPage,
        ClientDetailRoute => Detail: ClientDetailPage,
        RegenerateSecretRoute => RegenerateSecret: RegenerateSecretPage,
        DisableClientRoute => Disable: DisableClientPage,
        DeleteClientRoute => Delete: DeleteClientPage,
    }
}

lazy_area! {
    /// The Administrators tab and an administrator's pages.
    administrator_pages(AdministratorPage), __preload_administrator_pages {
        AdministratorsRoute => List: AdministratorsPage,
        AddAdministratorRoute => Add: AddAdministratorPage,
        EditAdministratorRoute => Edit: EditAdministratorPage,
        DeleteAdministratorRoute => Delete: DeleteAdministratorPage,
        SecuritySettingsRoute => Security: SecuritySettingsPage,
    }
}

lazy_area! {
    /// The Sites tab and a site's settings.
    site_pages(SitePage), __preload_site_pages {
        SitesRoute => List: SitesPage,
        SiteSettingsRoute => Settings: SiteSettingsPage,
    }
}

/// Every console URL. Pages render fully on the server before the response starts
/// (`SsrMode::Async`), so redirects and status codes are always set in time.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFoundPage>
            <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async/>
            <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
            <Route path=path!("/terms") view={Lazy::<TermsRoute>::new()} ssr=SsrMode::Async/>
            <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                <Route path=path!("") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients") view={Lazy::<ClientsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients/new") view={Lazy::<NewClientRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id") view={Lazy::<ClientDetailRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/regenerate") view={Lazy::<RegenerateSecretRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/disable") view={Lazy::<DisableClientRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id/delete") view={Lazy::<DeleteClientRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/administrators") view={Lazy::<AdministratorsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/administrators/new") view={Lazy::<AddAdministratorRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id") view={Lazy::<EditAdministratorRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id/delete") view={Lazy::<DeleteAdministratorRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/administrators/:id/security") view={Lazy::<SecuritySettingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sites") view={Lazy::<SitesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sites/:id") view={Lazy::<SiteSettingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/audit") view={Lazy::<AuditLogRoute>::new()} ssr=SsrMode::Async/>
            </ParentRoute>
        </Routes>
    }
}
