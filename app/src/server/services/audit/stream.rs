//! Audit streaming, the database side: which events a stream has yet to deliver, the lease
//! that lets one replica at a time write a stream, and the cursor that moves only after a
//! batch was written and flushed (so delivery is at-least-once across restarts: a crash
//! between writing and moving the cursor writes that batch again, and the verifier accepts
//! the repeat). The writing itself (stdout, a file, syslog) is the server's.
//!
//! Each chain is delivered in position order from its own cursor. Positions, not row ids:
//! a chain's positions are assigned under its head's lock, so they commit in order, where ids
//! from concurrent writers of different chains may commit out of order and be skipped.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{
        audit_chain_head as head, audit_checkpoint as checkpoint, audit_event as event,
        audit_stream as stream, audit_stream_cursor as cursor,
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use std::collections::HashMap;

use super::stream_line::{checkpoint_line, event_line};

/// How long a lease lasts unless renewed: a replica that stops renewing (it died) is replaced
/// after this long.
pub const LEASE_SECONDS: i64 = 30;

/// Lines a writer reads and writes per pass (at most): a crash or a takeover repeats at most
/// this many.
pub const BATCH: u64 = 500;

/// One line to deliver and the chain position it brings the stream to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamItem {
    /// The chain.
    pub chain: String,
    /// The position the line covers (an event's, or the last pruned one's for a checkpoint).
    pub seq: i64,
    /// The line, without its newline.
    pub line: String,
    /// The event's action (for syslog's MSGID); `None` for a checkpoint.
    pub action: Option<String>,
    /// When the event occurred (for syslog's TIMESTAMP).
    pub occurred_at: Option<i64>,
}

/// Takes or renews the lease of `stream` for `holder` (a random id per process): true when
/// `holder` holds it now. A lease is taken over only after it has run out.
pub async fn claim(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let txn = begin_write(db).await?;
    stream::Entity::insert(stream::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder.to_owned()),
        lease_until: Set(now.unix() + LEASE_SECONDS),
        delivered_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(stream::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let taken = stream::Entity::update_many()
        .col_expr(stream::Column::Holder, holder.into())
        .col_expr(
            stream::Column::LeaseUntil,
            (now.unix() + LEASE_SECONDS).into(),
        )
        .filter(stream::Column::Name.eq(name))
        .filter(
            Condition::any()
                .add(stream::Column::Holder.eq(holder))
                .add(stream::Column::LeaseUntil.lt(now.unix())),
        )
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    txn.commit_neutral().await?;
    Ok(taken)
}

/// The last position `name` delivered of each chain (a chain it has not begun is absent).
async fn delivered(
    conn: &impl ConnectionTrait,
    name: &str,
) -> Result<HashMap<String, i64>, ServiceError> {
    Ok(cursor::Entity::find()
        .filter(cursor::Column::Stream.eq(name))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.chain, row.seq))
        .collect())
}

/// What a stream has yet to deliver, read in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The lines, chain by chain, each chain in position order.
    pub items: Vec<StreamItem>,
    /// True when some chain has more than this pass read: the writer goes on at once.
    pub more: bool,
}

