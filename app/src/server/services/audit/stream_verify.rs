//! Verifying an exported audit stream on its own (`latchkey audit verify --stream FILE`),
//! without the database: every event's link is recomputed with the audit chain key, each
//! chain must continue without a gap (a signed checkpoint may vouch for pruned events), and an
//! event written twice (at-least-once delivery) must be the same event both times. A
//! collector's copy is evidence this way. What a file alone cannot show is lines cut off its
//! end: `--against` anchors (`latchkey audit head`) show that.

use crate::server::keys::Keys;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many of each chain's latest links the verifier keeps to compare a repeated event with.
/// A restart or a takeover repeats at most one batch ([`BATCH`] lines), so this is ample; an
/// older repeat (of a position already checked in order) is still checked on its own (its link
/// must match its content), which only the key's holder can forge. Memory stays bounded however
/// long the stream.
const REPEAT_WINDOW: usize = 8 * BATCH as usize;

use super::anchors::Anchor;
use super::link::{GENESIS_HASH, link_hash};
use super::signing::{Signed, verify_position};
use super::stream::BATCH;
use super::stream_line::{ReadLine, read_line};

/// Where a chain's first line in the stream starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStart {
    /// At its first event.
    Genesis,
    /// After a signed retention checkpoint.
    Checkpoint,
    /// Part-way (a rotated file, or a stream begun before this file): the first link is
    /// taken as written; every one after it is checked.
    MidChain,
}

/// What the stream holds of one chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainSummary {
    /// The chain.
    pub chain: String,
    /// How its first line starts it.
    pub starts: ChainStart,
    /// Its first position in the stream.
    pub from_seq: i64,
    /// Its last position in the stream.
    pub to_seq: i64,
    /// Events checked (each once).
    pub events: u64,
    /// Events written again after a restart (at-least-once delivery), each identical.
    pub repeated: u64,
}

/// An anchor checked against the stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnchorCheck {
    /// The chain.
    pub chain: String,
    /// The anchored position.
    pub seq: i64,
    /// What is wrong; `None` when the stream reaches the anchor with its link (or starts
    /// after it, where a file cannot say).
    pub problem: Option<String>,
}

/// The result of verifying a stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamReport {
    /// Lines read.
    pub lines: u64,
    /// Lines that are not stream lines (a collector's own messages) and stream lines cut short
    /// by a crash (the event is written again whole): skipped, since a missing event shows as
    /// a gap. A line that claims to be a stream line but is not a valid one fails instead.
    pub unreadable_lines: u64,
    /// Each chain seen.
    pub chains: Vec<ChainSummary>,
    /// Each anchor checked.
    pub anchors: Vec<AnchorCheck>,
    /// The first problem, if any: the stream does not verify.
    pub broken: Option<String>,
}

struct ChainState {
    starts: ChainStart,
    from_seq: i64,
    last_seq: i64,
    last_hash: String,
    /// The latest links, by position (at most [`REPEAT_WINDOW`]).
    recent: BTreeMap<i64, String>,
    events: u64,
    repeated: u64,
}

impl ChainState {
    fn remember(&mut self, seq: i64, hash: String) {
        self.recent.insert(seq, hash);
        if self.recent.len() > REPEAT_WINDOW {
            self.recent.pop_first();
        }
    }
}

/// Reads a stream line by line ([`StreamVerifier::line`]) and reports ([`StreamVerifier::finish`]).
pub struct StreamVerifier<'k> {
    keys: &'k Keys,
    anchors: Vec<Anchor>,
    /// The anchored positions, by chain and position.
    anchor_positions: HashSet<(String, i64)>,
    /// The link seen at each anchored position.
    anchored: HashMap<(String, i64), String>,
    chains: BTreeMap<String, ChainState>,
    lines: u64,
    unreadable: u64,
    broken: Option<String>,
}

