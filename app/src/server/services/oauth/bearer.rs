//! Bearer access tokens at the protected API (RFC 6750): is this token good for this scope,
//! and on whose behalf?

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    services::{
        oauth::{
            access_tokens::{self, Lookup},
            jwt_access,
        },
        site_resources,
    },
};
use uuid::Uuid;

/// Why a bearer token was refused (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerError {
    /// `invalid_token` (HTTP 401): malformed, unknown, expired or revoked.
    InvalidToken(&'static str),
    /// `insufficient_scope` (HTTP 403): the token lacks this scope.
    InsufficientScope(&'static str),
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

/// Checks `token` (opaque, or a JWT Latchkey signed) and that it carries `required_scope`.
/// Malformed tokens (wrong prefix or checksum, a JWT whose signature does not check out) are
/// refused before any lookup.
pub async fn authorize(
    state: &AppState,
    token: &str,
    required_scope: &'static str,
    now: Timestamp,
) -> Result<Result<Authorized, BearerError>, ServiceError> {
    use BearerError::InvalidToken;
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
