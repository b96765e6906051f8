//! Token introspection (RFC 7662) for the client that holds the token. Another client's token,
//! or an unknown, expired, revoked or rotated one, is simply `{"active": false}`.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{client, refresh_token, site, site_membership as membership, token_family, user},
    services::{
        clients,
        oauth::{
            access_tokens::{self, Lookup},
            issue, jwt_access,
            token::refresh_rules,
        },
    },
};
use sea_orm::EntityTrait;

/// The RFC 7662 response members Latchkey returns for an active token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// Scope of the token.
    pub scope: String,
    /// The client's Consumer Key.
    pub client_id: String,
    /// The API user's username; `None` for a client credentials token.
    pub username: Option<String>,
    /// The token type of RFC 6749 §5.1 (RFC 7662 §2.2): `Bearer` for an access token; none
    /// for a refresh token, which has no such type.
    pub token_type: Option<&'static str>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Whom the token is about (RFC 7662 §2.2): the API user's id, or for a client
    /// credentials token the client's Consumer Key (as RFC 9068 §2.2 has it).
    pub sub: String,
    /// The site's name.
    pub site: String,
    /// The resource server the token is for (`aud`, RFC 8707 §3), if narrowed to one.
    pub aud: Option<String>,
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6.2), if
    /// any: a resource server must then see a proof by that key.
    pub cnf_jkt: Option<String>,
}

/// Introspects `token` for `client`.
pub async fn introspect(
    state: &AppState,
    client: &client::Model,
    token: &str,
    now: Timestamp,
) -> Result<Option<ActiveToken>, ServiceError> {
    if !client.is_active() {
        return Ok(None);
    }
    if let Some(key) = jwt_access::stored_key(state, token).await? {
        let Lookup::Live(facts) = access_tokens::look_up(state, &key, now).await? else {
            return Ok(None);
        };
        if facts.client_uuid != client.id {
            return Ok(None);
        }
        return Ok(Some(ActiveToken {
            scope: facts.scope.clone(),
            client_id: client.client_id.clone(),
            username: facts.username.clone(),
            token_type: Some(if facts.dpop_jkt.is_some() {
                "DPoP"
            } else {
                "Bearer"
            }),
            exp: facts.expires_at,
            iat: facts.created_at,
            sub: issue::subject(facts.user_id, &client.client_id),
            site: facts.site_name.clone(),
            aud: facts.audience.clone(),
            cnf_jkt: facts.dpop_jkt.clone(),
        }));
    }
    // As the token endpoint would judge a refresh: only while the client is registered for
    // the authorization code grant.
    if !tokens::is_well_formed(TokenKind::RefreshToken, token)
        || !client.grant_types().authorization_code()
    {
        return Ok(None);
    }
    // Refresh tokens change state at every use (rotation), so they are always read afresh.
    let conn = &state.db;
    let Some(found) = refresh_token::Entity::find_by_id(tokens::digest(token))
        .one(conn)
        .await?
        .filter(|t| {
            t.revoked_at.is_none()
                && t.used_at.is_none()
                && t.expires_at > now.unix()
                && t.client_uuid == client.id
        })
    else {
        return Ok(None);
    };
    // As the token endpoint would judge it now: grant live and within its absolute lifetime,
    // user active and still an API user of the site, some granted scope still registered.
    let family = token_family::Entity::find_by_id(found.family_id)
        .one(conn)
        .await?
        .filter(|f| {
            f.revoked_at.is_none()
                && refresh_rules::within_absolute_lifetime(f, &state.settings, now)
        });
    let family_live = family.is_some();
    let user = user::Entity::find_by_id(found.user_id)
        .one(conn)
        .await?
        .filter(user::Model::is_active);
    let is_api_user = membership::Entity::find_by_id((found.site_id, found.user_id))
        .one(conn)
        .await?
        .is_some_and(|m| m.is_api_user);
    let site = site::Entity::find_by_id(found.site_id).one(conn).await?;
    let (true, true, Some(user), Some(site)) = (family_live, is_api_user, user, site) else {
        return Ok(None);
    };
    let scope = ScopeSet::parse(&found.scope)
        .unwrap_or_default()
        .intersection(&clients::client_scopes(conn, client.id).await?);
    if scope.is_empty() {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        scope: scope.to_string(),
        client_id: client.client_id.clone(),
        username: Some(user.username),
        token_type: None,
        exp: found.expires_at,
        iat: found.created_at,
        sub: user.id.to_string(),
        site: site.name,
        // A refresh token is used at the token endpoint, not at a resource server.
        aud: None,
        // A refresh token of a DPoP-bound grant needs a proof by the grant's key.
        cnf_jkt: family.and_then(|f| f.dpop_jkt),
    }))
}
