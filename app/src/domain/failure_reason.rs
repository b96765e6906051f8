//! Why a client's request failed, as its administrator is told (issue 20 item 3): the wire
//! keeps the RFC's error codes, the console's failure timeline names the real reason. One
//! vocabulary, stored by its code, shared by the token path, the authorization endpoint and
//! the console.

/// The real reason behind a refused request of a known client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// The request had no `client_secret`.
    MissingSecret,
    /// The `client_secret` matches none of the client's secrets.
    WrongSecret,
    /// The `client_secret` is one the client had, now retired or past its grace period.
    SecretNoLongerValid,
    /// The client is disabled (or deleted, in the Deleted view).
    ClientDisabled,
    /// `redirect_uri` is not the registered one (or not the authorization request's).
    RedirectUriMismatch,
    /// The code is unknown (never issued, or purged).
    CodeUnknown,
    /// The code expired before it was exchanged.
    CodeExpired,
    /// The code was issued to another client.
    CodeOfAnotherClient,
    /// The code was presented again; what it was used for was revoked.
    CodeReused,
    /// The PKCE verifier does not match the challenge.
    PkceMismatch,
    /// PKCE was required or used, and a part of it is missing (or one was sent needlessly).
    PkceMissing,
    /// The refresh token is unknown.
    RefreshTokenUnknown,
    /// The refresh token (or its grant) expired or was revoked.
    RefreshTokenInvalid,
    /// The refresh token was used before: its grant was revoked.
    RefreshTokenReused,
    /// Scopes asked for are not registered to the client (or none is left).
    ScopeNotAllowed,
    /// The user behind the grant was disabled or lost the API User role.
    UserCannotAuthorize,
    /// A grant type or response type the server does not support.
    UnsupportedGrant,
    /// A grant the client is not registered for (`unauthorized_client`).
    GrantNotRegistered,
    /// A `resource` the site does not list, or beyond the grant's (`invalid_target`).
    ResourceNotAllowed,
    /// A DPoP proof (RFC 9449) was missing where required, malformed, replayed, or for
    /// another key, request or nonce.
    DpopProofRefused,
    /// A parameter is missing, repeated or malformed.
    MalformedRequest,
    /// The server failed (the reference is in the detail and in the server log).
    ServerError,
}

impl FailureReason {
    /// Every reason, in the order the console lists counts.
    pub const ALL: [Self; 22] = [
        Self::MissingSecret,
        Self::WrongSecret,
        Self::SecretNoLongerValid,
        Self::ClientDisabled,
        Self::RedirectUriMismatch,
        Self::CodeUnknown,
        Self::CodeExpired,
        Self::CodeOfAnotherClient,
        Self::CodeReused,
        Self::PkceMismatch,
        Self::PkceMissing,
        Self::RefreshTokenUnknown,
        Self::RefreshTokenInvalid,
        Self::RefreshTokenReused,
        Self::ScopeNotAllowed,
        Self::UserCannotAuthorize,
        Self::UnsupportedGrant,
        Self::GrantNotRegistered,
        Self::ResourceNotAllowed,
        Self::DpopProofRefused,
        Self::MalformedRequest,
        Self::ServerError,
    ];

