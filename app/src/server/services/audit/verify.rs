//! Verifying a chain: every link recomputed with the audit chain key, from the first event
//! or the latest signed checkpoint, to the signed head.

use crate::server::{
    ServiceError,
    entities::{audit_chain_head as head, audit_checkpoint as checkpoint, audit_event as event},
    keys::Keys,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::link::{GENESIS_HASH, legacy_link_hash, link_hash};
use super::signing::{Signed, verify_position};

/// The first place a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The chain.
    pub chain: String,
    /// Sequence number of the first event that fails.
    pub seq: i64,
    /// Its row id.
    pub event_id: i64,
    /// What is wrong.
    pub reason: String,
}

/// Result of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The chain.
    pub chain: String,
    /// Events checked.
    pub events: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Every chain that has events.
pub async fn chains(conn: &impl ConnectionTrait) -> Result<Vec<String>, ServiceError> {
    Ok(head::Entity::find()
        .order_by_asc(head::Column::Chain)
        .all(conn)
        .await?
        .into_iter()
        .map(|head| head.chain)
        .collect())
}

/// Recomputes `chain` from its first event (or from its latest signed checkpoint, if old
/// events were pruned) with the audit chain key and reports the first link that does not
/// match (an edited, deleted or inserted event, a forged checkpoint), then checks that the
/// chain ends exactly at its signed head, reading in bounded pages.
pub async fn verify_chain(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
) -> Result<ChainReport, ServiceError> {
    verify_links(conn, keys, chain, LinkFormat::Keyed).await
}

/// How the links of a chain are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkFormat {
    /// HMAC with the audit chain key (every chain written by this version).
    Keyed,
    /// A chain being upgraded (see [`rekey`]): unkeyed SHA-256 links written before links
    /// were keyed, then only keyed ones (events appended since the upgrade).
    Upgrading,
}

pub(super) async fn verify_links(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
    format: LinkFormat,
) -> Result<ChainReport, ServiceError> {
    const PAGE: u64 = 1_000;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut checked = 0_u64;
    let mut keyed_seen = format == LinkFormat::Keyed;
    let broken = |seq: i64, event_id: i64, events: u64, reason: String| ChainReport {
        chain: chain.to_owned(),
        events,
        broken: Some(BrokenLink {
            chain: chain.to_owned(),
            seq,
            event_id,
            reason,
        }),
    };
    if let Some(checkpoint) = latest_checkpoint(conn, chain).await? {
        if !verify_position(
            keys,
            Signed::Checkpoint,
            chain,
            checkpoint.seq,
            &checkpoint.hash,
            &checkpoint.signature,
        ) {
            return Ok(broken(
                checkpoint.seq,
                0,
                0,
                "the retention checkpoint's signature is not valid".into(),
            ));
        }
        prev_hash = checkpoint.hash;
        expected_seq = checkpoint.seq + 1;
    }
    loop {
        let page = event::Entity::find()
            .filter(event::Column::Chain.eq(chain))
            .filter(event::Column::Seq.gte(expected_seq))
            .order_by_asc(event::Column::Seq)
            .limit(PAGE)
            .all(conn)
            .await?;
        let len = page.len();
        for row in page {
            if row.seq != expected_seq {
                return Ok(broken(
                    row.seq,
                    row.id,
                    checked,
                    format!("expected event #{expected_seq}, found #{}", row.seq),
                ));
            }
            if row.prev_hash != prev_hash {
                return Ok(broken(
                    row.seq,
                    row.id,
                    checked,
                    "does not link to the previous event".into(),
                ));
            }
            let linked = if link_hash(keys, &prev_hash, &row) == row.hash {
                keyed_seen = true;
                true
            } else {
                !keyed_seen && legacy_link_hash(&prev_hash, &row) == row.hash
            };
            if !linked {
                let reason = if format == LinkFormat::Keyed
                    && legacy_link_hash(&prev_hash, &row) == row.hash
                {
                    "an unkeyed link: if this database was upgraded from a version before \
                     keyed audit links and `latchkey audit rekey` has not run since, run it once \
                     (it checks the old links, then keys them); otherwise the chain was \
                     rewritten without the audit key"
                        .to_owned()
                } else {
                    "content does not match its hash (edited, or linked without the audit key)"
                        .to_owned()
                };
                return Ok(broken(row.seq, row.id, checked, reason));
            }
            prev_hash = row.hash;
            expected_seq += 1;
            checked += 1;
        }
        if (len as u64) < PAGE {
            break;
        }
    }
    let last_seq = expected_seq - 1;
    let head = head::Entity::find_by_id(chain.to_owned()).one(conn).await?;
    let problem = match head {
        None => Some("the chain has no head".to_owned()),
        Some(head) if head.seq != last_seq || head.hash != prev_hash => Some(format!(
            "the chain head records {} events but {last_seq} were found (events deleted, or \
             the head rewound)",
            head.seq
        )),
        Some(head) => match &head.signature {
            Some(signature)
                if verify_position(keys, Signed::Head, chain, head.seq, &head.hash, signature) =>
            {
                None
            }
            // A head last moved before heads were signed, on a chain being upgraded.
            None if format == LinkFormat::Upgrading => None,
            _ => Some("the chain head's signature is not valid".to_owned()),
        },
    };
    Ok(match problem {
        Some(reason) => broken(expected_seq, 0, checked, reason),
        None => ChainReport {
            chain: chain.to_owned(),
            events: checked,
            broken: None,
        },
    })
}

pub(super) async fn latest_checkpoint(
    conn: &impl ConnectionTrait,
    chain: &str,
) -> Result<Option<checkpoint::Model>, ServiceError> {
    Ok(checkpoint::Entity::find()
        .filter(checkpoint::Column::Chain.eq(chain))
        .order_by_desc(checkpoint::Column::Seq)
        .one(conn)
        .await?)
}
