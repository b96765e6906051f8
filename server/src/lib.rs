//! The `latchkey` server: HTTP application, configuration and command line. `main.rs` is a
//! thin entry point; the integration tests drive the same `startup::build_router`.

pub mod admin_api;
pub mod admin_token_commands;
pub mod audit_stream;
pub mod audit_stream_verify;
pub mod background;
pub mod bearer_header;
pub mod cli_support;
pub mod commands;
pub mod config;
pub mod console;
pub mod dpop_header;
pub mod key_commands;
pub mod mail_sender;
pub mod master_key;
pub mod metrics;
pub mod middleware;
pub mod oauth_endpoints;
pub mod resource_api;
pub mod seed;
pub mod startup;
pub mod webhook_sender;
