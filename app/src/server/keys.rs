//! The operator's master key and the purpose-bound keys derived from it. Each purpose gets its
//! own key (HMAC-SHA-256 of a fixed label), so a key leaked or misused for one job cannot be
//! replayed against another.

use crate::server::crypto::hmac_sha256;

/// Keys for each cryptographic job. `Debug` never prints key material.
#[derive(Clone)]
pub struct Keys {
    /// Keyed hash (verifier) of client secrets.
    pub secret_verifier: [u8; 32],
    /// AEAD key that encrypts client secrets at rest so they can be revealed.
    pub secret_encryption: [u8; 32],
    /// Anti-forgery tokens (authorization prompt).
    pub anti_forgery: [u8; 32],
    /// Signs audit-chain checkpoints, chain heads and exported anchors.
    pub audit: [u8; 32],
    /// Keys the links of the audit chains (HMAC), so a database writer without it cannot
    /// recompute a chain after editing it.
    pub audit_chain: [u8; 32],
    /// Keyed hash (verifier) of admin API tokens, so a database writer without it cannot
    /// plant a working token.
    pub admin_token_verifier: [u8; 32],
    /// AEAD key that encrypts the private keys signing JWT access tokens, so a database
    /// reader cannot mint tokens.
    pub signing_key_encryption: [u8; 32],
    /// Keys the `DPoP-Nonce` values (RFC 9449 §8), so every replica recognises the others'
    /// and no client can make one.
    pub dpop_nonce: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Derives every purpose key from the operator's 256-bit master key.
    pub fn derive(master: &[u8; 32]) -> Self {
        let derive = |label: &str| hmac_sha256(master, label.as_bytes());
        Self {
            secret_verifier: derive("latchkey/v1/client-secret-verifier"),
            secret_encryption: derive("latchkey/v1/client-secret-encryption"),
            anti_forgery: derive("latchkey/v1/anti-forgery"),
            audit: derive("latchkey/v1/audit-checkpoint"),
            audit_chain: derive("latchkey/v1/audit-chain-link"),
            admin_token_verifier: derive("latchkey/v1/admin-token-verifier"),
            signing_key_encryption: derive("latchkey/v1/signing-key-encryption"),
            dpop_nonce: derive("latchkey/v1/dpop-nonce"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_distinct_keys_and_debug_hides_them() {
        let keys = Keys::derive(&[7u8; 32]);
        let all = [
            keys.secret_verifier,
            keys.secret_encryption,
            keys.anti_forgery,
            keys.audit,
            keys.audit_chain,
            keys.admin_token_verifier,
            keys.signing_key_encryption,
            keys.dpop_nonce,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(format!("{keys:?}"), "Keys(..)");
        assert_eq!(
            Keys::derive(&[7u8; 32]).audit,
            keys.audit,
            "derivation is deterministic"
        );
    }
}
