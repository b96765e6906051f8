//! Console endpoints that are plain HTTP rather than pages or server functions: downloads.

pub mod audit_export;

use app::server::AppState;
use axum::{Router, routing::get};

/// The console's plain HTTP routes (they need the session layer).
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit/export.csv", get(audit_export::export_csv))
}
