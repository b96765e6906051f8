//! The authorization prompt's HTML responses (the prompt, its error pages, redirects) and the
//! browser-binding cookie its anti-forgery token is computed over. Used by `authorize`.

use app::{
    pages::authorize_prompt::{AuthorizationErrorPage, AuthorizePrompt, PromptView},
    server::{
        AppState, ServiceError,
        entities::user,
        protocol::OAuthError,
        services::oauth::authorize::{self, AuthorizationRequest, PromptFor},
    },
};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use leptos::prelude::{IntoView, Owner, RenderHtml, view};

pub(super) fn html(status: StatusCode, view: impl IntoView + 'static) -> Response {
    let body = Owner::new().with(|| view.into_view().to_html());
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn see_other(location: &str) -> Response {
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

pub(super) fn error_page(error: &OAuthError) -> Response {
    let (code, description) = (error.code.as_str().to_owned(), error.description.clone());
    html(
        StatusCode::BAD_REQUEST,
        view! { <AuthorizationErrorPage error=code description/> },
    )
}

pub(super) fn failure(error: ServiceError) -> Response {
    let error = OAuthError::from(error);
    let (code, description) = (error.code.as_str().to_owned(), error.description.clone());
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        view! { <AuthorizationErrorPage error=code description/> },
    )
}

/// The name of the prompt's browser-binding cookie (`__Host-` prefixed over https).
pub(super) fn binding_cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies {
        "__Host-latchkey_prompt"
    } else {
        "latchkey_prompt"
    }
}

/// The browser-binding cookie the request carries, if it has a plausible one.
pub(super) fn browser_binding(state: &AppState, headers: &HeaderMap) -> Option<String> {
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
pub(super) fn binding_or_new(existing: Option<String>) -> Result<String, ServiceError> {
    existing.map_or_else(authorize::new_browser_binding, Ok)
}

/// Sets the browser-binding cookie on `response` (HttpOnly, SameSite=Lax: the prompt is
/// reached by a cross-site navigation and posts to itself).
pub(super) fn set_binding_cookie(state: &AppState, response: &mut Response, value: &str) {
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

/// The same request with `prompt=login` added: the prompt's "not you?" link.
pub(super) fn switch_user_href(
    hidden: &[(String, String)],
    request: &AuthorizationRequest,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in hidden
        .iter()
        .filter(|(name, _)| name != "request_token" && name != "prompt")
    {
        query.append_pair(name, value);
    }
    let mut prompt = request.prompt;
    prompt.login = true;
    query.append_pair("prompt", &prompt.as_param());
    format!("/oauth/authorize?{}", query.finish())
}

pub(super) async fn prompt(
    state: &AppState,
    request: &AuthorizationRequest,
    browser: &str,
    shown_to: Option<&user::Model>,
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
    if request.prompt != Default::default() {
        hidden.push(("prompt".to_owned(), request.prompt.as_param()));
    }
    if let Some(resource) = &request.resource {
        hidden.push(("resource".to_owned(), resource.clone()));
    }
    if let Some(jkt) = &request.dpop_jkt {
        hidden.push(("dpop_jkt".to_owned(), jkt.clone()));
    }
    let switch_href = shown_to.map(|_| switch_user_href(&hidden, request));
    hidden.push((
        "request_token".to_owned(),
        authorize::prompt_token(
            &state.keys,
            request,
            browser,
            prompt_for(shown_to),
            state.clock.now(),
        ),
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
        resource: request.resource.clone(),
        hidden,
        username,
        error,
        signed_in_as: shown_to.map(|user| user.username.clone()),
        switch_href,
    };
    html(status, view! { <AuthorizePrompt prompt=view/> })
}

pub(super) fn prompt_for(shown_to: Option<&user::Model>) -> PromptFor {
    shown_to.map_or(PromptFor::Password, |user| PromptFor::SignedIn(user.id))
}

pub(super) fn redirect_error(
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
