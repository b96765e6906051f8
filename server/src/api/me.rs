//! `GET /api/v1/me`: the API user's profile, for a bearer token with the `profile` scope
//! (RFC 6750 §2.1 header only; errors per §3).

use app::server::{
    AppState,
    services::oauth::bearer::{self, BearerError},
};
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// The scope this endpoint needs.
const SCOPE: &str = "profile";

fn challenge(status: StatusCode, value: String) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    crate::oauth::response::no_store(response)
}

/// The bearer token of `Authorization: Bearer <token>`, if the header has that form.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Returns the profile of the API user the token speaks for.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer_token(&headers) else {
        // No credentials: a plain challenge, no error code (RFC 6750 §3.1).
        return challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"latchkey\"".into());
    };
    match bearer::authorize(&state, token, SCOPE, state.clock.now()).await {
        Ok(Ok(authorized)) => crate::oauth::response::json(json!({
            "username": authorized.username,
            "email": authorized.email,
            "site": authorized.site_name,
            "client_id": authorized.client_id,
            "scope": authorized.scope,
        })),
        Ok(Err(BearerError::InvalidToken(description))) => challenge(
            StatusCode::UNAUTHORIZED,
            format!(
                "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"{description}\""
            ),
        ),
        Ok(Err(BearerError::InsufficientScope(scope))) => challenge(
            StatusCode::FORBIDDEN,
            format!("Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"{scope}\""),
        ),
        Err(error) => {
            let error = app::server::oauth::OAuthError::from(error);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "server_error", "error_description": error.description})),
            )
                .into_response()
        }
    }
}
