//! Token introspection (RFC 7662) for the client that holds the token. Another client's token,
//! or an unknown, expired, revoked or rotated one, is simply `{"active": false}`.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{access_token, client, refresh_token, site, token_family, user},
};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

/// The RFC 7662 response members Latchkey returns for an active token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// Scope of the token.
    pub scope: String,
    /// The client's Consumer Key.
    pub client_id: String,
    /// The API user's username.
    pub username: String,
    /// `access_token` or `refresh_token`.
    pub token_type: &'static str,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// The API user's id.
    pub sub: Uuid,
    /// The site's name.
    pub site: String,
}

struct Found {
    token_type: &'static str,
    family_id: Uuid,
    client_uuid: Uuid,
    user_id: Uuid,
    site_id: Uuid,
    scope: String,
    iat: i64,
    exp: i64,
    live: bool,
}

/// Introspects `token` for `client`.
pub async fn introspect(
    conn: &impl ConnectionTrait,
    client: &client::Model,
    token: &str,
    now: Timestamp,
) -> Result<Option<ActiveToken>, ServiceError> {
    let hash = tokens::digest(token);
    let found = if tokens::is_well_formed(TokenKind::AccessToken, token) {
        access_token::Entity::find_by_id(hash)
            .one(conn)
            .await?
            .map(|t| Found {
                token_type: "access_token",
                live: t.revoked_at.is_none() && t.expires_at > now.unix(),
                family_id: t.family_id,
                client_uuid: t.client_uuid,
                user_id: t.user_id,
                site_id: t.site_id,
                scope: t.scope,
                iat: t.created_at,
                exp: t.expires_at,
            })
    } else if tokens::is_well_formed(TokenKind::RefreshToken, token) {
        refresh_token::Entity::find_by_id(hash)
            .one(conn)
            .await?
            .map(|t| Found {
                token_type: "refresh_token",
                live: t.revoked_at.is_none() && t.used_at.is_none() && t.expires_at > now.unix(),
                family_id: t.family_id,
                client_uuid: t.client_uuid,
                user_id: t.user_id,
                site_id: t.site_id,
                scope: t.scope,
                iat: t.created_at,
                exp: t.expires_at,
            })
    } else {
        None
    };
    let Some(found) = found.filter(|f| f.live && f.client_uuid == client.id && client.is_active())
    else {
        return Ok(None);
    };
    let family_live = token_family::Entity::find_by_id(found.family_id)
        .one(conn)
        .await?
        .is_some_and(|f| f.revoked_at.is_none());
    let user = user::Entity::find_by_id(found.user_id)
        .one(conn)
        .await?
        .filter(user::Model::is_active);
    let site = site::Entity::find_by_id(found.site_id).one(conn).await?;
    let (true, Some(user), Some(site)) = (family_live, user, site) else {
        return Ok(None);
    };
    Ok(Some(ActiveToken {
        scope: found.scope,
        client_id: client.client_id.clone(),
        username: user.username,
        token_type: found.token_type,
        exp: found.exp,
        iat: found.iat,
        sub: user.id,
        site: site.name,
    }))
}
