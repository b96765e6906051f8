//! The authorization endpoint (RFC 6749 §4.1.1-4.1.2) and its prompt.
//!
//! Validation follows §4.1.2.1: a request whose client or redirect URI cannot be trusted
//! (missing, unknown or disabled client; a `redirect_uri` that is missing or not exactly the
//! registered one; repeated parameters) gets an error page and is never redirected. Every
//! other problem is sent back to the verified redirect URI with `error`, `error_description`,
//! `state` and `iss` (RFC 9207). PKCE is S256 only (RFC 7636, RFC 9700 §2.1.1).

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    db::begin_write,
    entities::{authorization_code, client, site, site_membership as membership, user},
    protocol::{ErrorCode, OAuthError},
    services::{
        audit::{self, Action, Actor, NewEvent, Target},
        consents,
        event_limiter::record_limited,
        throttle,
        users::find_by_username,
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde_json::json;

pub use super::authorization_request::{
    AuthorizationRequest, Validation, scope_descriptions, validate,
};
pub use super::prompt_token::{
    PROMPT_LIFETIME, PromptFor, is_browser_binding, new_browser_binding, prompt_token,
    verify_prompt_token,
};

/// `redirect_uri` with `pairs` appended to its query (the registered text is kept exactly;
/// fragments are never registered, so appending is safe).
pub fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{separator}{}", query.finish())
}

