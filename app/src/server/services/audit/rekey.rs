//! The one-time upgrade of chains written before links were keyed (`latchkey audit rekey`).

use crate::domain::Timestamp;
use crate::server::{ServiceError, entities::audit_event as event, keys::Keys};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::action::Action;
use super::chain::{advance_head_by, move_head, record};
use super::event::{Actor, NewEvent};
use super::link::{GENESIS_HASH, link_hash};
use super::verify::{LinkFormat, latest_checkpoint, verify_links};

/// Keys a chain written before links were keyed: checks every old (unkeyed) link and the head
/// first, refusing a chain that does not verify, then recomputes each link with the audit
/// chain key and signs the head, in one transaction, and records that it did. The operator
/// runs it once after upgrading (`latchkey audit rekey`); a keyed chain is left alone.
/// Returns how many events were re-linked.
pub async fn rekey(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    if verify_links(conn, keys, chain, LinkFormat::Keyed)
        .await?
        .broken
        .is_none()
    {
        return Ok(0);
    }
    // Lock the head first, as every writer of this chain does.
    advance_head_by(conn, None, chain, 0).await?;
    let upgrading = verify_links(conn, keys, chain, LinkFormat::Upgrading).await?;
    if let Some(broken) = upgrading.broken {
        return Err(ServiceError::Conflict(format!(
            "chain {chain} does not verify even allowing unkeyed links before the upgrade, at \
             #{}: {}; it was not rekeyed",
            broken.seq, broken.reason
        )));
    }
    let mut prev_hash = match latest_checkpoint(conn, chain).await? {
        Some(checkpoint) => checkpoint.hash,
        None => GENESIS_HASH.to_owned(),
    };
    let mut last_seq = 0;
    let mut relinked = 0_u64;
    let rows = event::Entity::find()
        .filter(event::Column::Chain.eq(chain))
        .order_by_asc(event::Column::Seq)
        .all(conn)
        .await?;
    for mut row in rows {
        row.prev_hash = prev_hash;
        row.hash = link_hash(keys, &row.prev_hash, &row);
        event::Entity::update_many()
            .col_expr(event::Column::PrevHash, Expr::value(row.prev_hash.clone()))
            .col_expr(event::Column::Hash, Expr::value(row.hash.clone()))
            .filter(event::Column::Id.eq(row.id))
            .exec(conn)
            .await?;
        prev_hash = row.hash;
        last_seq = row.seq;
        relinked += 1;
    }
    conn.execute_raw(move_head(
        conn.get_database_backend(),
        keys,
        chain,
        last_seq,
        prev_hash,
    ))
    .await?;
    let site_id = chain
        .strip_prefix("site:")
        .and_then(|id| id.parse::<Uuid>().ok());
    record(
        conn,
        keys,
        NewEvent::new(
            site_id,
            Action::AuditRekeyed,
            Actor::operator(None),
            format!("{relinked} audit event(s) re-linked with the audit key after their unkeyed links verified"),
        )
        .details(json!({"relinked": relinked})),
        now,
    )
    .await?;
    Ok(relinked)
}
