//! Signing in and out, first-run setup, the site switcher, and what the console shell needs to
//! know about the current session.

use super::SiteOption;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What every console page needs: who is signed in, the anti-forgery token its forms echo,
/// and the site the console is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The administrator's user id (their own account page).
    pub user_id: Uuid,
    /// The administrator's username.
    pub username: String,
    /// Anti-forgery token; every mutating form sends it back as `csrf`.
    pub csrf: String,
    /// Sites they administer.
    pub sites: Vec<SiteOption>,
    /// The selected site.
    pub site: SiteOption,
    /// The sign-in is older than the re-authentication window: forms that need a recent
    /// password show the field from the start (without JavaScript nothing else could).
    pub needs_password: bool,
}

/// Anyone: the current console session, or `None` when not signed in.
#[server(endpoint = "get_console_session")]
pub async fn get_console_session() -> Result<Option<ConsoleSession>, ConsoleError> {
    use crate::server::ctx;
    let Some(admin) = ctx::current_admin().await? else {
        return Ok(None);
    };
    let option = |site: &crate::server::entities::site::Model| SiteOption {
        id: site.id,
        name: site.name.clone(),
    };
    Ok(Some(ConsoleSession {
        user_id: admin.user.id,
        username: admin.user.username.clone(),
        csrf: admin.session_data.csrf_token.clone(),
        sites: admin.sites.iter().map(option).collect(),
        site: option(&admin.site),
        needs_password: !admin.recently_authenticated(),
    }))
}

/// Anyone: true while Latchkey has no administrator yet (first run).
#[server(endpoint = "get_setup_needed")]
pub async fn get_setup_needed() -> Result<bool, ConsoleError> {
    use crate::server::{ctx, services::setup};
    let state = ctx::app_state()?;
    Ok(setup::needs_setup(&state.db).await?)
}

/// Anyone holding the setup token from the server log, once: creates the first site and
/// administrator, then signs them in.
#[server(endpoint = "complete_setup")]
pub async fn complete_setup(
    setup_token: String,
    site_name: String,
    username: String,
    email: String,
    password: String,
) -> Result<(), ConsoleError> {
    use crate::domain::{EmailAddress, NewPassword, SiteName, Username};
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::setup};

    let state = ctx::app_state()?;
    let mut errors = FieldErrors::new();
    let site_name = errors.check("site_name", SiteName::parse(&site_name));
    let username_parsed = errors.check("username", Username::parse(&username));
    let email = errors.check("email", EmailAddress::parse(&email));
    let password = errors.check("password", NewPassword::parse(&password, &username));
    if setup_token.trim().is_empty() {
        errors.push(
            "setup_token",
            "Setup token is required: copy it from the server log.",
        );
    }
    let (site_name, username, email, password) =
        errors.finish_with((site_name, username_parsed, email, password))?;
    let request = setup::SetupRequest {
        token: setup_token,
        site_name,
        username,
        email,
        password,
    };
    let admin = setup::complete(&state, request, ctx::client_address().await).await?;
    ctx::start_session(&admin).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Anyone: signs an administrator in and goes to `next` (a path on this site) or the dashboard.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::sign_in};
    let state = ctx::app_state()?;
    let result =
        sign_in::sign_in_admin(&state, &username, &password, ctx::client_address().await).await;
    if let Err(crate::server::ServiceError::Throttled { .. }) = &result {
        ctx::set_status(http::StatusCode::TOO_MANY_REQUESTS);
    }
    let user = result?;
    ctx::start_session(&user).await?;
    leptos_axum::redirect(&ctx::safe_next_path(next.as_deref()));
    Ok(())
}

/// A signed-in administrator: ends the session.
#[server(endpoint = "sign_out")]
pub async fn sign_out(csrf: String) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::sign_in};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    sign_in::record_sign_out(&admin.state, &admin.acting(), admin.user.id).await?;
    admin.end_session().await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// A signed-in administrator: ends every one of their console sessions, on every device,
/// this one included.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere(csrf: String) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::account};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    account::end_own_sessions(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        admin.state.clock.now(),
    )
    .await?;
    admin.end_session().await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// A signed-in administrator: scopes the console to another site they administer.
#[server(endpoint = "select_site")]
pub async fn select_site(csrf: String, site_id: Uuid) -> Result<(), ConsoleError> {
    use crate::server::ctx;
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin.select_site(site_id).await
}
