//! What an administrator calls an admin API token.

use super::text::{Invalid, parse_display_text};
use serde::{Deserialize, Serialize};

/// What an administrator calls an admin API token ("terraform", "nightly export"), shown in
/// token lists and as the actor of every change the token makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenName(String);

impl AdminTokenName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 64;

    /// 1 to 64 characters without control or invisible characters (trimmed).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        parse_display_text(raw, "Name", Self::MAX).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::AdminTokenName;

    #[test]
    fn a_token_name_is_trimmed_bounded_and_visible() {
        assert_eq!(
            AdminTokenName::parse("  terraform ").unwrap().as_str(),
            "terraform"
        );
        assert!(AdminTokenName::parse("   ").is_err());
        assert!(AdminTokenName::parse(&"x".repeat(65)).is_err());
        assert!(AdminTokenName::parse("ci\u{202e}evil").is_err());
        assert!(AdminTokenName::parse("ci\nbot").is_err());
    }
}
