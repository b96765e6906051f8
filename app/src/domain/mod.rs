//! Value types shared by the browser and the server. Each has a `parse` constructor that is the
//! one place its rule lives; a value that exists has passed it.

mod access_token_format;
mod admin_token_name;
mod client_status;
mod client_text;
pub mod consent;
mod email;
mod failure_reason;
mod grant_types;
mod password;
#[cfg(test)]
mod properties;
mod redirect_uri;
mod resource_uri;
mod scope;
pub mod secret_grace;
pub mod secret_lifetime;
mod site_name;
mod site_roles;
mod text;
mod timestamp;
mod username;
mod webhook_url;

pub use access_token_format::AccessTokenFormat;
pub use admin_token_name::AdminTokenName;
pub use client_status::{ClientStatus, Review};
pub use client_text::{ClientDescription, ClientName, ReviewReason};
pub use email::EmailAddress;
pub use failure_reason::{FailureReason, uri_difference};
pub use grant_types::{CLIENT_ITSELF, GrantTypes, SITE_OWNED};
pub use password::{NewPassword, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
pub use redirect_uri::RedirectUri;
pub use resource_uri::ResourceUri;
pub use scope::{ScopeName, ScopeSet};
pub use site_name::SiteName;
pub use site_roles::SiteRoles;
pub use text::{Invalid, display_excerpt, is_invisible_or_bidi};
pub use timestamp::{Timestamp, ago_words};
pub use username::Username;
pub use webhook_url::{WebhookUrl, is_public};
