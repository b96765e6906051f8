//! Helpers for server functions: the app state, the console session, the signed-in
//! administrator, the anti-forgery check. The only module under `server` that uses Leptos;
//! what does not need Leptos lives in `console_session`.

use crate::error::ConsoleError;
pub use crate::server::account_session::AccountUser;
use crate::server::console_session::internal;
pub use crate::server::console_session::{Admin, ClientAddress, ConsoleSessionData};
use crate::server::{
    AppState, account_session, console_session,
    crypto::{constant_time_eq, random},
    entities::user,
};
use std::sync::Arc;
use tokio::sync::OnceCell;
use tower_sessions::Session;

/// The application state provided to every server function.
pub fn app_state() -> Result<AppState, ConsoleError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| ConsoleError::Internal {
        reference: "no-app-state".into(),
    })
}

async fn session() -> Result<Session, ConsoleError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|_| ConsoleError::Internal {
            reference: "no-session-layer".into(),
        })
}

/// The address of the current request, if the middleware recorded one.
pub async fn client_address() -> Option<String> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ClientAddress>().cloned())
        .map(|address| address.0)
}

/// The signed-in administrator of one request, resolved once. A page runs several server
/// functions (the shell's session, the page's data), and each would otherwise repeat the
/// session, user and site lookups. Provided fresh for every request; only GET requests use it,
/// since they change nothing that the administrator record reflects.
#[derive(Clone, Default)]
pub struct RequestAdmin(Arc<OnceCell<Option<Admin>>>);

/// The signed-in administrator, or `None` (no session, timed out, disabled, or no longer an
/// administrator anywhere; such sessions are ended).
pub async fn current_admin() -> Result<Option<Admin>, ConsoleError> {
    let load = || async {
        console_session::load(app_state()?, session().await?, client_address().await).await
    };
    let read_only = leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.method == http::Method::GET);
    match leptos::prelude::use_context::<RequestAdmin>().filter(|_| read_only) {
        Some(memo) => memo.0.get_or_try_init(load).await.cloned(),
        None => load().await,
    }
}

/// The signed-in administrator, or `Unauthenticated`.
pub async fn require_admin() -> Result<Admin, ConsoleError> {
    current_admin().await?.ok_or(ConsoleError::Unauthenticated)
}

/// The signed-in administrator, after checking the anti-forgery token a mutation echoed.
pub async fn require_admin_for_change(csrf: &str) -> Result<Admin, ConsoleError> {
    let admin = require_admin().await?;
    if constant_time_eq(admin.session_data.csrf_token.as_bytes(), csrf.as_bytes()) {
        Ok(admin)
    } else {
        Err(ConsoleError::CsrfRejected)
    }
}

/// Starts a fresh session for `user` (new id, so a planted session id is worthless).
pub async fn start_session(user: &user::Model) -> Result<(), ConsoleError> {
    let state = app_state()?;
    let session = session().await?;
    // One cookie never speaks for two people: an `/account` session of this browser ends.
    session.clear().await;
    session.cycle_id().await.map_err(internal)?;
    let now = state.clock.now().unix();
    let data = ConsoleSessionData {
        user_id: user.id,
        signed_in_at: now,
        authenticated_at: now,
        seen_at: now,
        csrf_token: random::token_256().map_err(ConsoleError::from)?,
        selected_site: None,
        generation: user.session_generation,
    };
    session
        .insert(console_session::SESSION_KEY, &data)
        .await
        .map_err(internal)
}

/// The API user signed in at `/account`, or `None` (see `account_session::load`).
pub async fn current_account() -> Result<Option<AccountUser>, ConsoleError> {
    account_session::load(app_state()?, session().await?, client_address().await).await
}

/// The API user signed in at `/account`, or `Unauthenticated`.
pub async fn require_account() -> Result<AccountUser, ConsoleError> {
    current_account()
        .await?
        .ok_or(ConsoleError::Unauthenticated)
}

/// The API user signed in at `/account`, after checking the anti-forgery token a mutation
/// echoed.
pub async fn require_account_for_change(csrf: &str) -> Result<AccountUser, ConsoleError> {
    let account = require_account().await?;
    if constant_time_eq(account.session_data.csrf_token.as_bytes(), csrf.as_bytes()) {
        Ok(account)
    } else {
        Err(ConsoleError::CsrfRejected)
    }
}

/// Starts a fresh `/account` session for `user` (new id; a console session of this browser
/// ends).
pub async fn start_account_session(user: &user::Model) -> Result<(), ConsoleError> {
    account_session::start(&app_state()?, &session().await?, user).await
}

/// The refusal a form posted without JavaScript left in this page's URL, if the server signed
/// it (see `console_session::url_error_signature`): (server function path, encoded error).
pub fn signed_url_error() -> Option<(String, String)> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    let state = leptos::prelude::use_context::<AppState>()?;
    console_session::verified_url_error(&state.keys, parts.uri.query()?)
}

/// Sets the HTTP status of the page or server-function response being built.
pub fn set_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Only same-site paths may be a post-sign-in destination (no open redirect).
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next_path;

    #[test]
    fn next_path_never_leaves_the_site() {
        assert_eq!(safe_next_path(Some("/clients?page=2")), "/clients?page=2");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/\nLocation: x",
        ] {
            assert_eq!(safe_next_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next_path(None), "/");
    }
}
