//! Telling a site's people and systems what happened (issue 20 item 6): signed webhooks and
//! e-mail.
//!
//! - `outbox`: which audited events are announced; their webhook deliveries (and, through
//!   `mail`, their e-mails) are written in the transaction of the change, so a change and its
//!   announcement commit together or not at all.
//! - `mail`: who is e-mailed about what, and the messages.
//! - `attempts`: the bookkeeping both outboxes share — claims safe across replicas,
//!   exponential backoff, giving up, pruning the logs.
//! - `endpoints`: a site's webhook endpoints (add, remove, test) and its delivery log.
//! - `dispatch`: claiming due webhook deliveries, signing and settling them.
//! - `mail_settings`: a site's e-mail switch, test message and mail log.
//! - `mail_dispatch`: claiming due e-mails and settling them.
//!
//! The HTTP and SMTP sending themselves are the server's.

pub mod attempts;
pub mod dispatch;
pub mod endpoints;
pub mod mail;
pub mod mail_dispatch;
pub mod mail_settings;
pub mod outbox;
