//! Retention: pruning old events behind a signed checkpoint, so `audit verify` still works;
//! never an event an audit stream has yet to deliver.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{
        audit_checkpoint as checkpoint, audit_event as event, audit_stream as stream,
        audit_stream_cursor as cursor,
    },
    keys::Keys,
};
use std::collections::HashMap;

/// An audit stream whose lease has not been renewed for this long counts as turned off:
/// retention stops waiting for it.
pub const STREAM_ABANDONED_AFTER_SECONDS: i64 = 7 * 86_400;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait,
};
use serde_json::json;

use super::action::Action;
use super::chain::record;
use super::event::{Actor, NewEvent};
use super::signing::{Signed, sign_position};
use super::verify::chains;

/// Deletes events of `chain` that occurred before `older_than`, after recording a signed
/// checkpoint of the last one deleted, and logs the pruning in the chain itself.
pub async fn prune(
    db: &DatabaseConnection,
    keys: &Keys,
    chain: &str,
    older_than: Timestamp,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let txn = begin_write(db).await?;
    // Always keep the newest event, so the chain head stays anchored to a real event.
    let newest = event::Entity::find()
        .filter(event::Column::Chain.eq(chain))
        .order_by_desc(event::Column::Seq)
        .one(&txn)
        .await?;
    let Some(newest) = newest else {
        return Ok(0);
    };
    // Nor an event an audit stream has yet to deliver.
    let streamed = retention_floor(&txn, chain, now).await?;
    let last = event::Entity::find()
        .filter(event::Column::Chain.eq(chain))
        .filter(event::Column::OccurredAt.lt(older_than.unix()))
        .filter(event::Column::Seq.lt(newest.seq))
        .apply_if(streamed, |query, floor| {
            query.filter(event::Column::Seq.lte(floor))
        })
        .order_by_desc(event::Column::Seq)
        .one(&txn)
        .await?;
    let Some(last) = last else {
        return Ok(0);
    };
    checkpoint::Entity::insert(checkpoint::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        chain: Set(chain.to_owned()),
        seq: Set(last.seq),
        hash: Set(last.hash.clone()),
        created_at: Set(now.unix()),
        signature: Set(sign_position(
            keys,
            Signed::Checkpoint,
            chain,
            last.seq,
            &last.hash,
        )),
    })
    .exec_without_returning(&txn)
    .await?;
    let pruned = event::Entity::delete_many()
        .filter(event::Column::Chain.eq(chain))
        .filter(event::Column::Seq.lte(last.seq))
        .exec(&txn)
        .await?
        .rows_affected;
    record(
        &txn,
        keys,
        NewEvent::new(
            last.site_id,
            Action::AuditPruned,
            Actor::operator(None),
            format!(
                "{pruned} audit event(s) before {} pruned; checkpoint at #{}",
                Timestamp(older_than.unix()).format_utc(),
                last.seq
            ),
        )
        .details(
            json!({"pruned": pruned, "checkpoint_seq": last.seq, "checkpoint_hash": last.hash}),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(pruned)
}

/// Prunes every chain (the retention setting).
pub async fn prune_all(
    db: &DatabaseConnection,
    keys: &Keys,
    older_than: Timestamp,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let mut total = 0;
    for chain in chains(db).await? {
        total += prune(db, keys, &chain, older_than, now).await?;
    }
    Ok(total)
}

/// The last position of `chain` retention may prune without losing an event a stream has yet
/// to deliver: the lowest cursor of the streams not abandoned (0 where one has delivered none
/// of the chain). `None` when no stream is configured.
async fn retention_floor(
    conn: &impl ConnectionTrait,
    chain: &str,
    now: Timestamp,
) -> Result<Option<i64>, ServiceError> {
    let live = stream::Entity::find()
        .filter(stream::Column::LeaseUntil.gte(now.unix() - STREAM_ABANDONED_AFTER_SECONDS))
        .all(conn)
        .await?;
    if live.is_empty() {
        return Ok(None);
    }
    let cursors: HashMap<String, i64> = cursor::Entity::find()
        .filter(cursor::Column::Chain.eq(chain))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.stream, row.seq))
        .collect();
    Ok(live
        .iter()
        .map(|stream| cursors.get(&stream.name).copied().unwrap_or(0))
        .min())
}
