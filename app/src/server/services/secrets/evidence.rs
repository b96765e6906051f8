//! What the console shows about each secret slot, and the evidence weighed before an old
//! secret is retired: its state (current, grace, retired) and whether clients used it within
//! the warning window, worded with when, from where and by what.

use crate::domain::{Timestamp, ago_words};
use crate::server::entities::client_secret;

/// How a secret slot stands: the console's badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// The newest slot, valid.
    Current,
    /// An older slot still valid (its grace period runs).
    Grace,
    /// Retired, or replaced and its grace period over: no longer accepted.
    Retired,
    /// Its own lifetime ran out before it was replaced: no longer accepted.
    Expired,
    /// Reported as leaked and retired at once.
    Quarantined,
}

impl SlotState {
    /// The word the console and its tests use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Grace => "grace",
            Self::Retired => "retired",
            Self::Expired => "expired",
            Self::Quarantined => "quarantined",
        }
    }
}

/// The state of each of `slots` (newest first, as [`slots`] returns them) at `now`.
pub fn slot_states(slots: &[client_secret::Model], now: Timestamp) -> Vec<SlotState> {
    let newest = slots.first().map(|slot| slot.id);
    slots
        .iter()
        .map(|slot| {
            if slot.quarantined_at.is_some() {
                SlotState::Quarantined
            } else if slot.expired_at(now.unix()).is_some() {
                SlotState::Expired
            } else if !slot.is_valid_at(now.unix()) {
                SlotState::Retired
            } else if Some(slot.id) == newest {
                SlotState::Current
            } else {
                SlotState::Grace
            }
        })
        .collect()
}

/// True when `slot` was last used less than `window` seconds before `now`: a client may still
/// depend on it, so retiring it needs an explicit confirmation.
pub fn recently_used(slot: &client_secret::Model, window: i64, now: Timestamp) -> bool {
    window > 0 && slot.last_used_at.is_some_and(|at| now.unix() - at < window)
}

/// The form field that confirms retiring a secret still in use.
pub const RETIRE_ANYWAY: &str = "retire_anyway";

/// What an administrator is told before retiring a secret still in use: when, from where and
/// by what it was last used.
pub fn in_use_warning(slot: &client_secret::Model, now: Timestamp) -> String {
    let ago = slot
        .last_used_at
        .map_or_else(|| "recently".to_owned(), |at| ago_words(now.unix() - at));
    let from = slot
        .last_used_from
        .as_deref()
        .map(|address| format!(" from {address}"))
        .unwrap_or_default();
    let agent = slot
        .last_user_agent
        .as_deref()
        .map(|agent| format!(", user agent “{agent}”"))
        .unwrap_or_default();
    format!(
        "This secret is still in use: last used {ago}{from}{agent}, {} use(s) in all. Retire \
         it anyway only once every client has the new secret.",
        slot.use_count
    )
}
