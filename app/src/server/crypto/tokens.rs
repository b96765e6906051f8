//! The format of every credential Latchkey issues (RFC 9700 §4.x hygiene, and what secret
//! scanners need): a kind prefix, a random body, and a CRC-32 checksum.
//!
//! `lkcs_` + 43 base64url characters (256 random bits) + 6 base62 checksum characters, for
//! example. Every character is unreserved (`A-Z a-z 0-9 - _`), so form-encoding never changes
//! a token. The checksum lets a scanner (or Latchkey itself) tell a real token from a typo or
//! garbage without a database lookup; it is not a secret and proves nothing about validity.
//! Only SHA-256 digests of codes and tokens are stored.

use crate::server::{
    ServiceError,
    crypto::{hex, random, sha256},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use std::fmt;

/// What a credential is for; decides its prefix and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A client's public identifier (Consumer Key): 128 random bits.
    ClientId,
    /// A client's secret (Consumer Secret): 256 random bits.
    ClientSecret,
    /// A single-use authorization code.
    AuthorizationCode,
    /// A bearer access token.
    AccessToken,
    /// A rotating refresh token.
    RefreshToken,
    /// An administrator's admin REST API token.
    AdminToken,
}

const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl TokenKind {
    /// The recognisable prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ClientId => "lkci_",
            Self::ClientSecret => "lkcs_",
            Self::AuthorizationCode => "lkac_",
            Self::AccessToken => "lkat_",
            Self::RefreshToken => "lkrt_",
            Self::AdminToken => "lkad_",
        }
    }

    fn random_bytes(self) -> usize {
        match self {
            Self::ClientId => 16,
            _ => 32,
        }
    }

    fn body_len(self) -> usize {
        (self.random_bytes() * 4).div_ceil(3)
    }

    /// Total length of a token of this kind.
    pub fn token_len(self) -> usize {
        self.prefix().len() + self.body_len() + CHECKSUM_LEN
    }
}

