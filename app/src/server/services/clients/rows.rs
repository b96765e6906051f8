//! The rows that make one registered client — the client, its scopes, its first secret slot,
//! the Terms of Use acceptance and the audit events — built in one place and written by no
//! one here, so the console's registration ([`super::register`], one client per transaction)
//! and bulk seeding (`latchkey seed`, hundreds per statement) cannot drift apart.

use crate::domain::{
    ClientDescription, ClientName, GrantTypes, RedirectUri, Review, SITE_OWNED, ScopeSet, Timestamp,
};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    entities::{client, client_scope, client_secret, terms_acceptance, user},
    keys::Keys,
    services::{
        access::Acting,
        audit::{Action, Actor, NewEvent, Target, TargetKind},
        secrets,
    },
    state::SecretPolicy,
};
use sea_orm::ActiveValue::{NotSet, Set};
use serde_json::json;
use uuid::Uuid;

/// Who registers (an administrator, the operator) or requests (an API user, for themselves) a
/// client: how the audit log names them, and their user id where they have one.
#[derive(Debug, Clone)]
pub struct Author {
    /// The audit log's actor.
    pub actor: Actor,
    /// Their user id (`created_by_user_id`, `accepted_by_user_id`).
    pub user_id: Option<Uuid>,
}

impl Author {
    /// An administrator or the operator, acting through a service context.
    pub fn of(acting: &Acting) -> Self {
        Self {
            actor: acting.actor(),
            user_id: acting.admin_id(),
        }
    }

    /// An API user requesting an application for themselves.
    pub fn api_user(user: &user::Model, address: Option<String>) -> Self {
        Self {
            actor: Actor::api_user(user.id, &user.username, address),
            user_id: Some(user.id),
        }
    }
}

/// A registration whose owner and scopes the caller has already checked against the site
/// (`register` does, in its transaction; `latchkey seed`, an operator's command, passes the
/// API users it just made and the site's `profile` scope). Building rows checks nothing.
#[derive(Debug, Clone, Copy)]
pub struct CheckedRegistration<'a> {
    /// The site the client belongs to.
    pub site_id: Uuid,
    /// Name.
    pub name: &'a ClientName,
    /// Description.
    pub description: &'a ClientDescription,
    /// The one redirect URI.
    pub redirect_uri: &'a RedirectUri,
    /// The owner: an active API user of the site; `None` for a machine client that belongs
    /// to its site.
    pub owner: Option<&'a user::Model>,
    /// The grants it is registered for.
    pub grant_types: GrantTypes,
    /// The scopes it may request, all in the site's catalogue.
    pub scopes: &'a ScopeSet,
    /// Refuse authorization requests without PKCE.
    pub require_pkce: bool,
    /// Refuse token requests without a DPoP proof.
    pub require_dpop: bool,
    /// The Terms of Use version accepted.
    pub terms_version: &'a str,
    /// How long its first secret stays valid (seconds; `None`: no expiry).
    pub secret_lifetime: Option<i64>,
    /// `Approved` when an administrator registers it; `Pending` when an API user requests it
    /// (recorded as `client.requested`, and it never authenticates until approved).
    pub review: Review,
}

/// Everything one registration writes, not yet written.
#[derive(Debug)]
pub struct RegistrationRows {
    /// The client.
    pub client: client::ActiveModel,
    /// Its scopes.
    pub scopes: Vec<client_scope::ActiveModel>,
    /// Its first secret slot.
    pub slot: client_secret::ActiveModel,
    /// The secret of that slot, shown once.
    pub secret: Secret,
    /// The acceptance of the Terms of Use.
    pub terms: terms_acceptance::ActiveModel,
    /// "Client registered" (or "requested") then "Terms accepted", for the site's chain.
    pub events: Vec<NewEvent>,
}

