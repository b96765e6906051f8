//! Minting the token pair of a grant: an access token and a refresh token, both random,
//! prefixed and checksummed, stored as SHA-256 digests only.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    entities::{access_token, refresh_token, token_family},
    state::Settings,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

/// What a successful token request returns (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The bearer access token.
    pub access_token: Secret,
    /// The new refresh token.
    pub refresh_token: Secret,
    /// Access token lifetime (seconds).
    pub expires_in: i64,
    /// Scope of the access token.
    pub scope: ScopeSet,
}

/// Inserts a new access token and refresh token of `family` with `scope` (in the caller's
/// transaction).
pub async fn token_pair(
    conn: &impl ConnectionTrait,
    settings: &Settings,
    family: &token_family::Model,
    scope: &ScopeSet,
    now: Timestamp,
) -> Result<IssuedTokens, ServiceError> {
    let access = Secret::new(tokens::generate(TokenKind::AccessToken)?);
    let refresh = Secret::new(tokens::generate(TokenKind::RefreshToken)?);
    access_token::Entity::insert(access_token::ActiveModel {
        token_hash: Set(tokens::digest(access.expose())),
        family_id: Set(family.id),
        client_uuid: Set(family.client_uuid),
        user_id: Set(family.user_id),
        site_id: Set(family.site_id),
        scope: Set(scope.to_string()),
        created_at: Set(now.unix()),
        expires_at: Set(now.unix() + settings.access_token_ttl),
        revoked_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        token_hash: Set(tokens::digest(refresh.expose())),
        family_id: Set(family.id),
        client_uuid: Set(family.client_uuid),
        user_id: Set(family.user_id),
        site_id: Set(family.site_id),
        scope: Set(scope.to_string()),
        created_at: Set(now.unix()),
        expires_at: Set(now.unix() + settings.refresh_token_ttl),
        revoked_at: Set(None),
        used_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(IssuedTokens {
        access_token: access,
        refresh_token: refresh,
        expires_in: settings.access_token_ttl,
        scope: scope.clone(),
    })
}
