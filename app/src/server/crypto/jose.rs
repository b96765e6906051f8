//! JOSE for JWT access tokens (RFC 9068): generating a signing key, signing a token, and
//! verifying one against the keys Latchkey publishes. The `jsonwebtoken` crate does the JWS
//! and JWK work (its RustCrypto backend shares `p256` and `sha2` with the rest of Latchkey);
//! this module only decides which algorithms, headers and checks apply.

use crate::server::{ServiceError, crypto::random};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
    jwk::{Jwk, PublicKeyUse, ThumbprintHash},
};
use p256::pkcs8::EncodePrivateKey;
use serde::{Serialize, de::DeserializeOwned};

/// The `typ` header of a JWT access token (RFC 9068 §2.1); resource servers must check it, so
/// another kind of JWT signed with the same key is never taken for an access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The longest token text looked at: a real one is well under 2 KB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The algorithms Latchkey signs with: ECDSA P-256/SHA-256 (the widest support among resource
/// server libraries, the default) and Ed25519.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    /// `ES256` (RFC 7518 §3.4).
    #[default]
    Es256,
    /// `EdDSA` with Ed25519 (RFC 8037).
    EdDsa,
}

impl SigningAlgorithm {
    /// Every algorithm, as metadata and the CLI list them.
    pub const ALL: [Self; 2] = [Self::Es256, Self::EdDsa];

    /// From its JWS name (`ES256` or `EdDSA`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// Its JWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Its `jsonwebtoken` algorithm.
    pub fn jws(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    fn encoding_key(self, pkcs8: &[u8]) -> EncodingKey {
        match self {
            Self::Es256 => EncodingKey::from_ec_der(pkcs8),
            Self::EdDsa => EncodingKey::from_ed_der(pkcs8),
        }
    }
}

/// A new key pair: what is stored (the private key sealed) and what is published.
pub struct GeneratedKey {
    /// The public key's RFC 7638 thumbprint (SHA-256), used as its `kid`.
    pub kid: String,
    /// The public key as a JWK with `kid`, `alg` and `use`, as JSON.
    pub public_jwk: String,
    /// The private key, PKCS #8 DER.
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn jose_error(context: &str) -> impl FnOnce(jsonwebtoken::errors::Error) -> ServiceError + '_ {
    move |error| ServiceError::Unexpected(format!("{context}: {error}"))
}

/// The PKCS #8 form of the Ed25519 private key with `seed` (RFC 8410 §7: a fixed prefix, then
/// the 32-byte seed).
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

/// Generates a key pair for `algorithm` from the operating system's random source.
pub fn generate(algorithm: SigningAlgorithm) -> Result<GeneratedKey, ServiceError> {
    let pkcs8 = match algorithm {
        SigningAlgorithm::Es256 => {
            // A random 256-bit string is a valid scalar except with negligible probability;
            // try again in that case.
            let secret = loop {
                if let Ok(secret) = p256::SecretKey::from_slice(&random::bytes::<32>()?) {
                    break secret;
                }
            };
            secret
                .to_pkcs8_der()
                .map_err(|_| ServiceError::Unexpected("encoding a P-256 key failed".into()))?
                .as_bytes()
                .to_vec()
        }
        SigningAlgorithm::EdDsa => ed25519_pkcs8(&random::bytes::<32>()?),
    };
    let (kid, public_jwk) = public_key(algorithm, &pkcs8)?;
    Ok(GeneratedKey {
        kid,
        public_jwk,
        pkcs8,
    })
}

/// The public half of the private key `pkcs8`: its RFC 7638 thumbprint (the `kid`) and its JWK
/// with `kid`, `alg` and `use`, as JSON. Derived, never read from storage, so a database writer
/// cannot slip another public key in under a known `kid`.
pub fn public_key(
    algorithm: SigningAlgorithm,
    pkcs8: &[u8],
) -> Result<(String, String), ServiceError> {
    let mut jwk = Jwk::from_encoding_key(&algorithm.encoding_key(pkcs8), algorithm.jws())
        .map_err(jose_error("deriving the public key"))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(jose_error("computing the key's thumbprint"))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let public_jwk = serde_json::to_string(&jwk)
        .map_err(|error| ServiceError::caused("writing a JWK", error))?;
    Ok((kid, public_jwk))
}

/// Signs `claims` as a JWT access token (`typ: at+jwt`) with the private key `pkcs8` of
/// `algorithm`, naming it `kid` (tests; a server signs with a [`TokenSigner`] it keeps).
#[cfg(test)]
pub fn sign<T: Serialize>(
    algorithm: SigningAlgorithm,
    kid: &str,
    pkcs8: &[u8],
    claims: &T,
) -> Result<String, ServiceError> {
    TokenSigner::new(algorithm, kid, pkcs8)?.sign(claims)
}

/// A private key parsed once, with its token header encoded once: parsing a P-256 key derives
/// its public key, which costs as much as a signature, so the server keeps one of these per
/// key instead of handing `jsonwebtoken` the PKCS #8 bytes for every token. The keys zero
/// their memory when dropped.
pub struct TokenSigner {
    /// `base64url({"typ":"at+jwt","alg":…,"kid":…})`.
    encoded_header: String,
    key: ParsedKey,
}

enum ParsedKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl TokenSigner {
    /// Parses the private key `pkcs8` of `algorithm`, whose tokens name it `kid`.
    pub fn new(algorithm: SigningAlgorithm, kid: &str, pkcs8: &[u8]) -> Result<Self, ServiceError> {
        use p256::pkcs8::DecodePrivateKey;
        let unreadable = |_| ServiceError::Unexpected("a signing key is not PKCS #8".into());
        let key = match algorithm {
            SigningAlgorithm::Es256 => ParsedKey::Es256(
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(unreadable)?,
            ),
            SigningAlgorithm::EdDsa => ParsedKey::EdDsa(
                ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8).map_err(unreadable)?,
            ),
        };
        let mut header = Header::new(algorithm.jws());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(kid.to_owned());
        let header = serde_json::to_vec(&header)
            .map_err(|error| ServiceError::caused("writing a JWS header", error))?;
        Ok(Self {
            encoded_header: b64(&header),
            key,
        })
    }