/// Builds the rows of `registration` made by `author` at `now`.
pub fn registration_rows(
    keys: &Keys,
    policy: SecretPolicy,
    author: &Author,
    registration: CheckedRegistration<'_>,
    now: Timestamp,
) -> Result<RegistrationRows, ServiceError> {
    let actor = author.actor.clone();
    let id = Uuid::now_v7();
    let client_id = tokens::generate(TokenKind::ClientId)?;
    let name = registration.name.as_str();
    let owner = registration
        .owner
        .map_or_else(|| SITE_OWNED.to_owned(), |owner| owner.username.clone());
    let redirect_uri = registration.redirect_uri.as_str();
    let client = client::ActiveModel {
        id: Set(id),
        site_id: Set(registration.site_id),
        client_id: Set(client_id.clone()),
        name: Set(name.to_owned()),
        name_key: Set(registration.name.key()),
        description: Set(registration.description.as_str().to_owned()),
        redirect_uri: Set(redirect_uri.to_owned()),
        owner_user_id: Set(registration.owner.map(|owner| owner.id)),
        grant_types: Set(registration.grant_types.to_stored()),
        require_pkce: Set(registration.require_pkce),
        require_dpop: Set(registration.require_dpop),
        disabled_at: Set(None),
        created_by_user_id: Set(author.user_id),
        created_by_label: Set(actor.label.clone()),
        created_at: Set(now.unix()),
        updated_at: Set(now.unix()),
        last_used_at: Set(None),
        terms_version: Set(registration.terms_version.to_owned()),
        deleted_at: Set(None),
        deleted_with_owner: Set(false),
        stale_announced_at: Set(None),
        review: Set(registration.review.as_str().to_owned()),
        review_reason: Set(None),
        reviewed_at: Set(None),
        reviewed_by_label: Set(None),
        owner_secret_sealed: Set(None),
    };
    let scopes = scope_rows(id, registration.scopes);
    let (slot, secret) = secrets::new_slot(
        keys,
        policy,
        id,
        &client_id,
        &actor.label,
        registration.secret_lifetime,
        now,
    )?;
    let target = Target::new(TargetKind::Client, &client_id, name);
    let (action, summary) = match registration.review {
        Review::Pending => (
            Action::ClientRequested,
            format!("API client \"{name}\" requested by {owner}, pending approval"),
        ),
        Review::Approved | Review::Rejected => (
            Action::ClientRegistered,
            format!("API client \"{name}\" registered for {owner}"),
        ),
    };
    let registered = NewEvent::new(Some(registration.site_id), action, actor.clone(), summary)
        .target(target.clone())
        .details(json!({
            "client_id": client_id,
            "owner": registration.owner.map(|owner| owner.username.clone()),
            "grant_types": registration.grant_types.names(),
            "redirect_uri": redirect_uri,
            "scopes": registration.scopes.to_string(),
            "require_pkce": registration.require_pkce,
            "require_dpop": registration.require_dpop,
            // A request gets its secret at approval (`review::decide`), which records it.
            "secret_valid_until": (registration.review == Review::Approved)
                .then(|| registration.secret_lifetime.map(|seconds| now.unix() + seconds))
                .flatten(),
            "secret_hint": (registration.review == Review::Approved).then(|| secret.hint()),
        }));
    let (terms, accepted) = terms_rows(
        author,
        registration.site_id,
        id,
        target,
        registration.terms_version,
        now,
    );
    Ok(RegistrationRows {
        client,
        scopes,
        slot,
        secret,
        terms,
        events: vec![registered, accepted],
    })
}

/// The scope rows of a client.
pub fn scope_rows(client_uuid: Uuid, scopes: &ScopeSet) -> Vec<client_scope::ActiveModel> {
    scopes
        .iter()
        .map(|scope| client_scope::ActiveModel {
            client_uuid: Set(client_uuid),
            scope: Set(scope.as_str().to_owned()),
        })
        .collect()
}

/// The acceptance of Terms of Use `version` by `author` for the client `target` (row id
/// `client_uuid`) and its audit event.
pub fn terms_rows(
    author: &Author,
    site_id: Uuid,
    client_uuid: Uuid,
    target: Target,
    version: &str,
    now: Timestamp,
) -> (terms_acceptance::ActiveModel, NewEvent) {
    let actor = author.actor.clone();
    let row = terms_acceptance::ActiveModel {
        id: NotSet,
        client_uuid: Set(client_uuid),
        terms_version: Set(version.to_owned()),
        accepted_by_user_id: Set(author.user_id),
        accepted_by_label: Set(actor.label.clone()),
        accepted_at: Set(now.unix()),
        accepted_from: Set(actor.address.clone()),
    };
    let summary = format!(
        "{} accepted the Terms of Use (version {version}) for \"{}\"",
        actor.label, target.label
    );
    let event = NewEvent::new(Some(site_id), Action::TermsAccepted, actor, summary)
        .target(target)
        .details(json!({"terms_version": version}));
    (row, event)
}
