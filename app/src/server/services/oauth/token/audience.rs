//! What a new access token is for (RFC 8707 §2.2): the resource the token request names, held
//! to the one its grant was authorized for. The token endpoint's intake has already checked
//! that a named resource is one of the site's (`site_resources`).

use crate::domain::FailureReason;
use crate::server::protocol::OAuthError;

/// The audience of a token asked for with `asked` from a grant authorized for `authorized`
/// (`None`: any of the site's resource servers). Asking for none keeps the grant's; asking for
/// another than the grant's is `invalid_target`.
pub fn narrow(asked: Option<&str>, authorized: Option<&str>) -> Result<Option<String>, OAuthError> {
    match (asked, authorized) {
        (None, authorized) => Ok(authorized.map(str::to_owned)),
        (Some(asked), None) => Ok(Some(asked.to_owned())),
        (Some(asked), Some(authorized)) if asked == authorized => Ok(Some(asked.to_owned())),
        (Some(_), Some(_)) => Err(OAuthError::invalid_target(
            "resource differs from the one this grant was authorized for",
        )
        .because(FailureReason::ResourceNotAllowed)),
    }
}

#[cfg(test)]
mod tests {
    use super::narrow;

    #[test]
    fn a_token_is_narrowed_never_widened() {
        let api = "https://api.example.com/";
        assert_eq!(narrow(None, None).unwrap(), None);
        assert_eq!(narrow(None, Some(api)).unwrap().as_deref(), Some(api));
        assert_eq!(narrow(Some(api), None).unwrap().as_deref(), Some(api));
        assert_eq!(narrow(Some(api), Some(api)).unwrap().as_deref(), Some(api));
        let other = narrow(Some("https://other.example.com/"), Some(api)).unwrap_err();
        assert_eq!(other.code.as_str(), "invalid_target");
    }
}
