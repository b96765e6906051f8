//! Access tokens at the protected API, bearer (RFC 6750) or DPoP-bound (RFC 9449 §7): is this
//! token good for this scope, presented this way, and on whose behalf?

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    services::{
        oauth::{
            access_tokens::{self, Lookup},
            dpop::{self, ProofHeader, Refusal},
            jwt_access,
        },
        site_resources,
    },
};
use uuid::Uuid;

/// Why a token was refused (RFC 6750 §3.1, RFC 9449 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerError {
    /// `invalid_token` (HTTP 401): malformed, unknown, expired or revoked, or presented with
    /// the wrong scheme for its binding.
    InvalidToken(&'static str),
    /// `insufficient_scope` (HTTP 403): the token lacks this scope.
    InsufficientScope(&'static str),
    /// The DPoP proof was missing, refused, or by another key than the token's (HTTP 401).
    Proof(Refusal),
}

/// How the client presented its token.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449 §7.1).
    Dpop {
        /// The access token.
        token: &'a str,
        /// The request's `DPoP` header.
        proof: ProofHeader<'a>,
        /// The request's method.
        method: &'a str,
        /// The URL the request was made to (under the public URL), without query.
        url: &'a str,
    },
}

impl Presented<'_> {
    fn token(&self) -> &str {
        match self {
            Self::Bearer(token) | Self::Dpop { token, .. } => token,
        }
    }
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The API user's id; `None` for a client credentials token (the client acts for itself).
    pub user_id: Option<Uuid>,
    /// The API user's username.
    pub username: Option<String>,
    /// The API user's email address.
    pub email: Option<String>,
    /// The Consumer Key of the client holding the token.
    pub client_id: String,
    /// The name of the client's site.
    pub site_name: String,
    /// The token's scope (space-delimited).
    pub scope: String,
}

/// Checks the `presented` token (opaque, or a JWT Latchkey signed), its DPoP binding, and that
/// it carries `required_scope`. Malformed tokens (wrong prefix or checksum, a JWT whose
/// signature does not check out) are refused before any lookup; a proof is looked at (and
/// remembered) only for a live token bound to a key.
pub async fn authorize(
    state: &AppState,
    presented: &Presented<'_>,
    required_scope: &'static str,
    now: Timestamp,
) -> Result<Result<Authorized, BearerError>, ServiceError> {
    use BearerError::InvalidToken;
    let token = presented.token();
    let Some(key) = jwt_access::stored_key(state, token).await? else {
        return Ok(Err(InvalidToken("the access token is malformed")));
    };
    let facts = match access_tokens::look_up(state, &key, now).await? {
        Lookup::Live(facts) => facts,
        Lookup::Unknown => return Ok(Err(InvalidToken("the access token is unknown"))),
        Lookup::Revoked => return Ok(Err(InvalidToken("the access token was revoked"))),
        Lookup::Expired => return Ok(Err(InvalidToken("the access token expired"))),
        Lookup::UserDisabled | Lookup::RightsWithdrawn => {
            return Ok(Err(InvalidToken("the access token is no longer valid")));
        }
    };
    // A token narrowed to a resource server (RFC 8707) is good there only.
    if let Some(audience) = &facts.audience
        && !site_resources::is_own_resource(&state.settings, audience)
    {
        return Ok(Err(InvalidToken(
            "the access token is for another resource server",
        )));
    }
    match (presented, facts.dpop_jkt.as_deref()) {
        (Presented::Bearer(_), None) => {}
        // RFC 9449 §7.2: a bound token is no bearer token.
        (Presented::Bearer(_), Some(_)) => {
            return Ok(Err(InvalidToken(
                "the access token is bound to a DPoP key: send it with the DPoP scheme and a proof",
            )));
        }
        (Presented::Dpop { .. }, None) => {
            return Ok(Err(InvalidToken(
                "the access token is not DPoP-bound: send it with the Bearer scheme",
            )));
        }
        (
            Presented::Dpop {
                proof, method, url, ..
            },
            Some(bound),
        ) => {
            let ProofHeader::One(proof) = proof else {
                return Ok(Err(BearerError::Proof(Refusal::Invalid(
                    "send one DPoP proof with a DPoP-bound access token",
                ))));
            };
            let expected = crate::server::crypto::dpop::Expected {
                method,
                url,
                access_token: Some(token),
                key: Some(bound),
                now: now.unix(),
            };
            if let Err(refusal) = dpop::accept(state, proof, &expected).await? {
                return Ok(Err(BearerError::Proof(refusal)));
            }
        }
    }
    let scope = ScopeSet::parse(&facts.scope).unwrap_or_default();
    if !scope.contains(required_scope) {
        return Ok(Err(BearerError::InsufficientScope(required_scope)));
    }
    Ok(Ok(Authorized {
        user_id: facts.user_id,
        username: facts.username.clone(),
        email: facts.email.clone(),
        client_id: facts.client_id.clone(),
        site_name: facts.site_name.clone(),
        scope: facts.scope.clone(),
    }))
}
