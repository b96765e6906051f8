//! Regenerating a client's secret: the new slot, what becomes of the older ones (a grace
//! period, or retirement — with the same care for one still in use as "Retire now"), and of
//! the tokens already issued.

use crate::domain::secret_lifetime::LifetimeChoice;
use crate::server::{
    ServiceError,
    crypto::tokens::Secret,
    db::begin_write,
    entities::{client, site},
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
        token_families,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::evidence::{RETIRE_ANYWAY, in_use_warning, recently_used};
use super::slots::{insert_new, locked_slots};
use crate::domain::secret_grace::MAX_GRACE_SECONDS;

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
    /// Retire an older secret still in its grace period even though it was used within the
    /// warning window (without, the rotation is refused with the evidence, as a retirement).
    pub even_if_in_use: bool,
}

/// Replaces the client's secret. With a grace period the current secret keeps working until
/// it ends (never beyond its own expiry); without, it is retired at once. When the current
/// secret no longer works (expired, quarantined), an older one still in its grace period keeps
/// it, never lengthened. Any other older secret is retired — refused on [`RETIRE_ANYWAY`] with
/// the evidence while clients used it within the warning window, unless `even_if_in_use`.
/// The client and its slots are locked first (in that order, as the usage flush takes them),
/// so the last use judged is the last use, and parallel regenerations take turns.
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
        even_if_in_use,
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
    // Grants before the client's row when they will be revoked: the order of the token
    // endpoint and of deletion (see `token_families::lock_families`), so a rotation and a
    // deletion of one client never wait for each other in a circle.
    if existing == ExistingTokens::RevokeAll {
        token_families::lock_client_families(&txn, client_uuid).await?;
    }
    let client = acting.require_client(&txn, client_uuid).await?;
    client::Entity::find_by_id(client_uuid)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let all = locked_slots(&txn, client_uuid).await?;
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
    let mut retired_while_in_use = false;
    for slot in in_id_order {
        let works = slot.is_valid_at(now.unix());
        let keeps_grace = works
            && grace_seconds > 0
            && (Some(slot.id) == newest || (!newest_works && slot.expires_at.is_some()));
        // A regeneration retires an older secret still in its grace period with the same care
        // as "Retire now": not while clients used it recently, unless confirmed. (The newest
        // secret, replaced without a grace period, is what a regeneration is asked for.)
        let in_use = recently_used(&slot, settings.retire_warning_window, now);
        let confirmed_in_use = !keeps_grace && works && Some(slot.id) != newest && in_use;
        if confirmed_in_use && !even_if_in_use {
            return Err(ServiceError::invalid(
                RETIRE_ANYWAY,
                format!(
                    "The old secret …{} (in its grace period) would stop working. {}",
                    slot.hint,
                    in_use_warning(&slot, now)
                ),
            ));
        }
        if !keeps_grace && works {
            retired_while_in_use |= confirmed_in_use;
            retired.push(json!({
                "secret_hint": slot.hint,
                "use_count": slot.use_count,
                "last_used_at": slot.last_used_at,
                "last_used_from": slot.last_used_from,
                "last_user_agent": slot.last_user_agent,
                "in_use": in_use,
                "retired_while_in_use": confirmed_in_use,
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
    // An approved request's first secret, not yet seen by its owner, is no longer the current
    // one: its one-time view is withdrawn (the administrator hands the new one over).
    // (Cleared whatever the row read before the lock said: an approval may have committed
    // while this rotation waited for it.)
    client::Entity::update_many()
        .col_expr(
            client::Column::OwnerSecretSealed,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(client::Column::Id.eq(client.id))
        .filter(client::Column::OwnerSecretSealed.is_not_null())
        .exec(&txn)
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
                "Consumer Secret of \"{}\" regenerated (new …{}){}{}{}",
                client.name,
                slot.hint,
                grace_kept.map(|end| format!("; old secret valid for {}", duration_words(end - now.unix()))).unwrap_or_default(),
                if retired_while_in_use { "; an old secret still in use was retired (confirmed)" } else { "" },
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
