//! Signed webhooks (issue 20 item 6), delivered to a real HTTP receiver: the signing secret
//! shown once, the signature a receiver can check, retries with backoff and the delivery log,
//! giving up, the test event, claims that hold when two senders run at once, and other sites'
//! administrators kept out.

use crate::helpers::{
    TestApp, add_user, create_site, field_message, on_each_backend_with, signed_in_browser,
};
use crate::oauth_helpers::fixture;
use app::domain::Timestamp;
use app::server::services::notifications::dispatch;
use axum::{extract::State, http::HeaderMap, routing::post};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What the receiver got: (headers, body).
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A webhook receiver on a free local port that answers with `statuses` in turn (then 200);
/// returns its URL and what it received.
async fn receiver(statuses: Vec<u16>) -> (String, Received) {
    let received: Received = Arc::default();
    let answers = Arc::new(Mutex::new(statuses));
    let router = axum::Router::new()
        .route(
            "/hook",
            post(
                async |State((received, answers)): State<(Received, Arc<Mutex<Vec<u16>>>)>,
                       headers: HeaderMap,
                       body: String| {
                    received.lock().unwrap().push((headers, body));
                    let mut answers = answers.lock().unwrap();
                    let status = if answers.is_empty() {
                        200
                    } else {
                        answers.remove(0)
                    };
                    axum::http::StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state((received.clone(), answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, received)
}

async fn page(app: &TestApp) -> Value {
    app.call_json("get_webhooks", &[], StatusCode::OK).await
}

async fn send(app: &TestApp) -> usize {
    let http = server::webhook_sender::http_client(true).unwrap();
    server::webhook_sender::send_due(&app.state, &http)
        .await
        .unwrap()
}

async fn add(app: &TestApp, csrf: &str, url: &str) -> String {
    let id = app
        .call_json(
            "add_webhook",
            &[("csrf", csrf), ("url", url)],
            StatusCode::OK,
        )
        .await;
    id.as_str().unwrap().to_owned()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap().to_str().unwrap()
}

/// The receivers of these tests listen on 127.0.0.1.
fn allow_loopback(settings: &mut app::server::Settings) {
    settings.webhooks_allow_private = true;
}

#[tokio::test]
async fn a_deletion_is_delivered_signed_retried_with_backoff_and_logged() {
    on_each_backend_with(allow_loopback, async |app| {
        let f = fixture(app, "hooked", false).await;
        let (url, received) = receiver(vec![500]).await;
        let bad = app
            .call_json(
                "add_webhook",
                &[("csrf", &f.csrf), ("url", "http://hooks.example.com/x")],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&bad, "url").unwrap().contains("https"),
            "{bad}"
        );
        let hook = add(app, &f.csrf, &url).await;

        // The signing secret is on the next page view only.
        let first = page(app).await;
        let secret = first["endpoints"][0]["new_secret"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(secret.starts_with("lkws_"), "{secret}");
        assert!(page(app).await["endpoints"][0]["new_secret"].is_null());

        // An edit is not announced; a deletion is, in its transaction.
        app.call_json(
            "update_client",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("name", "Renamed"),
                ("description", "x"),
                ("redirect_uri", &f.redirect_uri),
                ("scopes[0]", "profile"),
            ],
            StatusCode::OK,
        )
        .await;
        assert!(page(app).await["deliveries"].as_array().unwrap().is_empty());
        app.call_json(
            "delete_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::OK,
        )
        .await;
        let log = page(app).await["deliveries"].clone();
        assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
        assert_eq!(log[0]["event"], "client.deleted");

        // First attempt: the receiver answers 500.
        assert_eq!(send(app).await, 1, "{}", app.backend);
        let (headers, body) = received.lock().unwrap()[0].clone();
        assert_eq!(header(&headers, "latchkey-event"), "client.deleted");
        assert_eq!(
            header(&headers, "latchkey-delivery"),
            log[0]["id"].as_str().unwrap()
        );
        // The receiver's check: t within five minutes, v1 = HMAC("<t>.<body>").
        let signature = header(&headers, "latchkey-signature");
        let t: i64 = signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((app.state.clock.now().unix() - t).abs() < 300);
        assert_eq!(signature, dispatch::signature(&secret, Timestamp(t), &body));
        assert_ne!(
            signature,
            dispatch::signature("lkws_other", Timestamp(t), &body)
        );
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(event["type"], "client.deleted");
        assert_eq!(event["target"]["label"], "Renamed");
        assert_eq!(event["target"]["id"], f.client_id.as_str());
        assert!(
            !body.contains(&f.client_secret) && !body.contains("lkcs_"),
            "{body}"
        );
        let log = page(app).await["deliveries"].clone();
        assert_eq!(log[0]["status"], 500);
        assert_eq!(log[0]["attempts"], 1);
        assert!(
            log[0]["state"].as_str().unwrap().starts_with("Retrying"),
            "{log}"
        );

        // Not again before the backoff; then delivered.
        assert_eq!(send(app).await, 0);
        app.state.clock.advance(31);
        assert_eq!(send(app).await, 1);
        assert_eq!(received.lock().unwrap().len(), 2);
        let log = page(app).await["deliveries"].clone();
        assert_eq!(
            (log[0]["state"].as_str(), log[0]["status"].as_i64()),
            (Some("Delivered"), Some(200))
        );
        assert_eq!(send(app).await, 0);

        // The test event.
        app.call_json(
            "send_test_webhook",
            &[("csrf", &f.csrf), ("webhook_id", &hook)],
            StatusCode::OK,
        )
        .await;
        assert_eq!(send(app).await, 1);
        let (headers, _) = received.lock().unwrap()[2].clone();
        assert_eq!(header(&headers, "latchkey-event"), "webhook.test");

        // Settled deliveries leave the log after 30 days; one still being retried stays.
        app.call_json(
            "send_test_webhook",
            &[("csrf", &f.csrf), ("webhook_id", &hook)],
            StatusCode::OK,
        )
        .await;
        let later = Timestamp(app.state.clock.now().unix() + 31 * 86_400);
        let pruned = dispatch::prune_settled(&app.state.db, later).await.unwrap();
        assert_eq!(pruned, 2, "{}", app.backend);
        assert_eq!(page(app).await["deliveries"].as_array().unwrap().len(), 1);

        // Removal takes its log with it, and is audited.
        app.call_json(
            "remove_webhook",
            &[("csrf", &f.csrf), ("webhook_id", &hook)],
            StatusCode::OK,
        )
        .await;
        let after = page(app).await;
        assert!(after["endpoints"].as_array().unwrap().is_empty());
        assert!(after["deliveries"].as_array().unwrap().is_empty());
        use app::server::entities::audit_event;
        use sea_orm::EntityTrait;
        let actions: Vec<String> = audit_event::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for action in ["webhook.added", "webhook.removed"] {
            assert!(actions.iter().any(|a| a == action), "{action}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_given_up_after_the_last_attempt() {
    on_each_backend_with(allow_loopback, async |app| {
        let f = fixture(app, "unreachable", false).await;
        // A port nothing listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", closed.local_addr().unwrap());
        drop(closed);
        let hook = add(app, &f.csrf, &url).await;
        app.call_json(
            "send_test_webhook",
            &[("csrf", &f.csrf), ("webhook_id", &hook)],
            StatusCode::OK,
        )
        .await;
        // Read from the database: hours pass, longer than a console session lives.
        let stored = async || {
            use app::server::entities::webhook_delivery;
            use sea_orm::EntityTrait;
            webhook_delivery::Entity::find()
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
        };
        for attempt in 1..=dispatch::MAX_ATTEMPTS {
            assert_eq!(send(app).await, 1, "attempt {attempt} on {}", app.backend);
            let row = stored().await;
            assert_eq!(row.attempts, attempt);
            assert_eq!(row.last_error.as_deref(), Some("could not connect"));
            app.state.clock.advance(dispatch::backoff(attempt) + 1);
        }
        assert_eq!(send(app).await, 0);
        let row = stored().await;
        assert!(
            row.failed_at.is_some() && row.next_attempt_at.is_none(),
            "{row:?}"
        );
        let words = app::server::services::notifications::endpoints::state_words(
            &row,
            app.state.clock.now(),
        );
        assert_eq!(
            words,
            format!("Gave up after {} attempts", dispatch::MAX_ATTEMPTS)
        );
    })
    .await;
}

#[tokio::test]
async fn two_senders_at_once_deliver_each_event_once() {
    on_each_backend_with(allow_loopback, async |app| {
        let f = fixture(app, "twice", false).await;
        let (url, received) = receiver(vec![]).await;
        add(app, &f.csrf, &url).await;
        // Six announced events: the client disabled and enabled three times.
        for disabled in ["true", "false"].repeat(3) {
            app.call_json(
                "set_client_disabled",
                &[
                    ("csrf", &f.csrf),
                    ("client_uuid", &f.client_uuid),
                    ("disabled", disabled),
                    ("tokens", "keep"),
                ],
                StatusCode::OK,
            )
            .await;
        }
        let (a, b) = tokio::join!(send(app), send(app));
        assert_eq!(a + b, 6, "{}", app.backend);
        let ids: std::collections::BTreeSet<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|(headers, _)| header(headers, "latchkey-delivery").to_owned())
            .collect();
        assert_eq!(ids.len(), 6);
        assert_eq!(received.lock().unwrap().len(), 6, "{}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn another_sites_administrator_cannot_see_test_or_remove_a_webhook() {
    on_each_backend_with(allow_loopback, async |app| {
        let f = fixture(app, "private", false).await;
        let (url, _) = receiver(vec![]).await;
        let hook = add(app, &f.csrf, &url).await;
        let other = create_site(app, "Globex").await;
        add_user(app, "outsider", &[(&other, true, false)], StatusCode::OK).await;
        let (outsider, session) = signed_in_browser(app, "outsider").await;
        let csrf = session["csrf"].as_str().unwrap().to_owned();
        let theirs: Value = app
            .call_with(&outsider, "get_webhooks", &[])
            .await
            .json()
            .await
            .unwrap();
        assert!(
            theirs["endpoints"].as_array().unwrap().is_empty(),
            "{theirs}"
        );
        for function in ["send_test_webhook", "remove_webhook"] {
            let response = app
                .call_with(
                    &outsider,
                    function,
                    &[("csrf", &csrf), ("webhook_id", &hook)],
                )
                .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{function}");
        }
        // Acme's events never reach a Globex endpoint, and the other way round.
        assert_eq!(page(app).await["endpoints"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn by_default_webhooks_go_only_to_public_https_addresses_and_one_test_at_a_time() {
    crate::helpers::on_each_backend(async |app| {
        let f = fixture(app, "ssrf", false).await;
        for refused in [
            "http://hooks.example.com/in",
            "https://127.0.0.1:8443/in",
            "https://localhost/in",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.7/in",
            "https://[::ffff:192.168.1.1]/in",
            "https://[fd00::1]/in",
        ] {
            let bad = app
                .call_json(
                    "add_webhook",
                    &[("csrf", &f.csrf), ("url", refused)],
                    StatusCode::BAD_REQUEST,
                )
                .await;
            assert!(field_message(&bad, "url").is_some(), "{refused}: {bad}");
        }
        // A public name is accepted (nothing is sent in this test).
        let hook = add(app, &f.csrf, "https://hooks.example.com/in").await;
        // The same URL twice is refused.
        app.call_json(
            "add_webhook",
            &[("csrf", &f.csrf), ("url", "https://hooks.example.com/in")],
            StatusCode::BAD_REQUEST,
        )
        .await;
        // One test event on its way at a time.
        let form = [("csrf", f.csrf.as_str()), ("webhook_id", hook.as_str())];
        app.call_json("send_test_webhook", &form, StatusCode::OK)
            .await;
        let again = app
            .call_json("send_test_webhook", &form, StatusCode::CONFLICT)
            .await;
        assert!(
            again["Conflict"]
                .as_str()
                .unwrap()
                .contains("still on its way"),
            "{again}"
        );
    })
    .await;
}
