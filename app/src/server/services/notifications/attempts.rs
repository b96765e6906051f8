//! The bookkeeping every outbox shares (webhook deliveries, e-mails): claiming one row for
//! one attempt so two senders (replicas) never make it twice, settling the attempt — done,
//! due again after [`backoff`], or given up after [`MAX_ATTEMPTS`] — only while its claim
//! holds, and pruning the settled rows after [`LOG_RETENTION_SECONDS`]. One place for the
//! rules; each outbox names its columns through [`OutboxTable`].

use crate::domain::Timestamp;
use crate::server::{ServiceError, db::begin_write};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};
use uuid::Uuid;

/// Attempts before a row is given up: the waits between them add up to about 14.5 hours.
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a claimed attempt belongs to its sender: one attempt is claimed right before it
/// is made and takes at most the sender's timeouts (well under a minute), so a claim lapses
/// only when its sender died; another sender then makes the attempt.
pub const CLAIM_SECONDS: i64 = 60;
/// How long settled rows (done or given up) stay in the log.
pub const LOG_RETENTION_SECONDS: i64 = 30 * 86_400;
/// Due rows looked at per claim.
const CANDIDATES: u64 = 5;

/// Seconds before the next attempt, after `attempts` failed ones: 30 s, doubling, at most 6 h.
pub fn backoff(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (30_i64 << doublings).min(6 * 3600)
}

/// An outbox table: its columns for the attempt bookkeeping.
pub trait OutboxTable: EntityTrait {
    /// The primary key (a UUID).
    const ID: Self::Column;
    /// When the next attempt is due, or while claimed when the claim lapses; `NULL` once settled.
    const NEXT_ATTEMPT_AT: Self::Column;
    /// Attempts made.
    const ATTEMPTS: Self::Column;
    /// When the last attempt was made.
    const LAST_ATTEMPT_AT: Self::Column;
    /// Why the last attempt failed.
    const LAST_ERROR: Self::Column;
    /// When it was delivered or sent.
    const DONE_AT: Self::Column;
    /// When it was given up.
    const FAILED_AT: Self::Column;
    /// When it was queued.
    const CREATED_AT: Self::Column;
    /// A row's id and due time.
    fn due(row: &Self::Model) -> (Uuid, Option<i64>);
}

/// One row claimed for one attempt: its id and the claim [`settle`] requires to be still in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The row.
    pub id: Uuid,
    /// The due time the claim set.
    pub until: i64,
}

/// Claims the next due row of `E`, if any: the claim moves its due time on by
/// [`CLAIM_SECONDS`], conditionally, so of two senders only one gets it. Returns the row as it
/// was read and the claim.
pub async fn claim_next<E: OutboxTable>(
    db: &DatabaseConnection,
    now: Timestamp,
) -> Result<Option<(E::Model, Claim)>, ServiceError>
where
    E::Model: Send + Sync,
{
    let due = E::find()
        .filter(E::NEXT_ATTEMPT_AT.lte(now.unix()))
        .filter(E::DONE_AT.is_null())
        .filter(E::FAILED_AT.is_null())
        .order_by_asc(E::NEXT_ATTEMPT_AT)
        .limit(CANDIDATES)
        .all(db)
        .await?;
    let until = now.unix() + CLAIM_SECONDS;
    for row in due {
        let (id, next) = E::due(&row);
        let txn = begin_write(db).await?;
        let won = E::update_many()
            .col_expr(E::NEXT_ATTEMPT_AT, Expr::value(until))
            .filter(E::ID.eq(id))
            .filter(E::NEXT_ATTEMPT_AT.eq(next))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        txn.commit_neutral().await?;
        if won {
            return Ok(Some((row, Claim { id, until })));
        }
    }
    Ok(None)
}

/// How a claimed attempt ended, for the bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Delivered or sent.
    Done,
    /// Failed; tried again after [`backoff`] unless the attempts ran out.
    Retry(String),
    /// Failed for good (never worth another attempt): given up now.
    GiveUp(String),
}

