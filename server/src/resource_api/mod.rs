//! The protected resource: what an access token is for.

pub mod me;

use app::server::AppState;
use axum::{Router, routing::get};

/// The protected API's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me::me))
}
