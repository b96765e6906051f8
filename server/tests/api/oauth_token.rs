//! `POST /oauth/token`: client authentication, every RFC 6749 §5.2 error, code binding and
//! single use, refresh rotation and scope narrowing, and concurrency.

use crate::helpers::on_each_backend;
use crate::oauth_helpers::{
    basic, browser, code_for, disable_client, exchange, expect_error, fixture, me, token,
};
use reqwest::StatusCode;
use serde_json::Value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn post_raw(
    app: &crate::helpers::TestApp,
    content_type: &str,
    authorization: Option<String>,
    body: String,
) -> reqwest::Response {
    let mut request = browser()
        .post(format!("{}/oauth/token", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn success_response_shape_and_headers() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-gus", false).await;
        let code = code_for(app, &f, &[]).await;
        let response = token(
            app,
            &f,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &f.redirect_uri),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 1800);
        assert_eq!(body["scope"], "profile");
        let access = body["access_token"].as_str().unwrap();
        let refresh = body["refresh_token"].as_str().unwrap();
        for t in [access, refresh] {
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "unreserved only"
            );
        }
        assert!(access.starts_with("lkat_") && refresh.starts_with("lkrt_"));
    })
    .await;
}

#[tokio::test]
async fn client_authentication_errors() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-hal", false).await;
        let form = "grant_type=refresh_token&refresh_token=x".to_owned();
        let form_type = "application/x-www-form-urlencoded";
        let cases: Vec<(Option<String>, String, StatusCode, &str)> = vec![
            (
                None,
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic(&f.client_id, "lkcs_wrong")),
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic(
                    &f.client_id,
                    &f.client_secret.replace("lkcs_", "lkcs_x"),
                )),
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic("lkci_unknownunknownunknown00000", &f.client_secret)),
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some("Basic !!!notbase64".into()),
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some("Bearer something".into()),
                form.clone(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                None,
                format!("{form}&client_id={}", f.client_id),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            // Two methods at once, or a body client_id naming someone else.
            (
                Some(basic(&f.client_id, &f.client_secret)),
                format!("{form}&client_secret={}", f.client_secret),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                Some(basic(&f.client_id, &f.client_secret)),
                format!("{form}&client_id=lkci_other"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            // Repeated parameters.
            (
                Some(basic(&f.client_id, &f.client_secret)),
                format!("{form}&grant_type=refresh_token"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
        ];
        for (auth, body, status, code) in cases {
            let response = post_raw(app, form_type, auth.clone(), body.clone()).await;
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(
                    response.headers()["www-authenticate"],
                    "Basic realm=\"latchkey\"",
                    "{body}"
                );
            }
            expect_error(response, status, code).await;
        }
        // Body authentication (client_secret_post) works, and so does a body client_id next to Basic.
        let response = post_raw(
            app,
            form_type,
            None,
            format!(
                "{form}&client_id={}&client_secret={}",
                f.client_id, f.client_secret
            ),
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let response = post_raw(
            app,
            form_type,
            Some(basic(&f.client_id, &f.client_secret)),
            format!("{form}&client_id={}", f.client_id),
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        // Not a form, missing or unknown grant type.
        let json = post_raw(
            app,
            "application/json",
            Some(basic(&f.client_id, &f.client_secret)),
            "{\"grant_type\":\"refresh_token\"}".into(),
        )
        .await;
        expect_error(json, StatusCode::BAD_REQUEST, "invalid_request").await;
        expect_error(
            token(app, &f, &[("code", "x")]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        expect_error(
            token(app, &f, &[("grant_type", "password")]).await,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        )
        .await;
        // Supported, but this client is registered for the authorization code grant only.
        expect_error(
            token(app, &f, &[("grant_type", "client_credentials")]).await,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        )
        .await;
        expect_error(
            token(app, &f, &[("grant_type", "authorization_code")]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        expect_error(
            token(app, &f, &[("grant_type", "refresh_token")]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;

        // A disabled client fails authentication.
        disable_client(app, &f).await;
        expect_error(
            token(
                app,
                &f,
                &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn authorization_codes_are_bound_single_use_and_short_lived() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-ida", false).await;
        let other = fixture(app, "api-jon", false).await;
        let exchange_form = |code: &str, redirect: &str| {
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code.to_owned()),
                ("redirect_uri", redirect.to_owned()),
            ]
        };
        let send = |fixture: &crate::oauth_helpers::Fixture, form: Vec<(&'static str, String)>| {
            let fixture = fixture.clone();
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                token(app, &fixture, &form).await
            }
        };
        let garbage = send(&f, exchange_form("lkac_garbage", &f.redirect_uri)).await;
        expect_error(garbage, StatusCode::BAD_REQUEST, "invalid_grant").await;

        let code = code_for(app, &f, &[]).await;
        // Another client, or another redirect URI, cannot use it (and does not burn it).
        expect_error(
            send(&other, exchange_form(&code, &other.redirect_uri)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        expect_error(
            send(
                &f,
                exchange_form(&code, "https://evil.example.com/callback"),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        let missing_redirect = send(
            &f,
            vec![
                ("grant_type", "authorization_code".into()),
                ("code", code.clone()),
            ],
        )
        .await;
        expect_error(missing_redirect, StatusCode::BAD_REQUEST, "invalid_request").await;
        // A verifier for a code issued without a challenge.
        let mut with_verifier = exchange_form(&code, &f.redirect_uri);
        with_verifier.push(("code_verifier", VERIFIER.into()));
        expect_error(
            send(&f, with_verifier).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // First use works; the second fails AND revokes what the first issued.
        let tokens: Value = send(&f, exchange_form(&code, &f.redirect_uri))
            .await
            .json()
            .await
            .unwrap();
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        assert_eq!(me(app, &access).await.status(), StatusCode::OK);
        let reuse = expect_error(
            send(&f, exchange_form(&code, &f.redirect_uri)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        assert!(
            reuse["error_description"]
                .as_str()
                .unwrap()
                .contains("already used")
        );
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        expect_error(
            send(
                &f,
                vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", refresh),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // Codes expire after five minutes.
        let late = code_for(app, &f, &[]).await;
        app.state.clock.advance(5 * 60 + 1);
        let expired = expect_error(
            send(&f, exchange_form(&late, &f.redirect_uri)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        assert!(
            expired["error_description"]
                .as_str()
                .unwrap()
                .contains("expired")
        );
    })
    .await;
}

#[tokio::test]
async fn pkce_verifier_must_match() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-kim", false).await;
        let pkce = [
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        let code = code_for(app, &f, &pkce).await;
        let base = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", f.redirect_uri.as_str()),
        ];
        expect_error(
            token(app, &f, &base).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        let mut wrong = base.to_vec();
        wrong.push((
            "code_verifier",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
        ));
        expect_error(
            token(app, &f, &wrong).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        let mut right = base.to_vec();
        right.push(("code_verifier", VERIFIER));
        assert_eq!(token(app, &f, &right).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn refresh_rotation_scope_narrowing_reuse_and_expiry() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-lee", false).await;
        let site = app.console_session().await["site"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.call_json(
            "add_site_scope",
            &[
                ("csrf", &f.csrf),
                ("site_id", &site),
                ("name", "reports:read"),
                ("description", "Read reports"),
            ],
            StatusCode::OK,
        )
        .await;
        app.call_json(
            "update_client",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("name", "App"),
                ("description", "d"),
                ("redirect_uri", &f.redirect_uri),
                ("scopes[0]", "profile"),
                ("scopes[1]", "reports:read"),
            ],
            StatusCode::OK,
        )
        .await;
        let code = code_for(app, &f, &[("scope", "profile reports:read")]).await;
        let tokens = exchange(app, &f, &code).await;
        assert_eq!(tokens["scope"], "profile reports:read");
        let refresh = |rt: String, scope: Option<&'static str>| {
            let f = f.clone();
            async move {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", rt),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope.to_owned()));
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                token(app, &f, &form).await
            }
        };
        // Narrower scope is fine; the grant keeps its original breadth for later refreshes.
        let narrow: Value = refresh(
            tokens["refresh_token"].as_str().unwrap().into(),
            Some("reports:read"),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(narrow["scope"], "reports:read");
        let narrow_access = narrow["access_token"].as_str().unwrap().to_owned();
        let denied = me(app, &narrow_access).await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            denied.headers()["www-authenticate"],
            "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"profile\""
        );
        let wide: Value = refresh(narrow["refresh_token"].as_str().unwrap().into(), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            wide["scope"], "reports:read",
            "no scope: same as the presented token"
        );
        let broader = refresh(
            wide["refresh_token"].as_str().unwrap().into(),
            Some("profile admin"),
        )
        .await;
        expect_error(broader, StatusCode::BAD_REQUEST, "invalid_scope").await;
        let back: Value = refresh(
            wide["refresh_token"].as_str().unwrap().into(),
            Some("profile reports:read"),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            back["scope"], "profile reports:read",
            "within the original grant"
        );

        // Another client cannot use it; garbage is invalid_grant.
        let other = fixture(app, "api-max", false).await;
        let stolen = token(
            app,
            &other,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", back["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        expect_error(stolen, StatusCode::BAD_REQUEST, "invalid_grant").await;
        expect_error(
            refresh("lkrt_nonsense".into(), None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        // Still usable by its own client after the failed theft.
        let current: Value = refresh(back["refresh_token"].as_str().unwrap().into(), None)
            .await
            .json()
            .await
            .unwrap();

        // Refresh tokens expire after 30 days.
        app.state.clock.advance(30 * 24 * 3600 + 1);
        expect_error(
            refresh(current["refresh_token"].as_str().unwrap().into(), None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    })
    .await;
}

/// Sends `count` identical token requests at once from separate tasks.
async fn in_parallel(
    app: &crate::helpers::TestApp,
    f: &crate::oauth_helpers::Fixture,
    form: Vec<(&'static str, String)>,
    count: usize,
) -> Vec<reqwest::Response> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (url, auth, form, start) = (
            format!("{}/oauth/token", app.base),
            basic(&f.client_id, &f.client_secret),
            form.clone(),
            start.clone(),
        );
        tasks.spawn(async move {
            start.wait().await;
            browser()
                .post(url)
                .header("authorization", auth)
                .form(&form)
                .send()
                .await
                .unwrap()
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_exchanges_of_one_code_yield_exactly_one_success() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-ned", false).await;
        let code = code_for(app, &f, &[]).await;
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", f.redirect_uri.clone()),
        ];
        let responses = in_parallel(app, &f, form, 20).await;
        let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{statuses:?} on {}",
            app.backend
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::BAD_REQUEST)
                .count(),
            19,
            "{statuses:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_refreshes_yield_one_success_and_revoke_the_family() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-oli", false).await;
        let code = code_for(app, &f, &[]).await;
        let tokens = exchange(app, &f, &code).await;
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().unwrap().to_owned(),
            ),
        ];
        let mut winners = Vec::new();
        for response in in_parallel(app, &f, form, 20).await {
            if response.status() == StatusCode::OK {
                winners.push(response.json::<Value>().await.unwrap());
            } else {
                let status = response.status();
                let body = response.text().await.unwrap();
                assert_eq!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "{} on {}",
                    body,
                    app.backend
                );
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "exactly one refresh succeeds on {}",
            app.backend
        );
        // The losers were reuse: the whole family is revoked, the winner's tokens included.
        assert_eq!(
            me(app, winners[0]["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        let next = token(
            app,
            &f,
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    winners[0]["refresh_token"].as_str().unwrap(),
                ),
            ],
        )
        .await;
        expect_error(next, StatusCode::BAD_REQUEST, "invalid_grant").await;
    })
    .await;
}
