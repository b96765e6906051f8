//! Proof Key for Code Exchange (RFC 7636), S256 only (RFC 9700 §2.1.1: `plain` is refused).

use super::OAuthError;
use crate::server::crypto::sha256;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Checks the authorization request's PKCE parameters: both or neither; the method must be
/// `S256`; the challenge must be 43 base64url characters (a SHA-256 digest).
pub fn parse_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method is required (only S256 is supported)",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), Some(method)) if method != "S256" => Err(OAuthError::invalid_request(
            "unsupported code_challenge_method: only S256 is supported",
        )),
        (Some(challenge), Some(_)) => {
            let well_formed = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if well_formed {
                Ok(Some(challenge.to_owned()))
            } else {
                Err(OAuthError::invalid_request(
                    "code_challenge must be 43 base64url characters (BASE64URL(SHA-256(verifier)))",
                ))
            }
        }
    }
}

/// True if `verifier` (43 to 128 unreserved characters) hashes to `challenge`.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && crate::server::crypto::constant_time_eq(
            URL_SAFE_NO_PAD
                .encode(sha256(verifier.as_bytes()))
                .as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(verifier, challenge));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!verify("short", challenge));
        assert_eq!(
            parse_challenge(Some(challenge), Some("S256"))
                .unwrap()
                .as_deref(),
            Some(challenge)
        );
    }

    #[test]
    fn only_s256_with_both_parameters() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(parse_challenge(None, None).unwrap(), None);
        for (c, m) in [
            (Some(challenge), None),
            (None, Some("S256")),
            (Some(challenge), Some("plain")),
            (Some(challenge), Some("s256")),
            (Some("tooshort"), Some("S256")),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
            ),
        ] {
            assert_eq!(
                parse_challenge(c, m).unwrap_err().code.as_str(),
                "invalid_request",
                "{c:?} {m:?}"
            );
        }
    }

    mod properties {
        use super::*;
        use crate::hostile::{config, hostile_text};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_challenge_and_verifier_are_judged_without_panicking(
                challenge in hostile_text(),
                method in hostile_text(),
                verifier in hostile_text(),
            ) {
                match parse_challenge(Some(&challenge), Some(&method)) {
                    Ok(Some(kept)) => prop_assert!(kept.len() == 43 && kept.is_ascii()),
                    Ok(None) => prop_assert!(false, "a challenge was sent"),
                    Err(error) => prop_assert_eq!(error.code.as_str(), "invalid_request"),
                }
                let _ = verify(&verifier, &challenge);
            }
        }
    }
}
