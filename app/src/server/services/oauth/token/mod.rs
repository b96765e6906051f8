//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4 and §6), one job per file. A request
//! flows:
//!
//! 1. [`intake`]: the checks that need no database; the request goes to the worker.
//! 2. [`worker`]: one per process; takes every request waiting and settles them in one
//!    transaction.
//! 3. [`reads`]: the rows the batch presented, the clients' scopes, the users, in one query
//!    each.
//! 4. [`code_rules`], [`refresh_rules`], [`client_rules`]: the verdict on each request ([`request::Verdict`]),
//!    in arrival order. Pure functions of the rows: they never call the worker back.
//! 5. [`writes`]: codes and refresh tokens consumed, reuse revoked; the new grants and tokens
//!    go out with the audit events (`issue`, `audit`).
//!
//! Dependencies point one way: `intake` → `worker` → (`reads`, rules, `writes`) → `request`.

pub mod audience;
pub mod batch_check;
pub mod client_rules;
pub mod code_rules;
pub mod intake;
pub mod reads;
pub mod refresh_rules;
pub mod request;
pub mod step_timer;
pub mod worker;
pub mod writes;

pub use intake::{client_credentials, exchange, refresh};
pub use request::Sender;
pub use worker::{GrantWriter, WorkerContext};
