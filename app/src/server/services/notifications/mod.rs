//! Telling a site's own systems what happened (issue 20 item 6): signed webhooks.
//!
//! - `outbox`: which audited events are announced; their deliveries are written in the
//!   transaction of the change, so a change and its announcement commit together or not at all.
//! - `endpoints`: a site's webhook endpoints (add, remove, test) and its delivery log.
//! - `dispatch`: claiming due deliveries (safe across replicas), signing them, and settling
//!   each attempt with exponential backoff. The HTTP sending itself is the server's.

pub mod dispatch;
pub mod endpoints;
pub mod outbox;
