//! The stored failure timeline: what the client's page reads, the per-client cap, and the
//! pruning that follows the audit retention.

use crate::domain::{FailureReason, Timestamp};
use crate::server::{ServiceError, db::batch, entities::client_failure};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use std::collections::{BTreeSet, HashMap};
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
                entry.last_at = Ord::max(entry.last_at, row.last_at);
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

/// What a flush needs of a row it may add to.
#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct RecentRow {
    id: i64,
    client_uuid: Uuid,
    reason: String,
    address: Option<String>,
    /// When the row began.
    pub first_at: i64,
    last_at: i64,
}

/// The newest row of each (client, reason, address) among `clients` that began since
/// `since`: what a flush adds to instead of starting new rows.
pub(super) async fn recent_rows(
    conn: &impl ConnectionTrait,
    clients: &BTreeSet<Uuid>,
    since: i64,
) -> Result<HashMap<(Uuid, String, Option<String>), RecentRow>, ServiceError> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    use client_failure::Column as C;
    let rows = client_failure::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::ClientUuid,
            C::Reason,
            C::Address,
            C::FirstAt,
            C::LastAt,
        ])
        .filter(batch::is_in(
            conn.get_database_backend(),
            C::ClientUuid,
            clients.iter().copied(),
        ))
        .filter(C::FirstAt.gte(since))
        .order_by_asc(C::Id)
        .into_model::<RecentRow>()
        .all(conn)
        .await?;
    // In id order: the newest of each key is the one kept.
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                (row.client_uuid, row.reason.clone(), row.address.clone()),
                row,
            )
        })
        .collect())
}

/// Adds `count` refusals, the latest at `last_at` with `detail`, to `row`.
pub(super) async fn add_to(
    conn: &impl ConnectionTrait,
    row: &RecentRow,
    detail: &str,
    error_code: &str,
    count: i64,
    last_at: i64,
) -> Result<(), ServiceError> {
    let mut update = client_failure::Entity::update_many()
        .col_expr(
            client_failure::Column::Count,
            Expr::col(client_failure::Column::Count).add(count),
        )
        .filter(client_failure::Column::Id.eq(row.id));
    if last_at >= row.last_at {
        update = update
            .col_expr(client_failure::Column::LastAt, Expr::value(last_at))
            .col_expr(client_failure::Column::Detail, Expr::value(detail))
            .col_expr(client_failure::Column::ErrorCode, Expr::value(error_code));
    }
    update.exec(conn).await?;
    Ok(())
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
