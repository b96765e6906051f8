//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use app::server::{AppState, entities::site_scope};
use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
use serde_json::json;

/// The authorization server's metadata. Scopes are the union of every site's catalogue.
pub async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = state.settings.public_url.as_str();
    let scopes: Vec<String> = site_scope::Entity::find()
        .select_only()
        .column(site_scope::Column::Name)
        .distinct()
        .order_by_asc(site_scope::Column::Name)
        .into_tuple()
        .all(&state.db)
        .await
        .unwrap_or_else(|_| vec!["profile".to_owned()]);
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let mut response = Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/terms"),
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