    /// `claims` as a signed JWT (JWS compact serialisation, RFC 7515 §7.1).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, ServiceError> {
        let claims = serde_json::to_vec(claims)
            .map_err(|error| ServiceError::caused("writing JWT claims", error))?;
        let mut token = String::with_capacity(self.encoded_header.len() + claims.len() * 2 + 90);
        token.push_str(&self.encoded_header);
        token.push('.');
        token.push_str(&b64(&claims));
        let signature = match &self.key {
            ParsedKey::Es256(key) => {
                use p256::ecdsa::signature::Signer;
                let signature: p256::ecdsa::Signature = key.sign(token.as_bytes());
                b64(&signature.to_bytes())
            }
            ParsedKey::EdDsa(key) => {
                use ed25519_dalek::Signer;
                b64(&key.sign(token.as_bytes()).to_bytes())
            }
        };
        token.push('.');
        token.push_str(&signature);
        Ok(token)
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A published public key, ready to verify with.
#[derive(Clone)]
pub struct VerifyingKey {
    /// Its `kid`.
    pub kid: String,
    algorithm: SigningAlgorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// From a stored public JWK; `None` if it is not one Latchkey made.
    pub fn from_jwk_json(json: &str) -> Option<Self> {
        let jwk: Jwk = serde_json::from_str(json).ok()?;
        let kid = jwk.common.key_id.clone()?;
        let algorithm = SigningAlgorithm::parse(&jwk.common.key_algorithm?.to_string())?;
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        Some(Self {
            kid,
            algorithm,
            key,
        })
    }
}

/// The `kid` a token names, if `token` has the shape of a JWT access token signed by one of
/// Latchkey's algorithms (`typ: at+jwt`). Nothing is verified yet: this only decides which
/// key to verify with.
pub fn access_token_kid(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_LEN || token.bytes().filter(|&b| b == b'.').count() != 2 {
        return None;
    }
    let header = jsonwebtoken::decode_header(token).ok()?;
    let typ_ok = header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP));
    let alg_ok = SigningAlgorithm::ALL.iter().any(|a| a.jws() == header.alg);
    (typ_ok && alg_ok).then_some(header.kid).flatten()
}

