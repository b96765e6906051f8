//! Use cases. Each function takes a connection (or `&AppState`), domain values and `now`,
//! checks who may do it, makes the change and writes its audit event in one transaction.

pub mod access;
pub mod account;
pub mod admin_tokens;
pub mod alerts;
pub mod audit;
pub mod clients;
pub mod connections;
pub mod consents;
pub mod context;
pub mod dashboard;
pub mod event_limiter;
pub mod failure_timeline;
pub mod leaks;
pub mod notifications;
pub mod oauth;
pub mod scopes;
pub mod secrets;
pub mod setup;
pub mod setup_token;
pub mod sign_in;
pub mod signing_keys;
pub mod site_resources;
pub mod sites;
pub mod throttle;
pub mod token_families;
pub mod usage_charts;
pub mod users;
