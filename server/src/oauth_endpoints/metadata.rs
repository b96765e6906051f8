//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use app::{domain::ScopeName, server::AppState};
use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// The authorization server's metadata. `scopes_supported` names only the scope of Latchkey's
/// own API (`profile`), which every site has: a site's own catalogue is that site's business,
/// and an unauthenticated document must not list the scope names of every tenant (RFC 8414
/// lets a server omit scopes it does not want to advertise). Each site's scopes are shown on
/// its authorization prompt.
pub async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = state.settings.public_url.as_str();
    let scopes = [ScopeName::PROFILE];
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
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        // The `prompt` values the authorization endpoint honours (OpenID Connect's name).
        "prompt_values_supported": ["none", "login", "consent"],
        "service_documentation": format!("{issuer}/terms"),
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
