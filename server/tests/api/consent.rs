//! The signed-in prompt and remembered consent (issue 21 item 4): an API user signed in at this
//! browser (at `/account`, or by an earlier prompt) authorizes without a password; a consent is
//! remembered for the site's consent lifetime, so the next authorization of the same client
//! and scopes completes without the prompt; `prompt=login|consent|none` on the wire; withdrawal
//! forgets the consent; a console session never stands in for an API user.

use crate::account::account_browser;
use crate::helpers::{TestApp, add_user, on_each_backend, site_id};
use crate::oauth_helpers::{
    Fixture, exchange, expect_error, fixture, form_fields, location_params, param, query, token,
};
use app::server::entities::{audit_event, consent};
use reqwest::{Response, StatusCode};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

/// `GET /oauth/authorize` for `fixture` from `browser`, with `extra` parameters.
async fn authorize_in(
    app: &TestApp,
    browser: &reqwest::Client,
    fixture: &Fixture,
    extra: &[(&str, &str)],
) -> Response {
    let mut q: Vec<(&str, String)> = query(fixture);
    for (k, v) in extra {
        q.retain(|(key, _)| key != k);
        q.push((k, (*v).to_owned()));
    }
    browser
        .get(format!("{}/oauth/authorize", app.base))
        .query(&q)
        .send()
        .await
        .unwrap()
}

