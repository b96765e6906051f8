//! OAuth 2.0 protocol types, shaped like the RFCs and free of HTTP types: error codes
//! (RFC 6749 §4.1.2.1, §5.2), request parameters (§3.1: no repeats, empty means absent),
//! client credentials (§2.3.1), PKCE (RFC 7636). The axum handlers in the server crate's `oauth_endpoints` turn
//! these into responses; the services in `services::oauth` decide.

mod error;
mod params;
pub mod pkce;

pub use error::{ErrorCode, OAuthError};
pub use params::{ClientCredentials, Params, decode_basic, encode_basic};
