use super::OAuthError;
use std::collections::BTreeMap;

/// Longest parameter value accepted (codes and tokens are ~60 characters; `state` and
/// `redirect_uri` get room, nothing gets megabytes).
const MAX_VALUE_LEN: usize = 4096;

/// Request parameters (a query string or a form body), read by RFC 6749 §3.1: a parameter sent
/// twice is an error, one sent without a value counts as absent, unknown ones are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (`+` is a space, `%XX` bytes must form
    /// UTF-8).
    pub fn parse(encoded: &[u8]) -> Result<Self, OAuthError> {
        let mut map = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in url::form_urlencoded::parse(encoded) {
            if key.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(OAuthError::invalid_request("parameters must be UTF-8"));
            }
            if !seen.insert(key.to_string()) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter \"{}\" is repeated",
                    truncate(&key)
                )));
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "parameter \"{}\" is too long",
                    truncate(&key)
                )));
            }
            if !value.is_empty() {
                map.insert(key.into_owned(), value.into_owned());
            }
        }
        Ok(Self(map))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter \"{name}\"")))
    }
}

fn truncate(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// How a client identified itself at the token, revocation or introspection endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`; `None` means the client offered no secret.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "********"),
            )
            .finish()
    }
}

impl ClientCredentials {
    /// Combines the HTTP Basic credentials (already decoded, if the header was present) with
    /// the body parameters (RFC 6749 §2.3.1). Using both mechanisms is `invalid_request`; a
    /// `client_id` in the body next to Basic must name the same client; no credentials at all
    /// is `invalid_client`.
    pub fn from_request(
        basic: Option<(String, String)>,
        params: &Params,
    ) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id");
        let body_secret = params.get("client_secret");
        match basic {
            Some((client_id, client_secret)) => {
                if body_secret.is_some() {
                    return Err(OAuthError::invalid_request(
                        "use one client authentication method: HTTP Basic or client_secret in the body, not both",
                    ));
                }
                if body_id.is_some_and(|id| id != client_id) {
                    return Err(OAuthError::invalid_request(
                        "client_id in the body does not match the HTTP Basic credentials",
                    ));
                }
                Ok(Self {
                    client_id,
                    client_secret: Some(client_secret),
                })
            }
            None => match body_id {
                Some(client_id) => Ok(Self {
                    client_id: client_id.to_owned(),
                    client_secret: body_secret.map(str::to_owned),
                }),
                None => Err(OAuthError::invalid_client(
                    "client authentication required (HTTP Basic or client_id and client_secret)",
                )),
            },
        }
    }
}

/// Decodes an `Authorization: Basic` value into (client_id, client_secret): base64, split at
/// the first `:`, each part form-urlencoded (RFC 6749 §2.3.1).
pub fn decode_basic(header_value: &str) -> Result<(String, String), OAuthError> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let malformed = || OAuthError::invalid_client("malformed HTTP Basic credentials");
    // The scheme name is case-insensitive (RFC 7235 §2.1): `Basic`, `basic`, `BASIC`...
    let (scheme, encoded) = header_value
        .trim_start()
        .split_once(' ')
        .ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| -> Result<String, OAuthError> {
        let bytes: Vec<u8> = url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default();
        String::from_utf8(bytes).map_err(|_| malformed())
    };
    Ok((unescape(id)?, unescape(secret)?))
}

