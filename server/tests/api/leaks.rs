//! `POST /oauth/leaks` and `latchkey leak report`: reported secrets are quarantined and
//! reported tokens revoked at once, each audited and alerted; everything else is answered
//! without a change, and the candidate is never echoed.

use crate::helpers::{TestApp, on_each_backend};
use crate::oauth_helpers::{
    Fixture, browser, code_for, exchange, expect_error, fixture, me, slot_states, token,
};
use app::server::crypto::tokens::{self, TokenKind};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn report_form(app: &TestApp, candidates: &[&str]) -> reqwest::Response {
    let form: Vec<(&str, &str)> = candidates.iter().map(|c| ("token", *c)).collect();
    browser()
        .post(format!("{}/oauth/leaks", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn statuses(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect()
}

async fn detail(app: &TestApp, f: &Fixture) -> Value {
    app.call_json(
        "get_client",
        &[("client_uuid", &f.client_uuid)],
        StatusCode::OK,
    )
    .await
}

/// Flips the last character: the checksum no longer matches.
fn corrupt(token: &str) -> String {
    let mut text = token.to_owned();
    let last = text.pop().unwrap();
    text.push(if last == 'A' { 'B' } else { 'A' });
    text
}

#[tokio::test]
async fn reported_secrets_are_quarantined_and_reported_tokens_revoked() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-lea", false).await;
        let leaked_access = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let leaked_refresh = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let unused_code = code_for(app, &f, &[]).await;
        // A rotation with a grace period: two working secrets, the old one is the one leaked.
        app.call_json(
            "rotate_client_secret",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("grace", "3600"),
                ("tokens", "keep"),
            ],
            StatusCode::OK,
        )
        .await;
        let page = detail(app, &f).await;
        let new = Fixture {
            client_secret: page["revealed"][1].as_str().unwrap().to_owned(),
            ..f.clone()
        };
        let access = leaked_access["access_token"].as_str().unwrap();
        let refresh = leaked_refresh["refresh_token"].as_str().unwrap();
        let unknown = tokens::generate(TokenKind::ClientSecret).unwrap();
        let bad_checksum = corrupt(&new.client_secret);
        let candidates = [
            f.client_secret.as_str(),
            access,
            refresh,
            "password123",
            &unknown,
            &bad_checksum,
            &f.client_id,
            &unused_code,
            "lkcs_\u{202e}ÿ",
        ];
        let response = report_form(app, &candidates).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let text = response.text().await.unwrap();
        // Never a secret candidate (the Consumer Key, public, names the client).
        for (n, candidate) in candidates[..8].iter().enumerate() {
            assert!(
                n == 6 || !text.contains(candidate),
                "echoed a candidate: {text}"
            );
        }
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            statuses(&body),
            [
                "quarantined",
                "revoked",
                "revoked",
                "malformed",
                "unknown",
                "malformed",
                "inactive",
                "revoked",
                "malformed"
            ],
            "{}",
            app.backend
        );
        assert_eq!(body[0]["type"], "client_secret");
        assert_eq!(body[0]["client_id"], f.client_id.as_str());
        assert_eq!(body[3]["type"], Value::Null);

        // The leaked secret is refused; the other slot keeps working.
        let response = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        exchange(app, &new, &code_for(app, &new, &[]).await).await;
        // The leaked tokens and code are dead.
        assert_eq!(me(app, access).await.status(), StatusCode::UNAUTHORIZED);
        let response = token(
            app,
            &new,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let response = token(
            app,
            &new,
            &[
                ("grant_type", "authorization_code"),
                ("code", &unused_code),
                ("redirect_uri", &f.redirect_uri),
            ],
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

        // Reported again: nothing left to do.
        let again: Value = report_form(app, &[&f.client_secret, access])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(statuses(&again), ["inactive", "inactive"]);

        // The console shows it: the slot, the alert, the audit event, the failure's reason.
        let page = detail(app, &f).await;
        let states = slot_states(&page);
        assert_eq!(states, ["current", "quarantined"]);
        let quarantined = page["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["reason_code"] == "secret_no_longer_valid")
            .unwrap();
        assert!(
            quarantined["detail"]
                .as_str()
                .unwrap()
                .contains("after it was reported leaked"),
            "{quarantined}"
        );
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        let alerts = dashboard["alerts"].as_array().unwrap();
        assert!(
            alerts.iter().any(|a| a["kind"] == "credential_leaked"),
            "{alerts:?}"
        );
        let history: Vec<&str> = page["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            history
                .iter()
                .filter(|a| **a == "client.credential_leaked")
                .count(),
            4,
            "{history:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_github_partner_payload_is_accepted_and_bad_reports_are_refused() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-gh", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        let payload = json!([
            {"token": access, "type": "latchkey_access_token",
             "url": "https://github.com/acme/app/blob/main/.env", "source": "content"},
            {"token": "lkat_nope", "type": "latchkey_access_token", "url": "", "source": "content"}
        ]);
        let response = browser()
            .post(format!("{}/oauth/leaks", app.base))
            .json(&payload)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(statuses(&body), ["revoked", "malformed"], "{}", app.backend);
        let page = detail(app, &f).await;
        let event = page["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "client.credential_leaked")
            .unwrap();
        let summary = event["summary"].as_str().unwrap();
        assert!(
            summary.contains("github (content)")
                && summary.contains("https://github.com/acme/app/blob/main/.env"),
            "{summary}"
        );

        // Too many, none, not JSON, another media type: invalid_request, nothing changed.
        let many: Vec<String> = (0..101).map(|_| "x".to_owned()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        expect_error(
            report_form(app, &many).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        expect_error(
            report_form(app, &[]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        let not_json = browser()
            .post(format!("{}/oauth/leaks", app.base))
            .header("content-type", "application/json")
            .body("{\"token\": 1")
            .send()
            .await
            .unwrap();
        expect_error(not_json, StatusCode::BAD_REQUEST, "invalid_request").await;
        let text = browser()
            .post(format!("{}/oauth/leaks", app.base))
            .header("content-type", "text/plain")
            .body(access.to_owned())
            .send()
            .await
            .unwrap();
        expect_error(text, StatusCode::BAD_REQUEST, "invalid_request").await;
    })
    .await;
}
