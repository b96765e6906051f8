//! Integration tests: one binary, a real server per test (port 0, fresh database), every test
//! on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod administrators;
mod audit_log;
mod cli;
mod clients;
mod console_session;
mod credential_cache;
mod dashboard;
mod health;
mod helpers;
mod metrics;
mod oauth_authorize;
mod oauth_flow;
mod oauth_helpers;
mod oauth_lifecycle;
mod oauth_token;
