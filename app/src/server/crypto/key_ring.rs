//! The signing keys as one process holds them: the key that signs new JWT access tokens, the
//! public keys that still verify, and the JWK set document that publishes them. Loaded from
//! `signing_keys` (see `services::signing_keys`) and kept in the credential caches.

use crate::server::crypto::jose::{SigningAlgorithm, TokenSigner, VerifyingKey};

/// The private key that signs new tokens. `Debug` never prints it.
pub struct SigningKey {
    /// Its `kid`.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// The key, parsed (it zeroes its memory when dropped).
    pub signer: TokenSigner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Every key in use at one moment.
#[derive(Debug, Default)]
pub struct KeyRing {
    /// The newest unretired key, if any key exists.
    pub signing: Option<SigningKey>,
    /// Every published key (the signing key and the retired ones still published).
    pub verifying: Vec<VerifyingKey>,
    /// `{"keys": [...]}`: the published public keys, as `/.well-known/jwks.json` serves them.
    pub jwks: String,
    /// When the first retired key stops being published (seconds since the epoch): the ring
    /// must be loaded again from then on.
    pub reload_at: Option<i64>,
}

impl KeyRing {
    /// The published key named `kid`.
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|key| key.kid == kid)
    }
}
