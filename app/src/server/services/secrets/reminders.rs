//! Expiry reminders (issue 20 item 1): a client's current secret is announced 30, 14, 7 and 1
//! days before its expiry and at the expiry itself, each once. An announcement is an audit
//! event (`client.secret_expiring` / `client.secret_expired`), so it reaches the site's
//! webhooks and, by e-mail, the owner and the administrators through the notification outbox.
//!
//! Every replica runs it: each reminder is claimed by a conditional update of the slot's
//! `reminded_days` in the transaction that records it, so it goes out once.

use super::expiry::expiring_condition;
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{client, client_secret},
    keys::Keys,
    services::audit::{self, Action, Actor, NewEvent, Target},
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;

/// Days before the expiry at which a reminder goes out, latest first.
pub const REMINDER_DAYS: [i32; 4] = [30, 14, 7, 1];

/// The reminder due for a secret made at `created_at` that expires at `valid_until`, at
/// `now`: the closest of [`REMINDER_DAYS`] not yet passed, or 0 once it has expired; `None`
/// before the first. A step longer than half the secret's lifetime is skipped: a secret that
/// lives a week is not "expiring" on the day it is made.
pub fn due_reminder(created_at: i64, valid_until: i64, now: Timestamp) -> Option<i32> {
    let left = valid_until - now.unix();
    if left <= 0 {
        return Some(0);
    }
    let lifetime = valid_until - created_at;
    REMINDER_DAYS
        .iter()
        .rev()
        .map(|days| (*days, i64::from(*days) * 86_400))
        .filter(|(_, step)| 2 * step <= lifetime)
        .find(|(_, step)| left <= *step)
        .map(|(days, _)| days)
}

/// Announces every reminder due at `now`; returns how many went out.
pub async fn announce_due(
    db: &DatabaseConnection,
    keys: &Keys,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let max_days = i64::from(REMINDER_DAYS[0]);
    let candidates = client_secret::Entity::find()
        .filter(expiring_condition(now, max_days))
        .filter(client_secret::Column::QuarantinedAt.is_null())
        .filter(
            Condition::any()
                .add(client_secret::Column::RemindedDays.is_null())
                .add(client_secret::Column::RemindedDays.gt(0)),
        )
        .order_by_asc(client_secret::Column::ValidUntil)
        .all(db)
        .await?;
    let mut announced = 0;
    for slot in candidates {
        let Some(valid_until) = slot.valid_until else {
            continue;
        };
        let Some(days) = due_reminder(slot.created_at, valid_until, now) else {
            continue;
        };
        if slot.reminded_days.is_some_and(|sent| sent <= days) {
            continue;
        }
        if announce(db, keys, &slot, valid_until, days, now).await? {
            announced += 1;
        }
    }
    Ok(announced)
}

/// Claims and records one reminder; false if another replica (or a rotation) came first, or
/// the client is not live.
async fn announce(
    db: &DatabaseConnection,
    keys: &Keys,
    slot: &client_secret::Model,
    valid_until: i64,
    days: i32,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let txn = begin_write(db).await?;
    let Some(owner) = client::Entity::find_by_id(slot.client_uuid)
        .one(&txn)
        .await?
        .filter(|c| c.is_active())
    else {
        return Ok(false);
    };
    let claimed = client_secret::Entity::update_many()
        .col_expr(client_secret::Column::RemindedDays, Expr::value(days))
        .filter(client_secret::Column::Id.eq(slot.id))
        .filter(client_secret::Column::RetiredAt.is_null())
        .filter(client_secret::Column::ExpiresAt.is_null())
        .filter(client_secret::Column::ValidUntil.eq(valid_until))
        .filter(
            Condition::any()
                .add(client_secret::Column::RemindedDays.is_null())
                .add(client_secret::Column::RemindedDays.gt(days)),
        )
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        return Ok(false);
    }
    let on = Timestamp(valid_until).format_date();
    let (action, summary) = if days == 0 {
        (
            Action::SecretExpired,
            format!(
                "Secret …{} of API client \"{}\" expired on {on} and is no longer accepted",
                slot.hint, owner.name
            ),
        )
    } else {
        let left = if days == 1 {
            "1 day".to_owned()
        } else {
            format!("{days} days")
        };
        (
            Action::SecretExpiring,
            format!(
                "Secret …{} of API client \"{}\" expires within {left}, on {on}",
                slot.hint, owner.name
            ),
        )
    };
    audit::record(
        &txn,
        keys,
        NewEvent::new(Some(owner.site_id), action, Actor::scheduled(), summary)
            .target(Target::client(&owner))
            .details(json!({
                "secret_hint": slot.hint,
                "expires_at": Timestamp(valid_until).format_rfc3339(),
                "days_before": days,
            })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reminder_falls_due_at_its_day_and_the_last_at_the_expiry() {
        let now = Timestamp(1_000_000_000);
        let at = |days: f64| now.unix() + (days * 86_400.0) as i64;
        // A secret made a year before its expiry.
        let made = at(-300.0);
        assert_eq!(due_reminder(made, at(45.0), now), None);
        assert_eq!(due_reminder(made, at(30.0), now), Some(30));
        assert_eq!(due_reminder(made, at(20.0), now), Some(30));
        assert_eq!(due_reminder(made, at(14.0), now), Some(14));
        assert_eq!(due_reminder(made, at(7.5), now), Some(14));
        assert_eq!(due_reminder(made, at(7.0), now), Some(7));
        assert_eq!(due_reminder(made, at(0.5), now), Some(1));
        assert_eq!(due_reminder(made, at(0.0), now), Some(0));
        assert_eq!(due_reminder(made, at(-3.0), now), Some(0));
    }

    #[test]
    fn a_short_lived_secret_skips_the_steps_longer_than_half_its_life() {
        let now = Timestamp(1_000_000_000);
        let at = |days: f64| now.unix() + (days * 86_400.0) as i64;
        // Made now, living 10 days: no 30-, 14- or 7-day reminder, the 1-day one later.
        assert_eq!(due_reminder(now.unix(), at(10.0), now), None);
        assert_eq!(due_reminder(at(-9.5), at(0.5), now), Some(1));
        // Living one day: only the expiry itself.
        assert_eq!(due_reminder(now.unix(), at(1.0), now), None);
        assert_eq!(due_reminder(at(-1.0), at(0.0), now), Some(0));
    }
}
