//! Client secrets (the Consumer Secret): issuing, verifying, revealing, rotating and retiring.
//! The one module that touches secret material.
//!
//! - A secret is 256 random bits in the `lkcs_` format (prefix + checksum, see
//!   `crypto::tokens`), checked for shape before anything else.
//! - It is verified through a keyed hash (HMAC-SHA-256 with the verifier key), compared in
//!   constant time against every valid slot: fast (no password hashing on the token path) and
//!   useless to someone who steals the database without the key.
//! - Under the reveal policy it is also kept encrypted (XChaCha20-Poly1305, bound to the
//!   client) so an administrator can reveal it; under show-once only the verifier is kept.
//! - Rotation keeps the old secret valid for an optional grace period: two slots, each with
//!   its own last-used time and use count, and the old one can be retired early.

use crate::domain::{Timestamp, secret_lifetime::LifetimeChoice};
use crate::server::{
    ServiceError,
    crypto::{
        constant_time_eq, hex, hmac_sha256, secret_box,
        tokens::{self, Secret, TokenKind},
    },
    db::{batch, begin_write},
    entities::{client, client_secret, site},
    keys::Keys,
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
        token_families,
    },
    state::SecretPolicy,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

mod evidence;
mod expiry;

pub use crate::domain::secret_grace::MAX_GRACE_SECONDS;
pub use evidence::{RETIRE_ANYWAY, SlotState, in_use_warning, recently_used, slot_states};
pub use expiry::{current_expiry, expiring_condition, expiring_on_site};

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

/// Decrypts a secret for an administrator (the caller has checked the recent sign-in) and
/// records that it was revealed.
pub async fn reveal(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    slot_id: Uuid,
) -> Result<Secret, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let client = acting.require_client(&txn, client_uuid).await?;
    let slot = client_secret::Entity::find_by_id(slot_id)
        .one(&txn)
        .await?
        .filter(|slot| slot.client_uuid == client_uuid)
        .ok_or(ServiceError::NotFound)?;
    if !slot.is_valid_at(now.unix()) {
        return Err(ServiceError::Conflict(
            "This secret is no longer valid.".into(),
        ));
    }
    let Some(ciphertext) = &slot.ciphertext else {
        return Err(ServiceError::Conflict(
            "Secrets are shown only once on this server. Regenerate the secret to get a new one."
                .into(),
        ));
    };
    let plaintext = secret_box::open(
        &keys.secret_encryption,
        ciphertext,
        client.client_id.as_bytes(),
    )?;
    let secret = Secret::new(
        String::from_utf8(plaintext)
            .map_err(|_| ServiceError::Unexpected("stored secret is not text".into()))?,
    );
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::SecretRevealed,
            acting.actor(),
            format!(
                "Consumer Secret of \"{}\" revealed (…{})",
                client.name, slot.hint
            ),
        )
        .target(Target::client(&client))
        .details(json!({"secret_hint": slot.hint})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(secret)
}

/// What a rotation does to the tokens already issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingTokens {
    /// They keep working until they expire.
    Keep,
    /// Every grant of the client is revoked.
    RevokeAll,
}

impl ExistingTokens {
    /// The form value: `keep` or `revoke`.
    pub fn from_form(value: &str) -> Option<Self> {
        match value {
            "keep" => Some(Self::Keep),
            "revoke" => Some(Self::RevokeAll),
            _ => None,
        }
    }
}

/// How a rotation treats what came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// How long the current secret keeps working (0: retired at once).
    pub grace_seconds: i64,
    /// Tokens already issued.
    pub existing: ExistingTokens,
    /// How long the new secret stays valid.
    pub lifetime: LifetimeChoice,
}

