//! What a batch of token requests reads, each in one query: the codes and refresh tokens
//! presented, their grants (locked), the clients' registered scopes, and the users who may
//! still authorize.

use crate::domain::{GrantTypes, ScopeName, ScopeSet};
use crate::server::{
    ServiceError,
    db::batch,
    entities::{
        authorization_code, client, client_scope, refresh_token, site_membership as membership,
        token_family, user,
    },
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::{Expr, ExprTrait},
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use super::request::GrantRequest;

/// The rows a batch's requests presented, by digest, and the grants of its refresh tokens.
#[derive(Debug, Default)]
pub struct Presented {
    /// Authorization codes, by code digest.
    pub codes: HashMap<String, authorization_code::Model>,
    /// Refresh tokens, by token digest.
    pub refresh_tokens: HashMap<String, refresh_token::Model>,
    /// The grants of those refresh tokens and of those codes (locked), by id.
    pub families: HashMap<Uuid, token_family::Model>,
}

/// Reads what `requests` presented. Grants whose tokens may change are locked first, in id
/// order (refresh, reuse and administrator revocation all do), so concurrent writers cannot
/// deadlock.
pub async fn presented(
    txn: &DatabaseTransaction,
    requests: &[GrantRequest],
) -> Result<Presented, ServiceError> {
    let backend = txn.get_database_backend();
    let code_hashes: Vec<String> = requests
        .iter()
        .filter_map(|r| match r {
            GrantRequest::Exchange(e) => Some(e.code_hash.clone()),
            GrantRequest::Refresh(_) | GrantRequest::ClientCredentials(_) => None,
        })
        .collect();
    let token_hashes: Vec<String> = requests
        .iter()
        .filter_map(|r| match r {
            GrantRequest::Refresh(e) => Some(e.token_hash.clone()),
            GrantRequest::Exchange(_) | GrantRequest::ClientCredentials(_) => None,
        })
        .collect();
    let mut presented = Presented::default();
    if !code_hashes.is_empty() {
        presented.codes = authorization_code::Entity::find()
            .filter(batch::is_in(
                backend,
                authorization_code::Column::CodeHash,
                code_hashes,
            ))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.code_hash.clone(), row))
            .collect();
    }
    if !token_hashes.is_empty() {
        presented.refresh_tokens = refresh_token::Entity::find()
            .filter(batch::is_in(
                backend,
                refresh_token::Column::TokenHash,
                token_hashes,
            ))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.token_hash.clone(), row))
            .collect();
    }
    // Every grant the batch may change, locked together in id order: those of the refresh
    // tokens, and those issued from the codes (revoked if a code turns out reused).
    let family_ids: Vec<Uuid> = presented
        .refresh_tokens
        .values()
        .map(|row| row.family_id)
        .collect();
    let issued_from: Vec<String> = presented.codes.keys().cloned().collect();
    if !family_ids.is_empty() || !issued_from.is_empty() {
        // Only the lists that have values: an empty `IN ()` becomes a constant false, and an
        // OR with a constant term makes SQLite scan the whole table instead of two index
        // searches (the batches of one grant type, i.e. most of them, paid a full scan).
        let mut which = Condition::any();
        if !family_ids.is_empty() {
            which = which.add(batch::is_in(backend, token_family::Column::Id, family_ids));
        }
        if !issued_from.is_empty() {
            which = which.add(batch::is_in(
                backend,
                token_family::Column::CodeHash,
                issued_from,
            ));
        }
        presented.families = token_family::Entity::find()
            .filter(which)
            .order_by_asc(token_family::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?
            .into_iter()
            .map(|family| (family.id, family))
            .collect();
    }
    Ok(presented)
}

/// The scopes and grant types each of `client_ids` is registered for, for the clients that
/// are active (a disabled, deleted or unapproved client is missing from the map): what each
/// may be issued now, since it may have been disabled, lost scopes or a grant type after it
/// authenticated.
pub async fn active_client_scopes(
    txn: &DatabaseTransaction,
    client_ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, (ScopeSet, GrantTypes)>, ServiceError> {
    let ids: HashSet<Uuid> = client_ids.collect();
    let rows: Vec<(Uuid, String, String)> = client_scope::Entity::find()
        .select_only()
        .column(client_scope::Column::ClientUuid)
        .column(client_scope::Column::Scope)
        .column(client::Column::GrantTypes)
        .join(JoinType::InnerJoin, client_scope::Relation::Client.def())
        .filter(batch::is_in(
            txn.get_database_backend(),
            client_scope::Column::ClientUuid,
            ids,
        ))
        .filter(client::Column::DisabledAt.is_null())
        .filter(client::Column::DeletedAt.is_null())
        .filter(client::Column::Review.eq(crate::domain::Review::Approved.as_str()))
        .into_tuple()
        .all(txn)
        .await?;
    let mut scopes: HashMap<Uuid, (Vec<ScopeName>, GrantTypes)> = HashMap::new();
    for (client_uuid, scope, grants) in rows {
        let entry = scopes
            .entry(client_uuid)
            .or_insert_with(|| (Vec::new(), GrantTypes::from_stored(&grants)));
        if let Ok(name) = ScopeName::parse(&scope) {
            entry.0.push(name);
        }
    }
    Ok(scopes
        .into_iter()
        .map(|(id, (names, grants))| (id, (ScopeSet::from_names(names), grants)))
        .collect())
}

/// An active user with the API User permission on a site.
#[derive(Debug, FromQueryResult)]
struct ApiUser {
    api_site_id: Uuid,
    #[sea_orm(nested)]
    user: user::Model,
}

/// Which of `user_ids` are active API users, by (site, user): the sites where each may still
/// authorize.
pub async fn users_who_may_authorize(
    txn: &DatabaseTransaction,
    user_ids: HashSet<Uuid>,
) -> Result<HashMap<(Uuid, Uuid), user::Model>, ServiceError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .column_as(
            Expr::col((membership::Entity, membership::Column::SiteId)),
            "api_site_id",
        )
        .join(
            JoinType::InnerJoin,
            user::Entity::belongs_to(membership::Entity)
                .from(user::Column::Id)
                .to(membership::Column::UserId)
                .into(),
        )
        .filter(batch::is_in(
            txn.get_database_backend(),
            user::Column::Id,
            user_ids,
        ))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::DeletedAt.is_null())
        .filter(Expr::col((membership::Entity, membership::Column::IsApiUser)).eq(true))
        .into_model::<ApiUser>()
        .all(txn)
        .await?
        .into_iter()
        .map(|row| ((row.api_site_id, row.user.id), row.user))
        .collect())
}
