//! Sending the outbox, minus the HTTP: claiming due deliveries so two replicas never send one
//! attempt twice, signing each body, and settling each attempt — delivered on a 2xx answer,
//! otherwise retried with exponential backoff until the attempts run out.

use super::attempts::{self, Claim, OutboxTable, Settled};
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{hex, hmac_sha256, secret_box},
    entities::{webhook, webhook_delivery as delivery},
    keys::Keys,
};
use sea_orm::{DatabaseConnection, EntityTrait, sea_query::Expr};
use uuid::Uuid;

pub use attempts::{CLAIM_SECONDS, LOG_RETENTION_SECONDS, MAX_ATTEMPTS, backoff};

impl OutboxTable for delivery::Entity {
    const ID: delivery::Column = delivery::Column::Id;
    const NEXT_ATTEMPT_AT: delivery::Column = delivery::Column::NextAttemptAt;
    const ATTEMPTS: delivery::Column = delivery::Column::Attempts;
    const LAST_ATTEMPT_AT: delivery::Column = delivery::Column::LastAttemptAt;
    const LAST_ERROR: delivery::Column = delivery::Column::LastError;
    const DONE_AT: delivery::Column = delivery::Column::DeliveredAt;
    const FAILED_AT: delivery::Column = delivery::Column::FailedAt;
    const CREATED_AT: delivery::Column = delivery::Column::CreatedAt;

    fn due(row: &delivery::Model) -> (Uuid, Option<i64>) {
        (row.id, row.next_attempt_at)
    }
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
    claim: Claim,
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

/// Claims the next due delivery, if any (see [`attempts::claim_next`]). Claim one right
/// before sending it. A delivery whose signing secret cannot be read is given up at once.
pub async fn claim_next(
    db: &DatabaseConnection,
    keys: &Keys,
    now: Timestamp,
) -> Result<Option<Claimed>, ServiceError> {
    while let Some((row, claim)) = attempts::claim_next::<delivery::Entity>(db, now).await? {
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
            let why = Settled::GiveUp("signing secret unreadable".into());
            attempts::settle::<delivery::Entity>(db, claim, why, false, Vec::new(), now).await?;
            continue;
        };
        return Ok(Some(Claimed {
            delivery_id: row.id,
            event: row.event,
            url: hook.url,
            body: row.payload,
            claim,
            secret,
        }));
    }
    Ok(None)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered with this status (2xx: delivered).
    Answered(u16),
    /// No answer: connection refused, timeout, TLS failure (said in a few words).
    Failed(String),
}

/// Records the attempt of `claimed`: delivered on a 2xx answer, otherwise due again after
/// [`backoff`] or given up after [`MAX_ATTEMPTS`] (see [`attempts::settle`]).
pub async fn settle(
    db: &DatabaseConnection,
    claimed: &Claimed,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let (status, settled) = match outcome {
        Outcome::Answered(status @ 200..=299) => (Some(i32::from(status)), Settled::Done),
        Outcome::Answered(status) => (
            Some(i32::from(status)),
            Settled::Retry("the endpoint did not answer 2xx".into()),
        ),
        Outcome::Failed(why) => (None, Settled::Retry(why)),
    };
    let extra = vec![(delivery::Column::LastStatus, Expr::value(status))];
    attempts::settle::<delivery::Entity>(db, claimed.claim, settled, true, extra, now).await
}

/// Deletes settled deliveries older than [`LOG_RETENTION_SECONDS`]; returns how many.
pub async fn prune_settled(db: &DatabaseConnection, now: Timestamp) -> Result<u64, ServiceError> {
    attempts::prune_settled::<delivery::Entity>(db, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
