//! Signatures of chain positions (checkpoints, heads, exported anchors) with the audit key.

use crate::server::{
    crypto::{constant_time_eq, hex, hmac_sha256},
    keys::Keys,
};

/// What a signature of a chain position stands for: a retention checkpoint, a chain head, or
/// an anchor exported for safekeeping. Part of the signed text, so one cannot pass for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// The last event of a pruned stretch (`audit_checkpoints`).
    Checkpoint,
    /// The newest event of a chain (`audit_chain_heads`).
    Head,
    /// A head exported with `latchkey audit head`.
    Anchor,
}

/// The signature (audit key) of position `seq` of `chain` having link `hash`.
pub fn sign_position(keys: &Keys, what: Signed, chain: &str, seq: i64, hash: &str) -> String {
    let message = match what {
        // Checkpoints keep the text they were signed with before heads and anchors existed.
        Signed::Checkpoint => format!("{chain}|{seq}|{hash}"),
        Signed::Head => format!("head|{chain}|{seq}|{hash}"),
        Signed::Anchor => format!("anchor|{chain}|{seq}|{hash}"),
    };
    hex(&hmac_sha256(&keys.audit, message.as_bytes()))
}

/// True if `signature` is the audit key's signature of that position.
pub fn verify_position(
    keys: &Keys,
    what: Signed,
    chain: &str,
    seq: i64,
    hash: &str,
    signature: &str,
) -> bool {
    constant_time_eq(
        sign_position(keys, what, chain, seq, hash).as_bytes(),
        signature.as_bytes(),
    )
}
