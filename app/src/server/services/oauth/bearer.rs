//! Bearer access tokens at the protected API (RFC 6750): is this token good for this scope,
//! and on whose behalf?

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{access_token, client, site, user},
};
use sea_orm::{
    ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QuerySelect, sea_query::Expr,
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
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Authorized {
    /// The API user's id.
    pub user_id: Uuid,
    /// The API user's username.
    pub username: String,
    /// The API user's email address.
    pub email: String,
    /// The Consumer Key of the client holding the token.
    pub client_id: String,
    /// The name of the client's site.
    pub site_name: String,
    /// The token's scope (space-delimited).
    pub scope: String,
}

/// The token row with what the protected API answers, read in one query: this runs on every
/// API call, so it is one indexed lookup by digest plus three primary-key joins.
#[derive(Debug, FromQueryResult)]
struct TokenRow {
    expires_at: i64,
    revoked_at: Option<i64>,
    user_disabled_at: Option<i64>,
    #[sea_orm(nested)]
    authorized: Authorized,
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
    let row = access_token::Entity::find_by_id(tokens::digest(token))
        .select_only()
        .column(access_token::Column::ExpiresAt)
        .column(access_token::Column::RevokedAt)
        .column(access_token::Column::Scope)
        .column(access_token::Column::UserId)
        .column_as(
            Expr::col((user::Entity, user::Column::DisabledAt)),
            "user_disabled_at",
        )
        .column_as(
            Expr::col((user::Entity, user::Column::Username)),
            "username",
        )
        .column_as(Expr::col((user::Entity, user::Column::Email)), "email")
        .column_as(
            Expr::col((client::Entity, client::Column::ClientId)),
            "client_id",
        )
        .column_as(Expr::col((site::Entity, site::Column::Name)), "site_name")
        .join(
            JoinType::InnerJoin,
            access_token::Entity::belongs_to(user::Entity)
                .from(access_token::Column::UserId)
                .to(user::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            access_token::Entity::belongs_to(client::Entity)
                .from(access_token::Column::ClientUuid)
                .to(client::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            access_token::Entity::belongs_to(site::Entity)
                .from(access_token::Column::SiteId)
                .to(site::Column::Id)
                .into(),
        )
        .into_model::<TokenRow>()
        .one(conn)
        .await?;
    let Some(row) = row else {
        return Ok(Err(InvalidToken("the access token is unknown")));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(InvalidToken("the access token was revoked")));
    }
    if row.expires_at <= now.unix() {
        return Ok(Err(InvalidToken("the access token expired")));
    }
    if row.user_disabled_at.is_some() {
        return Ok(Err(InvalidToken("the access token is no longer valid")));
    }
    let scope = ScopeSet::parse(&row.authorized.scope).unwrap_or_default();
    if !scope.contains(required_scope) {
        return Ok(Err(BearerError::InsufficientScope(required_scope)));
    }
    Ok(Ok(row.authorized))
}
