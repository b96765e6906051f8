//! DPoP proofs (RFC 9449 §4): checking that a proof JWT was signed by the key in its own
//! header, for this request (method and URL), recently, and — at a resource server — for this
//! access token. What is remembered between requests (replayed `jti`s, server nonces) is the
//! caller's (`services::oauth::dpop`); this module is pure. `jsonwebtoken` reads the JWK and
//! computes its thumbprint; the signature is checked here with `p256` and `ed25519-dalek`
//! directly, because a key from a client's header must be validated strictly (jsonwebtoken
//! trusts its keys: a short Ed25519 key panics in it, a weak one verifies anything).

use crate::server::crypto::{jose::SigningAlgorithm, sha256};
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use serde::Deserialize;

/// The `typ` header of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// The longest proof looked at: a P-256 or Ed25519 proof with an access token hash is well
/// under 1 KB.
pub const MAX_PROOF_LEN: usize = 4 * 1024;

/// How old a proof's `iat` may be (seconds). Its `jti` is remembered this long, so the window
/// bounds the replay cache.
pub const MAX_PROOF_AGE: i64 = 300;

/// How far ahead of this server's clock a proof's `iat` may be (seconds).
pub const CLOCK_SKEW: i64 = 60;

/// The longest `jti` accepted (RFC 9449 only asks for enough entropy: 96 bits).
const MAX_JTI_LEN: usize = 256;

/// Members of a JWK that only a private key has (RFC 7518 §6): a proof must carry its public
/// key alone (RFC 9449 §4.3 step 7).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// What the request a proof came with was.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method (`POST` at the token endpoint).
    pub method: &'a str,
    /// The URL the request was made to, without query or fragment, as the server publishes
    /// it (under its public URL).
    pub url: &'a str,
    /// At a resource server: the access token the proof must name (`ath`).
    pub access_token: Option<&'a str>,
    /// At a resource server: the thumbprint of the key the token is bound to (`cnf.jkt`);
    /// a proof by any other key is refused before anything is remembered of it.
    pub key: Option<&'a str>,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// A proof that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: what tokens are bound
    /// to (`cnf.jkt`).
    pub jkt: String,
    /// The proof's unique identifier.
    pub jti: String,
    /// When the client made it.
    pub iat: i64,
    /// The server nonce it carries, if any (checked by the caller).
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Checks `proof` against the request it came with (RFC 9449 §4.3 steps 2–9 and 11–12; the
/// nonce of step 10 and the replay check are the caller's). The error says what is wrong, for
/// `error_description`; it never echoes the proof.
pub fn check(proof: &str, expected: &Expected<'_>) -> Result<Proof, &'static str> {
    if proof.len() > MAX_PROOF_LEN {
        return Err("the DPoP proof is too long");
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the DPoP proof is not a JWT");
    };
    let header: serde_json::Value =
        decode_json(header).ok_or("the DPoP proof's header is not base64url JSON")?;
    let typ = header.get("typ").and_then(serde_json::Value::as_str);
    if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case(PROOF_TYP)) {
        return Err("the DPoP proof's typ is not dpop+jwt");
    }
    let algorithm = header
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .and_then(proof_algorithm)
        .ok_or("the DPoP proof's alg is not one this server accepts (ES256, EdDSA, Ed25519)")?;
    let jwk_json = header
        .get("jwk")
        .filter(|jwk| jwk.is_object())
        .ok_or("the DPoP proof carries no jwk")?;
    if PRIVATE_MEMBERS
        .iter()
        .any(|member| jwk_json.get(member).is_some())
    {
        return Err("the DPoP proof's jwk holds a private key");
    }
    let jwk: Jwk = serde_json::from_value(jwk_json.clone())
        .map_err(|_| "the DPoP proof's jwk is not a public key this server reads")?;
    let key = ProofKey::from_jwk(&jwk, algorithm)
        .ok_or("the DPoP proof's jwk is not a valid public key for its alg")?;
    // The signing input is the encoded header and payload as sent (RFC 7515 §5.2).
    let signed = &proof[..header_and_payload_len(proof)];
    if !key.verifies(signed.as_bytes(), signature) {
        return Err("the DPoP proof's signature does not verify with its jwk");
    }
    let claims: Claims =
        decode_json(payload).ok_or("the DPoP proof's payload is not a JSON object of claims")?;
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
        .ok_or("the DPoP proof has no usable jti")?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err("the DPoP proof's htm is not this request's method");
    }
    if !claims
        .htu
        .as_deref()
        .is_some_and(|htu| same_target(htu, expected.url))
    {
        return Err("the DPoP proof's htu is not this request's URL");
    }
    let iat = claims.iat.ok_or("the DPoP proof has no iat")?;
    if iat > expected.now.saturating_add(CLOCK_SKEW) {
        return Err("the DPoP proof's iat is in the future");
    }
    if iat < expected.now.saturating_sub(MAX_PROOF_AGE) {
        return Err("the DPoP proof is too old");
    }
    if let Some(token) = expected.access_token
        && claims.ath.as_deref() != Some(access_token_hash(token).as_str())
    {
        return Err("the DPoP proof's ath does not match the access token");
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| "the DPoP proof's jwk has no thumbprint")?;
    if expected.key.is_some_and(|bound| bound != jkt) {
        return Err("the DPoP proof is not by the key the access token is bound to");
    }
    Ok(Proof {
        jkt,
        jti,
        iat,
        nonce: claims.nonce,
    })
}

