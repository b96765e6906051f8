//! The one source of "now". Every function that issues or verifies something takes a
//! `Timestamp` from here, so tests can move time instead of sleeping.

use crate::domain::Timestamp;
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

/// The wall clock in production, a hand-moved clock in tests.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The system's UTC clock.
    System,
    /// A clock that only moves when told to (shared by every clone).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Self {
        Self::Manual(Arc::new(AtomicI64::new(start.unix())))
    }

    /// The current moment.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => Timestamp(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or(0),
            ),
            Self::Manual(now) => Timestamp(now.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock forward by `seconds`; the system clock cannot be moved.
    pub fn advance(&self, seconds: i64) {
        if let Self::Manual(now) = self {
            now.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}
