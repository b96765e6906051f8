//! An audit event before it is linked into its chain: who did what to what, in words and
//! facts. Actor and target kinds are typed; their stored names are written once, here.

use crate::server::entities::{client, site, user};
use serde_json::json;
use uuid::Uuid;

use super::action::Action;

/// Who can act, by the name stored in `actor_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An administrator in the console.
    Admin,
    /// The operator (command line, first-run setup).
    Operator,
    /// An API user at the authorization prompt.
    ApiUser,
    /// An API client at the token, revocation or introspection endpoint.
    Client,
    /// An automation with an administrator's admin API token.
    AdminToken,
    /// Someone not (yet) identified.
    Anonymous,
}

impl ActorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::ApiUser => "user",
            Self::Client => "client",
            Self::AdminToken => "admin_token",
            Self::Anonymous => "anonymous",
        }
    }
}

/// What an event can be about, by the name stored in `target_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A site.
    Site,
    /// A user (administrator or API user).
    User,
    /// An API client.
    Client,
    /// A scope of a site's catalogue.
    Scope,
    /// A webhook endpoint of a site.
    Webhook,
    /// An admin API token.
    AdminToken,
    /// A key that signs JWT access tokens.
    SigningKey,
}

impl TargetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Site => "site",
            Self::User => "user",
            Self::Client => "client",
            Self::Scope => "scope",
            Self::Webhook => "webhook",
            Self::AdminToken => "admin_token",
            Self::SigningKey => "signing_key",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// Stable id (user uuid, client_id), if any.
    pub id: Option<String>,
    /// What people read: username, client name, "latchkey CLI".
    pub label: String,
    /// The network address the request came from, if any.
    pub address: Option<String>,
}

impl Actor {
    /// Latchkey itself, on its schedule (reminders, stale clients): the operator's kind, named
    /// so a reader can tell it from a command.
    pub fn scheduled() -> Self {
        Self {
            kind: ActorKind::Operator,
            id: None,
            label: "Latchkey (scheduled)".to_owned(),
            address: None,
        }
    }

    /// An administrator acting in the console.
    pub fn admin(user_id: Uuid, username: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Admin,
            id: Some(user_id.to_string()),
            label: username.to_owned(),
            address,
        }
    }

    /// The operator: the command line, or the first-run setup page (which has an address).
    pub fn operator(address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Operator,
            id: None,
            label: "operator".to_owned(),
            address,
        }
    }

    /// An API user acting at the authorization prompt.
    pub fn api_user(user_id: Uuid, username: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::ApiUser,
            id: Some(user_id.to_string()),
            label: username.to_owned(),
            address,
        }
    }

    /// An API client acting at the token, revocation or introspection endpoint.
    pub fn client(client_id: &str, name: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(client_id.to_owned()),
            label: name.to_owned(),
            address,
        }
    }

    /// An automation calling the admin API with `token_id`, named `label` (its name and its
    /// administrator's username).
    pub fn admin_token(token_id: Uuid, label: String, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::AdminToken,
            id: Some(token_id.to_string()),
            label,
            address,
        }
    }

    /// Someone not (yet) identified, e.g. a failed sign-in; `claimed` is what they typed,
    /// cut to a safe length and stripped of control characters.
    pub fn anonymous(claimed: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: None,
            label: sanitize_label(claimed),
            address,
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What kind of thing.
    pub kind: TargetKind,
    /// Stable id.
    pub id: String,
    /// What people read.
    pub label: String,
}

impl Target {
    /// A target of `kind`.
    pub fn new(kind: TargetKind, id: impl ToString, label: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.to_string(),
            label: label.into(),
        }
    }

    /// A user (administrator or API user), by id and username.
    pub fn user(user: &user::Model) -> Self {
        Self::new(TargetKind::User, user.id, &user.username)
    }

    /// An API client, by Consumer Key and name.
    pub fn client(client: &client::Model) -> Self {
        Self::new(TargetKind::Client, &client.client_id, &client.name)
    }

    /// A site, by id and name.
    pub fn site(site: &site::Model) -> Self {
        Self::new(TargetKind::Site, site.id, &site.name)
    }

    /// A scope of a site's catalogue, by name.
    pub fn scope(name: &str) -> Self {
        Self::new(TargetKind::Scope, name, name)
    }
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The site whose chain (and console views) it belongs to; `None` for the global chain.
    pub site_id: Option<Uuid>,
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to.
    pub target: Option<Target>,
    /// One readable sentence.
    pub summary: String,
    /// Structured facts (a JSON object). Never secrets or passwords.
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event with empty details and no target.
    pub fn new(
        site_id: Option<Uuid>,
        action: Action,
        actor: Actor,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            site_id,
            action,
            actor,
            target: None,
            summary: summary.into(),
            details: json!({}),
        }
    }

    /// Sets the target.
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the details object.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// `raw` cut to a safe length, without control characters.
pub(super) fn sanitize_label(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(64).collect()
}
