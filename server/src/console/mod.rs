//! Console endpoints that are plain HTTP rather than pages or server functions: downloads.

pub mod audit_export;

use app::server::AppState;
use axum::{Router, routing::post};

/// The console's plain HTTP routes (they need the session layer).
pub fn routes() -> Router<AppState> {
    // A POST with the anti-forgery token: an export is audited (it changes state), so a
    // cross-site page must not be able to trigger one with a link or an image.
    Router::new().route("/audit/export.csv", post(audit_export::export_csv))
}
