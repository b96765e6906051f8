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
    crypto::{
        constant_time_eq, hmac_sha256,
        tokens::{self, Secret, TokenKind},
    },
    db::begin_write,
    entities::{authorization_code, site_membership as membership, user},
    keys::Keys,
    protocol::{ErrorCode, OAuthError},
    services::{
        audit::{self, Action, Actor, NewEvent, Target},
        event_limiter::record_limited,
        throttle,
        users::find_by_username,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::json;

pub use super::authorization_request::{
    AuthorizationRequest, Validation, scope_descriptions, validate,
};

/// How long a rendered prompt may be submitted.
pub const PROMPT_LIFETIME: i64 = 10 * 60;

fn prompt_material(request: &AuthorizationRequest, browser: &str, issued_at: i64) -> String {
    // Length-prefixed fields: no way to shift text from one field into another.
    let fields = [
        request.client.client_id.as_str(),
        request.redirect_uri.as_str(),
        &request.scope.to_string(),
        request.state.as_deref().unwrap_or(""),
        request.code_challenge.as_deref().unwrap_or(""),
        &issued_at.to_string(),
        browser,
    ];
    fields
        .iter()
        .map(|f| format!("{}:{f}", f.len()))
        .collect::<Vec<_>>()
        .join("|")
}

/// The anti-forgery token of a rendered prompt: binds the form to exactly the parameters it
/// shows and to the browser it was shown in (`browser`: the value of the prompt's own cookie,
/// see [`new_browser_binding`]), and expires after [`PROMPT_LIFETIME`]. A token harvested in
/// one browser is worthless when posted from another, cookies or not, so the same-origin check
/// is not the only defence against a forged authorization.
pub fn prompt_token(
    keys: &Keys,
    request: &AuthorizationRequest,
    browser: &str,
    now: Timestamp,
) -> String {
    let mac = hmac_sha256(
        &keys.anti_forgery,
        prompt_material(request, browser, now.unix()).as_bytes(),
    );
    format!("{}.{}", now.unix(), URL_SAFE_NO_PAD.encode(mac))
}

/// A fresh value for the prompt's browser-binding cookie (256 random bits).
pub fn new_browser_binding() -> Result<String, ServiceError> {
    crate::server::crypto::random::token_256()
}

/// True if `value` could be a browser-binding cookie this server set (43 base64url characters).
pub fn is_browser_binding(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True if `token` was issued by [`prompt_token`] for this request and this browser, less than
/// [`PROMPT_LIFETIME`] ago.
pub fn verify_prompt_token(
    keys: &Keys,
    request: &AuthorizationRequest,
    browser: &str,
    token: &str,
    now: Timestamp,
) -> bool {
    let Some((issued_at, mac)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued_at) = issued_at.parse::<i64>() else {
        return false;
    };
    let age = now.unix() - issued_at;
    if !is_browser_binding(browser) {
        return false;
    }
    let expected = hmac_sha256(
        &keys.anti_forgery,
        prompt_material(request, browser, issued_at).as_bytes(),
    );
    (0..=PROMPT_LIFETIME).contains(&age)
        && constant_time_eq(URL_SAFE_NO_PAD.encode(expected).as_bytes(), mac.as_bytes())
}

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
}

/// The API user at the prompt clicked Authorize: checks their credentials (throttled like
/// console sign-in) and issues a single-use authorization code. Returns the redirect to send
/// the browser to.
pub async fn approve(
    state: &AppState,
    request: &AuthorizationRequest,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Result<Result<String, PromptRefusal>, ServiceError> {
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
    let may_authorize = match &user {
        Some(user) if password_ok && user.is_active() => {
            membership::Entity::find_by_id((request.site.id, user.id))
                .one(&state.db)
                .await?
                .is_some_and(|m| m.is_api_user)
        }
        _ => false,
    };
    let txn = begin_write(&state.db).await?;
    let client_target = Target::client(&request.client);
    let Some(user) = user.filter(|_| may_authorize) else {
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
            .target(client_target),
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
    let code = issue_code(&txn, state, request, &user, address, now).await?;
    txn.commit_neutral().await?;
    let mut pairs = vec![("code", code.expose())];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", state.settings.public_url.as_str()));
    Ok(Ok(redirect_with(&request.redirect_uri, &pairs)))
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

/// Someone at the prompt clicked Deny: records it and returns the `access_denied` redirect.
pub async fn deny(
    state: &AppState,
    request: &AuthorizationRequest,
    address: Option<String>,
) -> Result<String, ServiceError> {
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    record_limited(
        &txn,
        &state.keys,
        &state.anonymous_events,
        NewEvent::new(
            Some(request.site.id),
            Action::AuthorizationDenied,
            Actor::anonymous("(authorization prompt)", address),
            format!(
                "Authorization of \"{}\" denied at the prompt",
                request.client.name
            ),
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
