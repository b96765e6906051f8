//! How events link into a chain: the chain an event extends, and the link hash that
//! `audit verify` recomputes (keyed with the audit chain key; unkeyed before links were keyed).

use crate::server::{
    crypto::{hex, hmac_sha256, sha256},
    entities::audit_event as event,
    keys::Keys,
};
use serde_json::json;
use uuid::Uuid;

/// The `prev_hash` of the first event of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain an event of `site_id` extends.
pub fn chain_key(site_id: Option<Uuid>) -> String {
    site_id.map_or_else(|| "global".to_owned(), |id| format!("site:{id}"))
}

/// The link hash: what `audit verify` recomputes, keyed with the audit chain key.
pub(super) fn link_hash(keys: &Keys, prev_hash: &str, row: &event::Model) -> String {
    hex(&hmac_sha256(&keys.audit_chain, &link_input(prev_hash, row)))
}

/// The unkeyed link of chains written before links were keyed (SHA-256 of the same input):
/// only [`rekey`] and the verifier's hint use it.
pub(super) fn legacy_link_hash(prev_hash: &str, row: &event::Model) -> String {
    hex(&sha256(&link_input(prev_hash, row)))
}

/// What a link hashes: the previous link and the event's canonical JSON.
fn link_input(prev_hash: &str, row: &event::Model) -> Vec<u8> {
    let canonical = json!([
        row.chain,
        row.seq,
        row.site_id.map(|id| id.to_string()),
        row.occurred_at,
        row.action,
        row.actor_kind,
        row.actor_id,
        row.actor_label,
        row.target_kind,
        row.target_id,
        row.target_label,
        row.client_address,
        row.summary,
        row.details,
    ]);
    let mut input = String::with_capacity(prev_hash.len() + 256);
    input.push_str(prev_hash);
    input.push('\n');
    input.push_str(&canonical.to_string());
    input.into_bytes()
}
