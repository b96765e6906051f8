//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and the keys that verify JWT
//! access tokens, `GET /.well-known/jwks.json` (RFC 7517).

use app::{
    domain::ScopeName,
    server::{AppState, crypto::dpop, services::signing_keys},
};
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
        // The keys that verify the JWT access tokens of sites that issue them (RFC 9068).
        "jwks_uri": signing_keys::jwks_uri(&state.settings),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        // DPoP proofs (RFC 9449 §5.1): the algorithms Latchkey verifies.
        "dpop_signing_alg_values_supported": dpop::PROOF_ALGORITHMS,
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

/// The published public keys (RFC 7517 §5): the key that signs JWT access tokens now, and the
/// retired ones whose tokens may not have expired yet. Cached for a minute at most, so a
/// resource server that meets an unknown `kid` after a rotation finds it on its next fetch.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let ring = match signing_keys::ring(&state).await {
        Ok(ring) => ring,
        Err(error) => {
            tracing::error!(%error, "loading the signing keys failed");
            return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut response = ring.jwks.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
