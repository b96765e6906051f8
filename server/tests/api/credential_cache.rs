//! The token server caches validated credentials (client secrets, access tokens). Each test
//! here changes a credential *after* it was cached and expects the change to count: at once
//! when this process made it, within the epoch poll when another process (the CLI) did.

use crate::helpers::{TestApp, on_each_backend};
use crate::oauth_helpers::{
    Fixture, basic, browser, code_for, disable_client, exchange, expect_error, fixture, me,
    rotate_without_grace, token,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn introspect(app: &TestApp, f: &Fixture, secret: &str, token: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/oauth/introspect", app.base))
        .header("authorization", basic(&f.client_id, secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

/// `/api/v1/me` refuses the token as RFC 6750 says: 401 with `invalid_token`.
async fn refused(app: &TestApp, access: &str) {
    let response = me(app, access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

async fn active(app: &TestApp, f: &Fixture, token: &str) -> Value {
    let response = introspect(app, f, &f.client_secret, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["active"].clone()
}

#[tokio::test]
async fn changes_made_in_this_process_count_at_once() {
    on_each_backend(async |app| {
        let f = fixture(app, "cached", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        // Warm the caches: client authentication, then the token at both endpoints.
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
        assert_eq!(active(app, &f, access).await, true);

        // The API user is disabled: their token stops working everywhere.
        let disable = |disabled: &'static str| {
            let (csrf, user) = (f.csrf.clone(), f.user_id.clone());
            async move {
                app.call_json(
                    "set_user_disabled",
                    &[("csrf", &csrf), ("user_id", &user), ("disabled", disabled)],
                    StatusCode::OK,
                )
                .await;
            }
        };
        disable("true").await;
        refused(app, access).await;
        assert_eq!(active(app, &f, access).await, false);
        disable("false").await;
        assert_eq!(me(app, access).await.status(), StatusCode::OK);

        // Revoked at the revocation endpoint: refused at once.
        let revoked = browser()
            .post(format!("{}/oauth/revoke", app.base))
            .header("authorization", basic(&f.client_id, &f.client_secret))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        refused(app, access).await;

        // A secret rotated without a grace period: the old one is refused at once.
        rotate_without_grace(app, &f).await;
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let old_secret = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        expect_error(old_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &f.client_uuid)],
                StatusCode::OK,
            )
            .await;
        let new_secret = detail["revealed"][1].as_str().unwrap().to_owned();
        let second = exchange(
            app,
            &Fixture {
                client_secret: new_secret.clone(),
                ..f.clone()
            },
            &code_for(app, &f, &[]).await,
        )
        .await;
        let second_access = second["access_token"].as_str().unwrap();
        assert_eq!(
            introspect(app, &f, &new_secret, second_access)
                .await
                .status(),
            StatusCode::OK
        );

        // The client is disabled: its valid secret is refused at once.
        disable_client(app, &f).await;
        expect_error(
            introspect(app, &f, &new_secret, second_access).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_change_made_by_another_process_counts_within_the_epoch_poll() {
    on_each_backend(async |app| {
        let f = fixture(app, "elsewhere", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
        assert_eq!(active(app, &f, access).await, true);

        // The CLI, a separate process on the same database, rotates the secret and revokes
        // every token.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args([
                "client",
                "rotate-secret",
                "--client-id",
                &f.client_id,
                "--revoke-tokens",
            ])
            .env("DATABASE_URL", app.database_url())
            .env("LATCHKEY_SECRET_KEY", app.master_key_hex())
            .env("LATCHKEY_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );

        // Both the token and the old secret stop working within the poll interval (with a
        // generous margin for a loaded machine), and stay refused.
        let deadline = Instant::now() + app::server::cache::EPOCH_POLL * 20;
        loop {
            let api = me(app, access).await.status();
            let auth = introspect(app, &f, &f.client_secret, access).await.status();
            if api == StatusCode::UNAUTHORIZED && auth == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "still accepted after {:?}: /me {api}, introspection {auth}",
                app::server::cache::EPOCH_POLL * 20
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
