//! The one place OAuth errors and token responses become HTTP (RFC 6749 §5.1, §5.2): JSON
//! bodies, status codes, `WWW-Authenticate` for `invalid_client`, and `no-store` caching.

use app::server::{
    protocol::{ErrorCode, OAuthError},
    services::oauth::issue::IssuedTokens,
};
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Marks a response as never cacheable (tokens and errors about them).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An error of the token, revocation or introspection endpoint.
pub fn error(error: &OAuthError) -> Response {
    let status = match error.code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = (
        status,
        Json(json!({"error": error.code.as_str(), "error_description": error.description})),
    )
        .into_response();
    if error.code == ErrorCode::InvalidClient {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latchkey\""),
        );
    }
    no_store(response)
}

/// A successful token response.
pub fn tokens(issued: &IssuedTokens) -> Response {
    let mut body = json!({
        "access_token": issued.access_token.expose(),
        // A token bound to a DPoP key is no bearer token (RFC 9449 §5).
        "token_type": if issued.dpop_jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": issued.expires_in,
        "scope": issued.scope.to_string(),
    });
    // The client credentials grant issues none (RFC 6749 §4.4.3).
    if let Some(refresh_token) = &issued.refresh_token {
        body["refresh_token"] = refresh_token.expose().into();
    }
    no_store(Json(body).into_response())
}

/// A JSON body with `no-store`.
pub fn json(value: serde_json::Value) -> Response {
    no_store(Json(value).into_response())
}
