//! JWT access tokens (RFC 9068) for sites that choose them, and the one rule for which stored
//! access token a presented token names, opaque or JWT.
//!
//! Every access token has the same stored row, keyed by the digest of a random `lkat_` secret
//! (`issue`). For an opaque site the client receives that secret. For a JWT site it receives a
//! JWT whose `jti` *is* the row's key, and the secret is never sent: the token worker does not
//! need to know the format, signing happens outside its transaction (on every core, not in the
//! single writer), and revocation, introspection and Latchkey's own API find a JWT's row by
//! its `jti` once its signature checks out.

use crate::domain::AccessTokenFormat;
use crate::server::{
    AppState, ServiceError,
    cache::SiteTokenProfile,
    crypto::{
        jose,
        key_ring::KeyRing,
        tokens::{self, Secret, TokenKind},
    },
    entities::{client, site},
    services::{
        oauth::issue::{self, IssuedTokens},
        signing_keys, site_resources,
    },
    settings::Settings,
};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// The claims of a JWT access token (RFC 9068 §2.2), plus the site it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Latchkey's public URL (the metadata's `issuer`).
    pub iss: String,
    /// The API user's id, or for a client credentials token the client's Consumer Key.
    pub sub: String,
    /// The resource server the token is for: the one it was narrowed to (RFC 8707), or else
    /// the default resource indicator RFC 9068 §3 requires, Latchkey's own API.
    pub aud: String,
    /// The client's Consumer Key.
    pub client_id: String,
    /// Space-delimited scope.
    pub scope: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// The token's identifier: the key of its stored row, what revocation and introspection
    /// look up.
    pub jti: String,
    /// The name of the client's site.
    pub site: String,
    /// For a DPoP-bound token, the key it is bound to (RFC 9449 §6.1): a resource server must
    /// see a proof by that key with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim (RFC 7800) of a DPoP-bound token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the client's DPoP key.
    pub jkt: String,
}

/// How `site_id` issues access tokens, from the credential cache or the database.
pub async fn profile(
    state: &AppState,
    site_id: Uuid,
) -> Result<Arc<SiteTokenProfile>, ServiceError> {
    let cache = &state.caches.token_profiles;
    if let Some(found) = cache.get(&site_id) {
        return Ok(found);
    }
    let generation = cache.generation();
    let site = site::Entity::find_by_id(site_id)
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let found = Arc::new(SiteTokenProfile {
        format: AccessTokenFormat::from_stored(&site.access_token_format),
        name: site.name,
    });
    cache.insert(site_id, generation, Arc::clone(&found));
    Ok(found)
}

/// What signing a client's access tokens needs, resolved before the token worker runs: once
/// the worker has consumed a code or rotated a refresh token, nothing may fail for lack of a
/// key (the client would lose its grant), so what comes after is signing alone.
#[derive(Debug)]
pub struct Signer {
    profile: Arc<SiteTokenProfile>,
    /// The keys, for a site that issues JWTs (with a signing key among them).
    ring: Option<Arc<KeyRing>>,
}

/// The [`Signer`] for `client`'s site; for a JWT site, a signing key is made if none exists
/// (every key removed by hand), published before it signs anything.
pub async fn prepare(state: &AppState, client: &client::Model) -> Result<Signer, ServiceError> {
    let profile = profile(state, client.site_id).await?;
    if profile.format != AccessTokenFormat::Jwt {
        return Ok(Signer {
            profile,
            ring: None,
        });
    }
    let mut ring = signing_keys::ring(state).await?;
    if ring.signing.is_none() {
        let txn = crate::server::db::begin_write(&state.db).await?;
        signing_keys::ensure_active(&txn, &state.keys, state.clock.now()).await?;
        txn.commit().await?;
        ring = signing_keys::ring(state).await?;
    }
    if ring.signing.is_none() {
        return Err(ServiceError::Unexpected(
            "no key can sign access tokens (does every key open under the master key?)".into(),
        ));
    }
    Ok(Signer {
        profile,
        ring: Some(ring),
    })
}

/// What the client receives for `issued`: unchanged for an opaque site; for a JWT site the
/// access token becomes a JWT signed with the current key, whose `jti` names the stored row.
pub fn finish(
    settings: &Settings,
    client: &client::Model,
    signer: &Signer,
    mut issued: IssuedTokens,
) -> Result<IssuedTokens, ServiceError> {
    let Some(key) = signer.ring.as_ref().and_then(|ring| ring.signing.as_ref()) else {
        return Ok(issued);
    };
    let claims = AccessClaims {
        iss: settings.public_url.clone(),
        sub: issue::subject(issued.user_id, &client.client_id),
        aud: issued
            .audience
            .clone()
            .unwrap_or_else(|| site_resources::own_resource(settings)),
        client_id: client.client_id.clone(),
        scope: issued.scope.to_string(),
        exp: issued.issued_at + issued.expires_in,
        iat: issued.issued_at,
        jti: tokens::digest(issued.access_token.expose()),
        site: signer.profile.name.clone(),
        cnf: issued.dpop_jkt.clone().map(|jkt| Confirmation { jkt }),
    };
    issued.access_token = Secret::new(key.signer.sign(&claims)?);
    Ok(issued)
}

/// The key of the stored access token that `token` names: the digest of an opaque token, or
/// the `jti` of a JWT Latchkey signed (with a published key, `typ: at+jwt`, its own issuer).
/// `None` for anything else, before any database lookup beyond the cached key ring.
pub async fn stored_key(state: &AppState, token: &str) -> Result<Option<String>, ServiceError> {
    if tokens::is_well_formed(TokenKind::AccessToken, token) {
        return Ok(Some(tokens::digest(token)));
    }
    let Some(kid) = jose::access_token_kid(token) else {
        return Ok(None);
    };
    let ring = signing_keys::ring(state).await?;
    let Some(key) = ring.find(&kid) else {
        return Ok(None);
    };
    let Some(claims) = jose::verify::<AccessClaims>(token, key) else {
        return Ok(None);
    };
    let ours = claims.iss == state.settings.public_url;
    // A row key is a hex SHA-256 digest; anything else was never issued.
    let shaped = claims.jti.len() == 64 && claims.jti.bytes().all(|b| b.is_ascii_hexdigit());
    Ok((ours && shaped).then_some(claims.jti))
}
