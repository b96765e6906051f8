//! ECDSA P-256 signature checks of payloads signed by others: GitHub's secret-scanning
//! partner program signs each leak report with a key it publishes (issue 20 item 4). RustCrypto's
//! `p256`, the same family as the `hmac` and `sha2` crates used for everything else.

use p256::ecdsa::{DerSignature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;

/// A published public key that signs payloads, by the identifier senders name it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadKey {
    /// The sender's name for the key (GitHub: `key_identifier`).
    pub id: String,
    /// The key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub pem: String,
}

impl PayloadKey {
    /// The key, if its PEM is a P-256 public key (checked when the operator configures it).
    pub fn parse(id: &str, pem: &str) -> Result<Self, String> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|_| format!("key {id:?} is not a PEM P-256 public key"))?;
        Ok(Self {
            id: id.to_owned(),
            pem: pem.trim().to_owned(),
        })
    }
}

/// True if `signature` (ASN.1 DER, as GitHub sends it base64-decoded) is `key`'s ECDSA
/// P-256/SHA-256 signature of `payload`.
pub fn verifies(key: &PayloadKey, payload: &[u8], signature: &[u8]) -> bool {
    let Ok(verifying) = VerifyingKey::from_public_key_pem(&key.pem) else {
        return false;
    };
    let Ok(signature) = DerSignature::try_from(signature) else {
        return false;
    };
    verifying.verify(payload, &signature).is_ok()
}
