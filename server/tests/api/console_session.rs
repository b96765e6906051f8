//! First-run setup, sign-in, sign-out, sessions, anti-forgery and throttling.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, SETUP_TOKEN, field_message, on_each_backend};
use reqwest::StatusCode;
use serde_json::Value;

fn setup_form<'a>(token: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("setup_token", token),
        ("site_name", "Acme"),
        ("username", ADMIN),
        ("email", "alice@example.com"),
        ("password", password),
    ]
}

#[tokio::test]
async fn setup_validates_every_field_and_needs_the_logged_token() {
    on_each_backend(async |app| {
        assert_eq!(
            app.call_json("get_setup_needed", &[], StatusCode::OK).await,
            Value::Bool(true)
        );
        let page = app.page("/setup").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("name=\"setup_token\""));

        let error = app
            .call_json(
                "complete_setup",
                &[
                    ("setup_token", ""),
                    ("site_name", " "),
                    ("username", "a b"),
                    ("email", "nope"),
                    ("password", "short"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        for field in ["setup_token", "site_name", "username", "email", "password"] {
            assert!(field_message(&error, field).is_some(), "{field} in {error}");
        }

        let error = app
            .call_json(
                "complete_setup",
                &setup_form("wrong-token", ADMIN_PASSWORD),
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&error, "setup_token")
                .unwrap()
                .contains("not valid")
        );
        assert_eq!(
            app.console_session().await,
            Value::Null,
            "not signed in after a refusal"
        );

        app.call_json(
            "complete_setup",
            &setup_form(SETUP_TOKEN, ADMIN_PASSWORD),
            StatusCode::OK,
        )
        .await;
        let session = app.console_session().await;
        assert_eq!(session["username"], ADMIN);
        assert_eq!(session["site"]["name"], "Acme");

        // Only once.
        let again = app
            .call_json(
                "complete_setup",
                &setup_form(SETUP_TOKEN, ADMIN_PASSWORD),
                StatusCode::CONFLICT,
            )
            .await;
        assert!(
            again["Conflict"]
                .as_str()
                .unwrap()
                .contains("already set up")
        );
        assert_eq!(
            app.call_json("get_setup_needed", &[], StatusCode::OK).await,
            Value::Bool(false)
        );
    })
    .await;
}

#[tokio::test]
async fn setup_without_javascript_redirects_back_with_the_error() {
    on_each_backend(async |app| {
        let response = app
            .client
            .post(format!("{}/api/complete_setup", app.base))
            .header("accept", "text/html")
            .header("referer", format!("{}/setup", app.base))
            .form(&setup_form("wrong", ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{}/setup?", app.base)),
            "{location}"
        );
        assert!(location.contains("__err="), "{location}");
        // The page the browser lands on shows the message next to the field.
        let page = app
            .client
            .get(&location)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("This setup token is not valid"),
            "error rendered on the page"
        );
    })
    .await;
}

#[tokio::test]
async fn sign_in_and_out_with_cookie_and_anti_forgery_rules() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let browser = app.new_client();
        let wrong = app
            .call_with(
                &browser,
                "sign_in",
                &[("username", ADMIN), ("password", "not the password")],
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        let error: Value = wrong.json().await.unwrap();
        assert_eq!(
            field_message(&error, "password").unwrap(),
            "Incorrect username or password."
        );
        let unknown = app
            .call_with(
                &browser,
                "sign_in",
                &[("username", "mallory"), ("password", "whatever it is")],
            )
            .await;
        let unknown: Value = unknown.json().await.unwrap();
        assert_eq!(
            unknown, error,
            "unknown users look exactly like wrong passwords"
        );

        let ok = app
            .call_with(
                &browser,
                "sign_in",
                &[
                    ("username", "ALICE"),
                    ("password", ADMIN_PASSWORD),
                    ("next", "//evil.example"),
                ],
            )
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("latchkey_session="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert_eq!(ok.headers()["location"], "/", "off-site next is ignored");

        let session: Value = app
            .call_with(&browser, "get_console_session", &[])
            .await
            .json()
            .await
            .unwrap();
        let csrf = session["csrf"].as_str().unwrap().to_owned();
        assert_eq!(csrf.len(), 43);

        // A mutation without the right token is refused, and the session survives.
        let forged = app
            .call_with(&browser, "sign_out", &[("csrf", "forged")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            forged.json::<Value>().await.unwrap(),
            Value::String("CsrfRejected".into())
        );
        // A cross-site form post is refused before it reaches the server function.
        let cross_site = browser
            .post(format!("{}/api/sign_out", app.base))
            .header("origin", "https://evil.example")
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

        let out = app
            .call_with(&browser, "sign_out", &[("csrf", &csrf)])
            .await;
        assert_eq!(out.status(), StatusCode::OK);
        let session: Value = app
            .call_with(&browser, "get_console_session", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(session, Value::Null);
        let after = app
            .call_with(&browser, "sign_out", &[("csrf", &csrf)])
            .await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn sessions_end_after_idle_and_absolute_timeouts() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let clock = &app.state.clock;
        // Activity every 20 minutes keeps the session alive past the 30-minute idle limit...
        for _ in 0..3 {
            clock.advance(20 * 60);
            assert_eq!(
                app.console_session().await["username"],
                ADMIN,
                "{}",
                app.backend
            );
        }
        // ...but 31 idle minutes end it.
        clock.advance(31 * 60);
        assert_eq!(app.console_session().await, Value::Null);

        // Absolute limit: 12 hours after sign-in, however active.
        assert_eq!(
            app.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
            StatusCode::OK
        );
        for _ in 0..(12 * 3) {
            clock.advance(20 * 60);
            app.console_session().await;
        }
        clock.advance(60);
        assert_eq!(app.console_session().await, Value::Null);
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_and_audited() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let browser = app.new_client();
        for _ in 0..5 {
            let response = app
                .call_with(
                    &browser,
                    "sign_in",
                    &[("username", ADMIN), ("password", "wrong password!")],
                )
                .await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        }
        let sixth = app
            .call_with(
                &browser,
                "sign_in",
                &[("username", ADMIN), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(sixth.status(), StatusCode::BAD_REQUEST);
        // Blocked now: even the right password is refused, with 429.
        let blocked = app
            .call_with(
                &browser,
                "sign_in",
                &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(
            blocked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            app.backend
        );
        let body: Value = blocked.json().await.unwrap();
        assert!(body["Throttled"]["retry_after_secs"].as_u64().unwrap() <= 30);

        app.state.clock.advance(31);
        let ok = app
            .call_with(
                &browser,
                "sign_in",
                &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(ok.status(), StatusCode::OK);

        let dashboard: Value = app
            .call_with(&browser, "get_dashboard", &[])
            .await
            .json()
            .await
            .unwrap();
        let summaries: Vec<&str> = dashboard["recent_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["summary"].as_str().unwrap())
            .collect();
        assert_eq!(summaries[0], "alice signed in");
        assert!(
            summaries
                .iter()
                .filter(|s| s.contains("Failed sign-in"))
                .count()
                >= 6,
            "{summaries:?}"
        );
    })
    .await;
}
