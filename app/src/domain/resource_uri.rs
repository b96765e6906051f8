//! A resource server's URI (RFC 8707 §2): what a site registers and a token may be narrowed to.

use super::{redirect_uri::RedirectUri, text::Invalid};
use serde::{Deserialize, Serialize};

/// The URI of one of a site's resource servers. RFC 8707 asks for an absolute URI without a
/// fragment; Latchkey holds it to the rule of its redirect URIs (https, or http to a loopback
/// host where the operator allows it; ASCII; no user information, wildcard or dot segments;
/// at most 2000 characters), and compares requests with it exactly, as written. A query is
/// allowed (RFC 8707 discourages one; a site that needs one may list it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceUri(String);

impl ResourceUri {
    /// Longest accepted URI.
    pub const MAX: usize = RedirectUri::MAX;

    /// Applies the rule. `allow_loopback_http` is the operator's setting.
    pub fn parse(raw: &str, allow_loopback_http: bool) -> Result<Self, Invalid> {
        RedirectUri::parse(raw, allow_loopback_http)
            .map(|uri| Self(uri.as_str().to_owned()))
            .map_err(|problem| {
                Invalid::new(
                    problem
                        .0
                        .replace("Redirect URI", "Resource URI")
                        .replace("app.example.com/callback", "api.example.com/"),
                )
            })
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ResourceUri;

    #[test]
    fn a_resource_is_an_absolute_https_uri_without_fragment() {
        assert_eq!(
            ResourceUri::parse("https://api.example.com/v1", false)
                .unwrap()
                .as_str(),
            "https://api.example.com/v1"
        );
        let fragment = ResourceUri::parse("https://api.example.com/#x", false).unwrap_err();
        assert!(fragment.0.starts_with("Resource URI"), "{}", fragment.0);
        assert!(ResourceUri::parse("http://api.example.com/", false).is_err());
        assert!(ResourceUri::parse("api.example.com", false).is_err());
        assert!(ResourceUri::parse("https://api.example.com/\u{202e}", false).is_err());
        assert!(ResourceUri::parse("http://127.0.0.1:8080/", true).is_ok());
    }
}
