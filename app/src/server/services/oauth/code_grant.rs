//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! A code is bound to its client, redirect URI, user, scope and PKCE challenge, expires after
//! a few minutes, and is consumed by a conditional update, so of many concurrent exchanges
//! exactly one wins. Presenting a consumed code again is treated as theft (RFC 6749 §4.1.2,
//! RFC 9700 §4.2.4): every token issued from it is revoked. The rules live here; the grant
//! writer (`grant_writer`) applies them to batches of requests in one transaction.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, TokenKind},
    entities::{authorization_code, client, token_family, user},
    keys::Keys,
    oauth::{OAuthError, pkce},
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        grants,
        oauth::{
            grant_writer::{ExchangeRequest, GrantRequest},
            issue::IssuedTokens,
        },
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Exchanges `code` for tokens for the authenticated `client`. Malformed codes and a missing
/// `redirect_uri` are refused here; the rest is settled by the grant writer, in a batch with
/// whatever other token requests are waiting.
pub async fn exchange(
    state: &AppState,
    client: &client::Model,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    address: Option<String>,
) -> Result<IssuedTokens, OAuthError> {
    if !tokens::is_well_formed(TokenKind::AuthorizationCode, code) {
        return Err(invalid());
    }
    let Some(redirect_uri) = redirect_uri else {
        return Err(OAuthError::invalid_request(
            "missing parameter \"redirect_uri\"",
        ));
    };
    let request = ExchangeRequest {
        client: client.clone(),
        code_hash: tokens::digest(code),
        redirect_uri: redirect_uri.to_owned(),
        code_verifier: code_verifier.map(str::to_owned),
        address,
    };
    state
        .grants
        .submit(state, GrantRequest::Exchange(request))
        .await
}

/// The answer for an unknown, expired or spent code (which one is not said).
pub(super) fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

/// The code belongs to another client. Checked before anything else, so a client cannot
/// burn (or learn about) a code it does not own.
pub(super) fn other_client_error() -> OAuthError {
    OAuthError::invalid_grant("the authorization code was issued to another client")
}

/// The code was presented again; `revoked` grants issued from it were revoked.
pub(super) fn reused_error(revoked: u64) -> OAuthError {
    OAuthError::invalid_grant(format!(
        "the authorization code was already used; {revoked} grant(s) issued from it were revoked"
    ))
}

/// The user who approved the request is disabled or no longer an API user of the site.
pub(super) fn user_lost_error() -> OAuthError {
    OAuthError::invalid_grant("the user who authorized this code can no longer do so")
}

/// None of the scopes the user authorized is still registered to the client.
pub(super) fn scopes_withdrawn_error() -> OAuthError {
    OAuthError::invalid_grant("none of the authorized scopes is still registered to this client")
}

/// The checks of an unused code of this client, in RFC order: not expired, the same
/// `redirect_uri` as the authorization request, and the PKCE verifier when (and only when)
/// a challenge was sent (RFC 7636 §4.6).
pub(super) fn check_unused_code(
    code: &authorization_code::Model,
    request: &ExchangeRequest,
    now: Timestamp,
) -> Result<(), OAuthError> {
    if code.expires_at <= now.unix() {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if code.redirect_uri != request.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, request.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required (PKCE was used)",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent for a code issued without a code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// The audit event of a new grant's first tokens.
pub(super) fn issued_event(
    client: &client::Model,
    user: &user::Model,
    family_id: Uuid,
    scope: &ScopeSet,
    address: Option<String>,
) -> NewEvent {
    NewEvent::new(
        Some(client.site_id),
        Action::TokenIssued,
        Actor::client(&client.client_id, &client.name, address),
        format!(
            "Tokens issued to \"{}\" for {} ({scope})",
            client.name, user.username
        ),
    )
    .target(Target::new("user", user.id, &user.username))
    .details(
        json!({"grant": family_id, "scope": scope.to_string(), "grant_type": "authorization_code"}),
    )
}

/// Revokes every grant issued from a code presented twice (RFC 6749 §4.1.2), records it and
/// raises an alert; returns how many grants were revoked.
pub(super) async fn revoke_after_reuse(
    txn: &sea_orm::DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    code: &authorization_code::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let family_ids: Vec<Uuid> = token_family::Entity::find()
        .filter(token_family::Column::CodeHash.eq(&code.code_hash))
        .all(txn)
        .await?
        .into_iter()
        .map(|family| family.id)
        .collect();
    let mut revoked = 0;
    for id in &family_ids {
        if grants::revoke_family(txn, *id, "authorization code reused", now).await? {
            revoked += 1;
        }
    }
    audit::record(
        txn,
        keys,
        NewEvent::new(
            Some(code.site_id),
            Action::CodeReuseDetected,
            Actor::client(&client.client_id, &client.name, address),
            format!(
                "Authorization code presented again by \"{}\"; {revoked} grant(s) revoked",
                client.name
            ),
        )
        .target(Target::new("client", &client.client_id, &client.name))
        .details(json!({"grants_revoked": revoked})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        code.site_id,
        AlertKind::CodeReuse,
        AlertSubject {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            username: None,
            address: None,
        },
        format!(
            "An authorization code of \"{}\" was presented twice; {revoked} grant(s) revoked.",
            client.name
        ),
        now,
    )
    .await?;
    Ok(revoked)
}
