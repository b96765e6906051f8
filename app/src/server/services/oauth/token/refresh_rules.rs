//! The rules of the `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): every refresh returns a new refresh token and retires the old one;
//! presenting a retired refresh token again revokes the whole grant (`writes`), since either
//! the client or an attacker holds a stolen copy. A grant lives at most
//! `refresh_token_absolute_ttl` however often it is refreshed, and each refresh carries only
//! the scopes its client is still registered for. Every rule of the grant lives in [`judge`].

use crate::domain::{FailureReason, ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    entities::{client, refresh_token, token_family, user},
    protocol::OAuthError,
    services::audit::{Action, Actor, NewEvent, Target},
    settings::Settings,
};
use serde_json::json;

use super::code_rules::client_disabled_error;
use super::request::{RefreshRequest, Verdict};

/// The verdict on `request`, given the refresh token its digest found (if any) and that
/// token's grant, whether an earlier request of the same batch used the token (`spent_here`), and
/// the scopes the client is registered for now (`None`: disabled since it authenticated).
pub fn judge(
    request: &RefreshRequest,
    row: Option<&refresh_token::Model>,
    family: Option<&token_family::Model>,
    spent_here: bool,
    registered: Option<&ScopeSet>,
    settings: &Settings,
    now: Timestamp,
) -> Result<Verdict, ServiceError> {
    let Some(row) = row else {
        return Ok(Verdict::Refuse(invalid().because_of(
            FailureReason::RefreshTokenUnknown,
            "the refresh token is unknown: never issued, or purged after it expired",
        )));
    };
    if row.client_uuid != request.client.id {
        return Ok(Verdict::Refuse(
            OAuthError::invalid_grant("the refresh token was issued to another client")
                .because(FailureReason::RefreshTokenUnknown),
        ));
    }
    let Some(family) = family else {
        return Ok(Verdict::Refuse(
            invalid().because(FailureReason::RefreshTokenUnknown),
        ));
    };
    // Before reuse detection: a copy of a bound refresh token is useless without the key,
    // and must not let its thief revoke the grant either.
    if let Some(bound) = &family.dpop_jkt
        && request.dpop_jkt.as_deref() != Some(bound.as_str())
    {
        return Ok(Verdict::Refuse(match request.dpop_jkt {
            None => OAuthError::invalid_dpop_proof(
                "the grant is bound to a DPoP key: send a DPoP proof with it",
            ),
            Some(_) => OAuthError::invalid_dpop_proof("the DPoP proof is not by the grant's key"),
        }));
    }
    if row.used_at.is_some() || spent_here {
        return Ok(Verdict::Reused);
    }
    let Some(registered) = registered else {
        return Ok(Verdict::Refuse(client_disabled_error()));
    };
    // The token's own checks first: a dead refresh token is invalid_grant whatever it asks.
    let scope = match new_scope(
        row,
        family,
        request.scope.as_deref(),
        registered,
        settings,
        now,
    )? {
        Ok(scope) => scope,
        Err(error) => return Ok(Verdict::Refuse(error)),
    };
    Ok(
        match super::audience::narrow(request.resource.as_deref(), family.resource.as_deref()) {
            Ok(audience) => Verdict::Issue {
                user_id: family.user_id,
                site_id: family.site_id,
                scope,
                audience,
            },
            Err(error) => Verdict::Refuse(error),
        },
    )
}

/// The answer for an unknown, expired or revoked refresh token (which one is not said).
pub fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
        .because(FailureReason::RefreshTokenInvalid)
}

/// The refresh token was used before: the grant has been revoked.
pub fn reused_error() -> OAuthError {
    OAuthError::invalid_grant("the refresh token was already used; the grant has been revoked")
        .because_of(
            FailureReason::RefreshTokenReused,
            "refresh token reused — the whole grant (family) was revoked",
        )
}

/// The grant's user is disabled or no longer an API user of the site (the grant is revoked).
pub fn user_lost_error() -> OAuthError {
    OAuthError::invalid_grant("the user who authorized this grant can no longer do so")
        .because(FailureReason::UserCannotAuthorize)
}

/// True while `family` is younger than the absolute lifetime of a grant.
pub fn within_absolute_lifetime(
    family: &token_family::Model,
    settings: &Settings,
    now: Timestamp,
) -> bool {
    now.unix()
        < family
            .created_at
            .saturating_add(settings.refresh_token_absolute_ttl)
}

/// The checks of an unused refresh token of this client: live, its grant live and within its
/// absolute lifetime, and the scope asked for (if any) within what was granted and is still
/// registered to the client (`registered`). Returns the scope of the new tokens: the one asked
/// for, or else the token's own narrowed to what is registered now.
fn new_scope(
    row: &refresh_token::Model,
    family: &token_family::Model,
    scope: Option<&str>,
    registered: &ScopeSet,
    settings: &Settings,
    now: Timestamp,
) -> Result<Result<ScopeSet, OAuthError>, ServiceError> {
    if row.revoked_at.is_some()
        || family.revoked_at.is_some()
        || row.expires_at <= now.unix()
        || !within_absolute_lifetime(family, settings, now)
    {
        return Ok(Err(invalid().because_of(
            FailureReason::RefreshTokenInvalid,
            why_invalid(row, family, settings, now),
        )));
    }
    let granted = ScopeSet::parse(&family.scope)
        .map_err(|e| ServiceError::caused("reading a stored grant's scope", e))?
        .intersection(registered);
    let Some(raw) = scope else {
        let current = ScopeSet::parse(&row.scope)
            .map_err(|e| ServiceError::caused("reading a stored refresh token's scope", e))?
            .intersection(registered);
        if current.is_empty() {
            return Ok(Err(OAuthError::invalid_grant(
                "none of the granted scopes is still registered to this client",
            )
            .because(FailureReason::ScopeNotAllowed)));
        }
        return Ok(Ok(current));
    };
    let requested = match ScopeSet::parse(raw) {
        Ok(requested) => requested,
        Err(error) => return Ok(Err(OAuthError::invalid_scope(error.to_string()))),
    };
    if !requested.is_subset(&granted) || requested.is_empty() {
        return Ok(Err(OAuthError::invalid_scope(format!(
            "scope beyond what was granted (or is still registered to this client): {}",
            requested.missing_from(&granted).join(" ")
        ))));
    }
    Ok(Ok(requested))
}

/// The audit event of a refresh.
pub fn refreshed_event(
    client: &client::Model,
    user: &user::Model,
    family: &token_family::Model,
    scope: &ScopeSet,
    address: Option<String>,
) -> NewEvent {
    NewEvent::new(
        Some(family.site_id),
        Action::TokenRefreshed,
        Actor::client(&client.client_id, &client.name, address),
        format!(
            "Tokens refreshed by \"{}\" for {} ({scope})",
            client.name, user.username
        ),
    )
    .target(Target::user(user))
    .details(json!({"grant": family.id, "scope": scope.to_string()}))
}

/// Which of the liveness checks a refresh token failed, for the failure timeline.
fn why_invalid(
    row: &refresh_token::Model,
    family: &token_family::Model,
    settings: &Settings,
    now: Timestamp,
) -> String {
    if let Some(reason) = &family.revoked_reason {
        format!("the grant was revoked ({reason})")
    } else if family.revoked_at.is_some() || row.revoked_at.is_some() {
        "the refresh token was revoked".to_owned()
    } else if !within_absolute_lifetime(family, settings, now) {
        "the grant reached its absolute lifetime; the user must authorize again".to_owned()
    } else {
        let ago = now.unix() - row.expires_at;
        format!("the refresh token expired {ago} s ago")
    }
}
