//! sea-orm entities: THE data models shared by the console, the token server and the CLI.
//! The schema itself is defined only by the `migrations` crate; these mirror it.

pub mod access_token;
pub mod admin_idempotency;
pub mod admin_token;
pub mod admin_token_site;
pub mod alert;
pub mod audit_chain_head;
pub mod audit_checkpoint;
pub mod audit_event;
pub mod audit_stream;
pub mod audit_stream_cursor;
pub mod authorization_code;
pub mod client;
pub mod client_failure;
pub mod client_scope;
pub mod client_secret;
pub mod consent;
pub mod credential_epoch;
pub mod dpop_proof;
pub mod mail_delivery;
pub mod refresh_token;
pub mod session;
pub mod sign_in_throttle;
pub mod signing_key;
pub mod site;
pub mod site_membership;
pub mod site_resource;
pub mod site_scope;
pub mod terms_acceptance;
pub mod token_family;
pub mod usage_daily;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