/// The claims of `token` if `key` signed it with its own algorithm. Expiry and audience are
/// not judged here: the caller holds the token's stored row, which is authoritative.
pub fn verify<T: DeserializeOwned>(token: &str, key: &VerifyingKey) -> Option<T> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut validation = Validation::new(key.algorithm.jws());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(token, &key.key, &validation)
        .ok()
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        jti: String,
    }

    #[test]
    fn each_algorithm_signs_what_only_its_own_key_verifies() {
        for algorithm in SigningAlgorithm::ALL {
            let key = generate(algorithm).unwrap();
            let other = generate(algorithm).unwrap();
            assert_ne!(key.kid, other.kid);
            let claims = Claims { jti: "abc".into() };
            let token = sign(algorithm, &key.kid, &key.pkcs8, &claims).unwrap();
            assert_eq!(access_token_kid(&token), Some(key.kid.clone()));
            let verifying = VerifyingKey::from_jwk_json(&key.public_jwk).unwrap();
            assert_eq!(verify::<Claims>(&token, &verifying), Some(claims));
            let wrong = VerifyingKey::from_jwk_json(&other.public_jwk).unwrap();
            assert_eq!(verify::<Claims>(&token, &wrong), None, "{algorithm:?}");
            // One changed character of the payload breaks the signature.
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            parts[1] = jsonwebtoken_payload(r#"{"jti":"abd"}"#);
            assert_eq!(verify::<Claims>(&parts.join("."), &verifying), None);
            assert!(
                !key.public_jwk.contains("\"d\""),
                "no private part published"
            );
            assert!(!format!("{key:?}").contains(&format!("{:?}", key.pkcs8)));
        }
    }

    #[test]
    fn the_kept_signer_writes_what_jsonwebtoken_writes() {
        // ES256 here is deterministic (RFC 6979) and Ed25519 always is: same bytes.
        for algorithm in SigningAlgorithm::ALL {
            let key = generate(algorithm).unwrap();
            let claims = Claims { jti: "same".into() };
            let mut header = Header::new(algorithm.jws());
            header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
            header.kid = Some(key.kid.clone());
            let theirs =
                jsonwebtoken::encode(&header, &claims, &algorithm.encoding_key(&key.pkcs8))
                    .unwrap();
            let ours = TokenSigner::new(algorithm, &key.kid, &key.pkcs8)
                .unwrap()
                .sign(&claims)
                .unwrap();
            assert_eq!(ours, theirs, "{algorithm:?}");
        }
    }

    fn jsonwebtoken_payload(json: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn shapes_that_are_not_access_tokens_name_no_key() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"at+jwt","kid":"k"}"#),
            b64("{}")
        );
        let hs = format!(
            "{}.{}.x",
            b64(r#"{"alg":"HS256","typ":"at+jwt","kid":"k"}"#),
            b64("{}")
        );
        let id_token = format!(
            "{}.{}.x",
            b64(r#"{"alg":"ES256","typ":"JWT","kid":"k"}"#),
            b64("{}")
        );
        let good = format!(
            "{}.{}.x",
            b64(r#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#),
            b64("{}")
        );
        assert_eq!(access_token_kid(&good), Some("k".into()));
        for bad in [
            none,
            hs,
            id_token,
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            "\u{202e}.\0.x".into(),
            format!("{good}{}", "A".repeat(MAX_TOKEN_LEN)),
        ] {
            assert_eq!(access_token_kid(&bad), None, "{bad:?}");
        }
    }
}
