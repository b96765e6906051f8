//! Who is calling: the admin API token in `Authorization: Bearer`, checked on every request.
//! A read-only token is refused any method but GET (the one place that rule is enforced), and
//! every refusal looks the same from outside (401 `invalid_token`).

use super::problem::Problem;
use crate::bearer_header::{BearerCredential, bearer_token};
use app::server::{
    AppState,
    ctx::ClientAddress,
    services::admin_tokens::{self, AdminTokenGrant},
};
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{Method, StatusCode, request::Parts},
};

/// An authenticated admin API call.
#[derive(Debug, Clone)]
pub struct Caller(pub AdminTokenGrant);

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = match bearer_token(&parts.headers) {
            BearerCredential::Token(token) => token,
            BearerCredential::Repeated => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalid-request"),
                    "Send one Authorization header.",
                ));
            }
            BearerCredential::Absent | BearerCredential::Malformed | BearerCredential::Dpop(_) => {
                return Err(refused());
            }
        };
        let address = parts
            .extensions
            .get::<ClientAddress>()
            .map(|address| address.0.clone());
        let grant = match admin_tokens::authenticate(
            &state.db,
            &state.keys,
            token,
            address,
            state.clock.now(),
        )
        .await?
        {
            Ok(grant) => grant,
            Err(reason) => {
                tracing::info!(?reason, "admin API token refused");
                return Err(refused());
            }
        };
        if parts.method != Method::GET && parts.method != Method::HEAD && !grant.may_write {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                Some("read-only-token"),
                "This token may only read: create one with write access to change things.",
            ));
        }
        Ok(Self(grant))
    }
}

fn refused() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        Some("invalid-token"),
        "Send a live admin API token: Authorization: Bearer lkad_…",
    )
}
