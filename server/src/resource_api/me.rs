//! `GET /api/v1/me`: the API user's profile, for an access token with the `profile` scope,
//! in the `Authorization` header only: `Bearer` (RFC 6750 §2.1, errors per §3), or `DPoP`
//! with a proof for a DPoP-bound token (RFC 9449 §7, errors per §7.1). A client credentials
//! token gets its client's identity instead (`client_id`, `site`, `scope`, no user fields).

use app::server::{
    AppState,
    crypto::dpop::PROOF_ALGORITHMS,
    services::oauth::{
        bearer::{self, BearerError, Presented},
        dpop::Refusal,
    },
};
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::bearer_header::{BearerCredential, bearer_token};
use crate::dpop_header;

/// The scope this endpoint needs.
const SCOPE: &str = "profile";

/// This endpoint's path, under the public URL (a DPoP proof's `htu`).
const PATH: &str = "/api/v1/me";

/// The scheme a refusal is answered in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// The `DPoP` challenge (RFC 9449 §7.1), with the algorithms proofs may use.
fn dpop_challenge(error: Option<(&str, &str)>) -> String {
    let algs = PROOF_ALGORITHMS.join(" ");
    match error {
        Some((code, description)) => {
            format!("DPoP error=\"{code}\", error_description=\"{description}\", algs=\"{algs}\"")
        }
        None => format!("DPoP algs=\"{algs}\""),
    }
}

/// A refusal with its challenges: the scheme the client used first, and the other one offered
/// too, so a client learns that both are accepted (RFC 9110 §11.6.1).
fn challenge(status: StatusCode, scheme: Scheme, error: Option<(&str, &str)>) -> Response {
    let bearer = match error {
        Some((code, description)) => format!(
            "Bearer realm=\"latchkey\", error=\"{code}\", error_description=\"{description}\""
        ),
        None => "Bearer realm=\"latchkey\"".to_owned(),
    };
    let (first, second) = match scheme {
        Scheme::Bearer => (bearer, dpop_challenge(None)),
        Scheme::Dpop => (
            dpop_challenge(error),
            "Bearer realm=\"latchkey\"".to_owned(),
        ),
    };
    let mut response = status.into_response();
    for value in [first, second] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, value);
        }
    }
    crate::oauth_endpoints::response::no_store(response)
}

/// Returns the profile of the API user the token speaks for, or its client's identity.
pub async fn me(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    let url = format!("{}{PATH}", state.settings.public_url);
    let (presented, scheme) = match bearer_token(&headers) {
        BearerCredential::Token(token) => (Presented::Bearer(token), Scheme::Bearer),
        BearerCredential::Dpop(token) => (
            Presented::Dpop {
                token,
                proof: dpop_header::proof_header(&headers),
                // axum answers HEAD here too: the proof names the method actually used.
                method: method.as_str(),
                url: &url,
            },
            Scheme::Dpop,
        ),
        BearerCredential::Absent => {
            // No credentials: plain challenges, no error code (RFC 6750 §3.1).
            return challenge(StatusCode::UNAUTHORIZED, Scheme::Bearer, None);
        }
        BearerCredential::Malformed => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                Scheme::Bearer,
                Some(("invalid_token", "the access token is malformed")),
            );
        }
        BearerCredential::Repeated => {
            return challenge(
                StatusCode::BAD_REQUEST,
                Scheme::Bearer,
                Some(("invalid_request", "send one Authorization header")),
            );
        }
    };
    match bearer::authorize(&state, &presented, SCOPE, state.clock.now()).await {
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
            let response = crate::oauth_endpoints::response::json(body);
            match scheme {
                Scheme::Dpop => dpop_header::with_nonce(&state, response),
                Scheme::Bearer => response,
            }
        }
        Ok(Err(BearerError::InvalidToken(description))) => challenge(
            StatusCode::UNAUTHORIZED,
            scheme,
            Some(("invalid_token", description)),
        ),
        Ok(Err(BearerError::InsufficientScope(scope))) => {
            let mut response = challenge(StatusCode::FORBIDDEN, scheme, None);
            let value = match scheme {
                Scheme::Bearer => format!(
                    "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"{scope}\""
                ),
                Scheme::Dpop => format!(
                    "DPoP error=\"insufficient_scope\", scope=\"{scope}\", algs=\"{}\"",
                    PROOF_ALGORITHMS.join(" ")
                ),
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Ok(Err(BearerError::Proof(refusal))) => {
            let response = challenge(
                StatusCode::UNAUTHORIZED,
                Scheme::Dpop,
                Some((refusal.code(), refusal.description())),
            );
            match refusal {
                Refusal::UseNonce => dpop_header::with_nonce(&state, response),
                Refusal::Invalid(_) => response,
            }
        }
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
