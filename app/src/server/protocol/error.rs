use crate::domain::FailureReason;
use crate::server::ServiceError;
use uuid::Uuid;

/// The error codes of RFC 6749 (§4.1.2.1 authorization, §5.2 token), RFC 7009 and RFC 8707.
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
    /// `prompt=none`, and the user would have to sign in (OpenID Connect Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none`, and the user would have to consent (OpenID Connect Core §3.1.2.6).
    ConsentRequired,
    /// The `resource` asked for is not one of the site's resource servers, or not one the
    /// grant was authorized for (RFC 8707 §2).
    InvalidTarget,
    /// The DPoP proof (RFC 9449 §5) is missing where the client must send one, malformed, for
    /// another request, replayed, or for a key other than the grant's.
    InvalidDpopProof,
    /// The DPoP proof must carry the server's current nonce (RFC 9449 §8), sent in the
    /// response's `DPoP-Nonce` header.
    UseDpopNonce,
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
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::ServerError => "server_error",
        }
    }
}

/// An OAuth error: a code and a human-readable description (always present, never a secret),
/// and, for the client's failure timeline only, the real reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The RFC code.
    pub code: ErrorCode,
    /// What went wrong, for the client developer.
    pub description: String,
    /// Why, for the administrator (never sent on the wire). Boxed: errors travel often, and
    /// most carry none until their endpoint records them.
    pub diagnosis: Option<Box<Diagnosis>>,
}

/// The real reason behind an [`OAuthError`], for the client's failure timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The reason.
    pub reason: FailureReason,
    /// The administrator's explanation, where it says more than the description.
    pub detail: Option<String>,
    /// The client the request was for, where the error's endpoint did not authenticate one
    /// (the authorization endpoint): `(client row id, site id)`.
    pub client: Option<(Uuid, Uuid)>,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            diagnosis: None,
        }
    }

    fn diagnosis_mut(&mut self) -> &mut Diagnosis {
        let fallback = self.fallback_reason();
        self.diagnosis.get_or_insert_with(|| {
            Box::new(Diagnosis {
                reason: fallback,
                detail: None,
                client: None,
            })
        })
    }

    /// The same error, with its real reason for the failure timeline.
    #[must_use]
    pub fn because(mut self, reason: FailureReason) -> Self {
        self.diagnosis_mut().reason = reason;
        self
    }

    /// The same error, with its real reason and an explanation that says more than the
    /// description (never a secret: administrators of the site read it).
    #[must_use]
    pub fn because_of(mut self, reason: FailureReason, detail: impl Into<String>) -> Self {
        let diagnosis = self.diagnosis_mut();
        diagnosis.reason = reason;
        diagnosis.detail = Some(detail.into());
        self
    }

    /// The same error, attributed to the client with row id `client_uuid` of `site_id`.
    #[must_use]
    pub fn about_client(mut self, client_uuid: Uuid, site_id: Uuid) -> Self {
        self.diagnosis_mut().client = Some((client_uuid, site_id));
        self
    }

    /// The reason for the failure timeline: the diagnosed one, or the one the code implies.
    pub fn reason(&self) -> FailureReason {
        self.diagnosis
            .as_ref()
            .map_or_else(|| self.fallback_reason(), |d| d.reason)
    }

    /// The explanation for the failure timeline: the diagnosed detail, or the description.
    pub fn detail(&self) -> &str {
        self.diagnosis
            .as_ref()
            .and_then(|d| d.detail.as_deref())
            .unwrap_or(&self.description)
    }

    fn fallback_reason(&self) -> FailureReason {
        match self.code {
            ErrorCode::InvalidClient => FailureReason::WrongSecret,
            ErrorCode::InvalidScope => FailureReason::ScopeNotAllowed,
            ErrorCode::UnsupportedGrantType | ErrorCode::UnsupportedResponseType => {
                FailureReason::UnsupportedGrant
            }
            ErrorCode::ServerError => FailureReason::ServerError,
            ErrorCode::InvalidTarget => FailureReason::ResourceNotAllowed,
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => {
                FailureReason::DpopProofRefused
            }
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::UnauthorizedClient
            | ErrorCode::AccessDenied
            | ErrorCode::LoginRequired
            | ErrorCode::ConsentRequired => FailureReason::MalformedRequest,
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

    /// `invalid_dpop_proof` (RFC 9449 §5).
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidDpopProof, description)
    }

    /// `invalid_target` (RFC 8707 §2).
    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, description)
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
