//! "Why did it fail?": a client's refused requests, with their real reason, on its details
//! page, while the wire keeps the RFC's error codes; bounded storage and retention.

use crate::helpers::{TestApp, on_each_backend};
use crate::oauth_helpers::{
    Fixture, authorize, basic, browser, code_for, disable_client, exchange, expect_error, fixture,
    query, rotate_without_grace, token,
};
use app::domain::{FailureReason, Timestamp};
use app::server::{
    entities::client_failure,
    services::failure_timeline::{self, Failure, KEPT_PER_CLIENT},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn detail(app: &TestApp, f: &Fixture) -> Value {
    app.call_json(
        "get_client",
        &[("client_uuid", &f.client_uuid)],
        StatusCode::OK,
    )
    .await
}

/// The timeline row of `reason` (there must be exactly one).
fn row(detail: &Value, reason: FailureReason) -> &Value {
    let rows: Vec<&Value> = detail["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason_code"] == reason.as_str())
        .collect();
    assert_eq!(rows.len(), 1, "{reason:?} in {}", detail["failures"]);
    rows[0]
}

fn count_of(detail: &Value, reason: FailureReason) -> i64 {
    detail["failure_counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reason_code"] == reason.as_str())
        .map_or(0, |c| c["count"].as_i64().unwrap())
}

async fn post_token(
    app: &TestApp,
    authorization: String,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(format!("{}/oauth/token", app.base))
        .header("authorization", authorization)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_client_page_names_the_real_reason_of_each_refusal() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-fay", false).await;
        let empty = detail(app, &f).await;
        assert_eq!(empty["failures"], serde_json::json!([]));

        // A wrong secret, three times: one row counted three times; the wire says only
        // invalid_client.
        for _ in 0..3 {
            let response = post_token(
                app,
                basic(&f.client_id, "not-the-secret"),
                &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            )
            .await;
            let body = expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
            assert_eq!(body["error_description"], "client authentication failed");
        }

        // The token request's redirect_uri differs from the authorization request's path.
        let code = code_for(app, &f, &[]).await;
        let other_path = f.redirect_uri.replace("/callback", "/callback2");
        let response = token(
            app,
            &f,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &other_path),
            ],
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let page = detail(app, &f).await;
        assert_eq!(
            row(&page, FailureReason::RedirectUriMismatch)["detail"],
            "redirect_uri differs from the authorization request's at the path",
            "{}",
            app.backend
        );

        // The authorization endpoint: a redirect_uri on another host (an error page, no
        // redirect), recorded for the client it names.
        let mut q = query(&f);
        q.retain(|(k, _)| *k != "redirect_uri");
        q.push((
            "redirect_uri",
            "https://elsewhere.example.com/callback".into(),
        ));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(authorize(app, &q).await.status(), StatusCode::BAD_REQUEST);

        // A PKCE verifier that does not match.
        let code = code_for(
            app,
            &f,
            &[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        let wrong_verifier = VERIFIER.replace('d', "e");
        let response = token(
            app,
            &f,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &f.redirect_uri),
                ("code_verifier", &wrong_verifier),
            ],
        )
        .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

        // A refresh token used twice: the grant is revoked.
        let code = code_for(app, &f, &[]).await;
        let tokens = exchange(app, &f, &code).await;
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        assert_eq!(token(app, &f, &form).await.status(), StatusCode::OK);
        expect_error(
            token(app, &f, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // A disabled client.
        disable_client(app, &f).await;
        let response = token(app, &f, &form).await;
        expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

        let page = detail(app, &f).await;
        let wrong = row(&page, FailureReason::WrongSecret);
        assert_eq!(wrong["count"], 3, "{}", app.backend);
        assert_eq!(wrong["error_code"], "invalid_client");
        assert_eq!(wrong["address"], "127.0.0.1");
        assert_eq!(
            wrong["detail"],
            "the client_secret matches none of the client's secrets"
        );
        // Both mismatches came from one address: one row, counted twice, with the latest
        // explanation (the token request's was checked when it happened, above).
        let mismatch = row(&page, FailureReason::RedirectUriMismatch);
        assert_eq!(mismatch["count"], 2);
        assert_eq!(
            mismatch["detail"],
            "redirect_uri differs from the registered one at the host"
        );
        assert_eq!(
            row(&page, FailureReason::PkceMismatch)["error_code"],
            "invalid_grant"
        );
        assert_eq!(
            row(&page, FailureReason::RefreshTokenReused)["detail"],
            "refresh token reused — the whole grant (family) was revoked"
        );
        assert_eq!(
            row(&page, FailureReason::ClientDisabled)["error_code"],
            "invalid_client"
        );
        assert_eq!(count_of(&page, FailureReason::WrongSecret), 3);
        assert_eq!(count_of(&page, FailureReason::RedirectUriMismatch), 2);
        assert_eq!(
            page["failure_counts"][0]["reason_code"], "wrong_secret",
            "most frequent first"
        );
    })
    .await;
}

