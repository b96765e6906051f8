//! The authorization prompt's anti-forgery token: an HMAC over exactly the request the prompt
//! shows, the person it was shown to and the browser it was shown in (a cookie of its own),
//! valid for [`PROMPT_LIFETIME`].

use super::authorization_request::AuthorizationRequest;
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{constant_time_eq, hmac_sha256},
    keys::Keys,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// How long a rendered prompt may be submitted.
pub const PROMPT_LIFETIME: i64 = 10 * 60;

/// Who a prompt was shown to: someone to type a password, or an API user signed in already
/// (by id), who authorizes without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptFor {
    /// The prompt asks for a username and password.
    Password,
    /// The prompt names this signed-in user and asks nothing more.
    SignedIn(uuid::Uuid),
}

fn prompt_material(
    request: &AuthorizationRequest,
    browser: &str,
    shown_to: PromptFor,
    issued_at: i64,
) -> String {
    let shown_to = match shown_to {
        PromptFor::Password => String::new(),
        PromptFor::SignedIn(user_id) => user_id.to_string(),
    };
    // Length-prefixed fields: no way to shift text from one field into another.
    let fields = [
        request.client.client_id.as_str(),
        request.redirect_uri.as_str(),
        &request.scope.to_string(),
        request.state.as_deref().unwrap_or(""),
        request.code_challenge.as_deref().unwrap_or(""),
        &request.prompt.as_param(),
        request.resource.as_deref().unwrap_or(""),
        request.dpop_jkt.as_deref().unwrap_or(""),
        &shown_to,
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
/// shows, to the person it was shown to (`shown_to`: a signed-in user's prompt is worthless
/// once another user signs in in that browser), and to the browser it was shown in (`browser`:
/// the value of the prompt's own cookie, see [`new_browser_binding`]), and expires after
/// [`PROMPT_LIFETIME`]. A token harvested in one browser is worthless when posted from another,
/// cookies or not, so the same-origin check is not the only defence against a forged
/// authorization.
pub fn prompt_token(
    keys: &Keys,
    request: &AuthorizationRequest,
    browser: &str,
    shown_to: PromptFor,
    now: Timestamp,
) -> String {
    let mac = hmac_sha256(
        &keys.anti_forgery,
        prompt_material(request, browser, shown_to, now.unix()).as_bytes(),
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

/// True if `token` was issued by [`prompt_token`] for this request, person and browser, less than
/// [`PROMPT_LIFETIME`] ago.
pub fn verify_prompt_token(
    keys: &Keys,
    request: &AuthorizationRequest,
    browser: &str,
    shown_to: PromptFor,
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
        prompt_material(request, browser, shown_to, issued_at).as_bytes(),
    );
    (0..=PROMPT_LIFETIME).contains(&age)
        && constant_time_eq(URL_SAFE_NO_PAD.encode(expected).as_bytes(), mac.as_bytes())
}
