//! Issue 17, items 1, 8, 9 and 10 on the wire: crafted credentials get an RFC answer (never a
//! dropped connection), unauthenticated floods write a bounded number of audit rows, and the
//! smaller findings of the review (metadata, export, URL errors, spoofable names, Basic,
//! request ids, token types, malformed bearer tokens, the prompt's browser binding).

use crate::helpers::{ADMIN, TestApp, field_message, on_each_backend, site_id};
use crate::oauth_helpers::{
    authorize, basic, browser, expect_error, fixture, form_fields, fresh_browser, query,
    submit_prompt,
};
use crate::trust_credentials::audit_actions;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde_json::Value;

/// A Consumer Key of the right length whose checksum boundary falls inside 'é'.
fn straddling_client_id() -> String {
    let mut id = "lkci_".to_owned();
    id.push_str(&"A".repeat(21));
    id.push('é');
    id.push_str(&"z".repeat(5));
    assert_eq!(id.len(), 33);
    id
}

#[tokio::test]
async fn credentials_cut_inside_a_multibyte_character_get_an_rfc_error() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "crafted", false).await;
        let crafted = straddling_client_id();
        let secret = {
            let mut s = "lkcs_".to_owned();
            s.push_str(&"B".repeat(42));
            s.push('€');
            s.push_str(&"z".repeat(4));
            s
        };
        for endpoint in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
            // In the body…
            let response = browser()
                .post(format!("{}{endpoint}", app.base))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("token", "x"),
                    ("client_id", crafted.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .expect("an answer, not a dropped connection");
            expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
            // …and in HTTP Basic, with the real client's id and a crafted secret.
            let response = browser()
                .post(format!("{}{endpoint}", app.base))
                .header("authorization", basic(&fixture.client_id, &secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("token", "x"),
                ])
                .send()
                .await
                .expect("an answer");
            expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        }
        // The authorization endpoint answers with its error page.
        let page = authorize(
            app,
            &[
                ("response_type", "code"),
                ("client_id", crafted.as_str()),
                ("redirect_uri", &fixture.redirect_uri),
            ],
        )
        .await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{}", app.backend);
        // And a code, a refresh token and an access token likewise.
        let code = {
            let mut c = "lkac_".to_owned();
            c.push_str(&"C".repeat(42));
            c.push('𝕏');
            c.push_str(&"z".repeat(3));
            c
        };
        let response = browser()
            .post(format!("{}/oauth/token", app.base))
            .header(
                "authorization",
                basic(&fixture.client_id, &fixture.client_secret),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", fixture.redirect_uri.as_str()),
            ])
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_denials_writes_a_bounded_number_of_audit_rows() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "denier", false).await;
        let q = query(&fixture);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let html = authorize(app, &q).await.text().await.unwrap();
        let before = audit_actions(app).await.len();
        for _ in 0..200 {
            let denied = submit_prompt(app, &html, "", "", "deny").await;
            assert_eq!(denied.status(), StatusCode::SEE_OTHER);
        }
        let written = audit_actions(app).await.len() - before;
        assert!(
            written <= app::server::services::event_limiter::PER_MINUTE as usize,
            "{written} audit rows for 200 denials on {}",
            app.backend
        );
        assert!(written >= 1);
    })
    .await;
}

#[tokio::test]
async fn throttled_and_failed_sign_ins_write_a_bounded_number_of_rows() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let before = audit_actions(app).await.len();
        let long_name = "x".repeat(5_000);
        for n in 0..150 {
            let name = if n % 2 == 0 {
                long_name.clone()
            } else {
                format!("nobody{n}")
            };
            let response = app
                .call_with(
                    &app.new_client(),
                    "sign_in",
                    &[("username", &name), ("password", "a wrong password")],
                )
                .await;
            assert!(
                [StatusCode::BAD_REQUEST, StatusCode::TOO_MANY_REQUESTS]
                    .contains(&response.status()),
                "{}",
                response.status()
            );
        }
        let written = audit_actions(app).await.len() - before;
        assert!(
            written <= 2 * app::server::services::event_limiter::PER_MINUTE as usize,
            "{written}"
        );
        // The throttle's keys hold neither the typed names nor their length.
        use app::server::entities::sign_in_throttle;
        use sea_orm::EntityTrait;
        let rows = sign_in_throttle::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert!(!rows.is_empty());
        for row in rows {
            assert!(row.key.len() <= 64, "{}", row.key);
            assert!(!row.key.contains("nobody"), "{}", row.key);
        }
    })
    .await;
}

#[tokio::test]
async fn made_up_http_methods_share_one_metrics_label() {
    on_each_backend(async |app| {
        for method in ["FOO", "BAR", "X-CUSTOM"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let _ = browser()
                .request(method, format!("{}/healthz", app.base))
                .send()
                .await
                .unwrap();
        }
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            !metrics.contains("FOO") && !metrics.contains("X-CUSTOM"),
            "{metrics}"
        );
        assert!(metrics.contains("method=\"other\""));
    })
    .await;
}

#[tokio::test]
async fn the_metadata_does_not_list_every_sites_scopes() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let csrf = app.csrf().await;
        let site = site_id(app).await;
        app.call_json(
            "add_site_scope",
            &[
                ("csrf", &csrf),
                ("site_id", &site),
                ("name", "acme.payroll"),
                ("description", "Payroll"),
            ],
            StatusCode::OK,
        )
        .await;
        let metadata: Value = app
            .get("/.well-known/oauth-authorization-server")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(metadata["scopes_supported"], serde_json::json!(["profile"]));
    })
    .await;
}

