//! The authorization server's HTTP endpoints: axum glue only. Each handler reads the request,
//! calls a service in `app::server::services::oauth`, and renders the result; all protocol
//! decisions live in the services.
//!
//! Flow (RFC 6749 §4.1, the "6-step" workflow of the Roambi and Fishbowl pages):
//! 1. the client sends the browser to `GET /oauth/authorize` ([`authorize::show`]);
//! 2. the API user signs in on the prompt and clicks Authorize ([`authorize::decide`]);
//! 3. the browser is redirected to the client with `code` and `state`;
//! 4. the client exchanges the code at `POST /oauth/token` ([`token::token`]);
//! 5. it calls `GET /api/v1/me` with the access token (`crate::resource_api::me`);
//! 6. it refreshes at `POST /oauth/token`, revokes at `POST /oauth/revoke`, and may check
//!    tokens at `POST /oauth/introspect`.

pub mod authorize;
pub mod client_request;
pub mod introspect;
pub mod leaks;
pub mod metadata;
mod prompt_page;
pub mod response;
pub mod revoke;
pub mod token;

use app::server::AppState;
use axum::{
    Router,
    routing::{get, post},
};

/// The authorization prompt's route: it reads the browser's session (an API user signed in at
/// `/account` or by an earlier prompt), so the caller layers the session manager on it.
pub fn prompt_routes() -> Router<AppState> {
    Router::new().route(
        "/oauth/authorize",
        get(authorize::show).post(authorize::decide),
    )
}

/// The authorization server's other routes (no session: clients authenticate themselves).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/leaks", post(leaks::report))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/jwks.json", get(metadata::jwks))
}