/// True when `text` has the form of an RFC 7638 SHA-256 thumbprint: 43 base64url characters
/// (what `dpop_jkt` and `cnf.jkt` carry).
pub fn is_thumbprint(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `ath` of a proof for `access_token` (RFC 9449 §4.2): base64url SHA-256 of its ASCII.
pub fn access_token_hash(access_token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(access_token.as_bytes()))
}

/// The algorithms a proof may be signed with, as metadata and challenges list them: ES256, and
/// Ed25519 under both its RFC 8037 name (`EdDSA`) and its RFC 9864 one (`Ed25519`, what
/// current client libraries send).
pub const PROOF_ALGORITHMS: [&str; 3] = ["ES256", "EdDSA", "Ed25519"];

/// The algorithm a proof's `alg` names, if it is one of [`PROOF_ALGORITHMS`].
fn proof_algorithm(alg: &str) -> Option<SigningAlgorithm> {
    match alg {
        "Ed25519" => Some(SigningAlgorithm::EdDsa),
        other => SigningAlgorithm::parse(other),
    }
}

/// The length of `header.payload` in a compact JWS with exactly two dots.
fn header_and_payload_len(jws: &str) -> usize {
    jws.rfind('.').unwrap_or(jws.len())
}

/// A base64url (unpadded) JSON segment of a JWS.
fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// A proof's public key, checked strictly: coordinates of exactly their curve's size in
/// canonical base64url (so one key has one thumbprint), a point on the curve, and no weak
/// (small-order) Ed25519 key, whose "signatures" anyone can make.
enum ProofKey {
    Es256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl ProofKey {
    fn from_jwk(jwk: &Jwk, algorithm: SigningAlgorithm) -> Option<Self> {
        match (&jwk.algorithm, algorithm) {
            (AlgorithmParameters::EllipticCurve(ec), SigningAlgorithm::Es256)
                if ec.curve == EllipticCurve::P256 =>
            {
                let mut point = vec![0x04];
                point.extend_from_slice(&coordinate(&ec.x)?);
                point.extend_from_slice(&coordinate(&ec.y)?);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .ok()
                    .map(Self::Es256)
            }
            (AlgorithmParameters::OctetKeyPair(okp), SigningAlgorithm::EdDsa)
                if okp.curve == EllipticCurve::Ed25519 =>
            {
                let key = ed25519_dalek::VerifyingKey::from_bytes(&coordinate(&okp.x)?).ok()?;
                (!key.is_weak()).then_some(Self::Ed25519(key))
            }
            _ => None,
        }
    }

    /// True when `signature` (base64url) signs `input` with this key (ES256: r‖s, RFC 7518
    /// §3.4; Ed25519: RFC 8032, strictly).
    fn verifies(&self, input: &[u8], signature: &str) -> bool {
        let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature)
        else {
            return false;
        };
        match self {
            Self::Es256(key) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(&signature)
                    .is_ok_and(|signature| key.verify(input, &signature).is_ok())
            }
            Self::Ed25519(key) => <[u8; 64]>::try_from(signature.as_slice()).is_ok_and(|bytes| {
                key.verify_strict(input, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }),
        }
    }
}

