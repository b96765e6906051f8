use super::text::{Invalid, parse_display_text};
use serde::{Deserialize, Serialize};

/// A site's display name; unique without regard to case (`key()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteName(String);

impl SiteName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 80;

    /// Accepts 1 to 80 characters of text without control characters (trimmed).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        parse_display_text(raw, "Site name", Self::MAX).map(Self)
    }

    /// The name as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity used for uniqueness and look-up.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl std::fmt::Display for SiteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keys_case_insensitively() {
        let name = SiteName::parse("  Acme Europe ").unwrap();
        assert_eq!(name.as_str(), "Acme Europe");
        assert_eq!(name.key(), "acme europe");
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert!(SiteName::parse("   ").is_err());
        assert!(SiteName::parse(&"x".repeat(81)).is_err());
        assert!(SiteName::parse("Acme\r\nInjected: header").is_err());
        assert!(SiteName::parse(&"é".repeat(80)).is_ok());
    }
}
