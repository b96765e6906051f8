//! Sending the e-mail outbox, minus the SMTP: claiming due messages so two replicas never
//! send one attempt twice, and settling each attempt — sent, retried with backoff after a
//! temporary failure, or given up when the SMTP server refuses it for good.

use super::attempts::{self, Claim, OutboxTable, Settled};
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{mail_delivery as mail, site, site_membership, user},
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

/// A message not sent within this long after it was queued is given up (a notice that old
/// is stale news: the server ran without an SMTP server, or it refused everything).
pub const MAX_AGE_SECONDS: i64 = 2 * 86_400;

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
/// sending it. A message that should no longer go — its site turned e-mail off, its recipient
/// was disabled or deleted since (or, told as an administrator, no longer is one), or it
/// waited past [`MAX_AGE_SECONDS`] — is given up instead.
pub async fn claim_next(
    db: &DatabaseConnection,
    now: Timestamp,
) -> Result<Option<ClaimedMail>, ServiceError> {
    while let Some((row, claim)) = attempts::claim_next::<mail::Entity>(db, now).await? {
        if let Some(why) = withdrawn(db, &row, now).await? {
            let settled = Settled::GiveUp(why.into());
            attempts::settle::<mail::Entity>(db, claim, settled, false, Vec::new(), now).await?;
            continue;
        }
        return Ok(Some(ClaimedMail {
            id: row.id,
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            claim,
        }));
    }
    Ok(None)
}

/// Why `row` should no longer be sent, if it should not.
async fn withdrawn(
    db: &DatabaseConnection,
    row: &mail::Model,
    now: Timestamp,
) -> Result<Option<&'static str>, ServiceError> {
    if row.created_at < now.unix() - MAX_AGE_SECONDS {
        return Ok(Some("not sent in time: too old now"));
    }
    let site_on = site::Entity::find_by_id(row.site_id)
        .one(db)
        .await?
        .is_some_and(|site| site.email_notifications);
    if !site_on {
        return Ok(Some("withdrawn: the site turned e-mail off"));
    }
    if let Some(user_id) = row.user_id {
        let active = user::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .is_some_and(|user| user.is_active() && user.email == row.recipient);
        if !active {
            return Ok(Some("withdrawn: the recipient is no longer active here"));
        }
        let still_admin = !row.as_admin
            || site_membership::Entity::find_by_id((row.site_id, user_id))
                .one(db)
                .await?
                .is_some_and(|membership| membership.is_site_admin);
        if !still_admin {
            return Ok(Some(
                "withdrawn: the recipient no longer administers the site",
            ));
        }
    }
    Ok(None)
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

/// Deletes messages older than [`attempts::LOG_RETENTION_SECONDS`], settled or not (where no
/// replica sends e-mail, queued messages would otherwise stay for good); returns how many.
pub async fn prune_settled(db: &DatabaseConnection, now: Timestamp) -> Result<u64, ServiceError> {
    let settled = attempts::prune_settled::<mail::Entity>(db, now).await?;
    let txn = begin_write(db).await?;
    let unsent = mail::Entity::delete_many()
        .filter(mail::Column::CreatedAt.lt(now.unix() - attempts::LOG_RETENTION_SECONDS))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit_neutral().await?;
    Ok(settled + unsent)
}

/// Forgets the messages of a user purged for good (their address and what they were told).
pub async fn forget_user(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
) -> Result<(), ServiceError> {
    mail::Entity::delete_many()
        .filter(mail::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}
