//! The rules of the `client_credentials` grant (RFC 6749 §4.4): a client registered for it
//! asks, with its own credentials, for an access token that acts as the client itself. No
//! refresh token (§4.4.3), no user, and never more than the scopes the client is registered
//! for. Every rule of the grant lives in [`judge`].

use crate::domain::{FailureReason, ScopeSet};
use crate::server::{
    entities::client,
    protocol::OAuthError,
    services::audit::{Action, Actor, NewEvent, Target},
};
use serde_json::json;
use uuid::Uuid;

use super::request::{ClientCredentialsRequest, Verdict};

/// The verdict on `request`, given the scopes the client is registered for now (`None`: the
/// client was disabled since it authenticated).
pub fn judge(request: &ClientCredentialsRequest, registered: Option<&ScopeSet>) -> Verdict {
    let Some(registered) = registered else {
        return Verdict::Refuse(super::code_rules::client_disabled_error());
    };
    let scope = match request.scope.as_deref() {
        // No scope asked for: every scope the client is registered for (RFC 6749 §3.3 lets the
        // server pick a default; the client's registration is the only one that makes sense).
        None => registered.clone(),
        Some(raw) => match ScopeSet::parse(raw) {
            Ok(requested) if requested.is_empty() => {
                return Verdict::Refuse(
                    OAuthError::invalid_scope("scope names no scope")
                        .because(FailureReason::MalformedRequest),
                );
            }
            Ok(requested) if requested.is_subset(registered) => requested,
            Ok(requested) => {
                return Verdict::Refuse(
                    OAuthError::invalid_scope(format!(
                        "scope not registered to this client: {}",
                        requested.missing_from(registered).join(" ")
                    ))
                    .because(FailureReason::ScopeNotAllowed),
                );
            }
            Err(error) => {
                return Verdict::Refuse(
                    OAuthError::invalid_scope(error.to_string())
                        .because(FailureReason::MalformedRequest),
                );
            }
        },
    };
    if scope.is_empty() {
        return Verdict::Refuse(
            OAuthError::invalid_scope("this client is registered for no scope")
                .because(FailureReason::ScopeNotAllowed),
        );
    }
    Verdict::Issue {
        user_id: None,
        site_id: request.client.site_id,
        scope,
        // Checked against the site's list at intake; a client's own grant has no other bound.
        audience: request.resource.clone(),
    }
}

/// The audit event of a client credentials token: the client is both actor and target.
pub fn issued_event(
    client: &client::Model,
    family_id: Uuid,
    scope: &ScopeSet,
    address: Option<String>,
) -> NewEvent {
    NewEvent::new(
        Some(client.site_id),
        Action::TokenIssued,
        Actor::client(&client.client_id, &client.name, address),
        format!("Token issued to \"{}\" for itself ({scope})", client.name),
    )
    .target(Target::client(client))
    .details(
        json!({"grant": family_id, "scope": scope.to_string(), "grant_type": "client_credentials"}),
    )
}
