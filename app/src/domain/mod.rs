//! Value types shared by the browser and the server. Each has a `parse` constructor that is the
//! one place its rule lives; a value that exists has passed it.

mod client_text;
mod email;
mod password;
mod redirect_uri;
mod scope;
mod site_name;
mod site_roles;
mod timestamp;
mod username;

pub use client_text::{ClientDescription, ClientName};
pub use email::EmailAddress;
pub use password::{NewPassword, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
pub use redirect_uri::RedirectUri;
pub use scope::{ScopeName, ScopeSet};
pub use site_name::SiteName;
pub use site_roles::SiteRoles;
pub use timestamp::Timestamp;
pub use username::Username;

/// Why a raw input was refused, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// A refusal with the given human-readable reason.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// True for characters that never belong in a name or identifier a person types
/// (control characters, including newlines and NUL).
fn has_control_chars(raw: &str) -> bool {
    raw.chars().any(char::is_control)
}

/// Checks a trimmed, free-text name: present, at most `max` characters, no control characters.
fn parse_display_text(raw: &str, what: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(format!("{what} is required.")));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(format!(
            "{what} must be at most {max} characters."
        )));
    }
    if has_control_chars(trimmed) {
        return Err(Invalid::new(format!(
            "{what} cannot contain control characters."
        )));
    }
    Ok(trimmed.to_owned())
}
