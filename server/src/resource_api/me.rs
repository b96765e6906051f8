//! `GET /api/v1/me`: the API user's profile, for a bearer token with the `profile` scope
//! (RFC 6750 §2.1 header only; errors per §3). A client credentials token gets its client's
//! identity instead (`client_id`, `site`, `scope`, no user fields).

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

use crate::bearer_header::{BearerCredential, bearer_token};

/// The scope this endpoint needs.
const SCOPE: &str = "profile";

fn challenge(status: StatusCode, value: String) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    crate::oauth_endpoints::response::no_store(response)
}

/// Returns the profile of the API user the token speaks for, or its client's identity.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = match bearer_token(&headers) {
        BearerCredential::Token(token) => token,
        BearerCredential::Absent => {
            // No credentials: a plain challenge, no error code (RFC 6750 §3.1).
            return challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"latchkey\"".into());
        }
        BearerCredential::Malformed => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"the access token is malformed\"".into(),
            );
        }
        BearerCredential::Repeated => {
            return challenge(
                StatusCode::BAD_REQUEST,
                "Bearer realm=\"latchkey\", error=\"invalid_request\", error_description=\"send one Authorization header\"".into(),
            );
        }
    };
    match bearer::authorize(&state, token, SCOPE, state.clock.now()).await {
        Ok(Ok(authorized)) => {
            let mut body = json!({
                "site": authorized.site_name,
                "client_id": authorized.client_id,
                "scope": authorized.scope,
            });
            // A client credentials token speaks for its client alone: no user fields at all.
            if let (Some(username), Some(email)) = (authorized.username, authorized.email) {
                body["username"] = username.into();
                body["email"] = email.into();
            }
            crate::oauth_endpoints::response::json(body)
        }
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
            let error = app::server::protocol::OAuthError::from(error);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "server_error", "error_description": error.description})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer_token(&HeaderMap::new()), BearerCredential::Absent);
        assert_eq!(
            bearer_token(&with(&[b"Bearer lkat_x"])),
            BearerCredential::Token("lkat_x")
        );
        assert_eq!(
            bearer_token(&with(&[b"bEaReR lkat_x"])),
            BearerCredential::Token("lkat_x")
        );
        assert_eq!(
            bearer_token(&with(&[b"Basic abc"])),
            BearerCredential::Absent
        );
        // Non-ASCII bytes in a bearer token are a malformed token (RFC 6750 §3.1).
        assert_eq!(
            bearer_token(&with(&[b"Bearer lkat_\xc3\xa9x"])),
            BearerCredential::Malformed
        );
        assert_eq!(
            bearer_token(&with(&[b"Bearer \xff\xfe"])),
            BearerCredential::Malformed
        );
        assert_eq!(
            bearer_token(&with(&[b"Bearer a", b"Bearer b"])),
            BearerCredential::Repeated
        );
    }
}
