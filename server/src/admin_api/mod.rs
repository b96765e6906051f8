//! The admin REST API, `/admin/v1` (issue 22): what the console does, for automation, with an
//! admin API token (`Authorization: Bearer lkad_…`) instead of a session.
//!
//! Every route is declared through [`utoipa_axum`]'s `routes!`, which registers the handler
//! *and* its OpenAPI operation from the same `#[utoipa::path]`: a route cannot exist without
//! its documentation. The document is served at `/admin/v1/openapi.json`, and the integration
//! test drives every operation it lists against the running server.
//!
//! Errors are RFC 9457 problem details ([`problem::Problem`]). The handlers are glue: who is
//! calling ([`caller::Caller`]), parse the JSON, call the same services the console calls.

mod body;
mod caller;
mod client_registration;
mod clients;
mod credentials;
pub mod problem;
mod shared;
mod site_reads;
mod site_writes;

use app::server::AppState;
use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use std::sync::OnceLock;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The document's fixed parts; the operations come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey admin API",
        version = "1",
        description = "Manage a Latchkey site's API clients, their credentials and grants, and read its audit log, with an admin API token (Authorization: Bearer lkad_…). Errors are RFC 9457 problem details. Editing or deleting a client, and changing a site's settings, need If-Match with the ETag of its GET; registering a client, rotating a secret and creating a user accept an Idempotency-Key."
    ),
    modifiers(&AdminTokenScheme),
    tags(
        (name = "clients", description = "API clients"),
        (name = "credentials", description = "A client's secrets, grants and on/off switch"),
        (name = "sites", description = "Sites, their users, scopes and alerts"),
        (name = "audit", description = "The audit log"),
    )
)]
struct ApiDoc;

/// Declares the `admin_token` bearer scheme the operations name.
struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lkad_… admin API token")
                    .build(),
            ),
        );
    }
}

/// Every route with its operation, in one place.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(clients::list, client_registration::create))
        .routes(routes!(clients::read, clients::update, clients::delete))
        .routes(routes!(credentials::list_secrets, credentials::rotate))
        .routes(routes!(credentials::retire_secret))
        .routes(routes!(credentials::disable))
        .routes(routes!(credentials::enable))
        .routes(routes!(credentials::list_grants))
        .routes(routes!(credentials::revoke_grant))
        .routes(routes!(site_reads::sites))
        .routes(routes!(site_reads::site, site_writes::update_site))
        .routes(routes!(site_writes::disable_user))
        .routes(routes!(site_writes::enable_user))
        .routes(routes!(site_writes::delete_user))
        .routes(routes!(site_reads::site_users, site_writes::create_user))
        .routes(routes!(site_writes::set_roles))
        .routes(routes!(site_reads::site_scopes, site_writes::add_scope))
        .routes(routes!(site_writes::remove_scope))
        .routes(routes!(site_reads::site_alerts))
        .routes(routes!(site_reads::acknowledge_alert))
        .routes(routes!(site_reads::audit_events))
}

/// The OpenAPI 3.1 document, as served.
pub fn openapi_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, document) = documented().split_for_parts();
        document.to_pretty_json().unwrap_or_default()
    })
}

/// The admin API's routes, the document, and a problem-details 404 for anything else under
/// `/admin/v1`.
pub fn routes() -> Router<AppState> {
    let (router, _) = documented().split_for_parts();
    router
        .route("/admin/v1/openapi.json", get(document))
        .route("/admin/v1", any(unknown))
        .route("/admin/v1/{*rest}", any(unknown))
        .method_not_allowed_fallback(not_allowed)
}

/// Under `/admin/v1` every refusal is problem details, also those answered by layers around
/// the API (the 64 KiB body limit, the cross-site check, the panic catcher) before or instead
/// of a handler: a plain-text 4xx or 5xx there is rewritten as a problem with the same status.
pub async fn problems_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let admin = path == "/admin/v1" || path.starts_with("/admin/v1/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if !admin || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is over the 64 KiB limit.",
        StatusCode::FORBIDDEN => "Cross-site request refused.",
        _ => status.canonical_reason().unwrap_or("Refused."),
    };
    problem::Problem::new(status, None, detail).into_response()
}

async fn document() -> Response {
    let mut response = openapi_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_allowed() -> Response {
    problem::Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "This route does not take that method: see /admin/v1/openapi.json.",
    )
    .into_response()
}

async fn unknown() -> Response {
    problem::Problem::new(
        StatusCode::NOT_FOUND,
        None,
        "No such admin API route: see /admin/v1/openapi.json.",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    /// A route added with a plain `.route` would be served without being documented: only
    /// the document itself and the catch-all 404 may be.
    #[test]
    fn every_operation_goes_through_the_documented_router() {
        let needle = [".", "route("].concat();
        let sources = [
            include_str!("mod.rs"),
            include_str!("clients.rs"),
            include_str!("credentials.rs"),
            include_str!("site_reads.rs"),
            include_str!("site_writes.rs"),
            include_str!("shared.rs"),
            include_str!("caller.rs"),
            include_str!("body.rs"),
            include_str!("problem.rs"),
        ];
        let plain: usize = sources
            .iter()
            .map(|s| s.matches(needle.as_str()).count())
            .sum();
        assert_eq!(plain, 3, "undocumented routes in server/src/admin_api");
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_admin_token_scheme() {
        let document: serde_json::Value =
            serde_json::from_str(super::openapi_json()).unwrap_or_default();
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        );
        assert_eq!(
            document["components"]["securitySchemes"]["admin_token"]["scheme"],
            "bearer"
        );
        // A rotation's body is optional, as the handler treats it.
        let rotate = &document["paths"]["/admin/v1/clients/{client_id}/secrets"]["post"];
        assert_ne!(rotate["requestBody"]["required"], true, "{rotate}");
        assert!(rotate["responses"]["400"].is_object());
    }
}
