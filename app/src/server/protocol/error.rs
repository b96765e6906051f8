use crate::server::ServiceError;

/// The error codes of RFC 6749 (§4.1.2.1 authorization, §5.2 token) and RFC 7009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Missing, repeated, malformed or otherwise unacceptable parameter.
    InvalidRequest,
    /// Client authentication failed (HTTP 401 with `WWW-Authenticate: Basic`).
    InvalidClient,
    /// Code or refresh token invalid, expired, revoked, reused or issued to someone else.
    InvalidGrant,
    /// This client may not use this grant type.
    UnauthorizedClient,
    /// Grant type not supported.
    UnsupportedGrantType,
    /// Scope unknown, malformed, or beyond what the client (or the grant) allows.
    InvalidScope,
    /// The resource owner denied the request.
    AccessDenied,
    /// `response_type` not supported.
    UnsupportedResponseType,
    /// An unexpected condition on the server (never for bad input).
    ServerError,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
        }
    }
}

/// An OAuth error: a code and a human-readable description (always present, never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The RFC code.
    pub code: ErrorCode,
    /// What went wrong, for the client developer.
    pub description: String,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }
}

impl From<ServiceError> for OAuthError {
    /// A failure on our side: logged in full with a reference; the client sees only
    /// `server_error` and the reference.
    fn from(error: ServiceError) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let error = error.chain();
        tracing::error!(%reference, %error, "authorization server request failed");
        Self::new(
            ErrorCode::ServerError,
            format!("The server could not complete the request (reference {reference})."),
        )
    }
}

impl From<sea_orm::DbErr> for OAuthError {
    fn from(error: sea_orm::DbErr) -> Self {
        ServiceError::from(error).into()
    }
}
