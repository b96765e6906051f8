//! Everything that runs only on the server: data models, domain services, and the glue that
//! lets server functions reach them. Nothing here is compiled to WASM.
//!
//! Dependency direction: `ctx` (the only module that touches Leptos) → `services` →
//! `entities`/`crypto`. Services take a connection, domain values and `now`; never HTTP or
//! Leptos types, so the token server and the CLI call them exactly as the console does.

pub mod account_session;
pub mod cache;
pub mod clock;
pub mod console_session;
pub mod crypto;
pub mod ctx;
pub mod db;
pub mod entities;
pub mod error;
pub mod keys;
pub mod protocol;
pub mod services;
pub mod session_store;
pub mod settings;
pub mod state;
#[cfg(test)]
pub mod test_fixtures;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clock::Clock;
pub use error::ServiceError;
pub use state::{AppState, Settings};
