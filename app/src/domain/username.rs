use super::text::Invalid;
use serde::{Deserialize, Serialize};

/// A sign-in name. Unique without regard to case (`key()`), shown as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    /// Shortest and longest accepted usernames, in characters.
    pub const MIN: usize = 3;
    /// See [`Username::MIN`].
    pub const MAX: usize = 64;

    /// Accepts 3 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::new("Username is required."));
        }
        let len = raw.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(Invalid::new(format!(
                "Username must be {} to {} characters long.",
                Self::MIN,
                Self::MAX
            )));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Invalid::new(
                "Username may contain only letters, digits, '.', '_' and '-'.",
            ));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(Invalid::new("Username must start with a letter or digit."));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The username as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity used for uniqueness and look-up.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_keys_them_case_insensitively() {
        let name = Username::parse("  Alice.Admin-2 ").unwrap();
        assert_eq!(name.as_str(), "Alice.Admin-2");
        assert_eq!(name.key(), "alice.admin-2");
    }

    #[test]
    fn refuses_hostile_or_malformed_names() {
        for raw in [
            "",
            "ab",
            &"a".repeat(65),
            "alice bob",
            "alice@example.com",
            "-alice",
            ".alice",
            "ali\u{0}ce",
            "élodie",
            "<script>",
            "robert'); drop table users;--",
        ] {
            assert!(Username::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }
}
