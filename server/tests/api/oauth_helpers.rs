//! A site with an API user and a registered client, and helpers that walk the authorization
//! prompt the way a browser does (GET the prompt, read its form, POST it).

use crate::helpers::TestApp;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// An API user and a client registered for them.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub client_uuid: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub username: String,
    pub user_id: String,
    pub password: String,
    pub csrf: String,
}

pub const API_PASSWORD: &str = "api user passphrase";

/// Sets up the console (if needed), an API user `username`, and a client for them.
pub async fn fixture(app: &TestApp, username: &str, require_pkce: bool) -> Fixture {
    if app.console_session().await.is_null() {
        app.complete_setup().await;
    }
    let csrf = app.csrf().await;
    let site = app.console_session().await["site"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = app
        .call_json(
            "create_user",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("email", &format!("{username}@example.com")),
                ("password", API_PASSWORD),
                ("roles[0][site_id]", &site),
                ("roles[0][api_user]", "on"),
            ],
            StatusCode::OK,
        )
        .await;
    let redirect_uri = format!("https://{username}.example.com/callback");
    let mut form = vec![
        ("csrf", csrf.clone()),
        ("name", format!("App of {username}")),
        ("description", "Reads the profile".to_owned()),
        ("redirect_uri", redirect_uri.clone()),
        ("owner", owner.as_str().unwrap().to_owned()),
        ("scopes[0]", "profile".to_owned()),
        ("accept_terms", "on".to_owned()),
    ];
    if require_pkce {
        form.push(("require_pkce", "on".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let id = app
        .call_json("register_client", &form, StatusCode::OK)
        .await;
    let client_uuid = id.as_str().unwrap().to_owned();
    let detail = app
        .call_json(
            "get_client",
            &[("client_uuid", &client_uuid)],
            StatusCode::OK,
        )
        .await;
    Fixture {
        client_uuid,
        client_id: detail["client_id"].as_str().unwrap().to_owned(),
        client_secret: detail["revealed"][1].as_str().unwrap().to_owned(),
        redirect_uri,
        username: username.to_owned(),
        user_id: owner.as_str().unwrap().to_owned(),
        password: API_PASSWORD.to_owned(),
        csrf,
    }
}

/// Regenerates the fixture's secret from the console with no grace period (the old one stops
/// working at once), keeping its tokens.
pub async fn rotate_without_grace(app: &TestApp, fixture: &Fixture) {
    app.call_json(
        "rotate_client_secret",
        &[
            ("csrf", &fixture.csrf),
            ("client_uuid", &fixture.client_uuid),
            ("grace", "0"),
            ("tokens", "keep"),
        ],
        StatusCode::OK,
    )
    .await;
}

/// The states of the secret slots on a client's details page (`get_client`), newest first.
pub fn slot_states(detail: &Value) -> Vec<&str> {
    detail["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect()
}

/// Disables the fixture's client from the console, keeping its tokens.
pub async fn disable_client(app: &TestApp, fixture: &Fixture) {
    app.call_json(
        "set_client_disabled",
        &[
            ("csrf", &fixture.csrf),
            ("client_uuid", &fixture.client_uuid),
            ("disabled", "true"),
            ("tokens", "keep"),
        ],
        StatusCode::OK,
    )
    .await;
}

/// A client that keeps no cookies and follows no redirects (a client back end, or a browser
/// that never saw this server).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Another browser: keeps cookies (from now on), follows no redirects.
pub fn fresh_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// `GET /oauth/authorize` with `query`.
pub async fn authorize(app: &TestApp, query: &[(&str, &str)]) -> Response {
    // The API user's browser: the prompt binds its form to it with a cookie.
    app.browser
        .get(format!("{}/oauth/authorize", app.base))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// The standard query for `fixture`.
pub fn query(fixture: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", fixture.client_id.clone()),
        ("redirect_uri", fixture.redirect_uri.clone()),
        ("scope", "profile".into()),
        ("state", "st@te 1".into()),
    ]
}

/// The (name, value) pairs of every `<input>` with a value in `html`.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for input in html.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        let attr = |name: &str| {
            let needle = format!("{name}=\"");
            tag.find(&needle).map(|start| {
                let rest = &tag[start + needle.len()..];
                rest[..rest.find('"').unwrap_or(rest.len())]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
        };
        if let (Some(name), Some(value)) = (attr("name"), attr("value")) {
            fields.push((name, value));
        }
    }
    fields
}

/// Submits the prompt in `html` with credentials and a decision.
pub async fn submit_prompt(
    app: &TestApp,
    html: &str,
    username: &str,
    password: &str,
    decision: &str,
) -> Response {
    let mut form: Vec<(String, String)> = form_fields(html)
        .into_iter()
        .filter(|(name, _)| name != "username" && name != "password")
        .collect();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    form.push(("decision".into(), decision.into()));
    app.browser
        .post(format!("{}/oauth/authorize", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The query parameters of a redirect `Location`.
pub fn location_params(response: &Response) -> (String, Vec<(String, String)>) {
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (location, params)
}

/// The value of `name` in `params`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Walks the whole prompt and returns the authorization code. The password is asked every
/// time (`prompt=login`, unless `extra` sets `prompt`): the browser stays signed in as the last
/// API user who authorized, and the fixture's user is the one who must authorize now.
pub async fn code_for(app: &TestApp, fixture: &Fixture, extra: &[(&str, &str)]) -> String {
    let mut q: Vec<(&str, String)> = query(fixture);
    if !extra.iter().any(|(k, _)| *k == "prompt") {
        q.push(("prompt", "login".into()));
    }
    for (k, v) in extra {
        q.retain(|(key, _)| key != k);
        q.push((k, (*v).to_owned()));
    }
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prompt = authorize(app, &q).await;
    assert_eq!(prompt.status(), StatusCode::OK, "prompt on {}", app.backend);
    let html = prompt.text().await.unwrap();
    let decided = submit_prompt(app, &html, &fixture.username, &fixture.password, "allow").await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let (_, params) = location_params(&decided);
    param(&params, "code").unwrap().to_owned()
}

/// `Authorization: Basic` with form-urlencoded components (RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// `POST /oauth/token` with `form`, authenticated by HTTP Basic as `fixture`.
pub async fn token(app: &TestApp, fixture: &Fixture, form: &[(&str, &str)]) -> Response {
    browser()
        .post(format!("{}/oauth/token", app.base))
        .header(
            "authorization",
            basic(&fixture.client_id, &fixture.client_secret),
        )
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Exchanges `code` (no PKCE) and returns the token response JSON.
pub async fn exchange(app: &TestApp, fixture: &Fixture, code: &str) -> Value {
    let response = token(
        app,
        fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &fixture.redirect_uri),
        ],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "exchange on {}",
        app.backend
    );
    response.json().await.unwrap()
}

/// `GET /api/v1/me` with a bearer token.
pub async fn me(app: &TestApp, access_token: &str) -> Response {
    browser()
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// Asserts an OAuth JSON error and returns its body.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// `POST /oauth/introspect` of `token` by the client `client_id` (HTTP Basic); the JSON answer.
pub async fn introspect_as(
    app: &TestApp,
    client_id: &str,
    client_secret: &str,
    token: &str,
) -> Value {
    browser()
        .post(format!("{}/oauth/introspect", app.base))
        .header("authorization", basic(client_id, client_secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
