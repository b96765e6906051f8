//! The rules of the `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! A code is bound to its client, redirect URI, user, scope and PKCE challenge, expires after
//! a few minutes, and is consumed by a conditional update, so of many concurrent exchanges
//! exactly one wins. Presenting a consumed code again is treated as theft (RFC 6749 §4.1.2,
//! RFC 9700 §4.2.4): every token issued from it is revoked (`writes`). Every rule of the grant
//! lives in [`judge`]; the worker applies it to each request of a batch, in arrival order.

use crate::domain::{FailureReason, ScopeSet, Timestamp, uri_difference};
use crate::server::{
    ServiceError,
    entities::{authorization_code, client, user},
    protocol::{OAuthError, pkce},
    services::audit::{Action, Actor, NewEvent, Target},
};
use serde_json::json;
use uuid::Uuid;

use super::request::{ExchangeRequest, Verdict};

/// The verdict on `request`, given the code its digest found (if any), whether an earlier
/// request of the same batch consumed that code (`spent_here`), and the scopes the client is
/// registered for now (`None`: the client was disabled since it authenticated).
pub fn judge(
    request: &ExchangeRequest,
    code: Option<&authorization_code::Model>,
    spent_here: bool,
    registered: Option<&ScopeSet>,
    now: Timestamp,
) -> Result<Verdict, ServiceError> {
    let Some(code) = code else {
        return Ok(Verdict::Refuse(invalid().because_of(
            FailureReason::CodeUnknown,
            "the authorization code is unknown: never issued, or purged after it expired",
        )));
    };
    // Before anything else, so a client cannot burn (or learn about) a code it does not own.
    if code.client_uuid != request.client.id {
        return Ok(Verdict::Refuse(
            OAuthError::invalid_grant("the authorization code was issued to another client")
                .because(FailureReason::CodeOfAnotherClient),
        ));
    }
    // Before reuse detection: without the key the code was bound to (RFC 9449 §10), an
    // intercepted code is useless, and must not let its thief revoke the grant either.
    if let Some(bound) = &code.dpop_jkt
        && request.dpop_jkt.as_deref() != Some(bound.as_str())
    {
        return Ok(Verdict::Refuse(OAuthError::invalid_dpop_proof(
            "the code was asked for with dpop_jkt: exchange it with a DPoP proof by that key",
        )));
    }
    if code.consumed_at.is_some() || spent_here {
        return Ok(Verdict::Reused);
    }
    if let Err(error) = check_unused_code(code, request, now) {
        return Ok(Verdict::Refuse(error));
    }
    let Some(registered) = registered else {
        return Ok(Verdict::Refuse(client_disabled_error()));
    };
    let scope = ScopeSet::parse(&code.scope)
        .map_err(|e| ServiceError::caused("reading a stored code's scope", e))?
        .intersection(registered);
    if scope.is_empty() {
        return Ok(Verdict::Refuse(
            OAuthError::invalid_grant(
                "none of the authorized scopes is still registered to this client",
            )
            .because(FailureReason::ScopeNotAllowed),
        ));
    }
    let audience =
        match super::audience::narrow(request.resource.as_deref(), code.resource.as_deref()) {
            Ok(audience) => audience,
            Err(error) => return Ok(Verdict::Refuse(error)),
        };
    Ok(Verdict::Issue {
        user_id: Some(code.user_id),
        site_id: code.site_id,
        scope,
        audience,
    })
}

/// The answer for an unknown, expired or spent code (which one is not said).
pub fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

/// The client was disabled after it authenticated (between the request and its batch).
pub fn client_disabled_error() -> OAuthError {
    OAuthError::invalid_client("client is disabled").because(FailureReason::ClientDisabled)
}

/// The code was presented again; `revoked` grants issued from it were revoked.
pub fn reused_error(revoked: u64) -> OAuthError {
    OAuthError::invalid_grant(format!(
        "the authorization code was already used; {revoked} grant(s) issued from it were revoked"
    ))
    .because(FailureReason::CodeReused)
}

/// The user who approved the request is disabled or no longer an API user of the site.
pub fn user_lost_error() -> OAuthError {
    OAuthError::invalid_grant("the user who authorized this code can no longer do so")
        .because(FailureReason::UserCannotAuthorize)
}

/// The checks of an unused code of this client, in RFC order: not expired, the same
/// `redirect_uri` as the authorization request, and the PKCE verifier when (and only when)
/// a challenge was sent (RFC 7636 §4.6).
fn check_unused_code(
    code: &authorization_code::Model,
    request: &ExchangeRequest,
    now: Timestamp,
) -> Result<(), OAuthError> {
    if code.expires_at <= now.unix() {
        let late = now.unix() - code.expires_at;
        return Err(
            OAuthError::invalid_grant("the authorization code has expired").because_of(
                FailureReason::CodeExpired,
                format!("the authorization code had expired {late} s before it was exchanged"),
            ),
        );
    }
    if code.redirect_uri != request.redirect_uri {
        let at = uri_difference(&code.redirect_uri, &request.redirect_uri);
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        )
        .because_of(
            FailureReason::RedirectUriMismatch,
            format!("redirect_uri differs from the authorization request's {at}"),
        ));
    }
    let missing = FailureReason::PkceMissing;
    match (&code.code_challenge, request.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )
        .because(FailureReason::PkceMismatch)),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required (PKCE was used)",
        )
        .because(missing)),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent for a code issued without a code_challenge",
        )
        .because(missing)),
        (None, None) => Ok(()),
    }
}

/// The audit event of a new grant's first tokens.
pub fn issued_event(
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
    .target(Target::user(user))
    .details(
        json!({"grant": family_id, "scope": scope.to_string(), "grant_type": "authorization_code"}),
    )
}
