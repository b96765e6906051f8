//! What a site's access tokens look like to the resource servers that receive them: opaque
//! (checked by introspection) or a signed JWT (RFC 9068, checked offline with the published
//! keys).

use super::text::Invalid;
use serde::{Deserialize, Serialize};

/// A site's access token format. Opaque is the default: a JWT cannot be taken back from a
/// resource server that only checks its signature, so choosing it is a deliberate trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    /// A random `lkat_` token; resource servers introspect it.
    #[default]
    Opaque,
    /// A JWT access token (RFC 9068) signed with Latchkey's current signing key.
    Jwt,
}

impl AccessTokenFormat {
    /// Every format, in the order the console offers them.
    pub const ALL: [Self; 2] = [Self::Opaque, Self::Jwt];

    /// The one rule for the console, the CLI and the admin API: `opaque` or `jwt`.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text.trim() {
            "opaque" => Ok(Self::Opaque),
            "jwt" => Ok(Self::Jwt),
            _ => Err(Invalid::new(
                "Choose an access token format: opaque or jwt.",
            )),
        }
    }

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// The stored form read back; anything unknown is the safe default.
    pub fn from_stored(text: &str) -> Self {
        Self::parse(text).unwrap_or_default()
    }

    /// How people are shown it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Opaque => "Opaque (checked by introspection)",
            Self::Jwt => "JWT (RFC 9068, verifiable offline)",
        }
    }

    /// What choosing it costs, said where it is chosen.
    pub fn trade_off(self) -> &'static str {
        match self {
            Self::Opaque => {
                "Resource servers ask Latchkey about every token (introspection), so a revoked \
                 token stops working at once."
            }
            Self::Jwt => {
                "Resource servers can verify a token alone with the published keys, without \
                 calling Latchkey. A revoked JWT stays valid for resource servers that only \
                 verify its signature, until it expires; introspection and Latchkey's own API \
                 refuse it at once."
            }
        }
    }
}

impl std::fmt::Display for AccessTokenFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_names_and_nothing_else() {
        assert_eq!(AccessTokenFormat::parse("jwt"), Ok(AccessTokenFormat::Jwt));
        assert_eq!(
            AccessTokenFormat::parse(" opaque "),
            Ok(AccessTokenFormat::Opaque)
        );
        for bad in ["", "JWT", "jwt\0", "jwe", "opaque jwt", "ｊｗｔ"] {
            assert!(AccessTokenFormat::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AccessTokenFormat::from_stored("garbage"),
            AccessTokenFormat::Opaque
        );
        for format in AccessTokenFormat::ALL {
            assert_eq!(AccessTokenFormat::parse(format.as_str()), Ok(format));
        }
    }
}
