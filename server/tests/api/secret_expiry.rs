//! Secrets that expire: the site's lifetime for new secrets, the choice at regeneration, the
//! badges, the Dashboard list and the API Clients filter, and the refusal once expired (with
//! its reason on the failure timeline).

use crate::helpers::{ADMIN, ADMIN_PASSWORD, TestApp, field_message, on_each_backend, site_id};
use crate::oauth_helpers::{Fixture, expect_error, fixture, slot_states, token};
use reqwest::StatusCode;
use serde_json::Value;

const DAY: i64 = 86_400;

async fn detail(app: &TestApp, f: &Fixture) -> Value {
    app.call_json(
        "get_client",
        &[("client_uuid", &f.client_uuid)],
        StatusCode::OK,
    )
    .await
}

async fn expiring_list(app: &TestApp) -> Vec<String> {
    let page = app
        .call_json(
            "list_clients",
            &[
                ("q", ""),
                ("sort", "name"),
                ("dir", ""),
                ("page", "0"),
                ("expiring", "30"),
            ],
            StatusCode::OK,
        )
        .await;
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn dashboard_expiring(app: &TestApp) -> Vec<(String, i64)> {
    let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
    dashboard["expiring_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["client_name"].as_str().unwrap().to_owned(),
                s["days_left"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn set_lifetime(app: &TestApp, csrf: &str, site: &str, seconds: &str) -> Value {
    app.call_json(
        "set_site_secret_lifetime",
        &[
            ("csrf", csrf),
            ("site_id", site),
            ("secret_lifetime", seconds),
        ],
        if seconds.parse::<i64>().is_ok_and(|s| s == 0 || s >= DAY) {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
    )
    .await
}

#[tokio::test]
async fn a_site_lifetime_expires_new_secrets_with_warning_then_refuses_them() {
    on_each_backend(async |app| {
        let old = fixture(app, "api-old", false).await;
        let site = site_id(app).await;
        let csrf = old.csrf.clone();
        // Only the console's bounds: not an hour, not a word.
        let refused = set_lifetime(app, &csrf, &site, "3600").await;
        assert!(field_message(&refused, "secret_lifetime").is_some());
        set_lifetime(app, &csrf, &site, &(30 * DAY).to_string()).await;
        let new = fixture(app, "api-new", false).await;

        // The new client's secret expires in 30 days; the older client's never does.
        let page = detail(app, &new).await;
        assert_eq!(page["secrets"][0]["expires_in_days"], 30, "{}", app.backend);
        assert_eq!(page["site_secret_lifetime"], 30 * DAY);
        assert_eq!(
            detail(app, &old).await["secrets"][0]["expires_in_days"],
            Value::Null
        );
        assert_eq!(expiring_list(app).await, ["App of api-new"]);
        assert_eq!(
            dashboard_expiring(app).await,
            [("App of api-new".to_owned(), 30)]
        );

        // Regenerating with "never" takes it off both lists; with 90 days it is not "soon".
        for (lifetime, listed) in [
            ("0", false),
            (&*(90 * DAY).to_string(), false),
            ("site", true),
        ] {
            app.call_json(
                "rotate_client_secret",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &new.client_uuid),
                    ("grace", "0"),
                    ("tokens", "keep"),
                    ("lifetime", lifetime),
                ],
                StatusCode::OK,
            )
            .await;
            assert_eq!(
                !expiring_list(app).await.is_empty(),
                listed,
                "lifetime {lifetime}"
            );
        }
        let bad = app
            .call_json(
                "rotate_client_secret",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &new.client_uuid),
                    ("grace", "0"),
                    ("tokens", "keep"),
                    ("lifetime", "60"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(field_message(&bad, "lifetime").is_some());

        // The last regeneration used the site's 30 days. A day after it ends, the secret is
        // refused as invalid_client, and the client's page says why.
        let current = detail(app, &new).await;
        let secret = current["revealed"][1].as_str().unwrap().to_owned();
        let fresh = Fixture {
            client_secret: secret,
            ..new.clone()
        };
        app.state.clock.advance(31 * DAY);
        app.sign_in(ADMIN, ADMIN_PASSWORD).await;
        let response = token(
            app,
            &fresh,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
        expect_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        let page = detail(app, &new).await;
        assert_eq!(page["secrets"][0]["state"], "expired", "{}", app.backend);
        assert_eq!(page["secrets"][0]["expires_in_days"], Value::Null);
        let failure = &page["failures"][0];
        assert_eq!(failure["reason_code"], "secret_no_longer_valid");
        let text = failure["detail"].as_str().unwrap();
        assert!(text.ends_with("expired 1 day(s) ago"), "{text}");
        // Expired secrets stay on the lists until someone regenerates them; then they go.
        assert_eq!(expiring_list(app).await, ["App of api-new"]);
        assert_eq!(
            dashboard_expiring(app).await,
            [("App of api-new".to_owned(), 0)]
        );
        rotate(app, &new, "86400", "0").await;
        assert!(expiring_list(app).await.is_empty(), "{}", app.backend);
        assert!(dashboard_expiring(app).await.is_empty());
        let page = detail(app, &new).await;
        let states = slot_states(&page);
        assert_eq!(
            states[..2],
            ["current", "expired"],
            "no grace for an expired secret"
        );
    })
    .await;
}

/// Regenerates `f`'s secret from the console (retiring an old one in use without asking);
/// returns the new secret.
async fn rotate(app: &TestApp, f: &Fixture, grace: &str, lifetime: &str) -> String {
    // The session's token: a sign-in since the fixture was made starts a new session.
    let csrf = app.csrf().await;
    app.call_json(
        "rotate_client_secret",
        &[
            ("csrf", &csrf),
            ("client_uuid", &f.client_uuid),
            ("grace", grace),
            ("tokens", "keep"),
            ("lifetime", lifetime),
            // These tests are about lifetimes; the in-use question has its own (clients.rs).
            ("retire_anyway", "yes"),
        ],
        StatusCode::OK,
    )
    .await;
    detail(app, f).await["revealed"][1]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Authenticates as `f` with `secret` (a made-up refresh token: only the status matters).
async fn authenticates(app: &TestApp, f: &Fixture, secret: &str) -> bool {
    let with = Fixture {
        client_secret: secret.to_owned(),
        ..f.clone()
    };
    let response = token(
        app,
        &with,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    response.status() != StatusCode::UNAUTHORIZED
}

#[tokio::test]
async fn a_replaced_secret_keeps_its_grace_but_never_a_longer_one() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-gra", false).await;
        let first = f.client_secret.clone();
        // The second secret lives a day; the first keeps a week's grace.
        let second = rotate(app, &f, &(7 * DAY).to_string(), &DAY.to_string()).await;
        assert!(authenticates(app, &f, &first).await && authenticates(app, &f, &second).await);
        app.state.clock.advance(2 * DAY);
        app.sign_in(ADMIN, ADMIN_PASSWORD).await;
        assert!(!authenticates(app, &f, &second).await, "expired");
        assert!(
            authenticates(app, &f, &first).await,
            "still in its grace period"
        );
        // Regenerating now: the newest secret has expired, so the older one, still in its
        // grace period, keeps it — not lengthened to the week asked for (5 days are left), and
        // not cut short either (it is the only secret that works).
        let third = rotate(app, &f, &(7 * DAY).to_string(), "0").await;
        assert!(authenticates(app, &f, &third).await);
        assert!(authenticates(app, &f, &first).await, "{}", app.backend);
        assert!(!authenticates(app, &f, &second).await);
        let page = detail(app, &f).await;
        let kept = page["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["state"] == "grace")
            .unwrap();
        assert_eq!(kept["expires_in_days"], 5, "{kept}");
        app.state.clock.advance(5 * DAY + 1);
        app.sign_in(ADMIN, ADMIN_PASSWORD).await;
        assert!(!authenticates(app, &f, &first).await, "{}", app.backend);
        // A grace period never outlasts the old secret's own expiry.
        let fourth = rotate(app, &f, &(7 * DAY).to_string(), &DAY.to_string()).await;
        rotate(app, &f, &(7 * DAY).to_string(), "0").await;
        let page = detail(app, &f).await;
        let old = &page["secrets"][1];
        assert_eq!(old["state"], "grace");
        assert_eq!(old["expires_in_days"], 1, "{old}");
        app.state.clock.advance(DAY + 1);
        assert!(!authenticates(app, &f, &fourth).await);
    })
    .await;
}
