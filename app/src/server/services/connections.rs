//! An API user's connected applications (`/account`): every client they authorized that still
//! holds a live grant of theirs or a remembered consent — name, description, site, scopes,
//! first authorized, last used — and withdrawing one, which forgets the consent and revokes
//! every grant (token family) they gave that client at once, so its next refresh gets
//! `invalid_grant` and its next authorization asks again.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{
        access_token, authorization_code, client, consent, refresh_token, site, token_family, user,
    },
    keys::Keys,
    services::{
        audit::{self, Action, Actor, NewEvent, Target},
        consents, token_families,
    },
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One application acting for the user.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client.
    pub client: client::Model,
    /// Its site's name.
    pub site_name: String,
    /// Every scope the user granted it, across their live grants.
    pub scopes: BTreeSet<String>,
    /// The oldest live grant's authorization.
    pub first_authorized_at: i64,
    /// The newest token issued under those grants.
    pub last_used_at: i64,
}

/// The live grants of `user_id` (not revoked, with an unexpired token left), by client.
async fn live_grants_by_client(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: Timestamp,
) -> Result<BTreeMap<Uuid, Vec<token_family::Model>>, ServiceError> {
    let families = token_family::Entity::find()
        .filter(token_family::Column::UserId.eq(user_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .all(conn)
        .await?;
    let refresh: Vec<(Uuid, i64)> = refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::FamilyId)
        .column(refresh_token::Column::CreatedAt)
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now.unix()))
        .into_tuple()
        .all(conn)
        .await?;
    let access: Vec<(Uuid, i64)> = access_token::Entity::find()
        .select_only()
        .column(access_token::Column::FamilyId)
        .column(access_token::Column::CreatedAt)
        .filter(access_token::Column::UserId.eq(user_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(now.unix()))
        .into_tuple()
        .all(conn)
        .await?;
    let live: BTreeSet<Uuid> = refresh.iter().chain(&access).map(|(id, _)| *id).collect();
    let mut by_client: BTreeMap<Uuid, Vec<token_family::Model>> = BTreeMap::new();
    for family in families.into_iter().filter(|f| live.contains(&f.id)) {
        by_client
            .entry(family.client_uuid)
            .or_default()
            .push(family);
    }
    Ok(by_client)
}

/// The applications acting for `user_id`, most recently used first. Deleted, disabled or
/// unapproved clients are left out: they cannot act, and their grants are revoked already.
pub async fn connections_of(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: Timestamp,
) -> Result<Vec<Connection>, ServiceError> {
    let by_client = live_grants_by_client(conn, user_id, now).await?;
    let remembered: BTreeMap<Uuid, consent::Model> = consents::live_of_user(conn, user_id, now)
        .await?
        .into_iter()
        .map(|c| (c.client_uuid, c))
        .collect();
    let client_ids: BTreeSet<Uuid> = by_client.keys().chain(remembered.keys()).copied().collect();
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    let family_ids: Vec<Uuid> = by_client.values().flatten().map(|f| f.id).collect();
    let mut last_used: BTreeMap<Uuid, i64> = BTreeMap::new();
    for batch in family_ids.chunks(500) {
        let issued: Vec<(Uuid, i64)> = access_token::Entity::find()
            .select_only()
            .column(access_token::Column::FamilyId)
            .column_as(access_token::Column::CreatedAt.max(), "last")
            .filter(access_token::Column::FamilyId.is_in(batch.to_vec()))
            .group_by(access_token::Column::FamilyId)
            .into_tuple()
            .all(conn)
            .await?;
        last_used.extend(issued);
    }
    let clients = client::Entity::find()
        .filter(client::Column::Id.is_in(client_ids))
        .all(conn)
        .await?;
    let site_ids: Vec<Uuid> = clients.iter().map(|c| c.site_id).collect();
    let sites: BTreeMap<Uuid, String> = site::Entity::find()
        .filter(site::Column::Id.is_in(site_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut connections: Vec<Connection> = clients
        .into_iter()
        .filter(|c| c.is_active())
        .filter_map(|client| {
            let families = by_client.get(&client.id).map_or(&[][..], Vec::as_slice);
            let consent = remembered.get(&client.id);
            let first_authorized_at = families
                .iter()
                .map(|f| f.created_at)
                .chain(consent.map(|c| c.created_at))
                .min()?;
            let last_used_at = families
                .iter()
                .map(|f| last_used.get(&f.id).copied().unwrap_or(f.created_at))
                .chain(consent.map(|c| c.updated_at))
                .max()?;
            let scopes = families
                .iter()
                .map(|f| f.scope.as_str())
                .chain(consent.map(|c| c.scope.as_str()))
                .flat_map(|scope| scope.split(' ').map(str::to_owned))
                .filter(|s| !s.is_empty())
                .collect();
            Some(Connection {
                site_name: sites.get(&client.site_id).cloned().unwrap_or_default(),
                scopes,
                first_authorized_at,
                last_used_at,
                client,
            })
        })
        .collect();
    connections.sort_by_key(|c| std::cmp::Reverse(c.last_used_at));
    Ok(connections)
}

/// The user withdraws `client_uuid`'s access: their consent is forgotten and every grant they
/// gave it is revoked (its access and refresh tokens at once), in one transaction with the
/// audit event. Returns how many grants were revoked; `NotFound` when the client holds neither
/// a grant nor a consent of theirs.
pub async fn revoke_connection(
    db: &DatabaseConnection,
    keys: &Keys,
    user: &user::Model,
    address: Option<String>,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let txn = begin_write(db).await?;
    // The consent first: a silent authorization relying on it (holding it shared) finishes
    // before this goes on, and its code is found below.
    let forgotten =
        consents::forget(&txn, consents::of_user_for_client(user.id, client_uuid)).await?;
    // Codes not yet exchanged would start new grants: they go too.
    let codes = authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::UserId.eq(user.id))
        .filter(authorization_code::Column::ClientUuid.eq(client_uuid))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let ids: Vec<Uuid> = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(token_family::Column::UserId.eq(user.id))
        .filter(token_family::Column::ClientUuid.eq(client_uuid))
        .filter(token_family::Column::RevokedAt.is_null())
        .into_tuple()
        .all(&txn)
        .await?;
    let revoked = token_families::revoke_families(&txn, ids, "revoked by the user", now).await?;
    if revoked == 0 && forgotten == 0 && codes == 0 {
        return Err(ServiceError::NotFound);
    }
    let client = client::Entity::find_by_id(client_uuid)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::ConnectionRevoked,
            Actor::api_user(user.id, &user.username, address),
            format!(
                "{} withdrew the access of \"{}\" ({revoked} grant(s) revoked{})",
                user.username,
                client.name,
                if forgotten > 0 {
                    ", consent forgotten"
                } else {
                    ""
                }
            ),
        )
        .target(Target::client(&client))
        .details(
            serde_json::json!({"grants_revoked": revoked, "consent_forgotten": forgotten > 0}),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}
