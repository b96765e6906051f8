//! `GET /oauth/authorize` shows the prompt (or an error); `POST /oauth/authorize` is the
//! prompt's form: Authorize or Deny (RFC 6749 §4.1.1-4.1.2).

use app::{
    pages::authorize_prompt::{AuthorizationErrorPage, AuthorizePrompt, PromptView},
    server::{
        AppState, ServiceError,
        ctx::ClientAddress,
        protocol::{OAuthError, Params},
        services::oauth::authorize::{self, AuthorizationRequest, PromptRefusal, Validation},
    },
};
use axum::{
    Extension,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use leptos::prelude::{IntoView, Owner, RenderHtml, view};

fn html(status: StatusCode, view: impl IntoView + 'static) -> Response {
    let body = Owner::new().with(|| view.into_view().to_html());
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => error_page(&OAuthError::invalid_request(
            "the redirect URI cannot be used",
        )),
    }
}

fn error_page(error: &OAuthError) -> Response {
    let (code, description) = (error.code.as_str().to_owned(), error.description.clone());
    html(
        StatusCode::BAD_REQUEST,
        view! { <AuthorizationErrorPage error=code description/> },
    )
}

fn failure(error: ServiceError) -> Response {
    let error = OAuthError::from(error);
    let (code, description) = (error.code.as_str().to_owned(), error.description.clone());
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        view! { <AuthorizationErrorPage error=code description/> },
    )
}

/// The name of the prompt's browser-binding cookie (`__Host-` prefixed over https).
fn binding_cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies {
        "__Host-latchkey_prompt"
    } else {
        "latchkey_prompt"
    }
}

/// The browser-binding cookie the request carries, if it has a plausible one.
fn browser_binding(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = binding_cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && authorize::is_browser_binding(value))
        .map(|(_, value)| value.to_owned())
}

/// The browser's own binding if it brought one (its other tabs keep working), else a new one.
fn binding_or_new(existing: Option<String>) -> Result<String, ServiceError> {
    existing.map_or_else(authorize::new_browser_binding, Ok)
}

/// Sets the browser-binding cookie on `response` (HttpOnly, SameSite=Lax: the prompt is
/// reached by a cross-site navigation and posts to itself).
fn set_binding_cookie(state: &AppState, response: &mut Response, value: &str) {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        binding_cookie_name(state),
        authorize::PROMPT_LIFETIME
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

async fn prompt(
    state: &AppState,
    request: &AuthorizationRequest,
    browser: &str,
    status: StatusCode,
    username: String,
    error: Option<String>,
) -> Response {
    let scopes = match authorize::scope_descriptions(&state.db, request).await {
        Ok(scopes) => scopes,
        Err(error) => return failure(error),
    };
    let mut hidden = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), request.client.client_id.clone()),
        ("redirect_uri".to_owned(), request.redirect_uri.clone()),
        ("scope".to_owned(), request.scope.to_string()),
    ];
    if let Some(value) = &request.state {
        hidden.push(("state".to_owned(), value.clone()));
    }
    if let Some(challenge) = &request.code_challenge {
        hidden.push(("code_challenge".to_owned(), challenge.clone()));
        hidden.push(("code_challenge_method".to_owned(), "S256".to_owned()));
    }
    hidden.push((
        "request_token".to_owned(),
        authorize::prompt_token(&state.keys, request, browser, state.clock.now()),
    ));
    let redirect_host = url::Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let view = PromptView {
        app_name: request.client.name.clone(),
        app_description: request.client.description.clone(),
        site_name: request.site.name.clone(),
        redirect_host,
        scopes,
        hidden,
        username,
        error,
    };
    html(status, view! { <AuthorizePrompt prompt=view/> })
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

fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OAuthError,
) -> Response {
    see_other(&authorize::error_redirect(
        redirect_uri,
        client_state,
        error,
        &state.settings.public_url,
    ))
}

/// `GET /oauth/authorize`: validates the request and shows the prompt, binding its form to
/// this browser with a cookie (kept if the browser already has one, for several tabs).
pub async fn show(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let address = address.map(|Extension(a)| a.0);
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let validation = authorize::validate(&state.db, params).await;
    on_timeline(&state, &validation, address);
    match validation {
        Ok(Validation::Valid(request)) => {
            let browser = match binding_or_new(browser_binding(&state, &headers)) {
                Ok(binding) => binding,
                Err(error) => return failure(error),
            };
            let mut response = prompt(
                &state,
                &request,
                &browser,
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

/// `POST /oauth/authorize`: the prompt's Authorize or Deny.
pub async fn decide(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
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
    let browser = browser_binding(&state, &headers);
    let token_ok = match (&browser, form.get("request_token")) {
        (Some(browser), Some(token)) => {
            authorize::verify_prompt_token(&state.keys, &request, browser, token, state.clock.now())
        }
        _ => false,
    };
    let Some(browser) = browser.clone().filter(|_| token_ok) else {
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
            StatusCode::BAD_REQUEST,
            username,
            Some("This page expired or was changed. Please sign in and decide again.".into()),
        )
        .await;
        set_binding_cookie(&state, &mut response, &binding);
        return response;
    };
    match form.get("decision") {
        Some("deny") => match authorize::deny(&state, &request, address).await {
            Ok(location) => see_other(&location),
            Err(error) => failure(error),
        },
        Some("allow") => {
            let password = form.get("password").unwrap_or_default();
            match authorize::approve(&state, &request, &username, password, address).await {
                Ok(Ok(location)) => see_other(&location),
                Ok(Err(PromptRefusal::BadCredentials)) => {
                    let message = format!(
                        "Incorrect username or password, or this account may not authorize applications on {}.",
                        request.site.name
                    );
                    prompt(
                        &state,
                        &request,
                        &browser,
                        StatusCode::UNAUTHORIZED,
                        username,
                        Some(message),
                    )
                    .await
                }
                Ok(Err(PromptRefusal::Busy)) => {
                    prompt(
                        &state,
                        &request,
                        &browser,
                        StatusCode::TOO_MANY_REQUESTS,
                        username,
                        Some(
                            "Too many sign-ins are being checked right now. Try again in a moment."
                                .into(),
                        ),
                    )
                    .await
                }
                Ok(Err(PromptRefusal::Throttled { retry_after_secs })) => {
                    let message = format!(
                        "Too many attempts. Try again in {} minute(s).",
                        retry_after_secs.div_ceil(60)
                    );
                    prompt(
                        &state,
                        &request,
                        &browser,
                        StatusCode::TOO_MANY_REQUESTS,
                        username,
                        Some(message),
                    )
                    .await
                }
                Err(error) => failure(error),
            }
        }
        _ => redirect_error(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            &OAuthError::invalid_request("decision must be allow or deny"),
        ),
    }
}
