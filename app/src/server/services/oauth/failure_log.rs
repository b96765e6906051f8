//! Failed client authentications not yet written to the audit log: counted per client (or
//! per address for unknown clients), logged at most once a minute with their count, a burst
//! raising one alert. In memory and bounded; a leaf that the application state holds.

use crate::domain::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// How often a failing client's attempts are written to the audit log.
const FAILURE_LOG_INTERVAL: i64 = 60;
/// Failures within one interval that raise an alert.
pub const BURST: u64 = 10;

#[derive(Debug, Clone, Copy)]
struct Tally {
    last_logged: i64,
    unlogged: u64,
    window_start: i64,
    in_window: u64,
}

/// What to do about one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Write an audit event covering this many attempts.
    pub log: Option<u64>,
    /// This failure completes a burst: raise an alert.
    pub burst: bool,
}

/// Keys (clients, or addresses naming unknown clients) tracked at most; when full, keys quiet
/// for a whole interval are forgotten first, and failures of new keys past the limit share one.
const FAILURE_LOG_CAPACITY: usize = 10_000;

/// The key shared by failures beyond [`FAILURE_LOG_CAPACITY`].
const FAILURE_LOG_OVERFLOW: &str = "unknown:(many)";

/// Failed client authentications not yet written to the audit log, per client (or per
/// address for unknown clients): bounded, so a flood of made-up Consumer Keys from many
/// addresses cannot grow it without limit.
#[derive(Debug, Default)]
pub struct FailureLog(Mutex<HashMap<String, Tally>>);

impl FailureLog {
    /// Counts a failure of `key`.
    pub fn count(&self, key: &str, now: Timestamp) -> Verdict {
        let Ok(mut map) = self.0.lock() else {
            return Verdict::default();
        };
        let now = now.unix();
        if !map.contains_key(key) && map.len() >= FAILURE_LOG_CAPACITY {
            map.retain(|_, tally| {
                now - tally.window_start < FAILURE_LOG_INTERVAL || tally.unlogged > 0
            });
        }
        let key = if map.contains_key(key) || map.len() < FAILURE_LOG_CAPACITY {
            key
        } else {
            FAILURE_LOG_OVERFLOW
        };
        let tally = map.entry(key.to_owned()).or_insert(Tally {
            last_logged: now - FAILURE_LOG_INTERVAL,
            unlogged: 0,
            window_start: now,
            in_window: 0,
        });
        if now - tally.window_start >= FAILURE_LOG_INTERVAL {
            tally.window_start = now;
            tally.in_window = 0;
        }
        tally.in_window += 1;
        tally.unlogged += 1;
        let log = (now - tally.last_logged >= FAILURE_LOG_INTERVAL).then(|| {
            tally.last_logged = now;
            std::mem::take(&mut tally.unlogged)
        });
        Verdict {
            log,
            burst: tally.in_window == BURST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_logged_once_a_minute_with_their_count_and_raise_one_alert() {
        let log = FailureLog::default();
        assert_eq!(
            log.count("c", Timestamp(1_000)).log,
            Some(1),
            "first failure logged"
        );
        let mut bursts = 0;
        for t in 1_001..1_030 {
            let verdict = log.count("c", Timestamp(t));
            assert_eq!(verdict.log, None);
            bursts += u32::from(verdict.burst);
        }
        assert_eq!(bursts, 1, "the tenth failure in a minute is a burst, once");
        assert_eq!(log.count("c", Timestamp(1_060)).log, Some(30));
        assert_eq!(
            log.count("other", Timestamp(1_060)).log,
            Some(1),
            "per client"
        );
    }

    #[test]
    fn made_up_clients_from_many_addresses_never_grow_the_log_past_its_capacity() {
        let log = FailureLog::default();
        for n in 0..(FAILURE_LOG_CAPACITY * 2) {
            log.count(
                &format!("unknown:10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                Timestamp(5_000),
            );
        }
        let len = log.0.lock().unwrap().len();
        assert!(len <= FAILURE_LOG_CAPACITY + 1, "{len}");
    }
}
