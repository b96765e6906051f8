//! The one calling convention of the services that act for someone: the database, the keys,
//! the operator's settings, who is acting and the instant the action happens — gathered once
//! by the caller (a server function, the CLI, a test) instead of passed as loose parameters.

use crate::domain::Timestamp;
use crate::server::{AppState, keys::Keys, services::access::Acting, state::Settings};
use sea_orm::DatabaseConnection;

/// Everything a service call needs besides its own arguments.
#[derive(Clone, Copy)]
pub struct ServiceContext<'a> {
    /// The database.
    pub db: &'a DatabaseConnection,
    /// Purpose-bound keys (audit chain, secret storage).
    pub keys: &'a Keys,
    /// The operator's settings.
    pub settings: &'a Settings,
    /// Who acts (checked by each service against the site it touches).
    pub acting: &'a Acting,
    /// When the action happens: one reading of the clock for the whole call.
    pub now: Timestamp,
}

impl<'a> ServiceContext<'a> {
    /// `acting` acting now, per `state`'s clock.
    pub fn new(state: &'a AppState, acting: &'a Acting) -> Self {
        Self {
            db: &state.db,
            keys: &state.keys,
            settings: &state.settings,
            acting,
            now: state.clock.now(),
        }
    }
}

impl std::fmt::Debug for ServiceContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("ServiceContext")
            .field("acting", self.acting)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
