//! What an access token stands for: read in one indexed query (the token by its digest, joined
//! to its grant, user, client, site and the user's roles there) plus the client's registered
//! scopes, and kept in the process's credential cache, so the protected API (RFC 6750) and
//! introspection (RFC 7662) judge a token the same way and, on a busy server, without a
//! database round trip. See `server::cache` for when cached answers stop counting; expiry is
//! checked on every use.
//!
//! A token carries only the rights its client and user hold *now*: a disabled client, a user
//! who lost the API User role on the site (or was disabled), and scopes removed from the
//! client all count at the next use, not when the token expires; so does a client no longer
//! registered for the grant that issued the token. Every change of those rights
//! commits with `WriteTxn::commit`, which drops the cached answers.

use crate::domain::{GrantTypes, ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    cache::AccessTokenFacts,
    entities::{access_token, client, site, site_membership as membership, token_family, user},
    services::clients,
};
use sea_orm::{
    EntityTrait, FromQueryResult, JoinType, QuerySelect,
    sea_query::{Expr, Func},
};
use std::sync::Arc;

/// The state of a presented access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Good to use.
    Live(Arc<AccessTokenFacts>),
    /// No such token (or it was purged).
    Unknown,
    /// Revoked, directly or with its grant.
    Revoked,
    /// Past its expiry.
    Expired,
    /// Its user was disabled.
    UserDisabled,
    /// Its client was disabled, its user is no longer an API user of the site, or none of its
    /// scopes is still registered to the client.
    RightsWithdrawn,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    revoked_at: Option<i64>,
    family_revoked_at: Option<i64>,
    user_disabled_at: Option<i64>,
    client_disabled_at: Option<i64>,
    /// `None` when the user holds no role on the site any more (or the token acts for no user).
    is_api_user: Option<bool>,
    /// The grants the client is registered for now (`domain::GrantTypes`, stored form).
    client_grant_types: String,
    #[sea_orm(nested)]
    facts: AccessTokenFacts,
}

/// Looks up the access token whose digest is `token_hash`.
pub async fn look_up(
    state: &AppState,
    token_hash: &str,
    now: Timestamp,
) -> Result<Lookup, ServiceError> {
    let cache = &state.caches.access_tokens;
    let facts = match cache.get(&token_hash.to_owned()) {
        Some(facts) => facts,
        None => {
            let generation = cache.generation();
            let Some(row) = read(state, token_hash).await? else {
                return Ok(Lookup::Unknown);
            };
            if row.revoked_at.is_some() || row.family_revoked_at.is_some() {
                return Ok(Lookup::Revoked);
            }
            if row.user_disabled_at.is_some() {
                return Ok(Lookup::UserDisabled);
            }
            if row.client_disabled_at.is_some() || !still_entitled(&row) {
                return Ok(Lookup::RightsWithdrawn);
            }
            let mut facts = row.facts;
            let registered = clients::client_scopes(&state.db, facts.client_uuid).await?;
            let granted = ScopeSet::parse(&facts.scope).unwrap_or_default();
            let current = granted.intersection(&registered);
            if current.is_empty() {
                return Ok(Lookup::RightsWithdrawn);
            }
            facts.scope = current.to_string();
            let facts = Arc::new(facts);
            cache.insert(token_hash.to_owned(), generation, Arc::clone(&facts));
            facts
        }
    };
    if facts.expires_at <= now.unix() {
        return Ok(Lookup::Expired);
    }
    Ok(Lookup::Live(facts))
}

/// A user's token needs its user still an API user of the site and its client still registered
/// for the authorization code grant; a client's own token (client credentials) needs its client
/// still registered for the client credentials grant.
fn still_entitled(row: &Row) -> bool {
    let grants = GrantTypes::from_stored(&row.client_grant_types);
    match row.facts.user_id {
        Some(_) => grants.authorization_code() && row.is_api_user == Some(true),
        None => grants.client_credentials(),
    }
}

async fn read(state: &AppState, token_hash: &str) -> Result<Option<Row>, ServiceError> {
    Ok(access_token::Entity::find_by_id(token_hash.to_owned())
        .select_only()
        .column(access_token::Column::RevokedAt)
        .column(access_token::Column::ClientUuid)
        .column(access_token::Column::UserId)
        .column(access_token::Column::Scope)
        .column(access_token::Column::CreatedAt)
        .column(access_token::Column::ExpiresAt)
        .column(access_token::Column::Audience)
        .column(access_token::Column::DpopJkt)
        .column_as(
            Expr::col((token_family::Entity, token_family::Column::RevokedAt)),
            "family_revoked_at",
        )
        // A deleted user counts as disabled.
        .column_as(
            Expr::expr(Func::coalesce([
                Expr::col((user::Entity, user::Column::DisabledAt)),
                Expr::col((user::Entity, user::Column::DeletedAt)),
            ])),
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
        // A deleted client counts as disabled.
        .column_as(
            Expr::expr(Func::coalesce([
                Expr::col((client::Entity, client::Column::DisabledAt)),
                Expr::col((client::Entity, client::Column::DeletedAt)),
            ])),
            "client_disabled_at",
        )
        .column_as(
            Expr::col((membership::Entity, membership::Column::IsApiUser)),
            "is_api_user",
        )
        .column_as(
            Expr::col((client::Entity, client::Column::GrantTypes)),
            "client_grant_types",
        )
        .join(
            JoinType::InnerJoin,
            access_token::Entity::belongs_to(token_family::Entity)
                .from(access_token::Column::FamilyId)
                .to(token_family::Column::Id)
                .into(),
        )
        // A client credentials token has no user.
        .join(
            JoinType::LeftJoin,
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
        .join(
            JoinType::LeftJoin,
            access_token::Entity::belongs_to(membership::Entity)
                .from((access_token::Column::SiteId, access_token::Column::UserId))
                .to((membership::Column::SiteId, membership::Column::UserId))
                .into(),
        )
        .into_model::<Row>()
        .one(&state.db)
        .await?)
}