/// The `Authorization` header value a client sends for `client_secret_basic`: both parts
/// form-urlencoded, then base64 (RFC 6749 2.3.1), the inverse of [`decode_basic`].
pub fn encode_basic(client_id: &str, client_secret: &str) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let escape =
        |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", escape(client_id), escape(client_secret)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_round_trip_with_reserved_characters() {
        let header = encode_basic("lk_id:1", "s3cr+t/=%");
        assert_eq!(
            decode_basic(&header).unwrap(),
            ("lk_id:1".to_owned(), "s3cr+t/=%".to_owned())
        );
    }

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        let params =
            Params::parse(b"grant_type=authorization_code&code=abc&scope=&state=a+b%21").unwrap();
        assert_eq!(params.get("code"), Some("abc"));
        assert_eq!(params.get("scope"), None, "empty means omitted");
        assert_eq!(params.get("state"), Some("a b!"));
        let error = Params::parse(b"code=a&code=b").unwrap_err();
        assert_eq!(error.code.as_str(), "invalid_request");
        assert!(error.description.contains("repeated"));
        assert!(Params::parse(b"scope=&scope=x").is_err());
        assert!(Params::parse(format!("state={}", "x".repeat(5000)).as_bytes()).is_err());
        assert!(Params::parse(b"code=%FF%FE").is_err(), "not UTF-8");
        assert_eq!(Params::parse(b"").unwrap(), Params::default());
        assert_eq!(Params::parse(b"a").unwrap().get("a"), None);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        use base64::{Engine, engine::general_purpose::STANDARD};
        let header = format!("Basic {}", STANDARD.encode("my%20client:s%3Acret+x"));
        assert_eq!(
            decode_basic(&header).unwrap(),
            ("my client".to_owned(), "s:cret x".to_owned())
        );
        for bad in [
            "Bearer abc",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
            "Basic",
        ] {
            assert_eq!(
                decode_basic(bad).unwrap_err().code.as_str(),
                "invalid_client",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_basic_scheme_name_is_case_insensitive() {
        let header = encode_basic("id", "secret");
        let encoded = header.trim_start_matches("Basic ");
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            assert_eq!(
                decode_basic(&format!("{scheme} {encoded}")).unwrap(),
                ("id".to_owned(), "secret".to_owned()),
                "{scheme}"
            );
        }
        assert!(decode_basic(&format!("Basicx {encoded}")).is_err());
    }

    mod properties {
        use super::*;
        use crate::hostile::{config, hostile_bytes, hostile_text};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_body_is_parsed_or_refused_with_invalid_request(body in hostile_bytes()) {
                match Params::parse(&body) {
                    Ok(params) => {
                        for value in params.0.values() {
                            prop_assert!(!value.is_empty() && value.len() <= MAX_VALUE_LEN);
                            prop_assert!(!value.contains(char::REPLACEMENT_CHARACTER));
                        }
                    }
                    Err(error) => prop_assert_eq!(error.code.as_str(), "invalid_request"),
                }
            }

            #[test]
            fn repeated_names_are_always_refused(name in "[a-z_]{1,12}", a in hostile_text(), b in hostile_text()) {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(&name, &a)
                    .append_pair(&name, &b)
                    .finish();
                prop_assert!(Params::parse(body.as_bytes()).is_err());
            }

            #[test]
            fn basic_credentials_round_trip_whatever_they_hold(id in hostile_text(), secret in hostile_text()) {
                prop_assert_eq!(decode_basic(&encode_basic(&id, &secret)).ok(), Some((id, secret)));
            }

            #[test]
            fn any_authorization_value_is_decoded_or_refused_as_invalid_client(raw in hostile_text(), bytes in hostile_bytes()) {
                use base64::{Engine, engine::general_purpose::STANDARD};
                for value in [raw.clone(), format!("Basic {raw}"), format!("Basic {}", STANDARD.encode(&bytes))] {
                    if let Err(error) = decode_basic(&value) {
                        prop_assert_eq!(error.code.as_str(), "invalid_client");
                    }
                }
            }
        }
    }

    #[test]
    fn one_authentication_method_at_a_time() {
        let body = |s: &str| Params::parse(s.as_bytes()).unwrap();
        let basic = Some(("id".to_owned(), "secret".to_owned()));
        assert_eq!(
            ClientCredentials::from_request(basic.clone(), &body("client_id=id"))
                .unwrap()
                .client_secret
                .as_deref(),
            Some("secret")
        );
        let both =
            ClientCredentials::from_request(basic.clone(), &body("client_secret=x")).unwrap_err();
        assert_eq!(both.code.as_str(), "invalid_request");
        let mismatch =
            ClientCredentials::from_request(basic, &body("client_id=other")).unwrap_err();
        assert_eq!(mismatch.code.as_str(), "invalid_request");
        let none = ClientCredentials::from_request(None, &body("")).unwrap_err();
        assert_eq!(none.code.as_str(), "invalid_client");
        let post =
            ClientCredentials::from_request(None, &body("client_id=id&client_secret=s")).unwrap();
        assert_eq!(
            (post.client_id.as_str(), post.client_secret.as_deref()),
            ("id", Some("s"))
        );
        assert!(
            !format!("{post:?}").contains("\"s\""),
            "Debug hides the secret"
        );
    }
}
