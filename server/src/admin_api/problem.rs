//! RFC 9457 problem details: every admin API error is `application/problem+json` with a
//! `type`, `title`, `status` and `detail`, plus `errors` (one per refused field) for bad input.
//! Database text never appears: an unexpected failure answers with a reference to the log.

use app::server::ServiceError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// What kind of problem: `urn:latchkey:problem:<name>`, or `about:blank` when the status
    /// says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The refused fields, for `invalid-input`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One refused field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, by its JSON name.
    pub field: String,
    /// Why.
    pub message: String,
}

impl Problem {
    /// A problem of kind `name` (or `about:blank` when `None`).
    pub fn new(status: StatusCode, name: Option<&str>, detail: impl Into<String>) -> Self {
        Self {
            kind: name.map_or_else(
                || "about:blank".to_owned(),
                |name| format!("urn:latchkey:problem:{name}"),
            ),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            errors: Vec::new(),
        }
    }

    /// Bad input in one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut problem = Self::new(StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input"), "");
        problem.detail = Some(format!("{field}: {message}"));
        problem.errors.push(FieldProblem {
            field: field.to_owned(),
            message,
        });
        problem
    }

    /// No such resource (or not one this token may see: the two are not told apart).
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            "No such resource, or not on a site this token may reach.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"latchkey-admin\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(errors) => {
                let mut problem =
                    Self::new(StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input"), "");
                problem.detail = Some(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                problem.errors = errors
                    .into_iter()
                    .map(|e| FieldProblem {
                        field: e.field,
                        message: e.message,
                    })
                    .collect();
                problem
            }
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Forbidden | ServiceError::BadCredentials => Self::new(
                StatusCode::FORBIDDEN,
                Some("forbidden"),
                "This token may not do that.",
            ),
            ServiceError::Conflict(message) => {
                Self::new(StatusCode::CONFLICT, Some("conflict"), message)
            }
            ServiceError::PreconditionFailed => Self::new(
                StatusCode::PRECONDITION_FAILED,
                Some("precondition-failed"),
                "It changed since your ETag: GET it again, then retry with the new ETag.",
            ),
            ServiceError::Throttled { retry_after_secs } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!("Too many requests: retry in {retry_after_secs} s."),
            ),
            ServiceError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Busy: retry shortly.",
            ),
            unexpected @ (ServiceError::Database(_)
            | ServiceError::Unexpected(_)
            | ServiceError::Caused { .. }) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                let error = unexpected.chain();
                tracing::error!(%reference, %error, "admin API request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    format!("Internal error (reference {reference})."),
                )
            }
        }
    }
}

/// The refusals the operations document, each written once (`responses(Unauthorized, …)`).
pub mod responses {
    use super::Problem;
    use utoipa::IntoResponses;

    /// No live admin token (missing, malformed, unknown, expired, revoked, or its
    /// administrator disabled).
    #[derive(IntoResponses)]
    #[response(status = 401, content_type = "application/problem+json")]
    pub struct Unauthorized(pub Problem);

    /// Not for this token: it is read-only, or the change concerns an administrator (those
    /// are made, changed and removed in the console, with a password re-entered).
    #[derive(IntoResponses)]
    #[response(status = 403, content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);

    /// No such thing within the token's reach (the two are not told apart).
    #[derive(IntoResponses)]
    #[response(status = 404, content_type = "application/problem+json")]
    pub struct NotFound(pub Problem);

    /// Refused by the current state: a rule (a scope still in use, the site's last
    /// administrator, the client's only secret), or a request with the same
    /// `Idempotency-Key` still running.
    #[derive(IntoResponses)]
    #[response(status = 409, content_type = "application/problem+json")]
    pub struct Conflict(pub Problem);

    /// Malformed: a body that is not the operation's JSON, a query string that does not
    /// parse, a malformed `If-Match` or `Idempotency-Key`, or a repeated header.
    #[derive(IntoResponses)]
    #[response(status = 400, content_type = "application/problem+json")]
    pub struct BadRequest(pub Problem);

    /// The body is not `application/json`.
    #[derive(IntoResponses)]
    #[response(status = 415, content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(pub Problem);

    /// It changed since the `If-Match` ETag.
    #[derive(IntoResponses)]
    #[response(status = 412, content_type = "application/problem+json")]
    pub struct Stale(pub Problem);

    /// A field (or filter) was refused; `errors` says which and why.
    #[derive(IntoResponses)]
    #[response(status = 422, content_type = "application/problem+json")]
    pub struct Refused(pub Problem);

    /// No `If-Match`.
    #[derive(IntoResponses)]
    #[response(status = 428, content_type = "application/problem+json")]
    pub struct IfMatchRequired(pub Problem);
}
