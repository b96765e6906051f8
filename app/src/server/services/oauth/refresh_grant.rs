//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): every refresh returns a new refresh token and retires the old one; presenting a
//! retired refresh token again revokes the whole grant (every access and refresh token of its
//! family), since either the client or an attacker holds a stolen copy. A grant lives at most
//! `refresh_token_absolute_ttl` however often it is refreshed, and each refresh carries only
//! the scopes its client is still registered for. The rules live here; the grant writer
//! (`grant_writer`) applies them to batches of requests in one transaction.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{client, refresh_token, token_family, user},
    keys::Keys,
    oauth::OAuthError,
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        grants,
        oauth::{
            grant_writer::{GrantRequest, RefreshRequest},
            issue::IssuedTokens,
        },
    },
    state::Settings,
};
use sea_orm::{DatabaseTransaction, EntityTrait};
use serde_json::json;

/// Exchanges `refresh_token` for a new token pair, optionally with a narrower `scope`.
/// Malformed tokens are refused here; the rest is settled by the grant writer, in a batch with
/// whatever other token requests are waiting.
pub async fn refresh(
    state: &AppState,
    client: &client::Model,
    presented: &str,
    scope: Option<&str>,
    address: Option<String>,
) -> Result<IssuedTokens, OAuthError> {
    if !tokens::is_well_formed(TokenKind::RefreshToken, presented) {
        return Err(invalid());
    }
    let request = RefreshRequest {
        client: client.clone(),
        token_hash: tokens::digest(presented),
        scope: scope.map(str::to_owned),
        address,
    };
    state
        .grants
        .submit(state, GrantRequest::Refresh(request))
        .await
}

/// The answer for an unknown, expired or revoked refresh token (which one is not said).
pub(super) fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// The refresh token belongs to another client.
pub(super) fn other_client_error() -> OAuthError {
    OAuthError::invalid_grant("the refresh token was issued to another client")
}

/// The refresh token was used before: the grant has been revoked.
pub(super) fn reused_error() -> OAuthError {
    OAuthError::invalid_grant("the refresh token was already used; the grant has been revoked")
}

/// The grant's user is disabled or no longer an API user of the site (the grant is revoked).
pub(super) fn user_lost_error() -> OAuthError {
    OAuthError::invalid_grant("the user who authorized this grant can no longer do so")
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
pub(super) fn check_unused_token(
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
        return Ok(Err(invalid()));
    }
    let granted = ScopeSet::parse(&family.scope)
        .map_err(|e| ServiceError::Unexpected(e.to_string()))?
        .intersection(registered);
    let Some(raw) = scope else {
        let current = ScopeSet::parse(&row.scope)
            .map_err(|e| ServiceError::Unexpected(e.to_string()))?
            .intersection(registered);
        if current.is_empty() {
            return Ok(Err(scopes_withdrawn_error()));
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

/// None of the scopes of the grant is registered to the client any more.
pub(super) fn scopes_withdrawn_error() -> OAuthError {
    OAuthError::invalid_grant("none of the granted scopes is still registered to this client")
}

/// The audit event of a refresh.
pub(super) fn refreshed_event(
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
    .target(Target::new("user", user.id, &user.username))
    .details(json!({"grant": family.id, "scope": scope.to_string()}))
}

/// Revokes the grant of a refresh token presented twice (RFC 9700 §4.14.2), records it and
/// raises an alert.
pub(super) async fn revoke_after_reuse(
    txn: &DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    family: &token_family::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let revoked = grants::revoke_family(txn, family.id, "refresh token reused", now).await?;
    if !revoked {
        return Ok(());
    }
    let username = user::Entity::find_by_id(family.user_id)
        .one(txn)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    audit::record(txn, keys,
        NewEvent::new(
            Some(family.site_id),
            Action::RefreshReuseDetected,
            Actor::client(&client.client_id, &client.name, address.clone()),
            format!(
                "Refresh token reused for \"{}\" ({username}): possible token theft; the grant was revoked",
                client.name
            ),
        )
        .target(Target::new("client", &client.client_id, &client.name))
        .details(json!({"grant": family.id, "api_user": username, "address": address})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        family.site_id,
        AlertKind::RefreshTokenReuse,
        AlertSubject {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            username: Some(username.clone()),
            address,
        },
        format!("Refresh token of \"{}\" for {username} was used twice: possible theft. The grant was revoked.", client.name),
        now,
    )
    .await?;
    Ok(())
}
