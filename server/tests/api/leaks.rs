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
        // The leaked tokens and code are dead. An unproven report of an access token takes
        // down that token only: its grant's refresh token still works.
        assert_eq!(me(app, access).await.status(), StatusCode::UNAUTHORIZED);
        let sibling = leaked_access["refresh_token"].as_str().unwrap();
        let response = token(
            app,
            &new,
            &[("grant_type", "refresh_token"), ("refresh_token", sibling)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
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
        for kind in ["credential_leaked", "secret_quarantined"] {
            assert!(
                alerts.iter().any(|a| a["kind"] == kind),
                "{kind}: {alerts:?}"
            );
        }
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

/// A key pair standing in for GitHub's: its signing half, and the public half as configured.
fn github_key(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (signing, pem)
}

/// `body` signed as GitHub signs it: base64 of the DER ECDSA P-256/SHA-256 signature.
fn github_signature(key: &p256::ecdsa::SigningKey, body: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use p256::ecdsa::{Signature, signature::Signer};
    let signature: Signature = key.sign(body);
    STANDARD.encode(signature.to_der().as_bytes())
}

#[tokio::test]
async fn with_keys_configured_a_json_report_must_carry_a_valid_github_signature() {
    let (github, pem) = github_key(7);
    let (stranger, _) = github_key(9);
    let configure = move |settings: &mut app::server::Settings| {
        settings.leak_report_keys =
            vec![app::server::crypto::signatures::PayloadKey::parse("gh-key-1", &pem).unwrap()];
    };
    crate::helpers::on_each_backend_with(configure, async |app| {
        let f = fixture(app, "api-sig", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        let body = serde_json::to_vec(
            &json!([{"token": access, "type": "t", "url": "", "source": "content"}]),
        )
        .unwrap();
        let post = |body: Vec<u8>, key_id: Option<&'static str>, signature: Option<String>| {
            let mut request = browser()
                .post(format!("{}/oauth/leaks", app.base))
                .header("content-type", "application/json")
                .body(body);
            if let Some(id) = key_id {
                request = request.header("Github-Public-Key-Identifier", id);
            }
            if let Some(signature) = signature {
                request = request.header("Github-Public-Key-Signature", signature);
            }
            request.send()
        };
        let mut tampered = body.clone();
        tampered.push(b' ');
        for (body, key_id, signature) in [
            (body.clone(), None, None),
            (
                body.clone(),
                Some("gh-key-2"),
                Some(github_signature(&github, &body)),
            ),
            (
                body.clone(),
                Some("gh-key-1"),
                Some(github_signature(&stranger, &body)),
            ),
            (
                tampered,
                Some("gh-key-1"),
                Some(github_signature(&github, &body)),
            ),
            (
                body.clone(),
                Some("gh-key-1"),
                Some("not base64!".to_owned()),
            ),
        ] {
            let refused = post(body, key_id, signature).await.unwrap();
            assert_eq!(
                refused.status(),
                StatusCode::UNAUTHORIZED,
                "{}",
                app.backend
            );
            let error: Value = refused.json().await.unwrap();
            assert_eq!(error["error"], "invalid_signature");
        }
        assert_eq!(
            me(app, access).await.status(),
            StatusCode::OK,
            "nothing was revoked"
        );
        let signed = post(
            body.clone(),
            Some("gh-key-1"),
            Some(github_signature(&github, &body)),
        )
        .await
        .unwrap();
        assert_eq!(signed.status(), StatusCode::OK);
        let findings: Value = signed.json().await.unwrap();
        assert_eq!(statuses(&findings), ["revoked"]);
        // A signed report takes down the whole grant.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let response = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        // Form reports need no signature.
        let form: Value = report_form(app, &[access]).await.json().await.unwrap();
        assert_eq!(statuses(&form), ["inactive"]);
    })
    .await;
}

#[tokio::test]
async fn parallel_reports_of_one_secret_quarantine_it_once() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-par", false).await;
        let candidate = [f.client_secret.as_str()];
        let reports = (0..8).map(|_| report_form(app, &candidate));
        let mut quarantined = 0;
        for response in futures_util::future::join_all(reports).await {
            let body: Value = response.json().await.unwrap();
            match body[0]["status"].as_str().unwrap() {
                "quarantined" => quarantined += 1,
                "inactive" => {}
                other => panic!("{other} on {}", app.backend),
            }
        }
        assert_eq!(quarantined, 1, "{}", app.backend);
        let page = detail(app, &f).await;
        let events = page["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "client.credential_leaked")
            .count();
        assert_eq!(events, 1);
    })
    .await;
}