/// Up to `limit` events `name` has yet to deliver, each chain in position order from its
/// cursor. Each chain that is behind gets an equal share of `limit` (more if others need
/// less), so a busy chain cannot hold the others back. Where a chain's next event does not
/// follow the cursor because retention pruned the events between (the stream starts after a
/// pruning), the signed checkpoint that vouches for them comes first (one extra line).
pub async fn pending(
    conn: &impl ConnectionTrait,
    name: &str,
    limit: u64,
) -> Result<Pending, ServiceError> {
    let delivered = delivered(conn, name).await?;
    let behind: Vec<(String, i64, i64)> = head::Entity::find()
        .order_by_asc(head::Column::Chain)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|head| {
            let from = delivered.get(&head.chain).copied().unwrap_or(0);
            (head.seq > from).then_some((head.chain, from, head.seq))
        })
        .collect();
    let mut items = Vec::new();
    let mut more = false;
    let mut events = 0_u64;
    for (index, (chain, from, head_seq)) in behind.iter().enumerate() {
        let chains_left = (behind.len() - index) as u64;
        let room = limit.saturating_sub(events).div_ceil(chains_left);
        if room == 0 {
            more = true;
            break;
        }
        let rows = event::Entity::find()
            .filter(event::Column::Chain.eq(chain.as_str()))
            .filter(event::Column::Seq.gt(*from))
            .order_by_asc(event::Column::Seq)
            .limit(room)
            .all(conn)
            .await?;
        if rows.last().is_some_and(|row| row.seq < *head_seq) {
            more = true;
        }
        if let Some(first) = rows.first()
            && first.seq > from + 1
            && let Some(mark) = checkpoint::Entity::find()
                .filter(checkpoint::Column::Chain.eq(chain.as_str()))
                .filter(checkpoint::Column::Seq.eq(first.seq - 1))
                .one(conn)
                .await?
        {
            items.push(StreamItem {
                chain: mark.chain.clone(),
                seq: mark.seq,
                line: checkpoint_line(&mark),
                action: None,
                occurred_at: None,
            });
        }
        events += rows.len() as u64;
        items.extend(rows.into_iter().map(|row| StreamItem {
            line: event_line(&row),
            chain: row.chain,
            seq: row.seq,
            action: Some(row.action),
            occurred_at: Some(row.occurred_at),
        }));
    }
    Ok(Pending { items, more })
}

/// Moves `name`'s cursors past `items` once they were written and flushed, if `holder` still
/// holds the lease (renewing it). False when another replica took the stream over meanwhile:
/// it delivers from the cursor as it was, so those lines reach the stream twice rather than never.
pub async fn advance(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    items: &[StreamItem],
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let txn = begin_write(db).await?;
    let held = stream::Entity::update_many()
        .col_expr(
            stream::Column::LeaseUntil,
            (now.unix() + LEASE_SECONDS).into(),
        )
        .col_expr(stream::Column::DeliveredAt, Some(now.unix()).into())
        .filter(stream::Column::Name.eq(name))
        .filter(stream::Column::Holder.eq(holder))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !held {
        txn.rollback().await?;
        return Ok(false);
    }
    let mut last: HashMap<&str, i64> = HashMap::new();
    for item in items {
        let seq = last.entry(item.chain.as_str()).or_insert(item.seq);
        *seq = (*seq).max(item.seq);
    }
    for (chain, seq) in last {
        cursor::Entity::insert(cursor::ActiveModel {
            stream: Set(name.to_owned()),
            chain: Set(chain.to_owned()),
            seq: Set(seq),
        })
        .on_conflict(
            OnConflict::columns([cursor::Column::Stream, cursor::Column::Chain])
                .update_column(cursor::Column::Seq)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit_neutral().await?;
    Ok(true)
}

/// How far a stream has come, for `latchkey audit streams`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamStatus {
    /// The stream (`stdout`, `file:HOST:PATH`, `syslog:HOST:PORT`).
    pub name: String,
    /// When its lease ends (seconds since the epoch): long past means no replica writes it.
    pub lease_until: i64,
    /// When events were last delivered.
    pub delivered_at: Option<i64>,
    /// Events recorded but not yet delivered, over every chain.
    pub behind: i64,
}

/// Every stream the database knows and how many events each has yet to deliver.
pub async fn status(conn: &impl ConnectionTrait) -> Result<Vec<StreamStatus>, ServiceError> {
    let heads: HashMap<String, i64> = head::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|head| (head.chain, head.seq))
        .collect();
    let mut statuses = Vec::new();
    for row in stream::Entity::find()
        .order_by_asc(stream::Column::Name)
        .all(conn)
        .await?
    {
        let delivered = delivered(conn, &row.name).await?;
        let behind = heads
            .iter()
            .map(|(chain, seq)| (seq - delivered.get(chain).copied().unwrap_or(0)).max(0))
            .sum();
        statuses.push(StreamStatus {
            name: row.name,
            lease_until: row.lease_until,
            delivered_at: row.delivered_at,
            behind,
        });
    }
    Ok(statuses)
}
