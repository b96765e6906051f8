//! Secret slots: the keyed hash kept of a secret, a fresh slot (the one definition that
//! registration, rotation and seeding share), reading a client's slots, and checking a
//! presented secret against them.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{
        constant_time_eq, hex, hmac_sha256, secret_box,
        tokens::{self, Secret, TokenKind},
    },
    db::batch,
    entities::{client, client_secret},
    keys::Keys,
    state::SecretPolicy,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The keyed hash stored for a secret.
pub fn verifier(keys: &Keys, secret: &str) -> String {
    hex(&hmac_sha256(&keys.secret_verifier, secret.as_bytes()))
}

/// A new secret slot for the client `client_id` (row id `client_uuid`), not yet written, and
/// the secret, which the caller shows once. The one definition of a fresh slot: rotation,
/// registration and bulk seeding all build theirs here.
pub fn new_slot(
    keys: &Keys,
    policy: SecretPolicy,
    client_uuid: Uuid,
    client_id: &str,
    created_by: &str,
    lifetime: Option<i64>,
    now: Timestamp,
) -> Result<(client_secret::ActiveModel, Secret), ServiceError> {
    let secret = Secret::new(tokens::generate(TokenKind::ClientSecret)?);
    let ciphertext = match policy {
        SecretPolicy::Reveal => Some(secret_box::seal(
            &keys.secret_encryption,
            secret.expose().as_bytes(),
            client_id.as_bytes(),
        )?),
        SecretPolicy::ShowOnce => None,
    };
    let row = client_secret::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_uuid: Set(client_uuid),
        verifier: Set(verifier(keys, secret.expose())),
        ciphertext: Set(ciphertext),
        hint: Set(secret.hint()),
        created_at: Set(now.unix()),
        created_by_label: Set(created_by.to_owned()),
        expires_at: Set(None),
        valid_until: Set(lifetime.map(|seconds| now.unix() + seconds)),
        retired_at: Set(None),
        quarantined_at: Set(None),
        last_used_at: Set(None),
        use_count: Set(0),
        last_used_from: Set(None),
        last_user_agent: Set(None),
        reminded_days: Set(None),
    };
    Ok((row, secret))
}

/// Creates a secret slot for `client` (in the caller's transaction) and returns it with the
/// secret, which the caller shows once.
pub async fn insert_new(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    policy: SecretPolicy,
    client: &client::Model,
    created_by: &str,
    lifetime: Option<i64>,
    now: Timestamp,
) -> Result<(client_secret::Model, Secret), ServiceError> {
    let (row, secret) = new_slot(
        keys,
        policy,
        client.id,
        &client.client_id,
        created_by,
        lifetime,
        now,
    )?;
    Ok((row.insert(conn).await?, secret))
}

/// Every slot of a client, newest first.
pub async fn slots(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<Vec<client_secret::Model>, ServiceError> {
    Ok(client_secret::Entity::find()
        .filter(client_secret::Column::ClientUuid.eq(client_uuid))
        .order_by_desc(client_secret::Column::CreatedAt)
        .order_by_desc(client_secret::Column::Id)
        .all(conn)
        .await?)
}

/// Every slot of a client, newest first, locked for the caller's transaction (PostgreSQL;
/// SQLite holds its write lock already) in id order, the order the usage flush updates them
/// in: the uses the caller judges cannot change before it writes.
pub async fn locked_slots(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<Vec<client_secret::Model>, ServiceError> {
    let mut all = client_secret::Entity::find()
        .filter(client_secret::Column::ClientUuid.eq(client_uuid))
        .order_by_asc(client_secret::Column::Id)
        .lock_exclusive()
        .all(conn)
        .await?;
    all.sort_by_key(|slot| std::cmp::Reverse((slot.created_at, slot.id)));
    Ok(all)
}

/// Every slot of each of `client_uuids`, newest first per client, in a few queries.
pub async fn slots_of(
    conn: &impl ConnectionTrait,
    client_uuids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Vec<client_secret::Model>>, ServiceError> {
    let ids: Vec<Uuid> = client_uuids.collect();
    let mut by_client: HashMap<Uuid, Vec<client_secret::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = client_secret::Entity::find()
            .filter(batch::is_in(
                conn.get_database_backend(),
                client_secret::Column::ClientUuid,
                chunk.iter().copied(),
            ))
            .order_by_desc(client_secret::Column::CreatedAt)
            .order_by_desc(client_secret::Column::Id)
            .all(conn)
            .await?;
        for row in rows {
            by_client.entry(row.client_uuid).or_default().push(row);
        }
    }
    Ok(by_client)
}

/// The slots accepted at `now`.
pub async fn valid_slots(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<Vec<client_secret::Model>, ServiceError> {
    Ok(accepted_at(&slots(conn, client_uuid).await?, now))
}

/// Those of `slots` accepted at `now` (a retired slot's grace period ends with time, so this
/// is decided at each use, also for slots read from the credential cache).
pub fn accepted_at(slots: &[client_secret::Model], now: Timestamp) -> Vec<client_secret::Model> {
    slots
        .iter()
        .filter(|slot| slot.is_valid_at(now.unix()))
        .cloned()
        .collect()
}

/// The slot `presented` matches, if any. Malformed input is rejected before hashing; every
/// valid slot is compared (in constant time) so timing says nothing about which one matched.
pub fn verify(keys: &Keys, presented: &str, valid: &[client_secret::Model]) -> Option<Uuid> {
    if !tokens::is_well_formed(TokenKind::ClientSecret, presented) {
        return None;
    }
    let candidate = verifier(keys, presented);
    let mut matched = None;
    for slot in valid {
        if constant_time_eq(candidate.as_bytes(), slot.verifier.as_bytes()) {
            matched = Some(slot.id);
        }
    }
    matched
}
