//! `/oauth/authorize` and the prompt: what is an error page, what is redirected, PKCE rules,
//! credentials, Deny, anti-forgery, throttling.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, on_each_backend};
use crate::oauth_helpers::{
    authorize, browser, fixture, form_fields, location_params, param, query, submit_prompt,
};
use reqwest::StatusCode;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-bob", false).await;
        let base = query(&f);
        let with = |changes: &[(&'static str, Option<&str>)]| {
            let mut q: Vec<(&str, String)> = base.clone();
            for (key, value) in changes {
                q.retain(|(k, _)| k != key);
                if let Some(value) = value {
                    q.push((key, (*value).to_owned()));
                }
            }
            q
        };
        let cases = [
            with(&[("client_id", None)]),
            with(&[("client_id", Some("lkci_AAAAAAAAAAAAAAAAAAAAAA000000"))]),
            with(&[("client_id", Some("<script>"))]),
            with(&[("redirect_uri", None)]),
            with(&[("redirect_uri", Some("https://evil.example.com/callback"))]),
            with(&[("redirect_uri", Some(&format!("{}/", f.redirect_uri)))]),
            with(&[("redirect_uri", Some(&f.redirect_uri.to_uppercase()))]),
            with(&[("redirect_uri", Some(&format!("{}?x=1", f.redirect_uri)))]),
        ];
        for q in cases {
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = authorize(app, &q).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{q:?}");
            assert!(
                response.headers().get("location").is_none(),
                "never redirected: {q:?}"
            );
            let html = response.text().await.unwrap();
            assert!(html.contains("data-testid=\"oauth-error\""), "{q:?}");
            assert!(!html.contains("<script>"), "escaped");
        }
        // A repeated parameter, even an innocent one, cannot be trusted either.
        let repeated = browser()
            .get(format!(
                "{}/oauth/authorize?client_id={}&client_id={}&redirect_uri={}&response_type=code",
                app.base, f.client_id, f.client_id, f.redirect_uri
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
        assert!(repeated.text().await.unwrap().contains("repeated"));

        // A disabled client too.
        app.call_json(
            "set_client_disabled",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("disabled", "true"),
                ("tokens", "keep"),
            ],
            StatusCode::OK,
        )
        .await;
        let q: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(authorize(app, &q).await.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn other_errors_are_redirected_with_state_and_issuer() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-carol", false).await;
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("response_type", "")], "invalid_request"),
            (
                vec![("response_type", "token")],
                "unsupported_response_type",
            ),
            (vec![("scope", "admin")], "invalid_scope"),
            (vec![("scope", "profile  profile")], "invalid_scope"),
            (vec![("scope", "Pro\"file")], "invalid_scope"),
            (vec![("code_challenge", CHALLENGE)], "invalid_request"),
            (vec![("code_challenge_method", "S256")], "invalid_request"),
            (
                vec![
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
            ),
            (
                vec![
                    ("code_challenge", "short"),
                    ("code_challenge_method", "S256"),
                ],
                "invalid_request",
            ),
        ];
        for (changes, expected) in cases {
            let mut q = query(&f);
            for (key, value) in &changes {
                q.retain(|(k, _)| k != key);
                if !value.is_empty() {
                    q.push((key, (*value).to_owned()));
                }
            }
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = authorize(app, &q).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{changes:?}");
            let (location, params) = location_params(&response);
            assert!(location.starts_with(&f.redirect_uri), "{location}");
            assert_eq!(param(&params, "error"), Some(expected), "{changes:?}");
            assert!(param(&params, "error_description").is_some());
            assert_eq!(param(&params, "state"), Some("st@te 1"));
            assert_eq!(param(&params, "iss"), Some(app.base.as_str()));
            assert!(param(&params, "code").is_none());
        }
        // No scope: the client's registered scopes are granted.
        let mut q = query(&f);
        q.retain(|(k, _)| *k != "scope");
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let html = authorize(app, &q).await.text().await.unwrap();
        assert!(form_fields(&html).contains(&("scope".to_owned(), "profile".to_owned())));
    })
    .await;
}

