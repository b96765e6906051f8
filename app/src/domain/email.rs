use super::text::Invalid;
use serde::{Deserialize, Serialize};

/// An email address good enough to reach a person: one `@`, a non-empty local part, a domain
/// with a dot, no spaces or control characters, at most 254 characters (RFC 5321).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses a typed address; surrounding spaces are ignored.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::new("Email address is required."));
        }
        let invalid = || Invalid::new("Enter an email address like name@example.com.");
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(invalid());
        }
        super::text::refuse_invisible(raw, "Email address")?;
        Ok(Self(raw.to_owned()))
    }

    /// The address as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_addresses() {
        for raw in [
            "a@example.com",
            " ops+api@sub.example.co.uk ",
            "x@bücher.de",
        ] {
            assert!(EmailAddress::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for raw in [
            "",
            "plainaddress",
            "@example.com",
            "a@",
            "a@localhost",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            "a@example..com",
            "a@.example.com",
            "a@example.com.",
            "a@exa mple.com",
            "a@exam\nple.com",
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(260)),
        ] {
            assert!(
                EmailAddress::parse(raw).is_err(),
                "{raw:?} should be refused"
            );
        }
    }
}
