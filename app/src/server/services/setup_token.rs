//! The first run's one-time setup token: held by the application state, consumed by the
//! setup (`setup.rs`). A leaf, so the state need not depend on the setup service.

use crate::server::{
    ServiceError,
    crypto::{constant_time_eq, random},
};
use std::sync::Mutex;

/// The one-time setup token of this process. Used (and forgotten) by the first setup.
#[derive(Debug)]
pub struct SetupToken(Mutex<Option<String>>);

impl SetupToken {
    /// A fresh random token (256 bits), or `operator_supplied` if given.
    pub fn new(operator_supplied: Option<String>) -> Result<Self, ServiceError> {
        let token = match operator_supplied.filter(|t| !t.trim().is_empty()) {
            Some(token) => token.trim().to_owned(),
            None => random::token_256()?,
        };
        Ok(Self(Mutex::new(Some(token))))
    }

    /// The token, for the start-up log line (None once used).
    pub fn reveal_for_log(&self) -> Option<String> {
        self.0.lock().ok().and_then(|token| token.clone())
    }

    /// Checks `presented` in constant time and, if it matches, consumes the token.
    pub(super) fn take_if_matches(&self, presented: &str) -> bool {
        let Ok(mut token) = self.0.lock() else {
            return false;
        };
        let matches = token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), presented.trim().as_bytes()));
        if matches {
            *token = None;
        }
        matches
    }

    pub(super) fn restore(&self, token: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(token.trim().to_owned());
        }
    }
}
