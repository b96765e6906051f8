//! Encryption at rest for client secrets that administrators may reveal: XChaCha20-Poly1305
//! with a random 192-bit nonce per secret, bound (as associated data) to the client it belongs
//! to, so a ciphertext copied onto another client's row does not decrypt.

use crate::server::{ServiceError, crypto::random};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};

const NONCE_LEN: usize = 24;

fn cipher(key: &[u8; 32]) -> Result<XChaCha20Poly1305, ServiceError> {
    XChaCha20Poly1305::new_from_slice(key)
        .map_err(|_| ServiceError::Unexpected("secret encryption key has the wrong length".into()))
}

/// Encrypts `plaintext`, binding it to `context`; returns base64url(nonce ‖ ciphertext ‖ tag).
pub fn seal(key: &[u8; 32], plaintext: &[u8], context: &[u8]) -> Result<String, ServiceError> {
    let nonce_bytes = random::bytes::<NONCE_LEN>()?;
    let nonce = XNonce::from(nonce_bytes);
    let sealed = cipher(key)?
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .map_err(|_| ServiceError::Unexpected("secret encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Decrypts what [`seal`] produced for the same `context`. Fails on any change to the
/// ciphertext, a different context, or a different key.
pub fn open(key: &[u8; 32], sealed: &str, context: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let fail = || {
        ServiceError::Unexpected(
            "stored secret could not be decrypted (wrong key or tampered)".into(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| fail())?;
    if bytes.len() < NONCE_LEN + 16 {
        return Err(fail());
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| fail())?;
    cipher(key)?
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: context,
            },
        )
        .map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering_other_contexts_and_keys() {
        let key = [9u8; 32];
        let sealed = seal(&key, b"lkcs_secret", b"client-a").unwrap();
        assert_eq!(open(&key, &sealed, b"client-a").unwrap(), b"lkcs_secret");
        assert_ne!(
            seal(&key, b"lkcs_secret", b"client-a").unwrap(),
            sealed,
            "fresh nonce each time"
        );
        assert!(
            open(&key, &sealed, b"client-b").is_err(),
            "bound to its client"
        );
        assert!(
            open(&[8u8; 32], &sealed, b"client-a").is_err(),
            "needs the key"
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(
            open(&key, &URL_SAFE_NO_PAD.encode(bytes), b"client-a").is_err(),
            "tamper-evident"
        );
        assert!(open(&key, "not base64!", b"client-a").is_err());
        assert!(open(&key, "", b"client-a").is_err());
    }
}
