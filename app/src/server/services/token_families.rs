//! Grants (token families): what a client holds, and revoking it. One family is one
//! authorization: the tokens from a code exchange and from every refresh after it. Revoking a
//! family revokes all of its access and refresh tokens at once (RFC 6749 10.4, RFC 9700 4.14).

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{access_token, refresh_token, token_family, user},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Locks the rows of `family_ids` (PostgreSQL; SQLite's single writer already serialises) in
/// id order: the one order every writer of grants takes them in (the token endpoint's batches,
/// revocation, rotation, disabling and deleting), so two of them never wait for each other in
/// a circle. Take these before any row that refers to a client (a client, its tokens).
pub async fn lock_families(
    conn: &impl ConnectionTrait,
    family_ids: &[Uuid],
) -> Result<(), ServiceError> {
    for batch in family_ids.chunks(500) {
        token_family::Entity::find()
            .select_only()
            .column(token_family::Column::Id)
            .filter(token_family::Column::Id.is_in(batch.to_vec()))
            .order_by_asc(token_family::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(conn)
            .await?;
    }
    Ok(())
}

/// Locks every grant of `client_uuid` (see [`lock_families`]): the first step of deleting a
/// client, or anything else that removes its grants wholesale.
pub async fn lock_client_families(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<(), ServiceError> {
    let ids: Vec<Uuid> = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(token_family::Column::ClientUuid.eq(client_uuid))
        .into_tuple()
        .all(conn)
        .await?;
    lock_families(conn, &ids).await
}

/// Revokes the families matching `filter` and every token in them; returns how many families
/// were revoked (already-revoked ones are left as they were).
pub async fn revoke_families(
    conn: &impl ConnectionTrait,
    family_ids: Vec<Uuid>,
    reason: &str,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    if family_ids.is_empty() {
        return Ok(0);
    }
    let mut family_ids = family_ids;
    family_ids.sort();
    lock_families(conn, &family_ids).await?;
    let mut revoked = 0;
    // Bounded batches keep statements small whatever the number of families.
    for batch in family_ids.chunks(500) {
        let ids = batch.to_vec();
        revoked += token_family::Entity::update_many()
            .col_expr(token_family::Column::RevokedAt, Expr::value(now.unix()))
            .col_expr(token_family::Column::RevokedReason, Expr::value(reason))
            .filter(token_family::Column::Id.is_in(ids.clone()))
            .filter(token_family::Column::RevokedAt.is_null())
            .exec(conn)
            .await?
            .rows_affected;
        access_token::Entity::update_many()
            .col_expr(access_token::Column::RevokedAt, Expr::value(now.unix()))
            .filter(access_token::Column::FamilyId.is_in(ids.clone()))
            .filter(access_token::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now.unix()))
            .filter(refresh_token::Column::FamilyId.is_in(ids))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
    }
    Ok(revoked)
}

/// Revokes one family.
pub async fn revoke_family(
    conn: &impl ConnectionTrait,
    family_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    Ok(revoke_families(conn, vec![family_id], reason, now).await? > 0)
}

/// Revokes every family of a client; returns how many.
pub async fn revoke_all_for_client(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let ids = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(token_family::Column::ClientUuid.eq(client_uuid))
        .filter(token_family::Column::RevokedAt.is_null())
        .into_tuple::<Uuid>()
        .all(conn)
        .await?;
    revoke_families(conn, ids, reason, now).await
}

/// Revokes the unrevoked families of `client_uuid` that act for users (`for_users`) or for
/// the client itself (client credentials); returns how many. For a grant type taken away from
/// the client: what it issued must not come back if the grant type is given back.
pub async fn revoke_client_grants_of_kind(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    for_users: bool,
    reason: &str,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let kind = if for_users {
        token_family::Column::UserId.is_not_null()
    } else {
        token_family::Column::UserId.is_null()
    };
    let ids = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(token_family::Column::ClientUuid.eq(client_uuid))
        .filter(token_family::Column::RevokedAt.is_null())
        .filter(kind)
        .into_tuple::<Uuid>()
        .all(conn)
        .await?;
    revoke_families(conn, ids, reason, now).await
}

/// Families of `client_uuid` that still hold a live token, with their resource owner (`None`:
/// the client itself).
async fn live_families(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<BTreeMap<Uuid, Option<Uuid>>, ServiceError> {
    let mut live = BTreeMap::new();
    let refresh: Vec<(Uuid, Option<Uuid>)> = refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::FamilyId)
        .column(refresh_token::Column::UserId)
        .filter(refresh_token::Column::ClientUuid.eq(client_uuid))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now.unix()))
        .into_tuple()
        .all(conn)
        .await?;
    let access: Vec<(Uuid, Option<Uuid>)> = access_token::Entity::find()
        .select_only()
        .column(access_token::Column::FamilyId)
        .column(access_token::Column::UserId)
        .filter(access_token::Column::ClientUuid.eq(client_uuid))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(now.unix()))
        .into_tuple()
        .all(conn)
        .await?;
    live.extend(refresh.into_iter().chain(access));
    Ok(live)
}

/// What a client holds right now: shown before rotating, disabling or deleting it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientUsage {
    /// Unexpired, unrevoked access tokens.
    pub active_access_tokens: u64,
    /// Grants with a live access or refresh token.
    pub active_families: u64,
    /// API users behind those grants, by username.
    pub api_users: Vec<String>,
}

/// The live tokens and grants of a client.
pub async fn client_usage(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<ClientUsage, ServiceError> {
    let active_access_tokens = access_token::Entity::find()
        .filter(access_token::Column::ClientUuid.eq(client_uuid))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(now.unix()))
        .count(conn)
        .await?;
    let live = live_families(conn, client_uuid, now).await?;
    let user_ids: BTreeSet<Uuid> = live.values().flatten().copied().collect();
    let api_users = if user_ids.is_empty() {
        Vec::new()
    } else {
        let mut names: Vec<String> = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|u| u.username)
            .collect();
        names.sort();
        names
    };
    Ok(ClientUsage {
        active_access_tokens,
        active_families: live.len() as u64,
        api_users,
    })
}

/// One live grant of a client, for the client details page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGrant {
    /// The family.
    pub family: token_family::Model,
    /// Its API user (for a client credentials grant, a note that it is the client itself).
    pub username: String,
}

/// The live grants of a client, newest first (at most `limit`).
pub async fn live_grants(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<LiveGrant>, ServiceError> {
    let live = live_families(conn, client_uuid, now).await?;
    let ids: Vec<Uuid> = live.keys().copied().collect();
    let mut grants = Vec::new();
    for batch in ids.chunks(500) {
        let families = token_family::Entity::find()
            .filter(token_family::Column::Id.is_in(batch.to_vec()))
            .filter(token_family::Column::RevokedAt.is_null())
            .find_also_related(user::Entity)
            .all(conn)
            .await?;
        grants.extend(families.into_iter().map(|(family, user)| LiveGrant {
            username: match (family.user_id, user) {
                (None, _) => crate::domain::CLIENT_ITSELF.to_owned(),
                (Some(_), Some(user)) => user.username,
                (Some(_), None) => "(deleted)".to_owned(),
            },
            family,
        }));
    }
    grants.sort_by_key(|grant| std::cmp::Reverse(grant.family.created_at));
    grants.truncate(limit);
    Ok(grants)
}
