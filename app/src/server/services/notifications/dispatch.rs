//! Sending the outbox, minus the HTTP: claiming due deliveries so two replicas never send one
//! attempt twice, signing each body, and settling each attempt — delivered on a 2xx answer,
//! otherwise retried with exponential backoff until the attempts run out.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{hex, hmac_sha256, secret_box},
    db::begin_write,
    entities::{webhook, webhook_delivery as delivery},
    keys::Keys,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

/// Attempts before a delivery is given up: the waits between them add up to about 14.5 hours.
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a claimed attempt belongs to its sender: one attempt is claimed right before it
/// is made and takes at most the sender's connect and request timeouts (15 s), so a claim
/// lapses only when its sender died; another sender then makes the attempt.
pub const CLAIM_SECONDS: i64 = 60;
/// Due deliveries looked at per claim.
const CANDIDATES: u64 = 5;

/// Seconds before the next attempt, after `attempts` failed ones: 30 s, doubling, at most 6 h.
pub fn backoff(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (30_i64 << doublings).min(6 * 3600)
}

/// The `Latchkey-Signature` header of `body` sent at `at`: `t=<unix seconds>,v1=<hex
/// HMAC-SHA-256 of "<t>.<body>" under the endpoint's signing secret>`. Receivers recompute it
/// and refuse old timestamps, so a captured delivery cannot be replayed later.
pub fn signature(secret: &str, at: Timestamp, body: &str) -> String {
    let signed = format!("{}.{body}", at.unix());
    let mac = hmac_sha256(secret.as_bytes(), signed.as_bytes());
    format!("t={},v1={}", at.unix(), hex(&mac))
}

/// The context a webhook's signing secret is sealed under (bound to its row).
pub fn secret_context(webhook_id: Uuid) -> Vec<u8> {
    format!("webhook-secret:{webhook_id}").into_bytes()
}

/// A delivery claimed for one attempt.
pub struct Claimed {
    /// The delivery (`Latchkey-Delivery` header).
    pub delivery_id: Uuid,
    /// The event type (`Latchkey-Event` header).
    pub event: String,
    /// Where to POST it.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// The claim: the due time it set, which [`settle`] requires to be still in place.
    claim_until: i64,
    secret: String,
}

impl Claimed {
    /// The signature header for an attempt made at `at`.
    pub fn signature(&self, at: Timestamp) -> String {
        signature(&self.secret, at, &self.body)
    }
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Claimed")
            .field("delivery_id", &self.delivery_id)
            .field("event", &self.event)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Claims the next due delivery, if any: the claim moves its due time on by
/// [`CLAIM_SECONDS`], conditionally, so of two senders only one gets it. Claim one right
/// before sending it. A delivery whose signing secret cannot be read is given up at once.
pub async fn claim_next(
    db: &DatabaseConnection,
    keys: &Keys,
    now: Timestamp,
) -> Result<Option<Claimed>, ServiceError> {
    let due = delivery::Entity::find()
        .filter(delivery::Column::NextAttemptAt.lte(now.unix()))
        .filter(delivery::Column::DeliveredAt.is_null())
        .filter(delivery::Column::FailedAt.is_null())
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(CANDIDATES)
        .all(db)
        .await?;
    let claim_until = now.unix() + CLAIM_SECONDS;
    for row in due {
        let txn = begin_write(db).await?;
        let won = delivery::Entity::update_many()
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(claim_until))
            .filter(delivery::Column::Id.eq(row.id))
            .filter(delivery::Column::NextAttemptAt.eq(row.next_attempt_at))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        txn.commit_neutral().await?;
        if !won {
            continue;
        }
        let Some(hook) = webhook::Entity::find_by_id(row.webhook_id).one(db).await? else {
            continue;
        };
        let secret = secret_box::open(
            &keys.secret_encryption,
            &hook.secret_sealed,
            &secret_context(hook.id),
        )
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(secret) = secret else {
            tracing::error!(webhook = %hook.id, "a webhook's signing secret cannot be read");
            give_up(db, row.id, claim_until, "signing secret unreadable", now).await?;
            continue;
        };
        return Ok(Some(Claimed {
            delivery_id: row.id,
            event: row.event,
            url: hook.url,
            body: row.payload,
            claim_until,
            secret,
        }));
    }
    Ok(None)
}