/// Records the attempt of `claim` (with `extra` columns, e.g. the HTTP status), only while the
/// claim still holds: an attempt whose claim lapsed was handed to another sender, whose
/// result counts. `attempted` is false when no attempt was made (the row is given up as is).
pub async fn settle<E: OutboxTable>(
    db: &DatabaseConnection,
    claim: Claim,
    outcome: Settled,
    attempted: bool,
    extra: Vec<(E::Column, SimpleExpr)>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let txn = begin_write(db).await?;
    let Some(before): Option<i32> = E::find()
        .select_only()
        .column(E::ATTEMPTS)
        .filter(E::ID.eq(claim.id))
        .filter(E::NEXT_ATTEMPT_AT.eq(claim.until))
        .into_tuple()
        .one(&txn)
        .await?
    else {
        return Ok(());
    };
    let attempts = before + i32::from(attempted);
    let none = || Expr::value(Option::<i64>::None);
    let mut update = E::update_many()
        .filter(E::ID.eq(claim.id))
        .filter(E::NEXT_ATTEMPT_AT.eq(claim.until))
        .col_expr(E::ATTEMPTS, Expr::value(attempts));
    if attempted {
        update = update.col_expr(E::LAST_ATTEMPT_AT, Expr::value(now.unix()));
    }
    for (column, value) in extra {
        update = update.col_expr(column, value);
    }
    update = match outcome {
        Settled::Done => update
            .col_expr(E::LAST_ERROR, Expr::value(Option::<String>::None))
            .col_expr(E::DONE_AT, Expr::value(now.unix()))
            .col_expr(E::NEXT_ATTEMPT_AT, none()),
        Settled::Retry(why) if attempts < MAX_ATTEMPTS => update
            .col_expr(E::LAST_ERROR, Expr::value(short(&why)))
            .col_expr(
                E::NEXT_ATTEMPT_AT,
                Expr::value(now.unix() + backoff(attempts)),
            ),
        Settled::Retry(why) | Settled::GiveUp(why) => update
            .col_expr(E::LAST_ERROR, Expr::value(short(&why)))
            .col_expr(E::FAILED_AT, Expr::value(now.unix()))
            .col_expr(E::NEXT_ATTEMPT_AT, none()),
    };
    update.exec(&txn).await?;
    txn.commit_neutral().await?;
    Ok(())
}

/// A reason cut to what the log shows.
fn short(why: &str) -> String {
    why.chars().take(200).collect()
}

/// Deletes the settled rows of `E` created before `now` less [`LOG_RETENTION_SECONDS`];
/// returns how many.
pub async fn prune_settled<E: OutboxTable>(
    db: &DatabaseConnection,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let txn = begin_write(db).await?;
    let pruned = E::delete_many()
        .filter(E::NEXT_ATTEMPT_AT.is_null())
        .filter(E::CREATED_AT.lt(now.unix() - LOG_RETENTION_SECONDS))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit_neutral().await?;
    Ok(pruned)
}

/// Where a row of an outbox stands, in words for its log: `done` is the word for a row
/// delivered or sent.
pub fn state_words(
    done: Option<i64>,
    failed: Option<i64>,
    next_attempt_at: Option<i64>,
    attempts: i32,
    done_word: &str,
    now: Timestamp,
) -> String {
    match (done, failed, next_attempt_at) {
        (Some(_), _, _) => done_word.to_owned(),
        (_, Some(_), _) => format!("Gave up after {attempts} attempts"),
        (_, _, Some(next)) if attempts == 0 => {
            if next <= now.unix() {
                "Sending".to_owned()
            } else {
                "Queued".to_owned()
            }
        }
        (_, _, Some(next)) => format!(
            "Retrying in {} (attempt {attempts} failed)",
            crate::server::services::secrets::duration_words((next - now.unix()).max(0)),
        ),
        _ => "Queued".to_owned(),
    }
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
}