/// The base62 CRC-32 of `prefix_and_body`.
fn checksum_bytes(prefix_and_body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(prefix_and_body);
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// A new random credential of `kind`.
pub fn generate(kind: TokenKind) -> Result<String, ServiceError> {
    let bytes = random::bytes::<32>()?;
    let mut token = String::with_capacity(kind.token_len());
    token.push_str(kind.prefix());
    token.push_str(&URL_SAFE_NO_PAD.encode(&bytes[..kind.random_bytes()]));
    token.extend(checksum_bytes(token.as_bytes()).map(char::from));
    Ok(token)
}

/// True if `text` has the exact shape of a `kind` credential: prefix, length, alphabet and
/// checksum. Checked before any database lookup.
pub fn is_well_formed(kind: TokenKind, text: &str) -> bool {
    // Work on bytes: the input is attacker-chosen, and a multibyte character may straddle
    // any boundary a `str` slice would be cut at. Every byte of a real token is ASCII.
    let bytes = text.as_bytes();
    if bytes.len() != kind.token_len() || !bytes.starts_with(kind.prefix().as_bytes()) {
        return false;
    }
    let (head, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    let body = &head[kind.prefix().len()..];
    body.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && sum.iter().all(u8::is_ascii_alphanumeric)
        && checksum_bytes(head) == *sum
}

/// The SHA-256 digest (hex) under which a code or token is stored and looked up.
pub fn digest(token: &str) -> String {
    hex(&sha256(token.as_bytes()))
}

/// A credential in memory. `Debug` shows only its prefix, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The credential itself, for the one place that must show or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, to tell secrets apart without revealing them.
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(5).collect();
        write!(f, "Secret({prefix}…redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const KINDS: [TokenKind; 6] = [
        TokenKind::ClientId,
        TokenKind::ClientSecret,
        TokenKind::AuthorizationCode,
        TokenKind::AccessToken,
        TokenKind::RefreshToken,
        TokenKind::AdminToken,
    ];

    #[test]
    fn generated_tokens_have_prefix_length_alphabet_and_checksum() {
        for kind in KINDS {
            let token = generate(kind).unwrap();
            assert!(token.starts_with(kind.prefix()));
            assert_eq!(token.len(), kind.token_len());
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{token}"
            );
            assert!(is_well_formed(kind, &token), "{token}");
            // Unreserved characters only: form-encoding leaves the token unchanged.
            let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            assert_eq!(encoded, token);
        }
        assert_eq!(TokenKind::ClientSecret.token_len(), 5 + 43 + 6);
        assert_eq!(TokenKind::ClientId.token_len(), 5 + 22 + 6);
    }

    #[test]
    fn secrets_carry_256_random_bits() {
        // 2,000 draws never repeat, and every body byte value shows up: a smoke test of the
        // randomness (the entropy itself comes from the OS: 32 bytes per secret).
        let mut seen = HashSet::new();
        let mut alphabet = HashSet::new();
        for _ in 0..2_000 {
            let token = generate(TokenKind::ClientSecret).unwrap();
            let body = &token[5..48];
            let raw = URL_SAFE_NO_PAD.decode(body).unwrap();
            assert_eq!(raw.len(), 32);
            alphabet.extend(body.bytes());
            assert!(seen.insert(token));
        }
        assert_eq!(alphabet.len(), 64, "every base64url symbol appears");
    }

    #[test]
    fn typos_garbage_and_other_kinds_are_rejected_without_lookup() {
        let token = generate(TokenKind::AccessToken).unwrap();
        let mut typo = token.clone().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        assert!(!is_well_formed(
            TokenKind::AccessToken,
            std::str::from_utf8(&typo).unwrap()
        ));
        assert!(
            !is_well_formed(TokenKind::RefreshToken, &token),
            "wrong kind"
        );
        assert!(!is_well_formed(
            TokenKind::AccessToken,
            &token[..token.len() - 1]
        ));
        assert!(!is_well_formed(
            TokenKind::AccessToken,
            &format!("{token}x")
        ));
        assert!(!is_well_formed(TokenKind::AccessToken, ""));
        assert!(!is_well_formed(TokenKind::AccessToken, &"lkat_".repeat(11)));
        let mut non_ascii = token.clone();
        non_ascii.replace_range(8..9, "é");
        assert!(!is_well_formed(TokenKind::AccessToken, &non_ascii));
        // The stored digest presented as a token is garbage, not a credential.
        assert!(!is_well_formed(TokenKind::AccessToken, &digest(&token)));
    }

    #[test]
    fn a_multibyte_character_at_the_checksum_boundary_is_refused_not_a_panic() {
        // The review's crash: the right length in bytes, with 'é' (2 bytes) straddling the
        // point where the checksum starts.
        for kind in KINDS {
            let cut = kind.token_len() - CHECKSUM_LEN;
            let mut text = kind.prefix().to_owned();
            text.push_str(&"A".repeat(cut - kind.prefix().len() - 1));
            text.push('é');
            text.push_str(&"z".repeat(CHECKSUM_LEN - 1));
            assert_eq!(text.len(), kind.token_len());
            assert!(!is_well_formed(kind, &text), "{kind:?}");
        }
    }

    mod properties {
        use super::*;
        use crate::hostile::{config, hostile_text, mutate, same_length_as};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_text_is_judged_without_panicking(raw in hostile_text(), kind in prop::sample::select(&KINDS[..])) {
                if is_well_formed(kind, &raw) {
                    prop_assert!(raw.is_ascii() && raw.starts_with(kind.prefix()));
                }
            }

            #[test]
            fn right_length_with_wide_characters_anywhere_is_refused(
                (kind, text) in prop::sample::select(&KINDS[..]).prop_flat_map(|kind| {
                    (Just(kind), same_length_as(kind.prefix(), kind.token_len(), CHECKSUM_LEN))
                })
            ) {
                prop_assert_eq!(text.len(), kind.token_len());
                prop_assert!(text.is_ascii() || !is_well_formed(kind, &text));
            }

            #[test]
            fn one_changed_character_is_refused(
                kind in prop::sample::select(&KINDS[..]),
                position in any::<usize>(),
                replacement in any::<char>(),
            ) {
                let token = generate(kind).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let changed = mutate(&token, position, replacement);
                if changed != token {
                    // A CRC-32 catches every single-character change of the body and checksum
                    // within its alphabet; outside it, the alphabet check does.
                    prop_assert!(!is_well_formed(kind, &changed), "{changed}");
                }
            }
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secret = Secret::new(generate(TokenKind::ClientSecret).unwrap());
        let printed = format!("{secret:?}");
        assert!(printed.starts_with("Secret(lkcs_"));
        assert!(!printed.contains(&secret.expose()[5..15]));
        assert_eq!(secret.hint().len(), 4);
    }
}
