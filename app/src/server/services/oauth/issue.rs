//! Minting the tokens of a grant: an access token, and for a grant that acts for an API user a
//! refresh token, both random, prefixed and checksummed, stored as SHA-256 digests only.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    db::batch,
    entities::{access_token, refresh_token, token_family},
    settings::Settings,
};
use sea_orm::{ActiveValue::Set, DbBackend, Statement};

/// What a successful token request returns (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The bearer access token.
    pub access_token: Secret,
    /// The new refresh token; none for the client credentials grant (RFC 6749 §4.4.3: the
    /// client asks again with its own credentials).
    pub refresh_token: Option<Secret>,
    /// Access token lifetime (seconds).
    pub expires_in: i64,
    /// Scope of the access token.
    pub scope: ScopeSet,
    /// When it was issued (seconds since the epoch; a JWT's `iat`).
    pub issued_at: i64,
    /// The API user it acts for; `None` when the client acts for itself.
    pub user_id: Option<uuid::Uuid>,
    /// The resource server it was narrowed to (RFC 8707), if any.
    pub audience: Option<String>,
    /// The thumbprint of the DPoP key the access token is bound to (`token_type: DPoP`,
    /// `cnf.jkt`); `None`: a bearer token.
    pub dpop_jkt: Option<String>,
}

/// Whom a token is about (RFC 7662 `sub`, RFC 9068 `sub`): the API user's id, or for a token
/// the client holds for itself (client credentials) the client's Consumer Key.
pub fn subject(user_id: Option<uuid::Uuid>, client_id: &str) -> String {
    user_id.map_or_else(|| client_id.to_owned(), |id| id.to_string())
}

/// A freshly minted pair: the secrets for the client, the rows (digests only) to store.
#[derive(Debug)]
pub struct MintedPair {
    /// What the client receives.
    pub issued: IssuedTokens,
    /// The access token's row.
    pub access: access_token::ActiveModel,
    /// The refresh token's row, if one is issued.
    pub refresh: Option<refresh_token::ActiveModel>,
}

/// Mints a new access token (for `audience`, if narrowed; bound to the DPoP key `dpop_jkt`, if
/// any) and refresh token of `family` with `scope` (nothing is stored yet: see
/// [`insert_statements`]). The family must act for a user.
pub fn mint(
    settings: &Settings,
    family: &token_family::Model,
    scope: &ScopeSet,
    audience: Option<&str>,
    dpop_jkt: Option<&str>,
    now: Timestamp,
) -> Result<MintedPair, ServiceError> {
    let Some(user_id) = family.user_id else {
        return Err(ServiceError::Unexpected(
            "a refresh token was to be minted for a grant without a user".into(),
        ));
    };
    let mut minted = mint_access_only(settings, family, scope, audience, dpop_jkt, now)?;
    let refresh = Secret::new(tokens::generate(TokenKind::RefreshToken)?);
    minted.refresh = Some(refresh_token::ActiveModel {
        token_hash: Set(tokens::digest(refresh.expose())),
        family_id: Set(family.id),
        client_uuid: Set(family.client_uuid),
        user_id: Set(user_id),
        site_id: Set(family.site_id),
        scope: Set(scope.to_string()),
        created_at: Set(now.unix()),
        // Idle limit, capped by the grant's absolute lifetime.
        expires_at: Set(Ord::min(
            now.unix() + settings.refresh_token_ttl,
            family.created_at + settings.refresh_token_absolute_ttl,
        )),
        revoked_at: Set(None),
        used_at: Set(None),
    });
    minted.issued.refresh_token = Some(refresh);
    Ok(minted)
}

/// Mints an access token of `family` with `scope` for `audience` (RFC 8707; `None`: not
/// narrowed), bound to the DPoP key `dpop_jkt` if any, and no refresh token (the client
/// credentials grant).
pub fn mint_access_only(
    settings: &Settings,
    family: &token_family::Model,
    scope: &ScopeSet,
    audience: Option<&str>,
    dpop_jkt: Option<&str>,
    now: Timestamp,
) -> Result<MintedPair, ServiceError> {
    let access = Secret::new(tokens::generate(TokenKind::AccessToken)?);
    Ok(MintedPair {
        access: access_token::ActiveModel {
            token_hash: Set(tokens::digest(access.expose())),
            family_id: Set(family.id),
            client_uuid: Set(family.client_uuid),
            user_id: Set(family.user_id),
            site_id: Set(family.site_id),
            scope: Set(scope.to_string()),
            created_at: Set(now.unix()),
            expires_at: Set(now.unix() + settings.access_token_ttl),
            revoked_at: Set(None),
            audience: Set(audience.map(str::to_owned)),
            dpop_jkt: Set(dpop_jkt.map(str::to_owned)),
        },
        refresh: None,
        issued: IssuedTokens {
            access_token: access,
            refresh_token: None,
            expires_in: settings.access_token_ttl,
            scope: scope.clone(),
            issued_at: now.unix(),
            user_id: family.user_id,
            audience: audience.map(str::to_owned),
            dpop_jkt: dpop_jkt.map(str::to_owned),
        },
    })
}

/// The statements that store the rows of `pairs` (one insert per table, or on PostgreSQL a
/// few: see `db::batch::insert_rows`), for the caller to run in its transaction (see
/// `db::execute_all`).
pub fn insert_statements(backend: DbBackend, pairs: &[&MintedPair]) -> Vec<Statement> {
    let mut statements =
        batch::insert_rows(backend, pairs.iter().map(|p| p.access.clone()).collect());
    statements.extend(batch::insert_rows(
        backend,
        pairs.iter().filter_map(|p| p.refresh.clone()).collect(),
    ));
    statements
}
