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
    /// A database failure that is not the caller's fault.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Any other failure that is not the caller's fault.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl ServiceError {
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
            unexpected @ (ServiceError::Database(_) | ServiceError::Unexpected(_)) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                tracing::error!(%reference, error = %unexpected, "console request failed");
                Self::Internal { reference }
            }
        }
    }
}
