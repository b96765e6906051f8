//! `latchkey keys …`: the operator's flags for the keys that sign JWT access tokens.

use clap::Subcommand;

/// `latchkey keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key sign JWT access tokens. The previous key stays published at
    /// `/.well-known/jwks.json` until every token it signed has expired. Prints the keys as
    /// JSON.
    Rotate {
        /// The new key's JWS algorithm: `ES256` (ECDSA P-256, the widest support) or `EdDSA`
        /// (Ed25519).
        #[arg(long, default_value = "ES256")]
        algorithm: String,
    },
    /// Print every key (kid, algorithm, whether it signs, until when it is published) as JSON.
    List,
}