#[tokio::test]
async fn an_old_secret_is_named_as_the_retired_one() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-gil", false).await;
        rotate_without_grace(app, &f).await;
        // The old secret (the fixture's) no longer works.
        let response = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
        expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        let page = detail(app, &f).await;
        let old = row(&page, FailureReason::SecretNoLongerValid);
        let text = old["detail"].as_str().unwrap();
        assert!(
            text.starts_with("the client_secret is the old one (")
                && text.ends_with("less than a minute ago"),
            "{text} on {}",
            app.backend
        );
        assert!(!text.contains(&f.client_secret), "never the secret itself");
    })
    .await;
}

#[tokio::test]
async fn storage_is_bounded_per_client_deleted_clients_are_skipped_and_retention_prunes() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-hal", false).await;
        let g = fixture(app, "api-ida", false).await;
        let uuid = |f: &Fixture| f.client_uuid.parse::<uuid::Uuid>().unwrap();
        let site_id = crate::helpers::site_id(app).await.parse().unwrap();
        let recorder = &app.state.failure_timeline;
        let now = app.state.clock.now();
        let failure = |client_uuid, n: u64| Failure {
            client_uuid,
            site_id,
            reason: FailureReason::MalformedRequest,
            error_code: "invalid_request",
            detail: "missing parameter \"code\"".into(),
            address: Some(format!("198.51.100.{n}")),
        };
        // More distinct failures than a client keeps: 30 flushes of 8 addresses each.
        let address = |n: u64, i: u64| format!("198.51.{n}.{i}");
        for n in 0..30 {
            for i in 0..8 {
                let mut one = failure(uuid(&f), 0);
                one.address = Some(address(n, i));
                recorder.record(one, Timestamp(now.unix() - 1_000 + n as i64));
            }
            recorder.flush(&app.state.db).await.unwrap();
        }
        recorder.record(failure(uuid(&g), 1), now);
        // g is purged before the flush: its failure is dropped, the flush still succeeds.
        app.call_json(
            "delete_client",
            &[("csrf", &g.csrf), ("client_uuid", &g.client_uuid)],
            StatusCode::OK,
        )
        .await;
        app.call_json(
            "purge_client",
            &[
                ("csrf", &g.csrf),
                ("client_uuid", &g.client_uuid),
                ("confirm", "yes"),
            ],
            StatusCode::OK,
        )
        .await;
        recorder.flush(&app.state.db).await.unwrap();
        let rows = |client_uuid| {
            client_failure::Entity::find()
                .filter(client_failure::Column::ClientUuid.eq(client_uuid))
                .all(&app.state.db)
        };
        let kept = rows(uuid(&f)).await.unwrap();
        assert_eq!(kept.len() as u64, KEPT_PER_CLIENT, "{}", app.backend);
        assert!(rows(uuid(&g)).await.unwrap().is_empty());
        // The newest are the ones kept: the first 40 addresses (5 flushes) went.
        let flush_of = |row: &client_failure::Model| -> u64 {
            row.address
                .as_deref()
                .unwrap()
                .split('.')
                .nth(2)
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(kept.iter().map(flush_of).min(), Some(5), "{}", app.backend);

        // The same refusal again within the hour adds to its row; after it, a new row.
        let mut again = failure(uuid(&f), 0);
        again.address = Some(address(29, 7));
        recorder.record(again.clone(), Timestamp(now.unix() - 900));
        recorder.flush(&app.state.db).await.unwrap();
        let merged = rows(uuid(&f)).await.unwrap();
        let row = merged
            .iter()
            .find(|r| r.address.as_deref() == Some(address(29, 7).as_str()))
            .unwrap();
        assert_eq!(
            (row.count, row.last_at),
            (2, now.unix() - 900),
            "{}",
            app.backend
        );
        assert_eq!(merged.len() as u64, KEPT_PER_CLIENT);
        recorder.record(again, Timestamp(now.unix() - 900 + 3_601));
        recorder.flush(&app.state.db).await.unwrap();
        let later = rows(uuid(&f)).await.unwrap();
        let same: Vec<_> = later
            .iter()
            .filter(|r| r.address.as_deref() == Some(address(29, 7).as_str()))
            .collect();
        assert_eq!(same.len(), 2, "{}", app.backend);

        // Retention: rows last seen before the cutoff go.
        let pruned = failure_timeline::prune(&app.state.db, Timestamp(now.unix() - 500))
            .await
            .unwrap();
        assert_eq!(pruned, KEPT_PER_CLIENT - 1, "the row seen since stays");
        assert_eq!(rows(uuid(&f)).await.unwrap().len(), 1);
    })
    .await;
}
