//! `GET /oauth/authorize` shows the prompt (or an error); `POST /oauth/authorize` is the
//! prompt's form: Authorize or Deny (RFC 6749 §4.1.1-4.1.2).
//!
//! An API user of the client's site already signed in at this browser (`/account`, or an
//! earlier prompt) sees the prompt without password fields, and is not shown it at all when a
//! remembered consent covers the request; `prompt=login` asks for the password anyway,
//! `prompt=consent` shows the prompt anyway, and `prompt=none` shows nothing: the client gets
//! a code, `login_required` or `consent_required` (OpenID Connect Core §3.1.2.1, §3.1.2.6).

use super::prompt_page::{
    binding_or_new, browser_binding, error_page, failure, prompt, redirect_error, see_other,
    set_binding_cookie,
};
use app::server::{
    AppState, ServiceError, account_session,
    ctx::ClientAddress,
    entities::user,
    protocol::{ErrorCode, OAuthError, Params},
    services::oauth::authorize::{
        self, AuthorizationRequest, PromptFor, PromptRefusal, SignedInGrant, Validation,
    },
};
use axum::{
    Extension,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use tower_sessions::Session;

/// The API user of the request's site signed in at this browser, unless the client asked for
/// the password (`prompt=login`). A session that cannot be read counts as nobody signed in.
async fn signed_in_user(
    state: &AppState,
    session: Session,
    address: Option<String>,
    request: &AuthorizationRequest,
) -> Option<user::Model> {
    if request.prompt.login {
        return None;
    }
    match account_session::load(state.clone(), session, address).await {
        Ok(Some(account)) if account.sites.iter().any(|s| s.id == request.site.id) => {
            Some(account.user)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(error = %error, "the account session could not be read at the prompt");
            None
        }
    }
}

/// Hands a refused request of a known client to the client's failure timeline.
fn on_timeline(
    state: &AppState,
    validation: &Result<Validation, ServiceError>,
    address: Option<String>,
) {
    let error = match validation {
        Ok(Validation::ErrorPage(error) | Validation::RedirectError { error, .. }) => error,
        Ok(Validation::Valid(_)) | Err(_) => return,
    };
    state
        .failure_timeline
        .record_attributed(error, address, state.clock.now());
}

/// `GET /oauth/authorize`: validates the request; completes it at once for a signed-in API
/// user whose remembered consent covers it (or answers `prompt=none`); otherwise shows the
/// prompt, binding its form to this browser with a cookie (kept if the browser already has
/// one, for several tabs).
pub async fn show(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    session: Session,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let address = address.map(|Extension(a)| a.0);
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let validation = authorize::validate(&state.db, params).await;
    on_timeline(&state, &validation, address.clone());
    match validation {
        Ok(Validation::Valid(request)) => {
            let signed_in = signed_in_user(&state, session, address.clone(), &request).await;
            let may_skip = request.prompt.none || (signed_in.is_some() && !request.prompt.consent);
            if may_skip
                && let Some(response) =
                    without_prompt(&state, &request, signed_in.as_ref(), address).await
            {
                return response;
            }
            let browser = match binding_or_new(browser_binding(&state, &headers)) {
                Ok(binding) => binding,
                Err(error) => return failure(error),
            };
            let mut response = prompt(
                &state,
                &request,
                &browser,
                signed_in.as_ref(),
                StatusCode::OK,
                String::new(),
                None,
            )
            .await;
            set_binding_cookie(&state, &mut response, &browser);
            response
        }
        Ok(Validation::ErrorPage(error)) => error_page(&error),
        Ok(Validation::RedirectError {
            redirect_uri,
            state: client_state,
            error,
        }) => redirect_error(&state, &redirect_uri, client_state.as_deref(), &error),
        Err(error) => failure(error),
    }
}

/// The answer to a request that needs no prompt: a code when a signed-in user's remembered
/// consent covers it; for `prompt=none`, `login_required` or `consent_required` otherwise.
/// `None`: show the prompt.
async fn without_prompt(
    state: &AppState,
    request: &AuthorizationRequest,
    signed_in: Option<&user::Model>,
    address: Option<String>,
) -> Option<Response> {
    let refuse = |code: ErrorCode, description: &str| {
        redirect_error(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            &OAuthError::new(code, description),
        )
    };
    let Some(user) = signed_in else {
        return request.prompt.none.then(|| {
            refuse(
                ErrorCode::LoginRequired,
                "no API user of this site is signed in",
            )
        });
    };
    match authorize::approve_signed_in(state, request, user, SignedInGrant::Remembered, address)
        .await
    {
        Ok(Some(location)) => Some(see_other(&location)),
        Ok(None) => request.prompt.none.then(|| {
            refuse(
                ErrorCode::ConsentRequired,
                "the user has not authorized this application for these scopes",
            )
        }),
        Err(error) => Some(failure(error)),
    }
}

/// `POST /oauth/authorize`: the prompt's Authorize or Deny. The form's anti-forgery token says
/// whom the prompt was shown to: a password prompt still takes a password (other tabs opened
/// before the browser was signed in keep working); a signed-in prompt authorizes as that user
/// only while they are the one signed in here.
pub async fn decide(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address.map(|Extension(a)| a.0);
    let params = Params::parse(&body);
    let form = params.clone().unwrap_or_default();
    let validation = authorize::validate(&state.db, params).await;
    on_timeline(&state, &validation, address.clone());
    let request = match validation {
        Ok(Validation::Valid(request)) => request,
        Ok(Validation::ErrorPage(error)) => return error_page(&error),
        Ok(Validation::RedirectError {
            redirect_uri,
            state: client_state,
            error,
        }) => {
            return redirect_error(&state, &redirect_uri, client_state.as_deref(), &error);
        }
        Err(error) => return failure(error),
    };
    let username = form.get("username").unwrap_or_default().to_owned();
    let signed_in = signed_in_user(&state, session.clone(), address.clone(), &request).await;
    let browser = browser_binding(&state, &headers);
    let verified = |shown_to: PromptFor| match (&browser, form.get("request_token")) {
        (Some(browser), Some(token)) => authorize::verify_prompt_token(
            &state.keys,
            &request,
            browser,
            shown_to,
            token,
            state.clock.now(),
        ),
        _ => false,
    };
    let shown_to = if verified(PromptFor::Password) {
        Some(None)
    } else {
        signed_in
            .as_ref()
            .filter(|user| verified(PromptFor::SignedIn(user.id)))
            .map(Some)
    };
    let (Some(shown_to), Some(browser)) = (shown_to, browser.clone()) else {
        // The prompt again, usable from this browser: its own binding, or a new one if it
        // came without (other tabs of this browser keep working).
        let binding = match binding_or_new(browser) {
            Ok(binding) => binding,
            Err(error) => return failure(error),
        };
        let mut response = prompt(
            &state,
            &request,
            &binding,
            signed_in.as_ref(),
            StatusCode::BAD_REQUEST,
            username,
            Some("This page expired or was changed. Please decide again.".into()),
        )
        .await;
        set_binding_cookie(&state, &mut response, &binding);
        return response;
    };
    match (form.get("decision"), shown_to) {
        (Some("deny"), shown_to) => {
            match authorize::deny(&state, &request, shown_to, address).await {
                Ok(location) => see_other(&location),
                Err(error) => failure(error),
            }
        }
        (Some("allow"), Some(user)) => {
            allow_signed_in(&state, &request, &browser, user, address).await
        }
        (Some("allow"), None) => {
            let password = form.get("password").unwrap_or_default();
            allow_with_password(
                &state, &request, &browser, &session, &username, password, address,
            )
            .await
        }
        _ => redirect_error(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            &OAuthError::invalid_request("decision must be allow or deny"),
        ),
    }
}

/// Authorize on the prompt of a signed-in user.
async fn allow_signed_in(
    state: &AppState,
    request: &AuthorizationRequest,
    browser: &str,
    user: &user::Model,
    address: Option<String>,
) -> Response {
    match authorize::approve_signed_in(state, request, user, SignedInGrant::Consented, address)
        .await
    {
        Ok(Some(location)) => see_other(&location),
        // Their role on the site, or the application, ended between the page and the click.
        Ok(None) => {
            prompt(
                state,
                request,
                browser,
                None,
                StatusCode::FORBIDDEN,
                String::new(),
                Some(format!(
                    "{} may not authorize this application on {} now.",
                    user.username, request.site.name
                )),
            )
            .await
        }
        Err(error) => failure(error),
    }
}

/// Authorize on a password prompt; a success signs the API user in at this browser.
async fn allow_with_password(
    state: &AppState,
    request: &AuthorizationRequest,
    browser: &str,
    session: &Session,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Response {
    let refused = |status: StatusCode, message: String| {
        prompt(
            state,
            request,
            browser,
            None,
            status,
            username.to_owned(),
            Some(message),
        )
    };
    match authorize::approve(state, request, username, password, address.clone()).await {
        Ok(Ok(approved)) => {
            // Their next authorization in this browser needs no password.
            if let Err(error) =
                account_session::start_after_prompt(state, session, &approved.user, address).await
            {
                tracing::warn!(error = %error, "no account session after the prompt");
            }
            see_other(&approved.location)
        }
        Ok(Err(PromptRefusal::BadCredentials)) => {
            refused(
                StatusCode::UNAUTHORIZED,
                format!(
                    "Incorrect username or password, or this account may not authorize applications on {}.",
                    request.site.name
                ),
            )
            .await
        }
        Ok(Err(PromptRefusal::Busy)) => {
            refused(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins are being checked right now. Try again in a moment.".into(),
            )
            .await
        }
        Ok(Err(PromptRefusal::Throttled { retry_after_secs })) => {
            refused(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many attempts. Try again in {} minute(s).",
                    retry_after_secs.div_ceil(60)
                ),
            )
            .await
        }
        Ok(Err(PromptRefusal::Unavailable)) => error_page(&OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this application is disabled",
        )),
        Err(error) => failure(error),
    }
}
