//! The authorization server's use cases (RFC 6749, 6750, 7009, 7636, 7662, 8414; RFC 9700
//! practices). Each takes the application state, protocol values and `now`, and returns either
//! a result or an [`OAuthError`](crate::server::protocol::OAuthError) with the RFC code to send.

pub mod access_tokens;
pub mod authorization_request;
pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod dpop;
pub mod failure_log;
pub mod grant_check;
pub mod introspection;
pub mod issue;
pub mod jwt_access;
pub mod prompt_token;
pub mod purge;
pub mod revocation;
pub mod token;
pub mod usage;
