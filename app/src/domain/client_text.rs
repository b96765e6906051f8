use super::text::{Invalid, has_control_chars, parse_display_text, refuse_invisible};
use serde::{Deserialize, Serialize};

/// An API client's name, as shown to administrators and on the authorization prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientName(String);

impl ClientName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 100;

    /// 1 to 100 characters without control characters (trimmed).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        parse_display_text(raw, "Name", Self::MAX).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-cased, for case-insensitive sorting and search.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// What an API client does, shown on the authorization prompt. Line breaks are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDescription(String);

impl ClientDescription {
    /// Longest accepted description, in characters.
    pub const MAX: usize = 1000;

    /// 1 to 1000 characters (trimmed); tabs and line breaks allowed, other control characters
    /// not.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("Description is required."));
        }
        if trimmed.chars().count() > Self::MAX {
            return Err(Invalid::new(format!(
                "Description must be at most {} characters.",
                Self::MAX
            )));
        }
        let without_breaks: String = trimmed
            .chars()
            .filter(|c| !matches!(c, '\n' | '\r' | '\t'))
            .collect();
        if has_control_chars(&without_breaks) {
            return Err(Invalid::new(
                "Description cannot contain control characters.",
            ));
        }
        refuse_invisible(trimmed, "Description")?;
        // Every line break is stored as `\n`: a lone `\r` (found by the property tests) would
        // otherwise reach the prompt, the audit log and CSV exports as a bare carriage return.
        Ok(Self(trimmed.replace("\r\n", "\n").replace('\r', "\n")))
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a site administrator rejected a requested application: shown to the API user who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewReason(String);

impl ReviewReason {
    /// Longest accepted reason, in characters.
    pub const MAX: usize = 500;

    /// 1 to 500 characters on one line, without control or invisible characters (trimmed).
    /// The Unicode line and paragraph separators (U+2028, U+2029) are refused too: the reason
    /// travels into audit summaries, webhooks and e-mail as one line.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.contains(['\u{2028}', '\u{2029}']) {
            return Err(Invalid::new("Reason must be on one line."));
        }
        parse_display_text(raw, "Reason", Self::MAX).map(Self)
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_reasons_stay_on_one_line() {
        assert_eq!(
            ReviewReason::parse("  Against the terms ")
                .unwrap()
                .as_str(),
            "Against the terms"
        );
        for hostile in ["", " ", "a\u{2028}b", "a\u{2029}b", "a\nb", "a\u{202e}b"] {
            assert!(ReviewReason::parse(hostile).is_err(), "{hostile:?}");
        }
        assert!(ReviewReason::parse(&"x".repeat(501)).is_err());
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(
            ClientName::parse("  Reporting Bot ").unwrap().as_str(),
            "Reporting Bot"
        );
        assert!(ClientName::parse("").is_err());
        assert!(ClientName::parse(&"n".repeat(101)).is_err());
        assert!(ClientName::parse("bad\u{7}bell").is_err());
        let description = ClientDescription::parse("Line one\r\nLine two\twith tab").unwrap();
        assert_eq!(description.as_str(), "Line one\nLine two\twith tab");
        let lone = ClientDescription::parse("Mac\rline").unwrap();
        assert_eq!(lone.as_str(), "Mac\nline");
        assert!(ClientDescription::parse(" \n ").is_err());
        assert!(ClientDescription::parse("nul\u{0}byte").is_err());
        assert!(ClientDescription::parse(&"d".repeat(1001)).is_err());
    }

    #[test]
    fn names_and_descriptions_refuse_text_that_spoofs_another_application() {
        // Each would let one application read as another on the consent prompt.
        for hostile in [
            "Reports\u{202E}kcaB",  // right-to-left override
            "Pay\u{200B}Pal",       // zero-width space
            "\u{2067}Bank\u{2069}", // right-to-left isolate
            "Acme\u{FEFF}",         // byte order mark
            "Acme\u{200D}Corp",     // zero-width joiner
            "Acme\u{E0041}",        // tag character
            "\u{3164}",             // a filler that renders as nothing
        ] {
            assert!(ClientName::parse(hostile).is_err(), "{hostile:?}");
            assert!(ClientDescription::parse(hostile).is_err(), "{hostile:?}");
        }
        assert!(ClientName::parse("Café Über Straße 日本 🚀").is_ok());
        assert!(ClientDescription::parse("Reads reports (العربية is fine)").is_ok());
    }
}
