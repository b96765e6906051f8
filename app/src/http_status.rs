//! Setting the HTTP status of a server-rendered page from a component (no-op in the browser).

/// Marks the page being rendered as 404 Not Found.
pub fn not_found() {
    #[cfg(feature = "ssr")]
    crate::server::ctx::set_status(http::StatusCode::NOT_FOUND);
}