#[tokio::test]
async fn the_csv_export_is_a_post_with_the_anti_forgery_token() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let before = audit_actions(app).await.len();
        // A cross-site link or image cannot export (and so cannot add audit rows).
        let get = app.get("/audit/export.csv").await;
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
        let no_token = app
            .client
            .post(format!("{}/audit/export.csv", app.base))
            .form(&[("actor", ADMIN)])
            .send()
            .await
            .unwrap();
        assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
        assert_eq!(audit_actions(app).await.len(), before, "nothing recorded");
        let csrf = app.csrf().await;
        let export = app
            .client
            .post(format!("{}/audit/export.csv", app.base))
            .form(&[("csrf", csrf.as_str()), ("actor", ADMIN)])
            .send()
            .await
            .unwrap();
        assert_eq!(export.status(), StatusCode::OK, "{}", app.backend);
        assert!(export.text().await.unwrap().starts_with("id,time_utc,"));
    })
    .await;
}

#[tokio::test]
async fn only_refusals_the_server_signed_are_shown_from_the_url() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        // A real refusal of a form posted without JavaScript: redirected with a signed error.
        let posted = browser()
            .post(format!("{}/api/sign_in", app.base))
            .header("accept", "text/html")
            .header("referer", format!("{}/sign-in", app.base))
            .form(&[("username", "nobody"), ("password", "a wrong password")])
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_redirection(), "{}", posted.status());
        let location = posted.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("__sig="), "{location}");
        let shown = browser()
            .get(if location.starts_with("http") {
                location.clone()
            } else {
                format!("{}{location}", app.base)
            })
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            shown.contains("Incorrect username or password."),
            "{}",
            app.backend
        );
        // The same URL with words of an attacker's choosing, or without the signature: nothing.
        let forged_error = {
            use base64::Engine;
            let json = r#"{"Conflict":"Your account is locked. Call +1 555 0100 now."}"#;
            base64::engine::general_purpose::URL_SAFE.encode(json)
        };
        for hostile in [
            format!("/sign-in?__path=%2Fapi%2Fsign_in&__err={forged_error}"),
            format!("/sign-in?__path=%2Fapi%2Fsign_in&__err={forged_error}&__sig=AAAA"),
            location.split("&__sig=").next().unwrap().to_owned(),
        ] {
            let url = if hostile.starts_with("http") {
                hostile.clone()
            } else {
                format!("{}{hostile}", app.base)
            };
            let html = browser()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!html.contains("Call +1 555"), "{hostile}");
            assert!(
                !html.contains("Incorrect username or password."),
                "{hostile}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn names_that_would_spoof_another_application_are_refused() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "spoof", false).await;
        for (name, description) in [
            ("PayPal\u{202E}lapyaP", "Fine description"),
            ("Pay\u{200B}Pal", "Fine description"),
            ("Reports", "Made by \u{2067}Acme\u{2069} itself"),
        ] {
            let refused = app
                .call_json(
                    "register_client",
                    &[
                        ("csrf", &fixture.csrf),
                        ("name", name),
                        ("description", description),
                        ("redirect_uri", "https://spoof.example.com/cb"),
                        ("owner", &fixture.user_id),
                        ("accept_terms", "on"),
                    ],
                    StatusCode::BAD_REQUEST,
                )
                .await;
            let message =
                field_message(&refused, "name").or_else(|| field_message(&refused, "description"));
            assert!(
                message.is_some_and(|m| m.contains("invisible or text-direction")),
                "{refused}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_basic_scheme_is_case_insensitive_and_request_ids_are_ours() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "schemes", false).await;
        let header = basic(&fixture.client_id, &fixture.client_secret);
        let encoded = header.trim_start_matches("Basic ");
        for scheme in ["basic", "BASIC", "bAsIc"] {
            let response = browser()
                .post(format!("{}/oauth/introspect", app.base))
                .header("authorization", format!("{scheme} {encoded}"))
                .form(&[("token", "lkat_unknown")])
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{scheme} on {}",
                app.backend
            );
        }
        // Without --trusted-proxy, a client's own request id is replaced.
        let response = browser()
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", "forged\u{0020}id")
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, "forged id");
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    })
    .await;
}

#[tokio::test]
async fn a_malformed_bearer_token_is_invalid_token_not_missing_credentials() {
    on_each_backend(async |app| {
        for value in [
            &b"Bearer lkat_\xc3\xa9\xc3\xa9"[..],
            b"Bearer \xff\xfe\xfd",
            b"bearer \x80",
        ] {
            let response = browser()
                .get(format!("{}/api/v1/me", app.base))
                .header("authorization", HeaderValue::from_bytes(value).unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        }
        // No credentials at all: the plain challenge.
        let response = browser()
            .get(format!("{}/api/v1/me", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"latchkey\""
        );
    })
    .await;
}

#[tokio::test]
async fn a_prompt_token_harvested_in_one_browser_is_refused_from_another() {
    on_each_backend(async |app: &TestApp| {
        let fixture = fixture(app, "harvested", false).await;
        let q = query(&fixture);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // The attacker loads the prompt in their own browser and keeps its form…
        let html = authorize(app, &q).await.text().await.unwrap();
        let mut form: Vec<(String, String)> = form_fields(&html)
            .into_iter()
            .filter(|(name, _)| name != "username" && name != "password")
            .collect();
        form.push(("username".into(), fixture.username.clone()));
        form.push(("password".into(), fixture.password.clone()));
        form.push(("decision".into(), "allow".into()));
        // …and has it posted from the victim's browser, which never saw that prompt.
        let posted = fresh_browser()
            .post(format!("{}/oauth/authorize", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::BAD_REQUEST, "{}", app.backend);
        assert!(posted.text().await.unwrap().contains("This page expired"));
        // The browser that loaded the prompt can use it.
        let allowed = app
            .browser
            .post(format!("{}/oauth/authorize", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    })
    .await;
}
