//! Appending to the log: linking events into their site's chain and moving its signed head,
//! in the caller's transaction.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::{batch, execute_all},
    entities::{audit_chain_head as head, audit_event as event},
    keys::Keys,
    services::notifications::outbox,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use super::event::NewEvent;
use super::link::{GENESIS_HASH, chain_key, legacy_link_hash, link_hash};
use super::signing::{Signed, sign_position, verify_position};

/// Appends `new` to its chain. Call inside the transaction that makes the change it
/// describes, so both commit or neither does. Returns the event id.
pub async fn record(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    new: NewEvent,
    now: Timestamp,
) -> Result<i64, ServiceError> {
    let chain = chain_key(new.site_id);
    let (seq, prev_hash) = advance_head(conn, keys, &chain).await?;
    let row = linked_row(keys, &chain, seq, new.site_id, new, now, prev_hash);
    let hash = row.hash.clone();
    // Announced to the site's webhooks in this same transaction.
    outbox::announce(conn, std::slice::from_ref(&row), now).await?;
    let inserted = event::Entity::insert(to_active(row)).exec(conn).await?;
    conn.execute_raw(move_head(
        conn.get_database_backend(),
        keys,
        &chain,
        seq,
        hash,
    ))
    .await?;
    Ok(inserted.last_insert_id)
}

/// Appends `new` to the chain of each of `sites`, the same event once per site (its own
/// `site_id` is replaced): a change to a user concerns every site where they hold a role.
/// Chains are extended in site id order, the order every writer of several chains locks their
/// heads in.
pub async fn record_on_sites(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    sites: impl IntoIterator<Item = Uuid>,
    new: NewEvent,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let sites: std::collections::BTreeSet<Uuid> = sites.into_iter().collect();
    for site_id in sites {
        let mut event = new.clone();
        event.site_id = Some(site_id);
        record(conn, keys, event, now).await?;
    }
    Ok(())
}

/// The statement that records `hash` at `seq` as the head of `chain`, signed.
pub(super) fn move_head(
    backend: sea_orm::DbBackend,
    keys: &Keys,
    chain: &str,
    seq: i64,
    hash: String,
) -> Statement {
    let signature = sign_position(keys, Signed::Head, chain, seq, &hash);
    head::Entity::update_many()
        .col_expr(head::Column::Hash, Expr::value(hash))
        .col_expr(head::Column::Signature, Expr::value(signature))
        .filter(head::Column::Chain.eq(chain))
        .build(backend)
}

/// Appends many events of one chain at once: one head update and bulk inserts. For seeding
/// and for batched token events; the result is the same chain `record` would have built.
pub async fn record_batch(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    site_id: Option<Uuid>,
    events: Vec<(NewEvent, Timestamp)>,
) -> Result<(), ServiceError> {
    let writes = link_batch(conn, keys, site_id, events).await?;
    execute_all(conn, writes).await?;
    Ok(())
}

/// The first half of [`record_batch`]: reserves the events' places in their chain (the head
/// row is updated and locked now), queues the webhook deliveries of announced events (now,
/// in the caller's transaction), and returns the statements that store the events and move
/// the head's hash, for the caller to run in the same transaction, alone or with its own
/// writes (see [`execute_all`]).
pub async fn link_batch(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    site_id: Option<Uuid>,
    events: Vec<(NewEvent, Timestamp)>,
) -> Result<Vec<Statement>, ServiceError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let chain = chain_key(site_id);
    let count = i64::try_from(events.len())
        .map_err(|_| ServiceError::Unexpected("batch too large".into()))?;
    // Reserve `count` sequence numbers under the row lock.
    let (first_seq, mut prev_hash) = advance_head_by(conn, Some(keys), &chain, count).await?;
    let mut rows = Vec::with_capacity(events.len());
    for (offset, (new, at)) in events.into_iter().enumerate() {
        let row = linked_row(
            keys,
            &chain,
            first_seq + offset as i64,
            site_id,
            new,
            at,
            prev_hash,
        );
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    let last_at = rows
        .last()
        .map_or(Timestamp(0), |row| Timestamp(row.occurred_at));
    outbox::announce(conn, &rows, last_at).await?;
    let mut writes: Vec<Statement> = rows
        .chunks(500)
        .flat_map(|chunk| {
            batch::insert_rows(backend, chunk.iter().cloned().map(to_active).collect())
        })
        .collect();
    writes.push(move_head(
        backend,
        keys,
        &chain,
        first_seq + count - 1,
        prev_hash,
    ));
    Ok(writes)
}

