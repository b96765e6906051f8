//! Which OAuth grants a client is registered for (RFC 7591 `grant_types`, restricted to what
//! Latchkey issues).

use super::text::Invalid;
use serde::{Deserialize, Serialize};

/// How people are shown the owner of a machine client that belongs to its site.
pub const SITE_OWNED: &str = "(the site)";

/// How people are shown whom a client credentials grant acts for.
pub const CLIENT_ITSELF: &str = "(the client itself)";

/// The grants a client may use: the authorization code grant (acting for an API user, with
/// refresh tokens), the client credentials grant (RFC 6749 §4.4, acting as the client itself),
/// or both. Never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrantTypes {
    authorization_code: bool,
    client_credentials: bool,
}

impl Default for GrantTypes {
    /// The authorization code grant only, as every client was before machine clients existed.
    fn default() -> Self {
        Self::AUTHORIZATION_CODE
    }
}

impl GrantTypes {
    /// Name of the authorization code grant (its refresh tokens come with it).
    pub const AUTHORIZATION_CODE_NAME: &'static str = "authorization_code";
    /// Name of the client credentials grant.
    pub const CLIENT_CREDENTIALS_NAME: &'static str = "client_credentials";
    /// The `grant_type` of a refresh: part of the authorization code grant, never registered
    /// on its own.
    pub const REFRESH_TOKEN_NAME: &'static str = "refresh_token";
    /// The authorization code grant only.
    pub const AUTHORIZATION_CODE: Self = Self {
        authorization_code: true,
        client_credentials: false,
    };
    /// The client credentials grant only (a machine client).
    pub const CLIENT_CREDENTIALS: Self = Self {
        authorization_code: false,
        client_credentials: true,
    };

    /// From two flags; `None` when neither is set.
    pub fn of(authorization_code: bool, client_credentials: bool) -> Option<Self> {
        (authorization_code || client_credentials).then_some(Self {
            authorization_code,
            client_credentials,
        })
    }

    /// From grant names (`authorization_code`, `client_credentials`; repeats allowed): the
    /// one rule for the console, the CLI and the admin API.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, Invalid> {
        let (mut code, mut client) = (false, false);
        for name in names {
            match name.trim() {
                Self::AUTHORIZATION_CODE_NAME => code = true,
                Self::CLIENT_CREDENTIALS_NAME => client = true,
                other => {
                    let shown: String =
                        other.chars().filter(|c| !c.is_control()).take(40).collect();
                    return Err(Invalid::new(format!(
                        "unknown grant type \"{shown}\": use authorization_code or client_credentials"
                    )));
                }
            }
        }
        Self::of(code, client).ok_or_else(|| Invalid::new("Choose at least one grant type"))
    }

    /// As stored in `clients.grant_types`: the names space-separated, in a fixed order.
    /// A stored value that is not one of these (never written by Latchkey) reads as the
    /// authorization code grant only, the narrowest reading that existed before.
    pub fn from_stored(stored: &str) -> Self {
        Self::parse(stored.split(' ')).unwrap_or_default()
    }

    /// The value for `clients.grant_types`.
    pub fn to_stored(self) -> String {
        self.names().join(" ")
    }

    /// The grant names, authorization code first.
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::with_capacity(2);
        if self.authorization_code {
            names.push(Self::AUTHORIZATION_CODE_NAME);
        }
        if self.client_credentials {
            names.push(Self::CLIENT_CREDENTIALS_NAME);
        }
        names
    }

    /// True when the client may use the authorization code grant and its refresh tokens.
    pub fn authorization_code(self) -> bool {
        self.authorization_code
    }

    /// True when the client may use the client credentials grant.
    pub fn client_credentials(self) -> bool {
        self.client_credentials
    }

    /// True for a machine client: it never acts for an API user, so it needs no owner.
    pub fn is_machine_only(self) -> bool {
        !self.authorization_code
    }

    /// For people: "Authorization code", "Client credentials" or both.
    pub fn label(self) -> String {
        let mut words = Vec::new();
        if self.authorization_code {
            words.push("Authorization code");
        }
        if self.client_credentials {
            words.push(if words.is_empty() {
                "Client credentials"
            } else {
                "client credentials"
            });
        }
        words.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::GrantTypes;

    #[test]
    fn grant_types_parse_store_and_read_back() {
        assert_eq!(GrantTypes::default().to_stored(), "authorization_code");
        let both = GrantTypes::parse([
            "client_credentials",
            "authorization_code",
            "client_credentials",
        ])
        .unwrap();
        assert_eq!(both.to_stored(), "authorization_code client_credentials");
        assert_eq!(GrantTypes::from_stored(&both.to_stored()), both);
        assert_eq!(both.label(), "Authorization code and client credentials");
        assert!(GrantTypes::parse(["implicit"]).is_err());
        assert!(GrantTypes::parse(["password\u{0}"]).is_err());
        assert!(GrantTypes::parse([]).is_err());
        assert!(
            GrantTypes::parse(["client_credentials"])
                .unwrap()
                .is_machine_only()
        );
        assert_eq!(
            GrantTypes::from_stored("garbage"),
            GrantTypes::AUTHORIZATION_CODE
        );
    }
}