/// A 32-byte key coordinate in canonical base64url (43 characters, no stray bits).
fn coordinate(text: &str) -> Option<[u8; 32]> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let bytes = <[u8; 32]>::try_from(bytes.as_slice()).ok()?;
    (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes) == text).then_some(bytes)
}

/// RFC 9449 §4.3 step 9: `htu` names `url`, ignoring query and fragment, after the syntax-based
/// normalisation of RFC 3986 §6.2.2 (case of scheme and host, default port, dot segments).
fn same_target(htu: &str, url: &str) -> bool {
    let normalised = |text: &str| {
        let mut parsed = url::Url::parse(text).ok()?;
        parsed.set_query(None);
        parsed.set_fragment(None);
        Some(parsed)
    };
    match (normalised(htu), normalised(url)) {
        (Some(htu), Some(url)) => htu == url,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::crypto::jose;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const URL: &str = "http://127.0.0.1:3000/oauth/token";
    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
            key: None,
            now: NOW,
        }
    }

    fn public_jwk(key: &jose::GeneratedKey) -> Jwk {
        let mut jwk: Jwk = serde_json::from_str(&key.public_jwk).unwrap();
        jwk.common = Default::default();
        jwk
    }

    fn sign(key: &jose::GeneratedKey, alg: SigningAlgorithm, claims: serde_json::Value) -> String {
        let mut header = Header::new(alg.jws());
        header.typ = Some(PROOF_TYP.into());
        header.jwk = Some(public_jwk(key));
        let encoding = match alg {
            SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&key.pkcs8),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(&key.pkcs8),
        };
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    #[test]
    fn a_good_proof_of_each_algorithm_gives_its_keys_thumbprint() {
        for alg in SigningAlgorithm::ALL {
            let key = jose::generate(alg).unwrap();
            let proof = check(&sign(&key, alg, claims()), &expected()).unwrap();
            assert_eq!(proof.jkt, key.kid, "the thumbprint is RFC 7638's, as a kid");
            assert_eq!((proof.jti.as_str(), proof.iat), ("j-1", NOW));
            // htu is compared after normalisation, without query or fragment.
            let mut other = claims();
            other["htu"] = json!("HTTP://127.0.0.1:3000/oauth/token?x=1#f");
            assert!(check(&sign(&key, alg, other), &expected()).is_ok());
        }
    }

    #[test]
    fn each_broken_rule_is_refused() {
        let key = jose::generate(SigningAlgorithm::Es256).unwrap();
        let other = jose::generate(SigningAlgorithm::Es256).unwrap();
        let alg = SigningAlgorithm::Es256;
        let with = |field: &str, value: serde_json::Value| {
            let mut claims = claims();
            claims[field] = value;
            sign(&key, alg, claims)
        };
        let without = |field: &str| {
            let mut claims = claims();
            claims.as_object_mut().unwrap().remove(field);
            sign(&key, alg, claims)
        };
        // The signature of another key under this key's header.
        let good = sign(&key, alg, claims());
        let forged = {
            let theirs = sign(&other, alg, claims());
            let mut parts: Vec<&str> = good.split('.').collect();
            parts[2] = theirs.split('.').nth(2).unwrap();
            parts.join(".")
        };
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let payload = good.split('.').nth(1).unwrap().to_owned();
        let sig = good.split('.').nth(2).unwrap().to_owned();
        let header_with = |header: serde_json::Value| format!("{}.{payload}.{sig}", b64(header));
        let jwk = serde_json::to_value(public_jwk(&key)).unwrap();
        let mut private_jwk = jwk.clone();
        private_jwk["d"] = json!("AAAA");
        let cases = [
            ("wrong htm", with("htm", json!("GET"))),
            (
                "wrong htu",
                with("htu", json!("http://127.0.0.1:3000/api/v1/me")),
            ),
            (
                "other host",
                with("htu", json!("http://evil.example/oauth/token")),
            ),
            ("stale", with("iat", json!(NOW - MAX_PROOF_AGE - 1))),
            ("future", with("iat", json!(NOW + CLOCK_SKEW + 1))),
            ("fractional iat", with("iat", json!(1.5))),
            ("no jti", without("jti")),
            ("empty jti", with("jti", json!(""))),
            ("long jti", with("jti", json!("j".repeat(MAX_JTI_LEN + 1)))),
            ("no iat", without("iat")),
            ("no htu", without("htu")),
            ("forged", forged),
            (
                "typ JWT",
                header_with(json!({"alg": "ES256", "typ": "JWT", "jwk": jwk})),
            ),
            (
                "alg none",
                header_with(json!({"alg": "none", "typ": PROOF_TYP, "jwk": jwk})),
            ),
            (
                "HS256",
                header_with(
                    json!({"alg": "HS256", "typ": PROOF_TYP, "jwk": {"kty": "oct", "k": "AAAA"}}),
                ),
            ),
            (
                "private key",
                header_with(json!({"alg": "ES256", "typ": PROOF_TYP, "jwk": private_jwk})),
            ),
            (
                "EdDSA header, P-256 key",
                header_with(json!({"alg": "EdDSA", "typ": PROOF_TYP, "jwk": jwk})),
            ),
            (
                "no jwk",
                header_with(json!({"alg": "ES256", "typ": PROOF_TYP})),
            ),
            ("not a JWT", "a.b".into()),
            ("four parts", format!("{good}.x")),
            ("garbage", "\u{202e}.\0.é".into()),
            ("huge", format!("{good}{}", "A".repeat(MAX_PROOF_LEN))),
        ];
        for (what, proof) in cases {
            assert!(check(&proof, &expected()).is_err(), "{what} was accepted");
        }
    }

    #[test]
    fn ed25519_is_accepted_under_its_rfc_9864_name_too() {
        use ed25519_dalek::{Signer, pkcs8::DecodePrivateKey};
        let key = jose::generate(SigningAlgorithm::EdDsa).unwrap();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = json!({"typ": PROOF_TYP, "alg": "Ed25519", "jwk": public_jwk(&key)});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let signing = ed25519_dalek::SigningKey::from_pkcs8_der(&key.pkcs8).unwrap();
        let proof = format!(
            "{input}.{}",
            b64(&signing.sign(input.as_bytes()).to_bytes())
        );
        assert_eq!(check(&proof, &expected()).unwrap().jkt, key.kid);
        // The same signature under a name the server does not know is refused.
        let renamed = proof.replacen(
            &b64(header.to_string().as_bytes()),
            &b64(
                json!({"typ": PROOF_TYP, "alg": "Ed448", "jwk": public_jwk(&key)})
                    .to_string()
                    .as_bytes(),
            ),
            1,
        );
        assert!(check(&renamed, &expected()).is_err());
    }

    #[test]
    fn a_weak_ed25519_key_cannot_stand_in_for_a_key_pair() {
        // The identity point, and a "signature" R = B, s = 1 that lax verification accepts
        // for any message with that key.
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let header = json!({"typ": PROOF_TYP, "alg": "EdDSA",
            "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(&identity)}});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let mut signature = curve25519_base_point().to_vec();
        let mut one = [0u8; 32];
        one[0] = 1;
        signature.extend_from_slice(&one);
        let proof = format!("{input}.{}", b64(&signature));
        assert!(check(&proof, &expected()).is_err());
    }

    /// The compressed Ed25519 base point.
    fn curve25519_base_point() -> [u8; 32] {
        let mut point = [0x66u8; 32];
        point[0] = 0x58;
        point
    }

    #[test]
    fn at_a_resource_server_the_proof_must_name_the_access_token() {
        let alg = SigningAlgorithm::EdDsa;
        let key = jose::generate(alg).unwrap();
        let url = "http://127.0.0.1:3000/api/v1/me";
        let at = Expected {
            method: "GET",
            url,
            access_token: Some("token-a"),
            key: Some(&key.kid),
            now: NOW,
        };
        let proof = |ath: Option<String>| {
            let mut claims = json!({"jti": "j", "htm": "GET", "htu": url, "iat": NOW});
            if let Some(ath) = ath {
                claims["ath"] = json!(ath);
            }
            sign(&key, alg, claims)
        };
        assert!(check(&proof(Some(access_token_hash("token-a"))), &at).is_ok());
        assert!(check(&proof(Some(access_token_hash("token-b"))), &at).is_err());
        assert!(check(&proof(None), &at).is_err());
    }
}
