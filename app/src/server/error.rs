//! `ServiceError`: how a domain service fails. Expected outcomes (bad input, not allowed, not
//! found, conflict) are variants the caller turns into a precise answer; anything else is
//! `Database`/`Unexpected`, logged in full here and shown to people only as a reference.

use crate::error::{ConsoleError, FieldError};
use sea_orm::{DbErr, SqlErr};

/// The error of every service function.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Inputs refused by a domain rule, per field.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Wrong username or password (deliberately not saying which).
    #[error("incorrect username or password")]
    BadCredentials,
    /// Too many failures for this account or address.
    #[error("throttled for {retry_after_secs}s")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// Too much is waiting (password hashing): refused at once; try again shortly.
    #[error("busy")]
    Busy,
    /// The actor may not do this (or see this site).
    #[error("forbidden")]
    Forbidden,
    /// No such thing, or not visible to the actor.
    #[error("not found")]
    NotFound,
    /// The change contradicts current state; the message says how.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The thing changed since the caller read it (their `If-Match` revision is stale).
    #[error("precondition failed: changed since it was read")]
    PreconditionFailed,
    /// A database failure that is not the caller's fault.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Any other failure that is not the caller's fault.
    #[error("unexpected: {0}")]
    Unexpected(String),
    /// A failure of something the service called, with what it was doing: the cause stays
    /// attached (see [`ServiceError::chain`]) instead of being flattened into a string.
    #[error("unexpected: {context}")]
    Caused {
        /// What the service was doing.
        context: String,
        /// The error that caused it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ServiceError {
    /// `source` failed while the service was doing `context`.
    pub fn caused(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Caused {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The error and every cause under it, for the log: `unexpected: argon2 hashing: ...`.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }

    /// A single-field validation failure.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// True when a database error is a unique-constraint violation (a race lost to a
    /// concurrent insert of the same key), which callers report as a field error.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(error)
            if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
    }
}

impl From<ServiceError> for ConsoleError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(errors) => Self::Invalid(errors),
            ServiceError::BadCredentials => {
                Self::invalid("password", "Incorrect username or password.")
            }
            ServiceError::Throttled { retry_after_secs } => Self::Throttled { retry_after_secs },
            ServiceError::Busy => Self::Busy,
            ServiceError::Forbidden => Self::Forbidden,
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Conflict(message) => Self::Conflict(message),
            ServiceError::PreconditionFailed => {
                Self::Conflict("It changed since you loaded it: reload and try again.".into())
            }
            unexpected @ (ServiceError::Database(_)
            | ServiceError::Unexpected(_)
            | ServiceError::Caused { .. }) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                let error = unexpected.chain();
                tracing::error!(%reference, %error, "console request failed");
                Self::Internal { reference }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceError;

    #[test]
    fn a_caused_error_keeps_its_cause_for_the_log() {
        let inner = std::io::Error::other("device full");
        let error = ServiceError::caused("writing the audit export", inner);
        assert_eq!(error.to_string(), "unexpected: writing the audit export");
        assert_eq!(
            error.chain(),
            "unexpected: writing the audit export: device full"
        );
        assert!(std::error::Error::source(&error).is_some());
    }
}
