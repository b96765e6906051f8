//! The audit log: every administrator action and token event, append-only and tamper-evident.
//!
//! Events form one hash chain per site (`site:<uuid>`; events with no site use `global`):
//! `hash = HMAC-SHA-256(audit chain key, prev_hash "\n" canonical-json(event))`. The key is
//! derived from the operator's master key and never stored in the database, so someone who
//! can write the database but lacks the key cannot recompute a chain after editing it. The
//! head row (newest position and hash) carries a signature with the audit key, so rewinding it
//! alone is caught; rewinding it to a head copied earlier is caught by an anchor kept outside
//! the database ([`Anchor`], `latchkey audit head` and `audit verify --against`).
//!
//! Appending advances the chain head row first, which serialises writers of one chain (a row
//! lock on PostgreSQL, the write lock on SQLite) and makes a fork impossible (`(chain, seq)` is
//! also unique). This module offers no update or delete: the only way to change the log is to
//! append to it ([`rekey`], the one-time upgrade of chains written before links were keyed,
//! rewrites links only after checking them).
//!
//! One job per file: [`action`] (the vocabulary), [`event`] (who did what to what), [`link`]
//! and [`signing`] (how links and positions are computed), [`chain`] (appending), [`verify`],
//! [`rekey`] and [`anchors`] (checking), [`query`] (reading), [`export`] (CSV),
//! [`retention`] (pruning behind a signed checkpoint), and audit streaming: [`stream_line`]
//! (the JSON line format), [`stream`] (what a stream has yet to deliver, its lease and
//! cursor) and [`stream_verify`] (checking an exported stream without the database).
//! Dependencies point from the checking and reading files to the writing ones, never back.

pub mod action;
pub mod anchors;
pub mod chain;
pub mod event;
pub mod export;
pub mod link;
pub mod query;
pub mod rekey;
pub mod retention;
pub mod signing;
pub mod stream;
pub mod stream_line;
pub mod stream_verify;
pub mod verify;

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

pub use action::Action;
pub use anchors::{Anchor, check_anchor, export_anchors};
pub use chain::{link_batch, record, record_batch, record_on_sites};
pub use event::{Actor, ActorKind, NewEvent, Target, TargetKind};
pub use link::{GENESIS_HASH, chain_key};
pub use rekey::rekey;
pub use signing::{Signed, sign_position, verify_position};
pub use stream_verify::{StreamReport, StreamVerifier};
pub use verify::{BrokenLink, ChainReport, chains, verify_chain};