#[tokio::test]
async fn clients_that_require_pkce_must_send_a_challenge() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-dan", true).await;
        let q = query(&f);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (_, params) = location_params(&authorize(app, &q).await);
        assert_eq!(param(&params, "error"), Some("invalid_request"));
        let mut with = q.clone();
        with.push(("code_challenge", CHALLENGE));
        with.push(("code_challenge_method", "S256"));
        assert_eq!(authorize(app, &with).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn the_prompt_checks_credentials_permission_and_its_own_token() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-erin", false).await;
        let q = query(&f);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let html = authorize(app, &q).await.text().await.unwrap();
        assert!(
            html.contains("App of api-erin")
                && html.contains("Acme")
                && html.contains("Read the API user")
        );

        // Wrong password: the prompt again, with an error, the username kept.
        let wrong = submit_prompt(app, &html, &f.username, "wrong password!!", "allow").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let again = wrong.text().await.unwrap();
        assert!(again.contains("Incorrect username or password"));
        assert!(again.contains(&format!("value=\"{}\"", f.username)));
        // A site administrator without the API User permission may not authorize.
        let admin = submit_prompt(app, &html, ADMIN, ADMIN_PASSWORD, "allow").await;
        assert_eq!(admin.status(), StatusCode::UNAUTHORIZED);
        // A tampered form (a different scope than the prompt showed) is refused.
        let tampered: Vec<(String, String)> = form_fields(&html)
            .into_iter()
            .filter(|(k, _)| k != "username")
            .map(|(k, v)| {
                if k == "state" {
                    (k, "forged".into())
                } else {
                    (k, v)
                }
            })
            .chain([
                ("username".into(), f.username.clone()),
                ("password".into(), f.password.clone()),
                ("decision".into(), "allow".into()),
            ])
            .collect();
        let response = app
            .browser
            .post(format!("{}/oauth/authorize", app.base))
            .form(&tampered)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = response.text().await.unwrap();
        assert!(body.contains("expired or was changed"), "{body}");
        // An old prompt expires.
        app.state.clock.advance(11 * 60);
        let stale = submit_prompt(app, &html, &f.username, &f.password, "allow").await;
        assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
        app.state.clock.advance(-11 * 60);

        // Deny: back to the client with access_denied and the state.
        let denied = submit_prompt(app, &html, "", "", "deny").await;
        assert_eq!(denied.status(), StatusCode::SEE_OTHER);
        let (_, params) = location_params(&denied);
        assert_eq!(param(&params, "error"), Some("access_denied"));
        assert_eq!(param(&params, "state"), Some("st@te 1"));
        // Nonsense decision.
        let odd = submit_prompt(app, &html, &f.username, &f.password, "maybe").await;
        let (_, params) = location_params(&odd);
        assert_eq!(param(&params, "error"), Some("invalid_request"));
        // Authorize: a code and the state.
        let allowed = submit_prompt(app, &html, &f.username, &f.password, "allow").await;
        assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
        let (_, params) = location_params(&allowed);
        assert!(param(&params, "code").unwrap().starts_with("lkac_"));
        assert_eq!(param(&params, "state"), Some("st@te 1"));
        // That password signed the API user in at this browser; a password prompt opened
        // before (another tab) still takes the password.
        let other_tab = submit_prompt(app, &html, &f.username, &f.password, "allow").await;
        assert_eq!(other_tab.status(), StatusCode::SEE_OTHER);
        // A new page names them instead of asking.
        let named = authorize(
            app,
            &[("prompt", "consent")]
                .iter()
                .chain(q.iter())
                .copied()
                .collect::<Vec<_>>(),
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(named.contains("prompt-signed-in"), "{named}");

        // A disabled API user can authorize nothing.
        let users = app
            .call_json(
                "list_users",
                &[("q", &f.username), ("page", "0")],
                StatusCode::OK,
            )
            .await;
        let id = users["rows"][0]["id"].as_str().unwrap().to_owned();
        app.call_json(
            "set_user_disabled",
            &[("csrf", &f.csrf), ("user_id", &id), ("disabled", "true")],
            StatusCode::OK,
        )
        .await;
        let disabled = submit_prompt(app, &html, &f.username, &f.password, "allow").await;
        assert_eq!(disabled.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn wrong_credentials_at_the_prompt_are_throttled() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-fay", false).await;
        let q = query(&f);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let html = authorize(app, &q).await.text().await.unwrap();
        for _ in 0..6 {
            let response =
                submit_prompt(app, &html, &f.username, "not the password", "allow").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let blocked = submit_prompt(app, &html, &f.username, &f.password, "allow").await;
        assert_eq!(
            blocked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            app.backend
        );
        assert!(blocked.text().await.unwrap().contains("Too many attempts"));
        app.state.clock.advance(31);
        let html = authorize(app, &q).await.text().await.unwrap();
        assert_eq!(
            submit_prompt(app, &html, &f.username, &f.password, "allow")
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
    })
    .await;
}