/// The redirect carrying `error` back to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
pub fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
    issuer: &str,
) -> String {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

/// Why the prompt refused to authorize.
#[derive(Debug)]
pub enum PromptRefusal {
    /// Wrong username or password, disabled, or not an API user of the client's site.
    BadCredentials,
    /// Too many failures: try again later.
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Too many sign-ins are being checked right now: try again in a moment.
    Busy,
    /// The application was disabled or deleted since the prompt was shown.
    Unavailable,
}

/// An authorization the prompt granted.
#[derive(Debug)]
pub struct Approved {
    /// Where to send the browser: the redirect URI with the code.
    pub location: String,
    /// Who authorized.
    pub user: user::Model,
}

/// The API user at the prompt clicked Authorize: checks their credentials (throttled like
/// console sign-in), issues a single-use authorization code and remembers the consent (see
/// [`consents`]).
pub async fn approve(
    state: &AppState,
    request: &AuthorizationRequest,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Result<Result<Approved, PromptRefusal>, ServiceError> {
    let now = state.clock.now();
    let username_key = username.trim().to_ascii_lowercase();
    if !state.passwords.has_room() {
        return Ok(Err(PromptRefusal::Busy));
    }
    let keys = throttle::keys_for(&username_key, address.as_deref());
    let attempt = match throttle::begin(&state.db, &keys, now).await {
        Ok(attempt) => attempt,
        Err(ServiceError::Throttled { retry_after_secs }) => {
            return Ok(Err(PromptRefusal::Throttled { retry_after_secs }));
        }
        Err(error) => return Err(error),
    };
    let user = if username_key.len() <= crate::domain::Username::MAX {
        find_by_username(&state.db, &username_key).await?
    } else {
        None
    };
    let password_ok = if password.len() <= 1024 {
        match state
            .passwords
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
        {
            Ok(matches) => matches,
            Err(ServiceError::Busy) => return Ok(Err(PromptRefusal::Busy)),
            Err(error) => return Err(error),
        }
    } else {
        false
    };
    let txn = begin_write(&state.db).await?;
    // The user's rows before the client's: the order a deletion takes them in.
    let authorized = match &user {
        Some(user) if password_ok => may_authorize(&txn, request, user.id, None).await?,
        _ => None,
    };
    if authorized.is_some() && !client_still_active(&txn, request).await? {
        txn.commit_neutral().await?;
        return Ok(Err(PromptRefusal::Unavailable));
    }
    let Some(user) = authorized else {
        let claimed: String = username
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        record_limited(
            &txn,
            &state.keys,
            &state.anonymous_events,
            NewEvent::new(
                Some(request.site.id),
                Action::AuthorizationFailed,
                Actor::anonymous(&claimed, address),
                format!(
                    "Failed authorization of \"{}\" as \"{claimed}\"",
                    request.client.name
                ),
            )
            .target(Target::client(&request.client)),
            now,
        )
        .await?;
        txn.commit_neutral().await?;
        return Ok(Err(PromptRefusal::BadCredentials));
    };
    if let Err(error) = attempt.succeeded(&txn, now).await {
        txn.commit_neutral().await?;
        return match error {
            ServiceError::Throttled { retry_after_secs } => {
                Ok(Err(PromptRefusal::Throttled { retry_after_secs }))
            }
            other => Err(other),
        };
    }
    let code = issue_consented_code(&txn, state, request, &user, address, now).await?;
    txn.commit_neutral().await?;
    Ok(Ok(Approved {
        location: success_redirect(state, request, &code),
        user,
    }))
}

/// The redirect carrying `code` back to the client (with `state` and RFC 9207 `iss`).
fn success_redirect(state: &AppState, request: &AuthorizationRequest, code: &Secret) -> String {
    let mut pairs = vec![("code", code.expose())];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", state.settings.public_url.as_str()));
    redirect_with(&request.redirect_uri, &pairs)
}

/// How a signed-in API user's authorization goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInGrant {
    /// They clicked Authorize on the prompt: the consent is remembered.
    Consented,
    /// No prompt was shown: only a live remembered consent covering the request allows it.
    Remembered,
}

/// The one rule for who may authorize a client of `request`'s site: the user `user_id` is active
/// (and, for a signed-in session, still of `generation`: a password change or reset since
/// counts) and an API user of the site. Read with shared locks in the caller's transaction, so
/// a disabling, deletion or role removal waits for it (PostgreSQL; SQLite writers take turns).
async fn may_authorize(
    conn: &impl ConnectionTrait,
    request: &AuthorizationRequest,
    user_id: uuid::Uuid,
    generation: Option<i64>,
) -> Result<Option<user::Model>, ServiceError> {
    let current = user::Entity::find_by_id(user_id)
        .lock_shared()
        .one(conn)
        .await?
        .filter(|user| user.is_active() && generation.is_none_or(|g| g == user.session_generation));
    let Some(current) = current else {
        return Ok(None);
    };
    let api_user = membership::Entity::find_by_id((request.site.id, user_id))
        .lock_shared()
        .one(conn)
        .await?
        .is_some_and(|m| m.is_api_user);
    Ok(api_user.then_some(current))
}

/// True if the client of `request` may still be authorized (not disabled, deleted or
/// unapproved, nor its authorization code grant taken away, since the request was validated),
/// read with a shared lock in the caller's transaction, so a deletion or such an edit waits
/// for the code and consent written under it.
async fn client_still_active(
    conn: &impl ConnectionTrait,
    request: &AuthorizationRequest,
) -> Result<bool, ServiceError> {
    Ok(client::Entity::find_by_id(request.client.id)
        .lock_shared()
        .one(conn)
        .await?
        .is_some_and(|client| client.is_active() && client.grant_types().authorization_code()))
}

/// Issues a code to `user`, an API user signed in at this browser (`/account`, or an earlier
/// prompt), without a password: after their click on the prompt (`Consented`), or silently
/// when a remembered consent covers the request (`Remembered`). Rechecks, in the transaction
/// that issues the code, that they are still an API user of the client's site (and, silently,
/// that the consent still covers the request). `None`: nothing was issued; ask them.
pub async fn approve_signed_in(
    state: &AppState,
    request: &AuthorizationRequest,
    user: &user::Model,
    grant: SignedInGrant,
    address: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let now = state.clock.now();
    let (site, scope) = (&request.site, &request.scope);
    let client_uuid = request.client.id;
    // Most page views of a signed-in user without a consent stop here, without a write lock.
    if grant == SignedInGrant::Remembered
        && !consents::covers(&state.db, site, user.id, client_uuid, scope, now).await?
    {
        return Ok(None);
    }
    let txn = begin_write(&state.db).await?;
    // The user's rows before the client's (a deletion's order), the consent last, shared.
    let allowed = may_authorize(&txn, request, user.id, Some(user.session_generation))
        .await?
        .is_some()
        && client_still_active(&txn, request).await?
        && live_codes(&txn, request, user.id, now).await? < MAX_LIVE_CODES
        && (grant == SignedInGrant::Consented
            || consents::covers_locked(&txn, site, user.id, client_uuid, scope, now).await?);
    if !allowed {
        txn.commit_neutral().await?;
        return Ok(None);
    }
    let code = match grant {
        SignedInGrant::Consented => {
            issue_consented_code(&txn, state, request, user, address, now).await?
        }
        SignedInGrant::Remembered => issue_code(&txn, state, request, user, address, now).await?,
    };
    txn.commit_neutral().await?;
    Ok(Some(success_redirect(state, request, &code)))
}

/// Most unused, unexpired codes a signed-in user may hold for one client: without a password
/// to check, a script could otherwise mint codes (and audit events) as fast as it asks.
pub const MAX_LIVE_CODES: u64 = 10;

/// The unused, unexpired codes `user_id` holds for the client of `request`.
async fn live_codes(
    conn: &impl ConnectionTrait,
    request: &AuthorizationRequest,
    user_id: uuid::Uuid,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    Ok(authorization_code::Entity::find()
        .filter(authorization_code::Column::ClientUuid.eq(request.client.id))
        .filter(authorization_code::Column::UserId.eq(user_id))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .filter(authorization_code::Column::ExpiresAt.gt(now.unix()))
        .count(conn)
        .await?)
}

/// [`issue_code`] after the user clicked Authorize: their consent is remembered with it, for
/// the site's lifetime as it stands now (the site's row is read again, shared).
async fn issue_consented_code(
    conn: &impl ConnectionTrait,
    state: &AppState,
    request: &AuthorizationRequest,
    user: &user::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<Secret, ServiceError> {
    // The site row before the audit chain's head (which `issue_code` takes): the order every
    // writer of both keeps (`sites::change_if` locks the site, then appends its event), so two
    // such transactions never wait on each other in a circle.
    let site = site::Entity::find_by_id(request.site.id)
        .lock_shared()
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let code = issue_code(conn, state, request, user, address, now).await?;
    consents::remember(conn, &site, user.id, request.client.id, &request.scope, now).await?;
    Ok(code)
}

/// Issues a single-use authorization code for `request` to `user` (whose right to authorize
/// the caller has checked), in the caller's transaction, with its audit event.
pub async fn issue_code(
    conn: &impl ConnectionTrait,
    state: &AppState,
    request: &AuthorizationRequest,
    user: &user::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<Secret, ServiceError> {
    let code = Secret::new(tokens::generate(TokenKind::AuthorizationCode)?);
    authorization_code::Entity::insert(authorization_code::ActiveModel {
        code_hash: Set(tokens::digest(code.expose())),
        client_uuid: Set(request.client.id),
        user_id: Set(user.id),
        site_id: Set(request.site.id),
        redirect_uri: Set(request.redirect_uri.clone()),
        scope: Set(request.scope.to_string()),
        code_challenge: Set(request.code_challenge.clone()),
        created_at: Set(now.unix()),
        expires_at: Set(now.unix() + state.settings.code_ttl),
        consumed_at: Set(None),
        resource: Set(request.resource.clone()),
        dpop_jkt: Set(request.dpop_jkt.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    audit::record(
        conn,
        &state.keys,
        NewEvent::new(
            Some(request.site.id),
            Action::CodeIssued,
            Actor::api_user(user.id, &user.username, address),
            format!(
                "{} authorized \"{}\" ({})",
                user.username, request.client.name, request.scope
            ),
        )
        .target(Target::client(&request.client))
        .details(
            json!({"scope": request.scope.to_string(), "pkce": request.code_challenge.is_some()}),
        ),
        now,
    )
    .await?;
    Ok(code)
}

/// Someone at the prompt clicked Deny: records it and returns the `access_denied` redirect. A
/// signed-in API user's Deny also forgets the consent they had given the client, and names them.
pub async fn deny(
    state: &AppState,
    request: &AuthorizationRequest,
    signed_in: Option<&user::Model>,
    address: Option<String>,
) -> Result<String, ServiceError> {
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    // Limited alike: a click costs nothing to repeat.
    let (actor, summary) = match signed_in {
        Some(user) => {
            consents::forget(
                &txn,
                consents::of_user_for_client(user.id, request.client.id),
            )
            .await?;
            (
                Actor::api_user(user.id, &user.username, address),
                format!(
                    "{} denied the authorization of \"{}\"",
                    user.username, request.client.name
                ),
            )
        }
        None => (
            Actor::anonymous("(authorization prompt)", address),
            format!(
                "Authorization of \"{}\" denied at the prompt",
                request.client.name
            ),
        ),
    };
    record_limited(
        &txn,
        &state.keys,
        &state.anonymous_events,
        NewEvent::new(
            Some(request.site.id),
            Action::AuthorizationDenied,
            actor,
            summary,
        )
        .target(Target::client(&request.client)),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
    Ok(error_redirect(
        &request.redirect_uri,
        request.state.as_deref(),
        &error,
        &state.settings.public_url,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_append_to_the_registered_uri_verbatim() {
        assert_eq!(
            redirect_with(
                "https://APP.example.com/cb",
                &[("code", "lkac_x"), ("state", "a b&c")]
            ),
            "https://APP.example.com/cb?code=lkac_x&state=a+b%26c"
        );
        assert_eq!(
            redirect_with("https://a.example/cb?tenant=7", &[("code", "c")]),
            "https://a.example/cb?tenant=7&code=c"
        );
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        assert_eq!(
            error_redirect(
                "https://a.example/cb",
                Some("xyz"),
                &error,
                "https://id.example"
            ),
            "https://a.example/cb?error=access_denied&error_description=the+user+denied+the+request&state=xyz&iss=https%3A%2F%2Fid.example"
        );
    }
}
