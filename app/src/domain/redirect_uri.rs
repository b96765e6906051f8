use super::text::Invalid;
use serde::{Deserialize, Serialize};

/// The one redirect URI of an API client. This is the only place the rule lives; the console,
/// the CLI and the authorization server all use it.
///
/// The rule (RFC 6749 3.1.2, RFC 9700 2.1, RFC 8252 7.3):
/// - an absolute URI with a host; https, or http to a loopback host (127.0.0.0/8, `[::1]`,
///   `localhost`) only when the operator allows it;
/// - no fragment, no user information, no wildcard, no `.`/`..` path segments;
/// - ASCII only (an internationalised host must be written in its `xn--` form, so what the
///   administrator sees is exactly what browsers are sent to);
/// - at most 2000 characters, no spaces or control characters.
///
/// The value is kept exactly as written: the authorization server compares requests with it
/// character for character, never after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Longest accepted URI.
    pub const MAX: usize = 2000;

    /// Applies the rule. `allow_loopback_http` is the operator's setting.
    pub fn parse(raw: &str, allow_loopback_http: bool) -> Result<Self, Invalid> {
        if raw.trim().is_empty() {
            return Err(Invalid::new("Redirect URI is required."));
        }
        if raw.len() > Self::MAX {
            return Err(Invalid::new(format!(
                "Redirect URI must be at most {} characters.",
                Self::MAX
            )));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(
                "Redirect URI cannot contain spaces or control characters.",
            ));
        }
        if !raw.is_ascii() {
            let hint = url::Url::parse(raw)
                .map(|url| format!(" (for example {url})"))
                .unwrap_or_default();
            return Err(Invalid::new(format!(
                "Redirect URI must be ASCII: write an international domain name in its xn-- form{hint}."
            )));
        }
        if raw.contains('*') {
            return Err(Invalid::new(
                "Redirect URI cannot contain wildcards: register the exact URI.",
            ));
        }
        if raw.contains('\\') {
            return Err(Invalid::new("Redirect URI cannot contain backslashes."));
        }
        // Browsers' URL parser forgives "https:/host" and "https:///host"; this rule does not,
        // so the registered text says exactly where the browser will go.
        let authority_present = raw
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with(['/', '?']));
        if !authority_present {
            return Err(Invalid::new(
                "Redirect URI must be an absolute URI, like https://app.example.com/callback.",
            ));
        }
        if raw.contains('#') {
            return Err(Invalid::new(
                "Redirect URI cannot contain a fragment (#...).",
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| {
            Invalid::new(
                "Redirect URI must be an absolute URI, like https://app.example.com/callback.",
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(
                "Redirect URI cannot contain a user name or password.",
            ));
        }
        let Some(host) = url.host() else {
            return Err(Invalid::new("Redirect URI must include a host name."));
        };
        let loopback = match host {
            url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback && allow_loopback_http => {}
            "http" if loopback => {
                return Err(Invalid::new(
                    "Redirect URI must use https; http to a loopback address is not enabled on this server.",
                ));
            }
            _ => return Err(Invalid::new("Redirect URI must use https.")),
        }
        let path_part = raw
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("");
        let path_only = path_part.split('?').next().unwrap_or("");
        if path_only
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(Invalid::new(
                "Redirect URI cannot contain . or .. path segments.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Exact, character-for-character comparison (no normalisation of case, slashes or
    /// percent-encoding): what the authorization server does with `redirect_uri`.
    pub fn matches(&self, presented: &str) -> bool {
        self.0 == presented
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exact_https_uris_and_keeps_them_verbatim() {
        for raw in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/oauth/cb?tenant=7",
            "https://APP.example.com/Callback",
            "https://xn--bcher-kva.de/cb",
            "https://203.0.113.5/cb",
            "https://[2001:db8::1]/cb",
            "https://app.example.com",
        ] {
            let uri = RedirectUri::parse(raw, false).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(uri.as_str(), raw, "stored verbatim");
            assert!(uri.matches(raw));
        }
    }

    #[test]
    fn loopback_http_only_when_enabled() {
        for raw in [
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]:9000/cb",
            "http://127.1.2.3/cb",
        ] {
            assert!(
                RedirectUri::parse(raw, false).is_err(),
                "{raw} refused by default"
            );
            assert!(
                RedirectUri::parse(raw, true).is_ok(),
                "{raw} allowed when enabled"
            );
        }
        assert!(
            RedirectUri::parse("http://example.com/cb", true).is_err(),
            "non-loopback http never"
        );
        assert!(RedirectUri::parse("http://localhost.evil.com/cb", true).is_err());
    }

    #[test]
    fn refuses_hostile_and_malformed_uris() {
        let long = format!("https://example.com/{}", "a".repeat(2000));
        for raw in [
            "",
            "   ",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "com.example.app:/oauth2redirect",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "https://user:pass@app.example.com/cb",
            "https://user@app.example.com/cb",
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "https://bücher.de/cb",
            "https://app.example.com/callbäck",
            "/relative/callback",
            "app.example.com/cb",
            "https://",
            "https:///cb",
            "https:/app.example.com/cb",
            "https:\\\\app.example.com\\cb",
            "https://app.example.com\\@evil.example/cb",
            " https://app.example.com/cb",
            "https://app.example.com/cb ",
            "https://app.example.com/c b",
            "https://app.example.com/cb\r\nSet-Cookie: x=1",
            "https://app.example.com/a/../cb",
            "https://app.example.com/./cb",
            long.as_str(),
        ] {
            assert!(
                RedirectUri::parse(raw, true).is_err(),
                "{raw:?} should be refused"
            );
        }
    }

    #[test]
    fn international_names_get_a_helpful_hint() {
        let error = RedirectUri::parse("https://bücher.de/cb", false).unwrap_err();
        assert!(error.0.contains("xn--bcher-kva.de"), "{error}");
    }

    #[test]
    fn comparison_is_exact() {
        let uri = RedirectUri::parse("https://app.example.com/cb", false).unwrap();
        for other in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:443/cb",
            "https://app.example.com/%63b",
            "https://app.example.com/c",
        ] {
            assert!(!uri.matches(other), "{other}");
        }
    }
}
