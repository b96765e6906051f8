//! Chain heads exported for safekeeping outside the database (`latchkey audit head`), and the
//! check that the chains still reach them (`audit verify --against`).

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{audit_chain_head as head, audit_event as event},
    keys::Keys,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::signing::{Signed, sign_position, verify_position};
use super::verify::{chains, latest_checkpoint, verify_chain};

/// A chain head exported for safekeeping outside the database (`latchkey audit head`): a later
/// `audit verify --against` proves the chain still reaches it, so deleting the newest events
/// and rewinding the head to an older copy is caught.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// The chain.
    pub chain: String,
    /// Its newest position when exported.
    pub seq: i64,
    /// The link at that position.
    pub hash: String,
    /// When exported (seconds since the epoch).
    pub at: i64,
    /// The audit key's signature of chain, seq and hash.
    pub signature: String,
}

/// The current head of every chain, signed, for the operator to keep elsewhere. Each chain is
/// verified first: an anchor of a broken chain would vouch for the break.
pub async fn export_anchors(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    now: Timestamp,
) -> Result<Vec<Anchor>, ServiceError> {
    let mut anchors = Vec::new();
    for chain in chains(conn).await? {
        let report = verify_chain(conn, keys, &chain).await?;
        if let Some(broken) = report.broken {
            return Err(ServiceError::Conflict(format!(
                "chain {chain} is broken at #{}: {}",
                broken.seq, broken.reason
            )));
        }
        let Some(head) = head::Entity::find_by_id(chain.clone()).one(conn).await? else {
            continue;
        };
        anchors.push(Anchor {
            signature: sign_position(keys, Signed::Anchor, &chain, head.seq, &head.hash),
            chain,
            seq: head.seq,
            hash: head.hash,
            at: now.unix(),
        });
    }
    Ok(anchors)
}

/// Checks that every chain still reaches the position `anchor` recorded: the event at that
/// position still has the anchored link (or was pruned behind a signed checkpoint at or past
/// it). `None` when it does; otherwise what is wrong. Run after [`verify_chain`], which checks
/// everything from there on.
pub async fn check_anchor(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    anchor: &Anchor,
) -> Result<Option<String>, ServiceError> {
    if !verify_position(
        keys,
        Signed::Anchor,
        &anchor.chain,
        anchor.seq,
        &anchor.hash,
        &anchor.signature,
    ) {
        return Ok(Some(
            "the anchor's signature is not valid (not made with this server's key)".into(),
        ));
    }
    let head = head::Entity::find_by_id(anchor.chain.clone())
        .one(conn)
        .await?;
    let Some(head) = head else {
        return Ok(Some("the chain is gone".into()));
    };
    if head.seq < anchor.seq {
        return Ok(Some(format!(
            "the chain ends at #{} but reached #{} when anchored: events were deleted and the \
             head rewound",
            head.seq, anchor.seq
        )));
    }
    let at_anchor = event::Entity::find()
        .filter(event::Column::Chain.eq(anchor.chain.as_str()))
        .filter(event::Column::Seq.eq(anchor.seq))
        .one(conn)
        .await?;
    match at_anchor {
        Some(row) if row.hash == anchor.hash => Ok(None),
        Some(_) => Ok(Some(format!(
            "event #{} no longer has the anchored link: the chain was rewritten",
            anchor.seq
        ))),
        None => match latest_checkpoint(conn, &anchor.chain).await? {
            Some(checkpoint) if checkpoint.seq >= anchor.seq => Ok(None),
            _ => Ok(Some(format!("event #{} is missing", anchor.seq))),
        },
    }
}
