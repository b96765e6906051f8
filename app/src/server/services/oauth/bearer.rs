//! Bearer access tokens at the protected API (RFC 6750): is this token good for this scope,
//! and on whose behalf?

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{access_token, client, site, user},
};
use sea_orm::{ConnectionTrait, EntityTrait};

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
    /// The API user.
    pub user: user::Model,
    /// The client holding the token.
    pub client: client::Model,
    /// The client's site.
    pub site: site::Model,
    /// The token's scope.
    pub scope: ScopeSet,
}

/// Checks `token` and that it carries `required_scope`.
pub async fn authorize(
    conn: &impl ConnectionTrait,
    token: &str,
    required_scope: &'static str,
    now: Timestamp,
) -> Result<Result<Authorized, BearerError>, ServiceError> {
    use BearerError::InvalidToken;
    if !tokens::is_well_formed(TokenKind::AccessToken, token) {
        return Ok(Err(InvalidToken("the access token is malformed")));
    }
    let Some(row) = access_token::Entity::find_by_id(tokens::digest(token))
        .one(conn)
        .await?
    else {
        return Ok(Err(InvalidToken("the access token is unknown")));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(InvalidToken("the access token was revoked")));
    }
    if row.expires_at <= now.unix() {
        return Ok(Err(InvalidToken("the access token expired")));
    }
    let user = user::Entity::find_by_id(row.user_id)
        .one(conn)
        .await?
        .filter(user::Model::is_active);
    let client = client::Entity::find_by_id(row.client_uuid)
        .one(conn)
        .await?;
    let site = site::Entity::find_by_id(row.site_id).one(conn).await?;
    let (Some(user), Some(client), Some(site)) = (user, client, site) else {
        return Ok(Err(InvalidToken("the access token is no longer valid")));
    };
    let scope = ScopeSet::parse(&row.scope).unwrap_or_default();
    if !scope.contains(required_scope) {
        return Ok(Err(BearerError::InsufficientScope(required_scope)));
    }
    Ok(Ok(Authorized {
        user,
        client,
        site,
        scope,
    }))
}