impl<'k> StreamVerifier<'k> {
    /// A verifier with the audit keys of the server that wrote the stream, and the anchors
    /// (from `latchkey audit head`) the stream must reach.
    pub fn new(keys: &'k Keys, anchors: Vec<Anchor>) -> Self {
        Self {
            keys,
            anchor_positions: anchors
                .iter()
                .map(|anchor| (anchor.chain.clone(), anchor.seq))
                .collect(),
            anchors,
            anchored: HashMap::new(),
            chains: BTreeMap::new(),
            lines: 0,
            unreadable: 0,
            broken: None,
        }
    }

    /// Checks the next line (without its newline). After the first problem, lines are only
    /// counted.
    pub fn line(&mut self, text: &str) {
        self.lines += 1;
        if self.broken.is_some() {
            return;
        }
        let problem = match read_line(text) {
            ReadLine::Foreign | ReadLine::Torn => {
                if !text.trim().is_empty() {
                    self.unreadable += 1;
                }
                None
            }
            ReadLine::Malformed(why) => Some(format!(
                "{why}: a line that claims to be an audit event but cannot be checked"
            )),
            ReadLine::Event(row) => {
                let problem = self.event(&row);
                self.note_anchored(&row.chain, row.seq, &row.hash);
                problem
            }
            ReadLine::Checkpoint(chain, seq, hash, signature) => {
                self.note_anchored(&chain, seq, &hash);
                self.checkpoint(chain, seq, hash, &signature)
            }
        };
        if let Some(problem) = problem {
            self.broken = Some(format!("line {}: {problem}", self.lines));
        }
    }

    /// Keeps the link at an anchored position for [`StreamVerifier::finish`].
    fn note_anchored(&mut self, chain: &str, seq: i64, hash: &str) {
        if self.anchor_positions.contains(&(chain.to_owned(), seq)) {
            self.anchored
                .entry((chain.to_owned(), seq))
                .or_insert_with(|| hash.to_owned());
        }
    }

    fn event(&mut self, row: &crate::server::entities::audit_event::Model) -> Option<String> {
        let at = format!("event #{} of chain {}", row.seq, row.chain);
        if link_hash(self.keys, &row.prev_hash, row) != row.hash {
            return Some(format!(
                "{at}: its content does not match its hash (edited, or not written with this \
                 server's key)"
            ));
        }
        let Some(state) = self.chains.get_mut(&row.chain) else {
            if row.seq < 1 || (row.seq == 1 && row.prev_hash != GENESIS_HASH) {
                return Some(format!("{at}: the first event does not start the chain"));
            }
            let starts = if row.seq == 1 {
                ChainStart::Genesis
            } else {
                // The link before it, for an anchor at that position.
                self.note_anchored(&row.chain, row.seq - 1, &row.prev_hash);
                ChainStart::MidChain
            };
            self.chains.insert(
                row.chain.clone(),
                ChainState {
                    starts,
                    from_seq: row.seq,
                    last_seq: row.seq,
                    last_hash: row.hash.clone(),
                    recent: BTreeMap::from([(row.seq, row.hash.clone())]),
                    events: 1,
                    repeated: 0,
                },
            );
            return None;
        };
        if row.seq <= state.last_seq {
            let oldest_kept = state.recent.keys().next().copied().unwrap_or(i64::MAX);
            return match state.recent.get(&row.seq) {
                Some(hash) if *hash == row.hash => {
                    state.repeated += 1;
                    None
                }
                Some(_) => Some(format!(
                    "{at} appears twice with different content (a rewritten copy)"
                )),
                // Before the chain's first line here: out of order (files given newest
                // first, or lines moved), and nothing before that line was checked.
                None if row.seq < state.from_seq => Some(format!(
                    "{at} comes after #{}: lines out of order (give rotated files oldest \
                     first)",
                    state.from_seq
                )),
                // A position checked in order earlier, older than the links kept.
                None if row.seq < oldest_kept => {
                    state.repeated += 1;
                    None
                }
                None => Some(format!("{at} is inside a pruned stretch")),
            };
        }
        if row.seq > state.last_seq + 1 {
            return Some(format!(
                "events #{}–#{} of chain {} are missing",
                state.last_seq + 1,
                row.seq - 1,
                row.chain
            ));
        }
        if row.prev_hash != state.last_hash {
            return Some(format!("{at} does not link to the event before it"));
        }
        state.last_seq = row.seq;
        state.last_hash = row.hash.clone();
        state.remember(row.seq, row.hash.clone());
        state.events += 1;
        None
    }