    /// The stored code (stable: rows keep it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingSecret => "missing_secret",
            Self::WrongSecret => "wrong_secret",
            Self::SecretNoLongerValid => "secret_no_longer_valid",
            Self::ClientDisabled => "client_disabled",
            Self::RedirectUriMismatch => "redirect_uri_mismatch",
            Self::CodeUnknown => "code_unknown",
            Self::CodeExpired => "code_expired",
            Self::CodeOfAnotherClient => "code_of_another_client",
            Self::CodeReused => "code_reused",
            Self::PkceMismatch => "pkce_mismatch",
            Self::PkceMissing => "pkce_missing",
            Self::RefreshTokenUnknown => "refresh_token_unknown",
            Self::RefreshTokenInvalid => "refresh_token_invalid",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::ScopeNotAllowed => "scope_not_allowed",
            Self::UserCannotAuthorize => "user_cannot_authorize",
            Self::UnsupportedGrant => "unsupported_grant",
            Self::GrantNotRegistered => "grant_not_registered",
            Self::ResourceNotAllowed => "resource_not_allowed",
            Self::DpopProofRefused => "dpop_proof_refused",
            Self::MalformedRequest => "malformed_request",
            Self::ServerError => "server_error",
        }
    }

    /// The reason stored as `code`, if it is one.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == code)
    }

    /// What the console calls it, in a sentence's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::MissingSecret => "No client secret sent",
            Self::WrongSecret => "Wrong client secret",
            Self::SecretNoLongerValid => "Retired or expired secret",
            Self::ClientDisabled => "Client disabled or deleted",
            Self::RedirectUriMismatch => "redirect_uri mismatch",
            Self::CodeUnknown => "Unknown authorization code",
            Self::CodeExpired => "Authorization code expired",
            Self::CodeOfAnotherClient => "Code of another client",
            Self::CodeReused => "Code reused — grants revoked",
            Self::PkceMismatch => "PKCE verifier does not match",
            Self::PkceMissing => "PKCE parameter missing",
            Self::RefreshTokenUnknown => "Unknown refresh token",
            Self::RefreshTokenInvalid => "Refresh token expired or revoked",
            Self::RefreshTokenReused => "Refresh token reused — grant revoked",
            Self::ScopeNotAllowed => "Scope not allowed",
            Self::UserCannotAuthorize => "User can no longer authorize",
            Self::UnsupportedGrant => "Unsupported grant or response type",
            Self::GrantNotRegistered => "Grant type not registered for the client",
            Self::ResourceNotAllowed => "Resource not listed or not authorized",
            Self::DpopProofRefused => "DPoP proof missing or refused",
            Self::MalformedRequest => "Malformed request",
            Self::ServerError => "Server error",
        }
    }
}

/// Where `sent` first differs from `registered`, both URIs, for a failure's explanation
/// ("differs from the registered one at the path"). Compares the parts in URI order; a `sent`
/// that does not parse differs "as a whole".
pub fn uri_difference(registered: &str, sent: &str) -> &'static str {
    let (Ok(registered), Ok(sent)) = (url::Url::parse(registered), url::Url::parse(sent)) else {
        return "as a whole (not an absolute URI)";
    };
    if registered.scheme() != sent.scheme() {
        "at the scheme"
    } else if registered.username() != sent.username() || registered.password() != sent.password() {
        "at the user information"
    } else if registered.host_str() != sent.host_str() {
        "at the host"
    } else if registered.port_or_known_default() != sent.port_or_known_default() {
        "at the port"
    } else if registered.path() != sent.path() {
        "at the path"
    } else if registered.query() != sent.query() {
        "at the query"
    } else if registered.fragment() != sent.fragment() {
        "at the fragment"
    } else {
        // Equal once parsed (an explicit default port, a case difference in the host…): the
        // comparison is exact, character for character.
        "in spelling only (the comparison is exact)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for reason in FailureReason::ALL {
            assert!(seen.insert(reason.as_str()));
            assert_eq!(FailureReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(FailureReason::parse("no_such_reason"), None);
    }

    #[test]
    fn uri_difference_names_the_first_differing_part() {
        let registered = "https://app.example.com/callback?x=1";
        for (sent, at) in [
            ("http://app.example.com/callback?x=1", "at the scheme"),
            ("https://other.example.com/callback?x=1", "at the host"),
            ("https://app.example.com:8443/callback?x=1", "at the port"),
            ("https://app.example.com/callback/?x=1", "at the path"),
            ("https://app.example.com/callback?x=2", "at the query"),
            ("https://app.example.com/callback?x=1#f", "at the fragment"),
            (
                "https://user@app.example.com/callback?x=1",
                "at the user information",
            ),
            (
                "https://APP.example.com:443/callback?x=1",
                "in spelling only (the comparison is exact)",
            ),
            ("/callback", "as a whole (not an absolute URI)"),
        ] {
            assert_eq!(uri_difference(registered, sent), at, "{sent}");
        }
    }
}
