//! The dashboard (counts, tokens per day, alerts) and a client's usage and history.

use crate::helpers::{add_user, create_site, on_each_backend, signed_in_browser};
use crate::oauth_helpers::{basic, code_for, exchange, expect_error, fixture, token};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn counts_charts_and_client_history() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-dash", false).await;
        exchange(app, &f, &code_for(app, &f, &[]).await).await;
        exchange(app, &f, &code_for(app, &f, &[]).await).await;
        app.state.usage.flush(&app.state.db).await.unwrap();

        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        assert_eq!(
            (
                &dashboard["clients"],
                &dashboard["api_users"],
                &dashboard["active_tokens"]
            ),
            (&Value::from(1), &Value::from(1), &Value::from(2)),
            "{dashboard}"
        );
        let bars = dashboard["tokens_per_day"].as_array().unwrap();
        assert_eq!(bars.len(), 30);
        assert_eq!(bars[29]["day"], app.state.clock.now().format_date());
        assert_eq!(bars[29]["count"], 2);
        assert!(bars[..29].iter().all(|bar| bar["count"] == 0));
        assert!(dashboard["alerts"].as_array().unwrap().is_empty());

        // Who created it and how much it is used, on the client's own page.
        let client = app
            .call_json(
                "get_client",
                &[("client_uuid", &f.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(client["tokens_per_day"][29]["count"], 2);
        let actions: Vec<&str> = client["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for expected in [
            "client.registered",
            "client.terms_accepted",
            "oauth.code_issued",
            "oauth.token_issued",
        ] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        let registered = client["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "client.registered")
            .unwrap();
        assert_eq!(registered["actor"], "alice");
    })
    .await;
}

#[tokio::test]
async fn refresh_token_reuse_raises_an_alert_until_acknowledged() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-theft", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let stolen = tokens["refresh_token"].as_str().unwrap();
        let refreshed = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", stolen)],
        )
        .await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        let replay = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", stolen)],
        )
        .await;
        expect_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;

        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        let alerts = dashboard["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{dashboard}");
        let alert = &alerts[0];
        assert_eq!(alert["kind"], "refresh_token_reuse");
        assert_eq!(
            alert["client"],
            serde_json::json!([format!("App of {}", f.username), f.client_id])
        );
        assert_eq!(alert["username"], f.username);
        assert_eq!(alert["address"], "127.0.0.1");
        let alert_id = alert["id"].as_i64().unwrap().to_string();

        // Another site's administrator cannot acknowledge it; a forged form cannot either.
        let globex = create_site(app, "Globex").await;
        add_user(app, "gadmin", &[(&globex, true, false)], StatusCode::OK).await;
        let (other, session) = signed_in_browser(app, "gadmin").await;
        let refused = app
            .call_with(
                &other,
                "acknowledge_alert",
                &[
                    ("csrf", session["csrf"].as_str().unwrap()),
                    ("alert_id", &alert_id),
                ],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        let forged = app
            .call(
                "acknowledge_alert",
                &[("csrf", "forged"), ("alert_id", &alert_id)],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            app.call_json("get_dashboard", &[], StatusCode::OK).await["alerts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let csrf = app.csrf().await;
        app.call_json(
            "acknowledge_alert",
            &[("csrf", &csrf), ("alert_id", &alert_id)],
            StatusCode::OK,
        )
        .await;
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        assert!(dashboard["alerts"].as_array().unwrap().is_empty());
        let log = app
            .call_json(
                "list_audit",
                &[("query[action]", "alert.acknowledged")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(log["rows"][0]["actor"], "alice");
        assert_eq!(
            log["rows"][0]["target"][1],
            format!("App of {}", f.username)
        );
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_invalid_client_raises_one_alert() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-burst", false).await;
        for _ in 0..12 {
            let response = crate::oauth_helpers::browser()
                .post(format!("{}/oauth/token", app.base))
                .header("authorization", basic(&f.client_id, "not-the-secret"))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
                .send()
                .await
                .unwrap();
            expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        }
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        let alerts = dashboard["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{dashboard}");
        assert_eq!(alerts[0]["kind"], "invalid_client_burst");
        assert_eq!(alerts[0]["client"][1], f.client_id);
        assert!(
            alerts[0]["summary"]
                .as_str()
                .unwrap()
                .starts_with("10 failed authentications")
        );
    })
    .await;
}