/// The stored row of `new` as link `seq` of `chain`, hashed onto `prev_hash`.
fn linked_row(
    keys: &Keys,
    chain: &str,
    seq: i64,
    site_id: Option<Uuid>,
    new: NewEvent,
    at: Timestamp,
    prev_hash: String,
) -> event::Model {
    let mut row = event::Model {
        id: 0,
        chain: chain.to_owned(),
        seq,
        site_id,
        occurred_at: at.unix(),
        action: new.action.as_str().to_owned(),
        actor_kind: new.actor.kind.as_str().to_owned(),
        actor_id: new.actor.id,
        actor_label: new.actor.label,
        target_kind: new.target.as_ref().map(|t| t.kind.as_str().to_owned()),
        target_id: new.target.as_ref().map(|t| t.id.clone()),
        target_label: new.target.map(|t| t.label),
        client_address: new.actor.address,
        summary: new.summary,
        details: new.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = link_hash(keys, &row.prev_hash, &row);
    row
}

fn to_active(row: event::Model) -> event::ActiveModel {
    event::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        chain: Set(row.chain),
        seq: Set(row.seq),
        site_id: Set(row.site_id),
        occurred_at: Set(row.occurred_at),
        action: Set(row.action),
        actor_kind: Set(row.actor_kind),
        actor_id: Set(row.actor_id),
        actor_label: Set(row.actor_label),
        target_kind: Set(row.target_kind),
        target_id: Set(row.target_id),
        target_label: Set(row.target_label),
        client_address: Set(row.client_address),
        summary: Set(row.summary),
        details: Set(row.details),
        prev_hash: Set(row.prev_hash),
        hash: Set(row.hash),
    }
}

/// Takes the next sequence number of `chain` (creating the chain on first use) and returns it
/// with the hash of the previous link.
async fn advance_head(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
) -> Result<(i64, String), ServiceError> {
    advance_head_by(conn, Some(keys), chain, 1).await
}

/// Reserves `count` sequence numbers of `chain`; returns the first one and the hash of the
/// link before it. The `UPDATE` comes first so it holds the row lock until commit.
///
/// With `keys`, the head found must be the one this server signed (see [`check_head`]): a
/// database writer who deleted the newest events and rewound the head would otherwise have the
/// next append sign the shortened chain. Only `rekey`, which verifies the whole chain itself,
/// passes `None`.
pub(super) async fn advance_head_by(
    conn: &impl ConnectionTrait,
    keys: Option<&Keys>,
    chain: &str,
    count: i64,
) -> Result<(i64, String), ServiceError> {
    let bump = || {
        head::Entity::update_many()
            .col_expr(
                head::Column::Seq,
                ExprTrait::add(Expr::col(head::Column::Seq), count),
            )
            .filter(head::Column::Chain.eq(chain))
    };
    let mut bumped = bump().exec_with_returning(conn).await?;
    if bumped.is_empty() {
        head::Entity::insert(head::ActiveModel {
            chain: Set(chain.to_owned()),
            seq: Set(0),
            hash: Set(GENESIS_HASH.to_owned()),
            signature: Set(None),
        })
        .on_conflict(
            OnConflict::column(head::Column::Chain)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        bumped = bump().exec_with_returning(conn).await?;
    }
    let current = bumped
        .pop()
        .ok_or_else(|| ServiceError::Unexpected(format!("audit chain head {chain} vanished")))?;
    let previous_seq = current.seq - count;
    if let Some(keys) = keys {
        check_head(conn, keys, chain, previous_seq, &current).await?;
    }
    Ok((previous_seq + 1, current.hash))
}

/// Refuses to extend a chain whose head (position `seq`, the row as found) this server did not
/// sign. An unsigned head is accepted only on a chain written before heads were signed, which
/// its newest event shows: its link is unkeyed (`latchkey audit rekey` upgrades such chains).
async fn check_head(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
    seq: i64,
    found: &head::Model,
) -> Result<(), ServiceError> {
    if seq == 0 {
        return Ok(());
    }
    let signed = match &found.signature {
        Some(signature) => verify_position(keys, Signed::Head, chain, seq, &found.hash, signature),
        None => {
            let newest = event::Entity::find()
                .filter(event::Column::Chain.eq(chain))
                .filter(event::Column::Seq.eq(seq))
                .one(conn)
                .await?;
            newest.is_some_and(|row| {
                row.hash == found.hash
                    && link_hash(keys, &row.prev_hash, &row) != row.hash
                    && legacy_link_hash(&row.prev_hash, &row) == row.hash
            })
        }
    };
    if signed {
        return Ok(());
    }
    tracing::error!(
        chain,
        seq,
        "audit chain head not signed by this server: events deleted or the head rewound; \
         refusing to append (run `latchkey audit verify`)"
    );
    Err(ServiceError::Unexpected(format!(
        "the head of audit chain {chain} is not the one this server signed"
    )))
}