/// Replaces the client's secret. With a grace period the current secret keeps working until
/// it ends (any older one is retired now); without, it is retired at once.
pub async fn rotate(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    rotation: Rotation,
) -> Result<Secret, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    let Rotation {
        grace_seconds,
        existing,
        lifetime,
    } = rotation;
    if !(0..=MAX_GRACE_SECONDS).contains(&grace_seconds) {
        return Err(ServiceError::invalid(
            "grace",
            format!(
                "The grace period can be at most {}.",
                duration_words(MAX_GRACE_SECONDS)
            ),
        ));
    }
    let txn = begin_write(db).await?;
    let client = acting.require_client(&txn, client_uuid).await?;
    let all = slots(&txn, client_uuid).await?;
    // The grace period belongs to the newest secret while it still works. When it does not
    // (expired, quarantined), older secrets still in their grace period keep it, shortened to
    // the one asked for if that ends sooner, never lengthened: a phased-out secret must not
    // come back to life, and the only working secret must not die with a regeneration.
    let newest_works = all.first().is_some_and(|slot| slot.is_valid_at(now.unix()));
    let newest = all.first().map(|slot| slot.id);
    // Every slot not yet retired is settled now, expired ones included (so none stays
    // "current" for the expiry lists). Updated in id order, as the usage flush updates them.
    let mut in_id_order: Vec<_> = all
        .into_iter()
        .filter(|slot| slot.retired_at.is_none())
        .collect();
    in_id_order.sort_by_key(|slot| slot.id);
    let mut retired = Vec::new();
    let mut grace_kept = None;
    for slot in in_id_order {
        let works = slot.is_valid_at(now.unix());
        let keeps_grace = works
            && grace_seconds > 0
            && (Some(slot.id) == newest || (!newest_works && slot.expires_at.is_some()));
        if !keeps_grace && works {
            retired.push(json!({
                "secret_hint": slot.hint,
                "use_count": slot.use_count,
                "last_used_at": slot.last_used_at,
                "last_used_from": slot.last_used_from,
                "in_use": recently_used(&slot, settings.retire_warning_window, now),
            }));
        }
        // Never beyond the secret's own expiry, nor beyond a grace period it already has.
        let end = slot.ends_at().map_or(now.unix() + grace_seconds, |own| {
            own.min(now.unix() + grace_seconds)
        });
        let mut update = slot.into_active_model();
        if keeps_grace {
            update.expires_at = Set(Some(end));
            grace_kept = Some(grace_kept.map_or(end, |other: i64| other.max(end)));
        } else {
            update.retired_at = Set(Some(now.unix()));
        }
        update.update(&txn).await?;
    }
    let site_lifetime = site::Entity::find_by_id(client.site_id)
        .one(&txn)
        .await?
        .and_then(|site| site.secret_lifetime);
    let (slot, secret) = insert_new(
        &txn,
        keys,
        settings.secret_policy,
        &client,
        &acting.actor().label,
        lifetime.resolve(site_lifetime),
        now,
    )
    .await?;
    let revoked = match existing {
        ExistingTokens::Keep => 0,
        ExistingTokens::RevokeAll => {
            token_families::revoke_all_for_client(&txn, client.id, "secret rotated", now).await?
        }
    };
    audit::record(&txn, keys,
        NewEvent::new(
            Some(client.site_id),
            Action::SecretRotated,
            acting.actor(),
            format!(
                "Consumer Secret of \"{}\" regenerated (new …{}){}{}",
                client.name,
                slot.hint,
                grace_kept.map(|end| format!("; old secret valid for {}", duration_words(end - now.unix()))).unwrap_or_default(),
                if revoked > 0 { format!("; {revoked} grant(s) revoked") } else { String::new() }
            ),
        )
        .target(Target::client(&client))
        .details(json!({
            "new_secret_hint": slot.hint,
            "new_secret_valid_until": slot.valid_until,
            "grace_seconds": grace_seconds,
            "old_secret_valid_until": grace_kept,
            "tokens": match existing { ExistingTokens::Keep => "kept", ExistingTokens::RevokeAll => "revoked" },
            "grants_revoked": revoked,
            "retired_secrets": retired,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(secret)
}

/// "24 hours", "7 days", "90 minutes".
pub fn duration_words(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hour(s)", s / 3_600),
        s => format!("{} minute(s)", (s + 59) / 60),
    }
}

/// Retires an older secret before its grace period ends. The newest secret cannot be retired
/// (regenerate instead).
pub async fn retire(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    slot_id: Uuid,
    even_if_in_use: bool,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let client = acting.require_client(&txn, client_uuid).await?;
    // Locked (PostgreSQL; SQLite holds its write lock already) in id order, the order the
    // usage flush updates them in: the use we judge cannot change before we retire.
    let mut all = client_secret::Entity::find()
        .filter(client_secret::Column::ClientUuid.eq(client_uuid))
        .order_by_asc(client_secret::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?;
    all.sort_by_key(|slot| std::cmp::Reverse((slot.created_at, slot.id)));
    let Some(position) = all.iter().position(|slot| slot.id == slot_id) else {
        return Err(ServiceError::NotFound);
    };
    if position == 0 {
        return Err(ServiceError::Conflict(
            "This is the current secret; regenerate it instead of retiring it.".into(),
        ));
    }
    let slot = &all[position];
    if !slot.is_valid_at(now.unix()) {
        return Ok(());
    }
    let in_use = recently_used(slot, settings.retire_warning_window, now);
    if in_use && !even_if_in_use {
        return Err(ServiceError::invalid(
            RETIRE_ANYWAY,
            in_use_warning(slot, now),
        ));
    }
    client_secret::Entity::update_many()
        .col_expr(client_secret::Column::RetiredAt, Expr::value(now.unix()))
        .filter(client_secret::Column::Id.eq(slot_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::SecretRetired,
            acting.actor(),
            format!(
                "Old Consumer Secret of \"{}\" (…{}) retired; used {} time(s){}",
                client.name,
                slot.hint,
                slot.use_count,
                slot.last_used_at
                    .map(|at| format!(", last {}", Timestamp(at).format_utc()))
                    .unwrap_or_default()
            ),
        )
        .target(Target::client(&client))
        .details(json!({
            "secret_hint": slot.hint,
            "use_count": slot.use_count,
            "last_used_at": slot.last_used_at,
            "last_used_from": slot.last_used_from,
            "last_user_agent": slot.last_user_agent,
            "retired_while_in_use": in_use,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(
        keys: &Keys,
        secret: &str,
        expires_at: Option<i64>,
        retired_at: Option<i64>,
    ) -> client_secret::Model {
        client_secret::Model {
            id: Uuid::now_v7(),
            client_uuid: Uuid::nil(),
            verifier: verifier(keys, secret),
            ciphertext: None,
            hint: String::new(),
            created_at: 0,
            created_by_label: String::new(),
            expires_at,
            valid_until: None,
            retired_at,
            quarantined_at: None,
            last_used_at: None,
            use_count: 0,
            last_used_from: None,
            last_user_agent: None,
        }
    }

    #[test]
    fn an_own_expiry_reads_expired_and_a_replaced_secret_retired() {
        let keys = Keys::derive(&[1u8; 32]);
        let now = Timestamp(1_000_000);
        let mut current = slot(&keys, "new", None, None);
        current.valid_until = Some(now.unix() + 10);
        assert_eq!(slot_states(&[current.clone()], now), [SlotState::Current]);
        assert_eq!(current.ends_at(), Some(now.unix() + 10));
        current.valid_until = Some(now.unix());
        assert!(!current.is_valid_at(now.unix()));
        assert_eq!(slot_states(&[current.clone()], now), [SlotState::Expired]);
        // Replaced, its grace period over first: retired, not expired.
        let mut old = slot(&keys, "old", Some(now.unix() - 5), None);
        old.valid_until = Some(now.unix() - 1);
        assert_eq!(old.ends_at(), Some(now.unix() - 5));
        let newest = slot(&keys, "newest", None, None);
        assert_eq!(
            slot_states(&[newest, old], now),
            [SlotState::Current, SlotState::Retired]
        );
    }

    #[test]
    fn recently_used_means_within_the_window_and_never_with_a_zero_window() {
        let keys = Keys::derive(&[1u8; 32]);
        let now = Timestamp(1_000_000);
        let mut used = slot(&keys, "x", None, None);
        assert!(!recently_used(&used, 3_600, now), "never used");
        used.last_used_at = Some(now.unix() - 3_600);
        assert!(!recently_used(&used, 3_600, now), "exactly a window ago");
        used.last_used_at = Some(now.unix() - 3_599);
        assert!(recently_used(&used, 3_600, now), "just inside the window");
        assert!(!recently_used(&used, 0, now), "a zero window never asks");
        used.last_used_at = Some(now.unix() + 5);
        assert!(
            recently_used(&used, 3_600, now),
            "a use stamped ahead (another replica's clock)"
        );
    }

    #[test]
    fn verification_right_wrong_grace_and_the_stored_hash_itself() {
        let keys = Keys::derive(&[1u8; 32]);
        let now = 10_000;
        let new_secret = tokens::generate(TokenKind::ClientSecret).unwrap();
        let old_secret = tokens::generate(TokenKind::ClientSecret).unwrap();
        let current = slot(&keys, &new_secret, None, None);
        let in_grace = slot(&keys, &old_secret, Some(now + 60), None);
        let valid: Vec<_> = [current.clone(), in_grace.clone()]
            .into_iter()
            .filter(|s| s.is_valid_at(now))
            .collect();
        assert_eq!(
            verify(&keys, &new_secret, &valid),
            Some(current.id),
            "right"
        );
        assert_eq!(
            verify(&keys, &old_secret, &valid),
            Some(in_grace.id),
            "old, in grace"
        );
        let wrong = tokens::generate(TokenKind::ClientSecret).unwrap();
        assert_eq!(verify(&keys, &wrong, &valid), None, "wrong");
        assert_eq!(
            verify(&keys, &current.verifier, &valid),
            None,
            "the stored hash is not the secret"
        );
        assert_eq!(verify(&keys, "", &valid), None);

        // After the grace period, and once retired, the old secret fails.
        let expired = slot(&keys, &old_secret, Some(now - 1), None);
        assert!(!expired.is_valid_at(now));
        let retired = slot(&keys, &old_secret, None, Some(now - 1));
        assert!(!retired.is_valid_at(now));
        let valid: Vec<_> = [current, expired, retired]
            .into_iter()
            .filter(|s| s.is_valid_at(now))
            .collect();
        assert_eq!(verify(&keys, &old_secret, &valid), None, "old, after grace");

        // A different server key never verifies.
        let other = Keys::derive(&[2u8; 32]);
        assert_eq!(verify(&other, &new_secret, &valid), None);
    }

    #[test]
    fn grace_periods_in_words() {
        assert_eq!(duration_words(86_400), "1 day(s)");
        assert_eq!(duration_words(3 * 3_600), "3 hour(s)");
        assert_eq!(duration_words(90), "2 minute(s)");
    }
}