/// Ends a claimed delivery as failed without an attempt.
async fn give_up(
    db: &DatabaseConnection,
    delivery_id: Uuid,
    claim_until: i64,
    why: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let txn = begin_write(db).await?;
    delivery::Entity::update_many()
        .col_expr(delivery::Column::FailedAt, Expr::value(now.unix()))
        .col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(delivery::Column::LastError, Expr::value(why))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::NextAttemptAt.eq(claim_until))
        .exec(&txn)
        .await?;
    txn.commit_neutral().await?;
    Ok(())
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered with this status (2xx: delivered).
    Answered(u16),
    /// No answer: connection refused, timeout, TLS failure (said in a few words).
    Failed(String),
}

/// Records the attempt of `claimed`: delivered, due again after [`backoff`], or given up after
/// [`MAX_ATTEMPTS`]. Only while the claim still holds: an attempt whose claim lapsed (its
/// sender stalled past [`CLAIM_SECONDS`]) was handed to another sender, whose result counts.
pub async fn settle(
    db: &DatabaseConnection,
    claimed: &Claimed,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let delivery_id = claimed.delivery_id;
    let txn = begin_write(db).await?;
    let Some(row) = delivery::Entity::find_by_id(delivery_id)
        .one(&txn)
        .await?
        .filter(|row| row.next_attempt_at == Some(claimed.claim_until))
    else {
        return Ok(());
    };
    let attempts = row.attempts + 1;
    let (status, error) = match &outcome {
        Outcome::Answered(status) => (Some(i32::from(*status)), None),
        Outcome::Failed(why) => (None, Some(why.chars().take(200).collect::<String>())),
    };
    let delivered = matches!(outcome, Outcome::Answered(200..=299));
    let error = error.or_else(|| (!delivered).then(|| "the endpoint did not answer 2xx".into()));
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(delivery::Column::LastAttemptAt, Expr::value(now.unix()))
        .col_expr(delivery::Column::LastStatus, Expr::value(status))
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(delivery::Column::NextAttemptAt.eq(claimed.claim_until));
    update = if delivered {
        update
            .col_expr(delivery::Column::DeliveredAt, Expr::value(now.unix()))
            .col_expr(
                delivery::Column::NextAttemptAt,
                Expr::value(Option::<i64>::None),
            )
    } else if attempts >= MAX_ATTEMPTS {
        update
            .col_expr(delivery::Column::FailedAt, Expr::value(now.unix()))
            .col_expr(
                delivery::Column::NextAttemptAt,
                Expr::value(Option::<i64>::None),
            )
    } else {
        update.col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(now.unix() + backoff(attempts)),
        )
    };
    update.exec(&txn).await?;
    txn.commit_neutral().await?;
    Ok(())
}

/// How long settled deliveries (delivered or given up) stay in the log.
pub const LOG_RETENTION_SECONDS: i64 = 30 * 86_400;

/// Deletes settled deliveries created before `now` less [`LOG_RETENTION_SECONDS`]; returns
/// how many.
pub async fn prune_settled(db: &DatabaseConnection, now: Timestamp) -> Result<u64, ServiceError> {
    let txn = begin_write(db).await?;
    let pruned = delivery::Entity::delete_many()
        .filter(delivery::Column::NextAttemptAt.is_null())
        .filter(delivery::Column::CreatedAt.lt(now.unix() - LOG_RETENTION_SECONDS))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit_neutral().await?;
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_six_hours() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS).map(backoff).collect();
        assert_eq!(&waits[..5], &[30, 60, 120, 240, 480]);
        assert_eq!(backoff(MAX_ATTEMPTS + 40), 6 * 3600);
        // The waits between the attempts: about 14.5 hours.
        let total: i64 = (1..MAX_ATTEMPTS).map(backoff).sum();
        assert_eq!(total, 52_290);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_signature_is_the_hmac_of_the_timestamp_and_the_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac
        // lkws_test
        let header = signature("lkws_test", Timestamp(1_700_000_000), r#"{"a":1}"#);
        assert_eq!(
            header,
            "t=1700000000,v1=61cf3ab2e053ab372cbe5d51bbea6128e3557bd298103f6f2577a2e10b876b19"
        );
        assert_ne!(
            header,
            signature("lkws_test", Timestamp(1_700_000_001), r#"{"a":1}"#)
        );
    }
}
