//! Integration tests: one binary, a real server per test (port 0, fresh database), every test
//! on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod admin_api;
mod administrators;
mod audit_log;
mod audit_stream;
mod cli;
mod clients;
mod consent;
mod console_session;
mod credential_cache;
mod dashboard;
mod dpop;
mod failure_timeline;
mod headers;
mod health;
mod helpers;
// The hostile-input strategies of the app crate's property tests, shared here (one source).
#[allow(dead_code)]
#[path = "../../../app/src/hostile.rs"]
mod hostile;
mod hostile_http;
mod jwt_access_tokens;
mod leaks;
mod machine_clients;
mod mail;
mod metrics;
mod oauth_authorize;
mod oauth_flow;
mod oauth_helpers;
mod oauth_lifecycle;
mod oauth_token;
mod process;
mod races;
mod resource_indicators;
mod secret_expiry;
mod soft_delete;
mod startup;
mod trust_credentials;
mod trust_cross_site;
mod trust_rights;
mod trust_wire;
mod webhooks;
