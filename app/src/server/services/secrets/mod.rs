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

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{secret_box, tokens::Secret},
    db::begin_write,
    entities::client_secret,
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

mod evidence;
mod expiry;
pub mod reminders;
mod rotation;
mod slots;

pub use crate::domain::secret_grace::MAX_GRACE_SECONDS;
pub use evidence::{RETIRE_ANYWAY, SlotState, in_use_warning, recently_used, slot_states};
pub use expiry::{current_expiry, expiring_condition, expiring_on_site};
pub use rotation::{ExistingTokens, Rotation, duration_words, rotate};
pub use slots::{
    accepted_at, insert_new, locked_slots, new_slot, slots, slots_of, valid_slots, verifier, verify,
};

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
    // The use we judge cannot change before we retire.
    let all = locked_slots(&txn, client_uuid).await?;
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
    use crate::server::{
        crypto::tokens::{self, TokenKind},
        keys::Keys,
    };

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
            reminded_days: None,
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