    fn checkpoint(
        &mut self,
        chain: String,
        seq: i64,
        hash: String,
        signature: &str,
    ) -> Option<String> {
        if !verify_position(self.keys, Signed::Checkpoint, &chain, seq, &hash, signature) {
            return Some(format!(
                "the checkpoint at #{seq} of chain {chain} is not signed with this server's key"
            ));
        }
        let Some(state) = self.chains.get_mut(&chain) else {
            self.chains.insert(
                chain,
                ChainState {
                    starts: ChainStart::Checkpoint,
                    from_seq: seq + 1,
                    last_seq: seq,
                    recent: BTreeMap::from([(seq, hash.clone())]),
                    last_hash: hash,
                    events: 0,
                    repeated: 0,
                },
            );
            return None;
        };
        match state.recent.get(&seq) {
            Some(known) if *known != hash => Some(format!(
                "the checkpoint at #{seq} of chain {chain} does not match the event there"
            )),
            Some(_) => None,
            // Events pruned from the database before this stream delivered them (the stream
            // was turned off for longer than retention waits): the checkpoint vouches that they
            // existed, but this copy lacks them, and a checkpoint moved here from elsewhere
            // would hide deleted lines.
            None if seq > state.last_seq => Some(format!(
                "events #{}–#{seq} of chain {chain} are missing (a checkpoint says they were \
                 pruned before this stream delivered them)",
                state.last_seq + 1
            )),
            None => None,
        }
    }

    /// The report, with each anchor checked: the stream must reach the anchored position
    /// with the anchored link.
    pub fn finish(self) -> StreamReport {
        let mut broken = self.broken;
        let mut checks = Vec::new();
        for anchor in &self.anchors {
            let problem = if !verify_position(
                self.keys,
                Signed::Anchor,
                &anchor.chain,
                anchor.seq,
                &anchor.hash,
                &anchor.signature,
            ) {
                Some("the anchor's signature is not valid (not made with this server's key)".into())
            } else {
                match self.chains.get(&anchor.chain) {
                    None => Some("the stream holds none of the chain".to_owned()),
                    Some(state) if state.from_seq > anchor.seq + 1 => Some(format!(
                        "the stream starts at #{}, after the anchored position (give the \
                         older files too)",
                        state.from_seq
                    )),
                    Some(state) if state.last_seq < anchor.seq => Some(format!(
                        "the stream ends at #{} but the chain had reached #{} when anchored \
                         (lines cut off the end)",
                        state.last_seq, anchor.seq
                    )),
                    Some(_) => match self.anchored.get(&(anchor.chain.clone(), anchor.seq)) {
                        Some(hash) if *hash != anchor.hash => Some(format!(
                            "event #{} does not have the anchored link",
                            anchor.seq
                        )),
                        _ => None,
                    },
                }
            };
            if broken.is_none()
                && let Some(problem) = &problem
            {
                broken = Some(format!(
                    "chain {} does not reach its anchor (#{}): {problem}",
                    anchor.chain, anchor.seq
                ));
            }
            checks.push(AnchorCheck {
                chain: anchor.chain.clone(),
                seq: anchor.seq,
                problem,
            });
        }
        if broken.is_none() && self.chains.is_empty() {
            broken = Some("the stream holds no audit event".to_owned());
        }
        StreamReport {
            lines: self.lines,
            unreadable_lines: self.unreadable,
            chains: self
                .chains
                .into_iter()
                .map(|(chain, state)| ChainSummary {
                    chain,
                    starts: state.starts,
                    from_seq: state.from_seq,
                    to_seq: state.last_seq,
                    events: state.events,
                    repeated: state.repeated,
                })
                .collect(),
            anchors: checks,
            broken,
        }
    }
}