/// Posts the prompt in `html` from `browser` with `decision`, adding `extra` fields.
async fn post_prompt(
    app: &TestApp,
    browser: &reqwest::Client,
    html: &str,
    decision: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut form = form_fields(html);
    form.retain(|(name, _)| name != "username");
    for (k, v) in extra {
        form.push(((*k).into(), (*v).into()));
    }
    form.push(("decision".into(), decision.into()));
    browser
        .post(format!("{}/oauth/authorize", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// True if `html` is the prompt for a signed-in user (no password fields).
fn signed_in_prompt(html: &str) -> bool {
    html.contains("data-testid=\"prompt-signed-in\"") && !html.contains("name=\"password\"")
}

/// True if `html` is the prompt asking for a username and password.
fn password_prompt(html: &str) -> bool {
    html.contains("name=\"password\"") && !html.contains("prompt-signed-in")
}

/// The code in a redirect to the client, with its `state` checked.
fn code_of(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, params) = location_params(response);
    assert_eq!(param(&params, "state"), Some("st@te 1"));
    param(&params, "code")
        .unwrap_or_else(|| panic!("no code in {params:?}"))
        .to_owned()
}

/// The `error` in a redirect to the client.
fn error_of(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (location, params) = location_params(response);
    assert!(location.starts_with("https://"), "{location}");
    assert_eq!(param(&params, "state"), Some("st@te 1"));
    assert!(param(&params, "iss").is_some());
    param(&params, "error").unwrap().to_owned()
}

/// The username `/api/v1/me` names for the access token of `code`.
async fn user_of_code(app: &TestApp, fixture: &Fixture, code: &str) -> String {
    let tokens = exchange(app, fixture, code).await;
    let me: Value = crate::oauth_helpers::me(app, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    me["username"].as_str().unwrap().to_owned()
}

/// The audit events recorded as `action`.
async fn events(app: &TestApp, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The prompt `browser` is shown (asserting it is one).
async fn prompt_html(
    app: &TestApp,
    browser: &reqwest::Client,
    fixture: &Fixture,
    extra: &[(&str, &str)],
) -> String {
    let shown = authorize_in(app, browser, fixture, extra).await;
    assert_eq!(
        shown.status(),
        StatusCode::OK,
        "a prompt on {}",
        app.backend
    );
    shown.text().await.unwrap()
}

async fn consents(app: &TestApp) -> u64 {
    consent::Entity::find().count(&app.state.db).await.unwrap()
}

#[tokio::test]
async fn a_signed_in_api_user_authorizes_without_a_password_and_then_without_the_prompt() {
    on_each_backend(async |app| {
        let f = fixture(app, "paula", false).await;
        let paula = account_browser(app, "paula", &f.password).await;

        let shown = authorize_in(app, &paula, &f, &[]).await;
        assert_eq!(shown.status(), StatusCode::OK);
        let html = shown.text().await.unwrap();
        assert!(signed_in_prompt(&html), "{html}");
        assert!(html.contains("paula"));
        assert!(
            html.contains("prompt=login"),
            "a way to sign in as someone else"
        );

        let decided = post_prompt(app, &paula, &html, "allow", &[]).await;
        let code = code_of(&decided);
        assert_eq!(user_of_code(app, &f, &code).await, "paula");
        assert_eq!(consents(app).await, 1);

        // The consent is remembered: the next authorization has no prompt at all.
        let again = authorize_in(app, &paula, &f, &[]).await;
        let code = code_of(&again);
        assert_eq!(user_of_code(app, &f, &code).await, "paula");

        // prompt=consent shows the prompt anyway (still without a password).
        let forced = authorize_in(app, &paula, &f, &[("prompt", "consent")]).await;
        assert_eq!(forced.status(), StatusCode::OK);
        assert!(signed_in_prompt(&forced.text().await.unwrap()));

        // prompt=login asks for the password even of a signed-in user.
        let login = authorize_in(app, &paula, &f, &[("prompt", "login")]).await;
        assert_eq!(login.status(), StatusCode::OK);
        let html = login.text().await.unwrap();
        assert!(password_prompt(&html), "{html}");
        let without = post_prompt(app, &paula, &html, "allow", &[]).await;
        assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
        let html = without.text().await.unwrap();
        assert!(password_prompt(&html));
        let with = post_prompt(
            app,
            &paula,
            &html,
            "allow",
            &[("username", "paula"), ("password", &f.password)],
        )
        .await;
        code_of(&with);

        // Every authorization is audited as Paula's.
        let issued = events(app, "oauth.code_issued").await;
        assert_eq!(issued.len(), 3);
        assert!(issued.iter().all(|e| e.actor_label == "paula"));
    })
    .await;
}

#[tokio::test]
async fn a_password_at_the_prompt_signs_the_api_user_in_for_the_next_authorization() {
    on_each_backend(async |app| {
        let f = fixture(app, "olga", false).await;
        let browser = app.new_client();
        let shown = authorize_in(app, &browser, &f, &[]).await;
        let html = shown.text().await.unwrap();
        assert!(password_prompt(&html));
        let decided = post_prompt(
            app,
            &browser,
            &html,
            "allow",
            &[("username", "olga"), ("password", &f.password)],
        )
        .await;
        code_of(&decided);

        // Signed in at /account by the prompt, and remembered: no prompt next time.
        let account: Value = app
            .call_with(&browser, "get_account", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(account["username"], "olga");
        let signed_in = events(app, "account.signed_in").await;
        assert!(
            signed_in
                .iter()
                .any(|e| e.actor_label == "olga" && e.summary.contains("authorization prompt")),
            "the prompt's sign-in is audited"
        );
        let again = authorize_in(app, &browser, &f, &[]).await;
        code_of(&again);

        // The console administrator's browser is never signed in as an API user by the prompt,
        // nor signed out of the console.
        let admin = app.new_client();
        let signed_in = app
            .call_with(
                &admin,
                "sign_in",
                &[
                    ("username", crate::helpers::ADMIN),
                    ("password", crate::helpers::ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let shown = authorize_in(app, &admin, &f, &[]).await;
        let html = shown.text().await.unwrap();
        assert!(password_prompt(&html), "a console session is no API user's");
        let decided = post_prompt(
            app,
            &admin,
            &html,
            "allow",
            &[("username", "olga"), ("password", &f.password)],
        )
        .await;
        code_of(&decided);
        assert!(
            !crate::helpers::session_of(app, &admin).await.is_null(),
            "still signed in to the console"
        );
        let shown = authorize_in(app, &admin, &f, &[]).await;
        assert_eq!(shown.status(), StatusCode::OK, "and still asked");
        assert!(password_prompt(&shown.text().await.unwrap()));
    })
    .await;
}

#[tokio::test]
async fn prompt_none_answers_login_required_then_consent_required_then_a_code() {
    on_each_backend(async |app| {
        let f = fixture(app, "nina", false).await;
        let stranger = app.new_client();
        let none = authorize_in(app, &stranger, &f, &[("prompt", "none")]).await;
        assert_eq!(error_of(&none), "login_required");

        let nina = account_browser(app, "nina", &f.password).await;
        let none = authorize_in(app, &nina, &f, &[("prompt", "none")]).await;
        assert_eq!(error_of(&none), "consent_required");
        assert_eq!(consents(app).await, 0);

        let html = prompt_html(app, &nina, &f, &[]).await;
        code_of(&post_prompt(app, &nina, &html, "allow", &[]).await);
        let none = authorize_in(app, &nina, &f, &[("prompt", "none")]).await;
        let code = code_of(&none);
        assert_eq!(user_of_code(app, &f, &code).await, "nina");

        // Bad combinations and values go back to the client as invalid_request.
        for bad in ["none login", "none consent", "select_account", "NONE"] {
            let refused = authorize_in(app, &nina, &f, &[("prompt", bad)]).await;
            assert_eq!(error_of(&refused), "invalid_request", "prompt={bad}");
        }
        // The metadata says which values are honoured.
        let metadata: Value = app
            .get("/.well-known/oauth-authorization-server")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            metadata["prompt_values_supported"],
            serde_json::json!(["none", "login", "consent"])
        );
        // prompt=login (with consent) still needs the password of a signed-in user.
        let login = authorize_in(app, &nina, &f, &[("prompt", "login consent")]).await;
        assert!(password_prompt(&login.text().await.unwrap()));
    })
    .await;
}

#[tokio::test]
async fn withdrawing_an_application_forgets_the_consent_and_its_refresh_fails() {
    on_each_backend(async |app| {
        let f = fixture(app, "wanda", false).await;
        let wanda = account_browser(app, "wanda", &f.password).await;
        let html = prompt_html(app, &wanda, &f, &[]).await;
        let code = code_of(&post_prompt(app, &wanda, &html, "allow", &[]).await);
        let tokens = exchange(app, &f, &code).await;
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

        let account: Value = app
            .call_with(&wanda, "get_account", &[])
            .await
            .json()
            .await
            .unwrap();
        let connection = &account["connections"][0];
        assert_eq!(connection["name"], "App of wanda");
        let csrf = account["csrf"].as_str().unwrap();
        let revoked = app
            .call_with(
                &wanda,
                "revoke_connection",
                &[("csrf", csrf), ("client_uuid", &f.client_uuid)],
            )
            .await;
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(consents(app).await, 0);
        let refused = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        expect_error(refused, StatusCode::BAD_REQUEST, "invalid_grant").await;
        // The next authorization asks again.
        let shown = authorize_in(app, &wanda, &f, &[]).await;
        assert_eq!(shown.status(), StatusCode::OK);
        assert!(signed_in_prompt(&shown.text().await.unwrap()));

        // A consent alone (its code never exchanged) is a connection too, and withdrawable.
        let html = prompt_html(app, &wanda, &f, &[("prompt", "consent")]).await;
        let unexchanged = code_of(&post_prompt(app, &wanda, &html, "allow", &[]).await);
        let account: Value = app
            .call_with(&wanda, "get_account", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(account["connections"].as_array().unwrap().len(), 1);
        let revoked = app
            .call_with(
                &wanda,
                "revoke_connection",
                &[("csrf", csrf), ("client_uuid", &f.client_uuid)],
            )
            .await;
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(consents(app).await, 0);
        // The code issued before the withdrawal starts no grant after it.
        let late = token(
            app,
            &f,
            &[
                ("grant_type", "authorization_code"),
                ("code", &unexchanged),
                ("redirect_uri", &f.redirect_uri),
            ],
        )
        .await;
        expect_error(late, StatusCode::BAD_REQUEST, "invalid_grant").await;
    })
    .await;
}

#[tokio::test]
async fn losing_the_api_user_role_or_being_disabled_forgets_consents() {
    on_each_backend(async |app| {
        let f = fixture(app, "owner-v", false).await;
        let site = site_id(app).await;
        // An API user of a second site too: she keeps a site when she loses this one.
        let other = crate::helpers::create_site(app, "Elsewhere").await;
        let vera = add_user(
            app,
            "vera",
            &[(&site, false, true), (&other, false, true)],
            StatusCode::OK,
        )
        .await;
        let vera = vera.as_str().unwrap().to_owned();
        let consent_once = async || {
            let browser = account_browser(app, "vera", crate::helpers::USER_PASSWORD).await;
            let html = prompt_html(app, &browser, &f, &[]).await;
            code_of(&post_prompt(app, &browser, &html, "allow", &[]).await);
            code_of(&authorize_in(app, &browser, &f, &[]).await);
        };
        let asked_again = async || {
            let browser = account_browser(app, "vera", crate::helpers::USER_PASSWORD).await;
            let shown = authorize_in(app, &browser, &f, &[]).await;
            assert_eq!(
                shown.status(),
                StatusCode::OK,
                "asked again on {}",
                app.backend
            );
        };
        let roles = |api_user: bool| {
            let (csrf, site, vera) = (f.csrf.clone(), site.clone(), vera.clone());
            async move {
                let mut form = vec![
                    ("csrf", csrf.as_str()),
                    ("user_id", vera.as_str()),
                    ("roles[0][site_id]", site.as_str()),
                ];
                if api_user {
                    form.push(("roles[0][api_user]", "on"));
                }
                app.call_json("update_user_roles", &form, StatusCode::OK)
                    .await;
            }
        };
        consent_once().await;
        roles(false).await;
        roles(true).await;
        asked_again().await;

        consent_once().await;
        for disabled in ["true", "false"] {
            app.call_json(
                "set_user_disabled",
                &[
                    ("csrf", &f.csrf),
                    ("user_id", &vera),
                    ("disabled", disabled),
                ],
                StatusCode::OK,
            )
            .await;
        }
        asked_again().await;
    })
    .await;
}

#[tokio::test]
async fn the_site_consent_lifetime_bounds_what_is_remembered() {
    on_each_backend(async |app| {
        let f = fixture(app, "lena", false).await;
        let site = site_id(app).await;
        let set = |seconds: &'static str| {
            let site = site.clone();
            async move {
                let csrf = app.csrf().await;
                app.call(
                    "set_site_consent_lifetime",
                    &[
                        ("csrf", csrf.as_str()),
                        ("site_id", site.as_str()),
                        ("consent_lifetime", seconds),
                    ],
                )
                .await
            }
        };
        for bad in ["59", "-1", "999999999999", "soon"] {
            let refused = set(bad).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
            let error: Value = refused.json().await.unwrap();
            assert!(
                crate::helpers::field_message(&error, "consent_lifetime").is_some(),
                "{error}"
            );
        }
        assert_eq!(set("3600").await.status(), StatusCode::OK);
        let settings = app
            .call_json("get_site_settings", &[("site_id", &site)], StatusCode::OK)
            .await;
        assert_eq!(settings["consent_lifetime"], 3600);

        let lena = account_browser(app, "lena", &f.password).await;
        let html = prompt_html(app, &lena, &f, &[]).await;
        code_of(&post_prompt(app, &lena, &html, "allow", &[]).await);
        code_of(&authorize_in(app, &lena, &f, &[]).await);

        // An hour later the consent is over: asked again (after signing in again).
        app.state.clock.advance(3_601);
        let lena = account_browser(app, "lena", &f.password).await;
        let shown = authorize_in(app, &lena, &f, &[]).await;
        assert_eq!(shown.status(), StatusCode::OK);
        let html = shown.text().await.unwrap();
        code_of(&post_prompt(app, &lena, &html, "allow", &[]).await);

        // A lifetime shortened afterwards shortens the consent given before.
        app.sign_in(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
            .await;
        assert_eq!(set("7776000").await.status(), StatusCode::OK);
        let html = prompt_html(app, &lena, &f, &[("prompt", "consent")]).await;
        code_of(&post_prompt(app, &lena, &html, "allow", &[]).await);
        code_of(&authorize_in(app, &lena, &f, &[]).await);
        app.state.clock.advance(1_800);
        app.sign_in(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
            .await;
        assert_eq!(set("3600").await.status(), StatusCode::OK);
        let lena = account_browser(app, "lena", &f.password).await;
        code_of(&authorize_in(app, &lena, &f, &[]).await);
        app.state.clock.advance(1_801);
        let lena = account_browser(app, "lena", &f.password).await;
        let shown = authorize_in(app, &lena, &f, &[]).await;
        assert_eq!(
            shown.status(),
            StatusCode::OK,
            "ended an hour after it was given"
        );
        let html = shown.text().await.unwrap();
        code_of(&post_prompt(app, &lena, &html, "allow", &[]).await);

        // "Never remember" honours no consent, even one given before.
        app.sign_in(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
            .await;
        assert_eq!(set("0").await.status(), StatusCode::OK);
        let shown = authorize_in(app, &lena, &f, &[]).await;
        assert_eq!(shown.status(), StatusCode::OK);
        let none = authorize_in(app, &lena, &f, &[("prompt", "none")]).await;
        assert_eq!(error_of(&none), "consent_required");
        let changes = events(app, "site.consent_lifetime_changed").await.len();
        assert_eq!(changes, 4);
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_prompt_is_worthless_once_the_user_may_not_authorize_or_another_signs_in() {
    on_each_backend(async |app| {
        let f = fixture(app, "rita", false).await;
        let site = site_id(app).await;
        let rita = account_browser(app, "rita", &f.password).await;
        let html = prompt_html(app, &rita, &f, &[]).await;
        assert!(signed_in_prompt(&html));

        // Another API user signs in at this browser: Rita's prompt cannot authorize as them.
        add_user(app, "sven", &[(&site, false, true)], StatusCode::OK).await;
        let signed_in = app
            .call_with(
                &rita,
                "account_sign_in",
                &[
                    ("username", "sven"),
                    ("password", crate::helpers::USER_PASSWORD),
                ],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let stale = post_prompt(app, &rita, &html, "allow", &[]).await;
        assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
        let html = stale.text().await.unwrap();
        assert!(
            html.contains("sven"),
            "the prompt again, for whoever is signed in now"
        );
        assert_eq!(consents(app).await, 0);

        // A signed-in user of another site only is asked for a password.
        let other = crate::helpers::create_site(app, "Elsewhere").await;
        add_user(app, "otto", &[(&other, false, true)], StatusCode::OK).await;
        let otto = account_browser(app, "otto", crate::helpers::USER_PASSWORD).await;
        let shown = authorize_in(app, &otto, &f, &[]).await;
        assert!(password_prompt(&shown.text().await.unwrap()));
        let none = authorize_in(app, &otto, &f, &[("prompt", "none")]).await;
        assert_eq!(error_of(&none), "login_required");
    })
    .await;
}

/// Registers another client for the fixture's user with `scopes` (each added to the site's
/// catalogue first); returns (row id, client id).
async fn another_client(app: &TestApp, f: &Fixture, scopes: &[&str]) -> (String, String) {
    let site = site_id(app).await;
    for scope in scopes.iter().filter(|s| **s != "profile") {
        let added = app
            .call(
                "add_site_scope",
                &[
                    ("csrf", &f.csrf),
                    ("site_id", &site),
                    ("name", scope),
                    ("description", "Reads reports"),
                ],
            )
            .await;
        assert!(added.status().is_success() || added.status() == StatusCode::CONFLICT);
    }
    let keys: Vec<String> = (0..scopes.len()).map(|i| format!("scopes[{i}]")).collect();
    let mut form = vec![
        ("csrf", f.csrf.as_str()),
        ("name", "Second app"),
        ("description", "Reads reports too"),
        ("redirect_uri", f.redirect_uri.as_str()),
        ("owner", f.user_id.as_str()),
        ("accept_terms", "on"),
    ];
    for (key, scope) in keys.iter().zip(scopes) {
        form.push((key.as_str(), scope));
    }
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
    (
        client_uuid,
        detail["client_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_consent_covers_only_its_client_and_scopes_and_ends_with_deny_disable_or_deletion() {
    on_each_backend(async |app| {
        let f = fixture(app, "dora", false).await;
        let (second_uuid, second_id) = another_client(app, &f, &["profile", "reports"]).await;
        let second = Fixture {
            client_uuid: second_uuid.clone(),
            client_id: second_id,
            ..f.clone()
        };
        let dora = account_browser(app, "dora", &f.password).await;
        let consent_to = |fixture: Fixture, scope: &'static str, extra: &'static [(&str, &str)]| {
            let dora = dora.clone();
            async move {
                let mut params = vec![("scope", scope)];
                params.extend_from_slice(extra);
                let shown = authorize_in(app, &dora, &fixture, &params).await;
                assert_eq!(shown.status(), StatusCode::OK, "asked for {scope}");
                let html = shown.text().await.unwrap();
                code_of(&post_prompt(app, &dora, &html, "allow", &[]).await)
            }
        };
        consent_to(f.clone(), "profile", &[]).await;
        // The first client's consent does not cover the second client.
        let shown = authorize_in(app, &dora, &second, &[("scope", "profile")]).await;
        assert_eq!(shown.status(), StatusCode::OK);
        consent_to(second.clone(), "profile", &[("prompt", "consent")]).await;
        code_of(&authorize_in(app, &dora, &second, &[("scope", "profile")]).await);
        // A wider scope set asks again; accepting it widens the consent to the union.
        consent_to(second.clone(), "profile reports", &[]).await;
        code_of(&authorize_in(app, &dora, &second, &[("scope", "reports")]).await);
        code_of(&authorize_in(app, &dora, &second, &[("scope", "reports profile")]).await);

        // Deny on a forced prompt forgets the consent, and names Dora.
        let html = prompt_html(app, &dora, &second, &[("prompt", "consent")]).await;
        let denied = post_prompt(app, &dora, &html, "deny", &[]).await;
        assert_eq!(error_of(&denied), "access_denied");
        assert_eq!(
            authorize_in(app, &dora, &second, &[("scope", "profile")])
                .await
                .status(),
            StatusCode::OK
        );
        let denied = events(app, "oauth.authorization_denied").await;
        assert!(denied.iter().any(|e| e.actor_label == "dora"));
        let issued = events(app, "oauth.code_issued").await;
        assert!(issued.len() >= 6 && issued.iter().all(|e| e.actor_label == "dora"));

        // Disabled then enabled, the first client asks again.
        let toggle = |disabled: &'static str| {
            let csrf = f.csrf.clone();
            let uuid = f.client_uuid.clone();
            async move {
                app.call_json(
                    "set_client_disabled",
                    &[
                        ("csrf", csrf.as_str()),
                        ("client_uuid", uuid.as_str()),
                        ("disabled", disabled),
                        ("tokens", "keep"),
                    ],
                    StatusCode::OK,
                )
                .await;
            }
        };
        code_of(&authorize_in(app, &dora, &f, &[]).await);
        toggle("true").await;
        toggle("false").await;
        assert_eq!(
            authorize_in(app, &dora, &f, &[]).await.status(),
            StatusCode::OK
        );

        // Deleted then restored, it asks again too.
        consent_to(f.clone(), "profile", &[]).await;
        code_of(&authorize_in(app, &dora, &f, &[]).await);
        for function in ["delete_client", "restore_client"] {
            app.call_json(
                function,
                &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
                StatusCode::OK,
            )
            .await;
        }
        assert_eq!(
            authorize_in(app, &dora, &f, &[]).await.status(),
            StatusCode::OK
        );
    })
    .await;
}
