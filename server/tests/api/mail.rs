//! Notification e-mail (issue 20 item 6) sent through a real SMTP conversation with a sink
//! the test runs, and the scheduled notices that use it (issue 20 item 1's reminders, stale
//! clients): who receives what, retries after a 4xx, giving up after a 5xx, the mail log, the
//! switch, and each notice going out once however many senders look at once.

use crate::helpers::{TestApp, add_user, on_each_backend_with, site_id};
use crate::oauth_helpers::{Fixture, code_for, disable_client, exchange, fixture, token};
use app::domain::Timestamp;
use app::server::{
    entities::{audit_event, client, mail_delivery},
    services::{clients, notifications::attempts, secrets::reminders},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use server::mail_sender::Mailer;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const DAY: i64 = 86_400;

/// One message the sink accepted: envelope recipients and the raw message.
#[derive(Debug, Clone)]
struct Accepted {
    to: Vec<String>,
    data: String,
}

/// The sink: what it accepted, and the replies to give at the end of DATA (then 250).
#[derive(Clone, Default)]
struct Sink {
    accepted: Arc<Mutex<Vec<Accepted>>>,
    replies: Arc<Mutex<Vec<&'static str>>>,
}

/// An SMTP server on a free local port speaking enough of RFC 5321 for a client (EHLO,
/// MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT); returns its `smtp://` URL.
async fn smtp_sink(replies: Vec<&'static str>) -> (String, Sink) {
    let sink = Sink {
        replies: Arc::new(Mutex::new(replies)),
        ..Sink::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let served = sink.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let sink = served.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut to = Vec::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: String = match verb.as_str() {
                        "EHLO" => "250-sink\r\n250 8BITMIME\r\n".into(),
                        "HELO" | "MAIL" | "RSET" | "NOOP" => {
                            if verb == "RSET" || verb == "MAIL" {
                                to.clear();
                            }
                            "250 OK\r\n".into()
                        }
                        "RCPT" => {
                            to.push(line.trim().to_owned());
                            "250 OK\r\n".into()
                        }
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = String::new();
                            loop {
                                line.clear();
                                lines.read_line(&mut line).await.unwrap();
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            let reply = {
                                let mut replies = sink.replies.lock().unwrap();
                                if replies.is_empty() {
                                    "250 queued"
                                } else {
                                    replies.remove(0)
                                }
                            };
                            if reply.starts_with('2') {
                                sink.accepted.lock().unwrap().push(Accepted {
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                            }
                            format!("{reply}\r\n")
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => "502 not implemented\r\n".into(),
                    };
                    write.write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, sink)
}

impl Sink {
    fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }
}

fn mail_on(settings: &mut app::server::Settings) {
    settings.mail_configured = true;
}

async fn send(app: &TestApp, url: &str) -> usize {
    let mailer = Mailer::new(url, "Latchkey <latchkey@example.com>", &app.base)
        .unwrap()
        .with_send_timeout(std::time::Duration::from_secs(2));
    server::mail_sender::send_due(&app.state, &mailer)
        .await
        .unwrap()
}

/// The newest message of the mail log.
async fn newest(app: &TestApp) -> Value {
    mail_section(app).await["messages"][0].clone()
}

async fn mail_section(app: &TestApp) -> Value {
    app.call_json("get_mail", &[], StatusCode::OK).await
}

async fn switch(app: &TestApp, csrf: &str, on: bool, status: StatusCode) -> Value {
    app.call_json(
        "set_email_notifications",
        &[
            ("csrf", csrf),
            ("enabled", if on { "true" } else { "false" }),
        ],
        status,
    )
    .await
}

async fn rotate(app: &TestApp, f: &Fixture) -> Value {
    app.call_json(
        "rotate_client_secret",
        &[
            ("csrf", &f.csrf),
            ("client_uuid", &f.client_uuid),
            ("grace", "0"),
            ("tokens", "keep"),
            ("lifetime", "site"),
        ],
        StatusCode::OK,
    )
    .await
}

/// The queued messages, oldest first: (recipient, event).
async fn outbox(app: &TestApp) -> Vec<(String, String)> {
    mail_delivery::Entity::find()
        .order_by_asc(mail_delivery::Column::CreatedAt)
        .order_by_asc(mail_delivery::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.event))
        .collect()
}

/// The audit actions recorded for `action`, count.
async fn audited(app: &TestApp, action: &str) -> usize {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .all(&app.state.db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn owners_and_administrators_are_emailed_through_smtp_with_retries_and_a_log() {
    on_each_backend_with(mail_on, async |app| {
        let f = fixture(app, "mailed", false).await;
        let other = fixture(app, "unheard", false).await;
        let (url, sink) = smtp_sink(vec!["451 4.3.0 try again later"]).await;

        // Off by default: a rotation queues nothing.
        assert_eq!(mail_section(app).await["enabled"], false);
        rotate(app, &other).await;
        assert!(outbox(app).await.is_empty());

        switch(app, &f.csrf, true, StatusCode::OK).await;
        assert_eq!(audited(app, "site.email_notifications_changed").await, 1);
        assert_eq!(mail_section(app).await["enabled"], true);

        // A leak reaches the owner and the administrator; a rotation the owner only.
        let leaked = reqwest::Client::new()
            .post(format!("{}/oauth/leaks", app.base))
            .form(&[("token", f.client_secret.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = leaked.json().await.unwrap();
        assert_eq!(body[0]["status"], "quarantined", "{body}");
        rotate(app, &f).await;
        let mut queued = outbox(app).await;
        queued.sort();
        assert_eq!(
            queued,
            [
                (
                    "alice@example.com".into(),
                    "client.credential_leaked".into()
                ),
                (
                    "mailed@example.com".into(),
                    "client.credential_leaked".into()
                ),
                ("mailed@example.com".into(), "client.secret_rotated".into()),
            ],
            "{}",
            app.backend
        );

        // First attempt: the sink defers the first message (451); the rest go.
        assert_eq!(send(app, &url).await, 3, "{}", app.backend);
        assert_eq!(sink.accepted().len(), 2);
        let section = mail_section(app).await;
        let states: Vec<&str> = section["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap())
            .collect();
        assert_eq!(
            states
                .iter()
                .filter(|s| s.starts_with("Retrying in"))
                .count(),
            1,
            "{section}"
        );
        assert!(section["messages"].to_string().contains("451"), "{section}");
        // Not due again before its backoff; then sent.
        assert_eq!(send(app, &url).await, 0);
        app.state.clock.advance(attempts::backoff(1) + 1);
        assert_eq!(send(app, &url).await, 1);
        let accepted = sink.accepted();
        assert_eq!(accepted.len(), 3);

        // What arrived: addressed to the owner, subject prefixed, the facts in the body, no
        // secret anywhere.
        let to_owner: Vec<&Accepted> = accepted
            .iter()
            .filter(|m| m.to.iter().any(|to| to.contains("mailed@example.com")))
            .collect();
        assert_eq!(to_owner.len(), 2, "{accepted:?}");
        let rotated = to_owner
            .iter()
            .find(|m| m.data.contains("client.secret_rotated"))
            .expect("the rotation notice");
        assert!(
            rotated.data.contains("Subject: [Latchkey]"),
            "{}",
            rotated.data
        );
        assert!(
            rotated
                .data
                .contains("From: Latchkey <latchkey@example.com>")
        );
        assert!(rotated.data.contains("you own this API client"));
        assert!(
            rotated.data.contains(&f.client_id),
            "names the Consumer Key"
        );
        assert!(rotated.data.contains(&app.base), "links the console");
        for message in &accepted {
            assert!(!message.data.contains(&f.client_secret));
            assert!(!message.data.contains("unheard"));
        }
        let to_admin = accepted
            .iter()
            .find(|m| m.to.iter().any(|to| to.contains("alice@example.com")))
            .expect("the administrator's copy");
        assert!(to_admin.data.contains("you administer this site"));
        assert!(
            mail_section(app).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["state"] == "Sent")
        );

        // A test message to oneself; a 550 is given up at once.
        sink.replies
            .lock()
            .unwrap()
            .push("550 5.1.1 no such mailbox");
        app.call_json("send_test_mail", &[("csrf", &f.csrf)], StatusCode::OK)
            .await;
        let again = app
            .call_json("send_test_mail", &[("csrf", &f.csrf)], StatusCode::CONFLICT)
            .await;
        assert!(again.to_string().contains("still on its way"), "{again}");
        assert_eq!(send(app, &url).await, 1);
        let newest = &mail_section(app).await["messages"][0];
        assert_eq!(newest["event"], "mail.test");
        assert_eq!(newest["recipient"], "alice@example.com");
        assert!(
            newest["state"].as_str().unwrap().starts_with("Gave up"),
            "{newest}"
        );
        assert!(
            newest["error"].as_str().unwrap().contains("550"),
            "{newest}"
        );

        // Off again: nothing more is queued.
        switch(app, &f.csrf, false, StatusCode::OK).await;
        let before = outbox(app).await.len();
        rotate(app, &f).await;
        assert_eq!(outbox(app).await.len(), before);
    })
    .await;
}

#[tokio::test]
async fn a_stalled_server_times_out_and_withdrawn_messages_are_not_sent() {
    on_each_backend_with(mail_on, async |app| {
        let f = fixture(app, "stalled", false).await;
        switch(app, &f.csrf, true, StatusCode::OK).await;
        // A server that accepts the connection and never greets.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_url = format!("smtp://{}", silent.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                held.push(socket);
            }
        });
        rotate(app, &f).await;
        let started = std::time::Instant::now();
        assert_eq!(send(app, &silent_url).await, 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let stalled = newest(app).await;
        assert_eq!(stalled["error"], "timed out", "{stalled}");

        // Queued for the owner, who is disabled before it goes: withdrawn, never sent.
        app.call_json(
            "set_user_disabled",
            &[
                ("csrf", &f.csrf),
                ("user_id", &f.user_id),
                ("disabled", "true"),
            ],
            StatusCode::OK,
        )
        .await;
        let (url, sink) = smtp_sink(Vec::new()).await;
        app.state.clock.advance(attempts::backoff(1) + 1);
        assert_eq!(send(app, &url).await, 0);
        assert!(sink.accepted().is_empty());
        let withdrawn = newest(app).await;
        assert!(
            withdrawn["state"].as_str().unwrap().starts_with("Gave up"),
            "{withdrawn}"
        );
        assert!(
            withdrawn["error"]
                .as_str()
                .unwrap()
                .contains("no longer active")
        );

        // Queued for an administrator who no longer is one when it goes: withdrawn too.
        let site = site_id(app).await;
        let bob = add_user(app, "bob", &[(&site, true, false)], StatusCode::OK).await;
        let bob = bob.as_str().unwrap().to_owned();
        let other = fixture(app, "leakedtoo", false).await;
        let leaked = reqwest::Client::new()
            .post(format!("{}/oauth/leaks", app.base))
            .form(&[("token", other.client_secret.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(leaked.status(), StatusCode::OK);
        assert!(
            outbox(app)
                .await
                .contains(&("bob@example.com".into(), "client.credential_leaked".into()))
        );
        app.call_json(
            "update_user_roles",
            &[
                ("csrf", &f.csrf),
                ("user_id", &bob),
                ("roles[0][site_id]", &site),
                ("roles[0][api_user]", "on"),
            ],
            StatusCode::OK,
        )
        .await;
        // The new client's owner (registered, leaked) and alice (leaked); not bob.
        assert_eq!(send(app, &url).await, 3, "{}", app.backend);
        let delivered: Vec<String> = sink.accepted().iter().flat_map(|m| m.to.clone()).collect();
        assert!(
            delivered.iter().all(|to| !to.contains("bob@")),
            "{delivered:?}"
        );
        assert_eq!(delivered.len(), 3, "{delivered:?}");

        // Turning e-mail off withdraws what is queued.
        let before = outbox(app).await.len();
        disable_client(app, &other).await;
        let queued = outbox(app).await.len();
        assert_eq!(
            queued,
            before + 1,
            "the owner of the disabled client is to be told"
        );
        switch(app, &f.csrf, false, StatusCode::OK).await;
        assert_eq!(send(app, &url).await, 0);
        assert_eq!(sink.accepted().len(), 3);
        assert_eq!(outbox(app).await.len(), queued);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_code_alarms_each_address_once_an_hour() {
    on_each_backend_with(mail_on, async |app| {
        let f = fixture(app, "replayed", false).await;
        switch(app, &f.csrf, true, StatusCode::OK).await;
        for _ in 0..2 {
            let code = code_for(app, &f, &[]).await;
            exchange(app, &f, &code).await;
            for _ in 0..3 {
                let replay = token(
                    app,
                    &f,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", &f.redirect_uri),
                    ],
                )
                .await;
                assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
            }
        }
        assert!(audited(app, "oauth.code_reuse_detected").await >= 2);
        let mut alarms: Vec<String> = outbox(app)
            .await
            .into_iter()
            .filter(|(_, event)| event == "oauth.code_reuse_detected")
            .map(|(to, _)| to)
            .collect();
        alarms.sort();
        assert_eq!(
            alarms,
            ["alice@example.com", "replayed@example.com"],
            "{}",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn e_mail_cannot_be_turned_on_without_an_smtp_server() {
    on_each_backend_with(
        |_| {},
        async |app| {
            let f = fixture(app, "unmailed", false).await;
            let refused = switch(app, &f.csrf, true, StatusCode::CONFLICT).await;
            assert!(refused.to_string().contains("--smtp-url"), "{refused}");
            assert_eq!(mail_section(app).await["enabled"], false);
            assert_eq!(mail_section(app).await["configured"], false);
        },
    )
    .await;
}

#[tokio::test]
async fn expiry_reminders_go_out_once_at_each_step_however_many_replicas_look() {
    on_each_backend_with(mail_on, async |app| {
        let f = fixture(app, "reminded", false).await;
        let site = site_id(app).await;
        app.call_json(
            "set_site_secret_lifetime",
            &[
                ("csrf", &f.csrf),
                ("site_id", &site),
                ("secret_lifetime", &(60 * DAY).to_string()),
            ],
            StatusCode::OK,
        )
        .await;
        switch(app, &f.csrf, true, StatusCode::OK).await;
        // A new secret that expires in 60 days (the fixture's own never does).
        rotate(app, &f).await;
        let queued_before = outbox(app).await.len();

        let (db, keys) = (&app.state.db, &app.state.keys);
        let run_twice = async |at: Timestamp| {
            let (a, b) = tokio::join!(
                reminders::announce_due(db, keys, at),
                reminders::announce_due(db, keys, at)
            );
            a.unwrap() + b.unwrap()
        };
        let start = app.state.clock.now();
        // 30, 14, 7 and 1 days before, each once; a day without a step sends nothing.
        for (day, expected) in [
            (0, 0),
            (29, 0),
            (30, 1),
            (30, 0),
            (31, 0),
            (46, 1),
            (47, 0),
            (53, 1),
            (59, 1),
            (59, 0),
        ] {
            let at = start.plus_seconds(day * DAY + 60);
            assert_eq!(
                run_twice(at).await,
                expected,
                "day {day} on {}",
                app.backend
            );
        }
        assert_eq!(audited(app, "client.secret_expiring").await, 4);
        assert_eq!(audited(app, "client.secret_expired").await, 0);
        // At the expiry: once.
        let after = start.plus_seconds(60 * DAY + 60);
        assert_eq!(run_twice(after).await, 1);
        assert_eq!(run_twice(after.plus_seconds(DAY)).await, 0);
        assert_eq!(audited(app, "client.secret_expired").await, 1);

        // Each reached the owner and the administrator by e-mail.
        let reminders: Vec<(String, String)> = outbox(app).await.split_off(queued_before);
        assert_eq!(reminders.len(), 10, "{reminders:?}");
        assert_eq!(
            reminders
                .iter()
                .filter(|(to, _)| to == "reminded@example.com")
                .count(),
            5
        );
        let summaries: Vec<String> = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("client.secret_expiring"))
            .order_by_asc(audit_event::Column::OccurredAt)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.summary)
            .collect();
        assert!(
            summaries[0].contains("expires within 30 days"),
            "{summaries:?}"
        );
        assert!(
            summaries[3].contains("expires within 1 day,"),
            "{summaries:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stale_client_is_announced_once_and_again_only_after_it_was_used() {
    on_each_backend_with(mail_on, async |app| {
        let f = fixture(app, "dusty", false).await;
        let db = &app.state.db;
        let keys = &app.state.keys;
        let after = 90 * DAY;
        let start = app.state.clock.now();
        let client_uuid: uuid::Uuid = f.client_uuid.parse().unwrap();
        assert_eq!(
            clients::announce_stale(db, keys, after, start)
                .await
                .unwrap(),
            0
        );
        // The setup's own clients, if any, are as old: count only ours.
        let later = start.plus_seconds(after + 60);
        let (a, b) = tokio::join!(
            clients::announce_stale(db, keys, after, later),
            clients::announce_stale(db, keys, after, later)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 1, "{}", app.backend);
        assert_eq!(
            clients::announce_stale(db, keys, after, later.plus_seconds(DAY))
                .await
                .unwrap(),
            0
        );
        let stale = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("client.stale"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stale.target_id.as_deref(), Some(f.client_id.as_str()));
        assert!(
            stale.summary.contains("since it was registered"),
            "{}",
            stale.summary
        );

        // Used again, then unused for another period: announced again.
        let used = later.plus_seconds(DAY);
        client::Entity::update_many()
            .col_expr(
                client::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(used.unix()),
            )
            .filter(client::Column::Id.eq(client_uuid))
            .exec(db)
            .await
            .unwrap();
        let quiet = used.plus_seconds(30 * DAY);
        assert_eq!(
            clients::announce_stale(db, keys, after, quiet)
                .await
                .unwrap(),
            0
        );
        let stale_again = used.plus_seconds(after + 60);
        assert_eq!(
            clients::announce_stale(db, keys, after, stale_again)
                .await
                .unwrap(),
            1
        );
        assert_eq!(audited(app, "client.stale").await, 2);
    })
    .await;
}

#[tokio::test]
async fn a_requested_application_and_its_approval_are_announced_by_e_mail() {
    on_each_backend_with(mail_on, async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        add_user(app, "paula", &[(&site, false, true)], StatusCode::OK).await;
        let csrf = app.csrf().await;
        switch(app, &csrf, true, StatusCode::OK).await;
        let browser =
            crate::account::account_browser(app, "paula", crate::helpers::USER_PASSWORD).await;
        let client_uuid = crate::account::requested(app, &browser, &site, "Paula Reports").await;
        app.call_json(
            "approve_request",
            &[("csrf", &csrf), ("client_uuid", &client_uuid)],
            StatusCode::OK,
        )
        .await;
        let (url, sink) = smtp_sink(vec![]).await;
        assert_eq!(send(app, &url).await, 2, "{}", app.backend);
        let accepted = sink.accepted();
        let to = |address: &str| {
            accepted
                .iter()
                .find(|m| m.to.iter().any(|rcpt| rcpt.contains(address)))
                .map(|m| m.data.clone())
                .unwrap_or_default()
        };
        assert!(
            to("alice@example.com").contains("requested by paula"),
            "{accepted:?}"
        );
        assert!(to("paula@example.com").contains("approved"), "{accepted:?}");
        let client_id = client::Entity::find_by_id(client_uuid.parse::<uuid::Uuid>().unwrap())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .client_id;
        assert!(to("paula@example.com").contains(&client_id));
        assert!(
            accepted.iter().all(|m| !m.data.contains("lkcs_")),
            "never a secret"
        );
    })
    .await;
}

#[tokio::test]
async fn a_machine_client_of_the_site_is_announced_to_its_administrators() {
    on_each_backend_with(mail_on, async |app| {
        app.complete_setup().await;
        let csrf = app.csrf().await;
        switch(app, &csrf, true, StatusCode::OK).await;
        let (url, sink) = smtp_sink(vec![]).await;
        // A client credentials client without an owner: the site's administrators hear of it
        // in the owner's stead.
        app.call_json(
            "register_client",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Nightly sync"),
                ("description", "Copies reports"),
                ("redirect_uri", "https://sync.example.com/unused"),
                ("grant_types", "client_credentials"),
                ("accept_terms", "on"),
            ],
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            outbox(app).await,
            [("alice@example.com".into(), "client.registered".into())],
            "{}",
            app.backend
        );
        let queued = mail_delivery::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            queued
                .body
                .contains("because this API client belongs to a site you administer"),
            "{}",
            queued.body
        );
        assert_eq!(send(app, &url).await, 1);
        assert_eq!(sink.accepted().len(), 1);
    })
    .await;
}
