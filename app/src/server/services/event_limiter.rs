//! Caps the audit events that people who have not proved who they are can cause: failed and
//! throttled sign-ins, failed and denied authorizations. Without a cap, anyone able to send
//! requests could grow the audit log (and its hash chains) as fast as they can send them.
//!
//! Per kind of event and chain (say "failed sign-ins on site Acme"), the first [`PER_MINUTE`]
//! events of each minute are recorded one by one; the rest are counted, and the count is
//! recorded as one summary event (by the next event recorded, or by [`EventLimiter::drain`],
//! which the server runs every minute), so nothing disappears without a trace. The map is
//! bounded: finished minutes are forgotten, and past [`CAPACITY`] keys new ones share one.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    keys::Keys,
    services::audit::{self, Action, Actor, NewEvent},
};
use sea_orm::ConnectionTrait;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Events of one kind and chain recorded one by one per minute.
pub const PER_MINUTE: u64 = 30;

/// Keys tracked at most (kinds × chains is small; this only guards against a bug).
pub const CAPACITY: usize = 4_096;

const MINUTE: i64 = 60;

/// The key that stands for every key past [`CAPACITY`].
const OVERFLOW: &str = "(overflow)";

#[derive(Debug, Clone, Copy)]
struct Tally {
    minute: i64,
    recorded: u64,
    suppressed: u64,
}

/// What to do with one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Record it; `suppressed` events of the same kind were left out before it (say so).
    Record {
        /// Events counted but not recorded since the last recorded one.
        suppressed: u64,
    },
    /// Only count it.
    Suppress,
}

/// The per-process cap (replicas each have their own, so the total is bounded by replicas).
#[derive(Debug, Default)]
pub struct EventLimiter(Mutex<HashMap<String, Tally>>);

impl EventLimiter {
    /// Decides about one event of `key` at `now`.
    pub fn admit(&self, key: &str, now: Timestamp) -> Admission {
        let Ok(mut tallies) = self.0.lock() else {
            return Admission::Suppress;
        };
        let minute = now.unix().div_euclid(MINUTE);
        if !tallies.contains_key(key) && tallies.len() >= CAPACITY {
            tallies.retain(|_, tally| tally.minute == minute || tally.suppressed > 0);
        }
        let key = if tallies.contains_key(key) || tallies.len() < CAPACITY {
            key
        } else {
            OVERFLOW
        };
        let tally = tallies.entry(key.to_owned()).or_insert(Tally {
            minute,
            recorded: 0,
            suppressed: 0,
        });
        if tally.minute != minute {
            tally.minute = minute;
            tally.recorded = 0;
        }
        if tally.recorded < PER_MINUTE {
            tally.recorded += 1;
            Admission::Record {
                suppressed: std::mem::take(&mut tally.suppressed),
            }
        } else {
            tally.suppressed += 1;
            Admission::Suppress
        }
    }

    /// Takes the counts of suppressed events whose minute is over, by key, and forgets keys
    /// with nothing left to say.
    pub fn drain(&self, now: Timestamp) -> Vec<(String, u64)> {
        let Ok(mut tallies) = self.0.lock() else {
            return Vec::new();
        };
        let minute = now.unix().div_euclid(MINUTE);
        let mut drained = Vec::new();
        for (key, tally) in tallies.iter_mut() {
            if tally.minute != minute && tally.suppressed > 0 {
                drained.push((key.clone(), std::mem::take(&mut tally.suppressed)));
            }
        }
        tallies.retain(|_, tally| tally.minute == minute || tally.suppressed > 0);
        drained
    }

    /// Keys tracked now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |tallies| tallies.len())
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limiter's key of an event: its action and chain.
fn key_of(action: Action, site_id: Option<Uuid>) -> String {
    format!("{}|{}", action.as_str(), audit::chain_key(site_id))
}

/// Records `event` (from someone not yet identified) unless its kind and chain are over the
/// cap this minute; a recorded event says how many similar ones were left out before it.
pub async fn record_limited(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    limiter: &EventLimiter,
    mut event: NewEvent,
    now: Timestamp,
) -> Result<(), ServiceError> {
    match limiter.admit(&key_of(event.action, event.site_id), now) {
        Admission::Suppress => Ok(()),
        Admission::Record { suppressed } => {
            if suppressed > 0 {
                event.summary.push_str(&format!(
                    " (after {suppressed} similar event(s) counted but not recorded one by one)"
                ));
                if let Some(details) = event.details.as_object_mut() {
                    details.insert("suppressed_before".into(), json!(suppressed));
                }
            }
            audit::record(conn, keys, event, now).await?;
            Ok(())
        }
    }
}

/// Records one summary event for each kind and chain whose suppressed count is waiting (run
/// every minute, so a flood that stops still leaves its count in the log).
pub async fn record_summaries(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    limiter: &EventLimiter,
    now: Timestamp,
) -> Result<usize, ServiceError> {
    let drained = limiter.drain(now);
    let count = drained.len();
    for (key, suppressed) in drained {
        let Some((action, chain)) = key.split_once('|') else {
            continue;
        };
        let Some(action) = Action::ALL.iter().copied().find(|a| a.as_str() == action) else {
            continue;
        };
        let site_id = chain
            .strip_prefix("site:")
            .and_then(|id| id.parse::<Uuid>().ok());
        audit::record(
            conn,
            keys,
            NewEvent::new(
                site_id,
                action,
                Actor::anonymous("(many)", None),
                format!(
                    "{suppressed} more event(s) of this kind counted but not recorded one by one"
                ),
            )
            .details(json!({"suppressed": suppressed})),
            now,
        )
        .await?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_recorded_up_to_the_cap_and_then_summarised() {
        let limiter = EventLimiter::default();
        let t = Timestamp(6_000);
        let mut recorded = 0;
        for _ in 0..1_000 {
            if let Admission::Record { .. } = limiter.admit("sign_in_failed:acme", t) {
                recorded += 1;
            }
        }
        assert_eq!(recorded, PER_MINUTE);
        assert_eq!(limiter.drain(t), Vec::new(), "the minute is not over");
        // The next minute's first event carries the count.
        assert_eq!(
            limiter.admit("sign_in_failed:acme", t.plus_seconds(60)),
            Admission::Record {
                suppressed: 1_000 - PER_MINUTE
            }
        );
        // Or the periodic drain does, when nothing else comes.
        for _ in 0..PER_MINUTE + 5 {
            limiter.admit("denied:acme", t);
        }
        assert_eq!(
            limiter.drain(t.plus_seconds(60)),
            vec![("denied:acme".to_owned(), 5)]
        );
        assert_eq!(limiter.drain(t.plus_seconds(120)), Vec::new());
    }

    #[test]
    fn the_map_never_grows_past_its_capacity() {
        let limiter = EventLimiter::default();
        let t = Timestamp(6_000);
        for n in 0..(CAPACITY * 3) {
            limiter.admit(&format!("key-{n}"), t);
        }
        assert!(limiter.len() <= CAPACITY + 1, "{}", limiter.len());
        // A minute later the old keys make room.
        limiter.admit("fresh", t.plus_seconds(60));
        assert!(limiter.len() <= CAPACITY + 1);
        limiter.drain(t.plus_seconds(120));
        assert!(limiter.len() <= 1, "{}", limiter.len());
    }
}
