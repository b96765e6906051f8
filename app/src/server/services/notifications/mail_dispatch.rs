//! Sending the e-mail outbox, minus the SMTP: claiming due messages so two replicas never
//! send one attempt twice, and settling each attempt — sent, retried with backoff after a
//! temporary failure, or given up when the SMTP server refuses it for good.

use super::attempts::{self, Claim, OutboxTable, Settled};
use crate::domain::Timestamp;
use crate::server::{ServiceError, entities::mail_delivery as mail};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

impl OutboxTable for mail::Entity {
    const ID: mail::Column = mail::Column::Id;
    const NEXT_ATTEMPT_AT: mail::Column = mail::Column::NextAttemptAt;
    const ATTEMPTS: mail::Column = mail::Column::Attempts;
    const LAST_ATTEMPT_AT: mail::Column = mail::Column::LastAttemptAt;
    const LAST_ERROR: mail::Column = mail::Column::LastError;
    const DONE_AT: mail::Column = mail::Column::SentAt;
    const FAILED_AT: mail::Column = mail::Column::FailedAt;
    const CREATED_AT: mail::Column = mail::Column::CreatedAt;

    fn due(row: &mail::Model) -> (Uuid, Option<i64>) {
        (row.id, row.next_attempt_at)
    }
}

/// A message claimed for one attempt.
#[derive(Debug)]
pub struct ClaimedMail {
    /// The message (its `Message-ID` is made from it).
    pub id: Uuid,
    /// The address it goes to.
    pub recipient: String,
    /// The subject line, without the sender's prefix.
    pub subject: String,
    /// The plain-text body, without the sender's footer.
    pub body: String,
    claim: Claim,
}

/// Claims the next due message, if any (see [`attempts::claim_next`]). Claim one right before
/// sending it.
pub async fn claim_next(
    db: &DatabaseConnection,
    now: Timestamp,
) -> Result<Option<ClaimedMail>, ServiceError> {
    Ok(attempts::claim_next::<mail::Entity>(db, now)
        .await?
        .map(|(row, claim)| ClaimedMail {
            id: row.id,
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            claim,
        }))
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// The SMTP server accepted the message.
    Sent,
    /// It did not, for now (4xx, no connection, timeout): tried again after a backoff.
    Temporary(String),
    /// It never will (5xx, an address that cannot be written): given up now.
    Permanent(String),
}

/// Records the attempt of `claimed` (see [`attempts::settle`]).
pub async fn settle(
    db: &DatabaseConnection,
    claimed: &ClaimedMail,
    outcome: MailOutcome,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let settled = match outcome {
        MailOutcome::Sent => Settled::Done,
        MailOutcome::Temporary(why) => Settled::Retry(why),
        MailOutcome::Permanent(why) => Settled::GiveUp(why),
    };
    attempts::settle::<mail::Entity>(db, claimed.claim, settled, true, Vec::new(), now).await
}

/// Deletes settled messages older than [`attempts::LOG_RETENTION_SECONDS`]; returns how many.
pub async fn prune_settled(db: &DatabaseConnection, now: Timestamp) -> Result<u64, ServiceError> {
    attempts::prune_settled::<mail::Entity>(db, now).await
}
