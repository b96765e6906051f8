//! `ConsoleError`: everything the browser may learn about a failed console request. Database
//! text and internal details never get here; `Internal` carries only a reference to the log.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// One input that was refused, named as the form names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field (the server function argument) the message belongs next to.
    pub field: String,
    /// What to fix, in words for the person who typed it.
    pub message: String,
}

impl FieldError {
    /// A message for one field.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The error type of every console server function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConsoleError {
    /// Some inputs were refused; each message is shown next to its field.
    #[error("Please correct the highlighted fields.")]
    Invalid(Vec<FieldError>),
    /// No valid session: sign in first.
    #[error("Your session has ended. Please sign in again.")]
    Unauthenticated,
    /// The action needs a recent password confirmation.
    #[error("Please confirm your password to continue.")]
    ReauthenticationRequired,
    /// Signed in, but not allowed to do this.
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// The anti-forgery token was missing or wrong.
    #[error("This form has expired. Reload the page and try again.")]
    CsrfRejected,
    /// The thing asked for does not exist (or is not visible to this administrator).
    #[error("Not found.")]
    NotFound,
    /// The request conflicts with the current state, e.g. removing a site's last administrator.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts; try again later.
    #[error("Too many attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60))]
    Throttled {
        /// Seconds until another attempt is accepted.
        retry_after_secs: u64,
    },
    /// The server is busy checking passwords; nothing was done. Try again in a moment.
    #[error("The server is busy. Try again in a moment.")]
    Busy,
    /// An unexpected failure; `reference` finds the details in the server log.
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal {
        /// Correlates this message with a server log line.
        reference: String,
    },
    /// The request did not reach the server function or its answer could not be read.
    #[error("The request could not be completed ({0}).")]
    Transport(String),
}

impl ConsoleError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The HTTP status a response carrying this error should have: 4xx for anything the
    /// request got wrong, 5xx only for failures on our side.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Invalid(_) | Self::Transport(_) => 400,
            Self::Unauthenticated | Self::ReauthenticationRequired => 401,
            Self::Forbidden | Self::CsrfRejected => 403,
            Self::NotFound => 404,
            Self::Conflict(_) => 409,
            Self::Throttled { .. } | Self::Busy => 429,
            Self::Internal { .. } => 500,
        }
    }

    /// The message for `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|error| error.field == field)
                .map(|error| error.message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A form submitted without a required field fails to deserialize: that is the
            // user's input, not a transport failure.
            ServerFnErrorErr::Args(message) => Self::Transport(format!("invalid form: {message}")),
            other => Self::Transport(other.to_string()),
        }
    }
}

/// Collects field errors from several parses so a form reports every problem at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `Ok` values; records `Err` messages against `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError::new(field, error.to_string()));
                None
            }
        }
    }

    /// Records a message against `field`.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// `Ok(())` when nothing was recorded, otherwise the `Invalid` error listing everything.
    pub fn finish(self) -> Result<(), ConsoleError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConsoleError::Invalid(self.0))
        }
    }

    /// The form's parsed values (a tuple of what [`FieldErrors::check`] returned), or the
    /// `Invalid` error listing every refusal at once: the one ending of every form parse.
    pub fn finish_with<T: ParsedFields>(self, fields: T) -> Result<T::Values, ConsoleError> {
        self.finish()?;
        // Only a field whose check recorded no error can be missing: a bug, not bad input.
        fields
            .all()
            .ok_or_else(|| ConsoleError::Transport("incomplete form".into()))
    }
}

/// A tuple of `Option`s, one per parsed field: `None` where the field was refused.
pub trait ParsedFields {
    /// The tuple of values.
    type Values;
    /// Every value, when none is missing.
    fn all(self) -> Option<Self::Values>;
}

macro_rules! parsed_fields {
    ($($name:ident),+) => {
        impl<$($name),+> ParsedFields for ($(Option<$name>,)+) {
            type Values = ($($name,)+);
            #[allow(non_snake_case)]
            fn all(self) -> Option<Self::Values> {
                let ($($name,)+) = self;
                Some(($($name?,)+))
            }
        }
    };
}

parsed_fields!(A);
parsed_fields!(A, B);
parsed_fields!(A, B, C);
parsed_fields!(A, B, C, D);
parsed_fields!(A, B, C, D, E);
parsed_fields!(A, B, C, D, E, F);
