//! The stored failure timeline: what the client's page reads, the per-client cap, and the
//! pruning that follows the audit retention.

use crate::domain::{FailureReason, Timestamp};
use crate::server::{ServiceError, entities::client_failure};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// Rows kept per client (the newest); older ones go at the next flush.
pub const KEPT_PER_CLIENT: u64 = 200;

/// The period the counts per reason cover (seconds): the last 7 days.
pub const COUNT_WINDOW: i64 = 7 * 86_400;

/// How often one reason occurred within [`COUNT_WINDOW`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The reason.
    pub reason: FailureReason,
    /// Refused requests.
    pub count: i64,
    /// The latest (unix seconds).
    pub last_at: i64,
}

/// A client's failure timeline: the newest rows and the counts per reason.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The newest rows, newest first.
    pub recent: Vec<client_failure::Model>,
    /// Counts per reason over [`COUNT_WINDOW`], most frequent first.
    pub counts: Vec<ReasonCount>,
}

/// The newest `limit` failures of `client_uuid` and its counts per reason (from every kept row
/// of the window: at most [`KEPT_PER_CLIENT`], so this reads a bounded set).
pub async fn timeline(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    limit: usize,
    now: Timestamp,
) -> Result<Timeline, ServiceError> {
    let rows = client_failure::Entity::find()
        .filter(client_failure::Column::ClientUuid.eq(client_uuid))
        .order_by_desc(client_failure::Column::Id)
        .limit(KEPT_PER_CLIENT)
        .all(conn)
        .await?;
    let since = now.unix() - COUNT_WINDOW;
    let mut counts: Vec<ReasonCount> = Vec::new();
    for row in rows.iter().filter(|row| row.last_at >= since) {
        let Some(reason) = FailureReason::parse(&row.reason) else {
            continue;
        };
        match counts.iter_mut().find(|c| c.reason == reason) {
            Some(entry) => {
                entry.count += row.count;
                entry.last_at = entry.last_at.max(row.last_at);
            }
            None => counts.push(ReasonCount {
                reason,
                count: row.count,
                last_at: row.last_at,
            }),
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let mut recent = rows;
    recent.truncate(limit);
    Ok(Timeline { recent, counts })
}

/// Deletes the rows of `client_uuid` beyond the newest [`KEPT_PER_CLIENT`].
pub async fn trim(conn: &impl ConnectionTrait, client_uuid: Uuid) -> Result<(), ServiceError> {
    let oldest_kept = client_failure::Entity::find()
        .select_only()
        .column(client_failure::Column::Id)
        .filter(client_failure::Column::ClientUuid.eq(client_uuid))
        .order_by_desc(client_failure::Column::Id)
        .offset(KEPT_PER_CLIENT - 1)
        .limit(1)
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    if let Some(oldest_kept) = oldest_kept {
        client_failure::Entity::delete_many()
            .filter(client_failure::Column::ClientUuid.eq(client_uuid))
            .filter(client_failure::Column::Id.lt(oldest_kept))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Deletes every failure last seen before `older_than` (the audit retention); returns how
/// many rows went.
pub async fn prune(db: &DatabaseConnection, older_than: Timestamp) -> Result<u64, ServiceError> {
    Ok(client_failure::Entity::delete_many()
        .filter(client_failure::Column::LastAt.lt(older_than.unix()))
        .exec(db)
        .await?
        .rows_affected)
}
