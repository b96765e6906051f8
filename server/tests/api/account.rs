//! `/account`, the API users' own place (issue 21 items 1 and 3): its own door (API users in,
//! console administrators out, and the other way round), requested applications that stay
//! pending until a site administrator decides, the one-time hand-over of an approved request's
//! secret, rejection with a reason, and the rules that must hold under parallel requests.

use crate::helpers::{
    ADMIN, ADMIN_PASSWORD, TestApp, USER_PASSWORD, add_user, create_site, field_message,
    on_each_backend, site_id,
};
use crate::oauth_helpers::{Fixture, code_for, expect_error, token};
use app::server::entities::{audit_event, client, mail_delivery, site};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::Value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A browser signed in at `/account` as `username`.
pub async fn account_browser(app: &TestApp, username: &str, password: &str) -> reqwest::Client {
    let browser = app.new_client();
    let response = app
        .call_with(
            &browser,
            "account_sign_in",
            &[("username", username), ("password", password)],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{username} signs in at /account"
    );
    browser
}

async fn account_of(app: &TestApp, browser: &reqwest::Client) -> Value {
    app.call_with(browser, "get_account", &[])
        .await
        .json()
        .await
        .unwrap()
}

/// The anti-forgery token of the `/account` session of `browser`.
async fn account_csrf(app: &TestApp, browser: &reqwest::Client) -> String {
    account_of(app, browser).await["csrf"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Setup, and an API user `paula` of the first site. Returns the site id.
async fn with_api_user(app: &TestApp) -> String {
    app.complete_setup().await;
    let site = site_id(app).await;
    add_user(app, "paula", &[(&site, false, true)], StatusCode::OK).await;
    site
}

/// Paula asks for an application on `site`; returns the server's answer.
async fn request(
    app: &TestApp,
    browser: &reqwest::Client,
    site: &str,
    name: &str,
) -> reqwest::Response {
    let csrf = account_csrf(app, browser).await;
    app.call_with(
        browser,
        "request_application",
        &[
            ("csrf", &csrf),
            ("site_id", site),
            ("name", name),
            ("description", "Paula's reporting tool"),
            ("redirect_uri", "https://paula.example.com/callback"),
            ("scopes[0]", "profile"),
            ("accept_terms", "on"),
        ],
    )
    .await
}

/// Requests `name` on `site` as the user signed in to `browser`; returns the client's row id.
pub async fn requested(app: &TestApp, browser: &reqwest::Client, site: &str, name: &str) -> String {
    let response = request(app, browser, site, name).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "request on {}",
        app.backend
    );
    response
        .json::<Value>()
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

async fn decide(app: &TestApp, function: &str, client_uuid: &str, reason: &str) -> StatusCode {
    let csrf = app.csrf().await;
    let mut form = vec![("csrf", csrf.as_str()), ("client_uuid", client_uuid)];
    if function == "reject_request" {
        form.push(("reason", reason));
    }
    app.call(function, &form).await.status()
}

/// Calls `function` (an `/account` action on one client) as the user signed in to `browser`,
/// with their anti-forgery token; returns the status.
async fn on_client(
    app: &TestApp,
    browser: &reqwest::Client,
    function: &str,
    client_uuid: &str,
) -> StatusCode {
    let csrf = account_csrf(app, browser).await;
    app.call_with(
        browser,
        function,
        &[("csrf", &csrf), ("client_uuid", client_uuid)],
    )
    .await
    .status()
}

async fn client_row(app: &TestApp, client_uuid: &str) -> client::Model {
    client::Entity::find_by_id(client_uuid.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn actions(app: &TestApp) -> Vec<String> {
    audit_event::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// `GET /oauth/authorize` for `client_id` with PKCE: the status (an error page is 400, the
/// prompt 200).
async fn authorize_status(app: &TestApp, client_id: &str) -> StatusCode {
    app.browser
        .get(format!("{}/oauth/authorize", app.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", "https://paula.example.com/callback"),
            ("scope", "profile"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn api_users_and_administrators_each_keep_their_own_door() {
    on_each_backend(async |app| {
        with_api_user(app).await;
        // An administrator is refused at /account, an API user at the console, alike.
        let admin_browser = app.new_client();
        let refused = app
            .call_with(
                &admin_browser,
                "account_sign_in",
                &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(account_of(app, &admin_browser).await.is_null());
        let console = app
            .call_with(
                &app.new_client(),
                "sign_in",
                &[("username", "paula"), ("password", USER_PASSWORD)],
            )
            .await;
        assert_eq!(console.status(), StatusCode::BAD_REQUEST);

        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let account = account_of(app, &browser).await;
        assert_eq!(account["username"], "paula");
        assert_eq!(account["sites"], serde_json::json!(["Acme"]));
        // The account session is no console session.
        let console_session: Value = app
            .call_with(&browser, "get_console_session", &[])
            .await
            .json()
            .await
            .unwrap();
        assert!(console_session.is_null());
        // The page itself renders for the signed-in user and for a stranger.
        let page = browser
            .get(format!("{}/account", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("My applications"));
        let stranger = app
            .new_client()
            .get(format!("{}/account", app.base))
            .send()
            .await
            .unwrap();
        assert!(
            stranger
                .text()
                .await
                .unwrap()
                .contains("Sign in to your account")
        );

        // Sign-out needs the session's anti-forgery token.
        let forged = app
            .call_with(&browser, "account_sign_out", &[("csrf", "forged")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let csrf = account["csrf"].as_str().unwrap();
        let out = app
            .call_with(&browser, "account_sign_out", &[("csrf", csrf)])
            .await;
        assert_eq!(out.status(), StatusCode::OK);
        assert!(account_of(app, &browser).await.is_null());
        let signed = actions(app).await;
        for action in [
            "account.sign_in_failed",
            "account.signed_in",
            "account.signed_out",
        ] {
            assert!(signed.iter().any(|a| a == action), "{action} audited");
        }
    })
    .await;
}

#[tokio::test]
async fn a_requested_application_waits_for_approval_then_hands_its_secret_over_once() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        site::Entity::update(site::ActiveModel {
            id: Set(site.parse().unwrap()),
            email_notifications: Set(true),
            ..Default::default()
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        // Terms of Use and the fields are checked like the console's registration.
        let csrf = account_of(app, &browser).await["csrf"]
            .as_str()
            .unwrap()
            .to_owned();
        let refused: Value = app
            .call_with(
                &browser,
                "request_application",
                &[
                    ("csrf", &csrf),
                    ("site_id", &site),
                    ("name", " "),
                    ("description", "x"),
                    ("redirect_uri", "http://paula.example.com/cb"),
                ],
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(field_message(&refused, "name").is_some());
        assert!(field_message(&refused, "redirect_uri").is_some());
        assert!(field_message(&refused, "accept_terms").is_some());

        let client_uuid = requested(app, &browser, &site, "Paula's Reports").await;
        let account = account_of(app, &browser).await;
        let mine = &account["applications"][0];
        assert_eq!(mine["status"], "pending");
        assert_eq!(mine["secret_waiting"], false);
        let client_id = mine["client_id"].as_str().unwrap().to_owned();
        // Pending: no authorization, no token, whatever is presented.
        assert_eq!(
            authorize_status(app, &client_id).await,
            StatusCode::BAD_REQUEST
        );
        let row = client_row(app, &client_uuid).await;
        assert!(row.require_pkce, "a requested application requires PKCE");
        assert!(!row.is_active());

        // The administrators see it, with what was asked.
        let pending = app
            .call_json("get_pending_requests", &[], StatusCode::OK)
            .await;
        assert_eq!(pending[0]["client_id"], client_id.as_str());
        assert_eq!(pending[0]["requested_by"], "paula");
        assert_eq!(pending[0]["scopes"][0]["name"], "profile");
        let listed = app
            .call_json(
                "list_clients",
                &[("q", ""), ("sort", "name"), ("dir", ""), ("page", "0")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(listed["rows"][0]["status"], "pending");

        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::OK
        );
        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::CONFLICT,
            "decided once"
        );
        assert_eq!(
            decide(app, "reject_request", &client_uuid, "too late").await,
            StatusCode::CONFLICT
        );
        let pending = app
            .call_json("get_pending_requests", &[], StatusCode::OK)
            .await;
        assert_eq!(pending, serde_json::json!([]));

        // The owner sees the secret once: the page after the click, never again.
        let account = account_of(app, &browser).await;
        assert_eq!(account["applications"][0]["status"], "active");
        assert_eq!(account["applications"][0]["secret_waiting"], true);
        let show = [
            ("csrf", csrf.as_str()),
            ("client_uuid", client_uuid.as_str()),
        ];
        // A sign-in older than the re-authentication window: the password first.
        app.state.clock.advance(6 * 60);
        let asked = app.call_with(&browser, "show_owner_secret", &show).await;
        assert_eq!(asked.status(), StatusCode::UNAUTHORIZED);
        let mut with_password = show.to_vec();
        with_password.push(("current_password", "wrong"));
        let wrong: Value = app
            .call_with(&browser, "show_owner_secret", &with_password)
            .await
            .json()
            .await
            .unwrap();
        assert!(field_message(&wrong, "current_password").is_some());
        with_password.pop();
        with_password.push(("current_password", USER_PASSWORD));
        let shown = app
            .call_with(&browser, "show_owner_secret", &with_password)
            .await;
        assert_eq!(shown.status(), StatusCode::OK);
        let account = account_of(app, &browser).await;
        let secret = account["applications"][0]["shown_secret"][1]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(secret.starts_with("lkcs_"));
        let again = account_of(app, &browser).await;
        assert!(again["applications"][0]["shown_secret"].is_null());
        assert_eq!(again["applications"][0]["secret_waiting"], false);
        let twice = app.call_with(&browser, "show_owner_secret", &show).await;
        assert_eq!(twice.status(), StatusCode::CONFLICT);
        assert!(
            client_row(app, &client_uuid)
                .await
                .owner_secret_sealed
                .is_none()
        );

        // And it works: code + PKCE, then tokens.
        let fixture = Fixture {
            client_uuid: client_uuid.clone(),
            client_id: client_id.clone(),
            client_secret: secret,
            redirect_uri: "https://paula.example.com/callback".into(),
            username: "paula".into(),
            user_id: String::new(),
            password: USER_PASSWORD.into(),
            csrf: String::new(),
        };
        let code = code_for(
            app,
            &fixture,
            &[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        let issued = token(
            app,
            &fixture,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &fixture.redirect_uri),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(issued.status(), StatusCode::OK, "tokens on {}", app.backend);

        let recorded = actions(app).await;
        for action in [
            "client.requested",
            "client.approved",
            "client.secret_revealed",
            "account.reauthenticated",
        ] {
            assert!(recorded.iter().any(|a| a == action), "{action} audited");
        }
        // The administrators were told of the request, the owner of the approval.
        let mails = mail_delivery::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        let sent =
            |event: &str, to: &str| mails.iter().any(|m| m.event == event && m.recipient == to);
        assert!(sent("client.requested", "alice@example.com"));
        assert!(!sent("client.requested", "paula@example.com"));
        assert!(sent("client.approved", "paula@example.com"));
        assert!(
            mails.iter().all(|m| !m.body.contains("lkcs_")),
            "no secret by e-mail"
        );
    })
    .await;
}

#[tokio::test]
async fn a_rejected_request_never_authenticates_and_its_owner_reads_why() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let client_uuid = requested(app, &browser, &site, "Scraper").await;
        let csrf = app.csrf().await;
        let blank: Value = app
            .call_json(
                "reject_request",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &client_uuid),
                    ("reason", " \u{202e} "),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(field_message(&blank, "reason").is_some());
        assert_eq!(
            decide(
                app,
                "reject_request",
                &client_uuid,
                "Scraping is against the terms"
            )
            .await,
            StatusCode::OK
        );
        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::CONFLICT
        );
        let row = client_row(app, &client_uuid).await;
        assert_eq!(row.review, "rejected");
        assert!(row.owner_secret_sealed.is_none(), "its secret is gone");
        let account = account_of(app, &browser).await;
        assert_eq!(account["applications"][0]["status"], "rejected");
        assert_eq!(
            account["applications"][0]["rejection_reason"],
            "Scraping is against the terms"
        );
        assert_eq!(
            authorize_status(app, &row.client_id).await,
            StatusCode::BAD_REQUEST
        );
        // Enabling a rejected client through the disable switch changes nothing.
        let enable = app
            .call(
                "set_client_disabled",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &client_uuid),
                    ("disabled", "false"),
                ],
            )
            .await;
        assert_eq!(enable.status(), StatusCode::OK);
        assert!(!client_row(app, &client_uuid).await.is_active());
        let mine = app
            .call_json(
                "get_client",
                &[("client_uuid", &client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(mine["status"], "rejected");
        assert!(actions(app).await.iter().any(|a| a == "client.rejected"));

        // `latchkey client list --json` names each status: one more request stays pending.
        let waiting = requested(app, &browser, &site, "Still waiting").await;
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["client", "list", "--json"])
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
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        let status_of = |client_id: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["client_id"] == client_id)
                .map(|c| (c["status"].clone(), c["rejection_reason"].clone()))
                .unwrap()
        };
        assert_eq!(
            status_of(&row.client_id),
            (
                Value::from("rejected"),
                Value::from("Scraping is against the terms")
            )
        );
        let waiting = client_row(app, &waiting).await;
        assert_eq!(status_of(&waiting.client_id).0, "pending");

        // The operator decides from the command line as the console does, once.
        let cli = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                .args(args)
                .env("DATABASE_URL", app.database_url())
                .env("LATCHKEY_SECRET_KEY", app.master_key_hex())
                .env("LATCHKEY_LOG", "warn")
                .output()
                .unwrap()
        };
        let blank = cli(&[
            "client",
            "reject",
            "--client-id",
            &waiting.client_id,
            "--reason",
            " ",
        ]);
        assert!(!blank.status.success());
        assert!(String::from_utf8_lossy(&blank.stderr).contains("--reason"));
        let approved = cli(&["client", "approve", "--client-id", &waiting.client_id]);
        assert!(
            approved.status.success(),
            "{}",
            String::from_utf8_lossy(&approved.stderr)
        );
        let approved: Value = serde_json::from_slice(&approved.stdout).unwrap();
        assert_eq!(approved["status"], "active");
        let again = cli(&["client", "approve", "--client-id", &waiting.client_id]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already approved"));
        assert!(client_row(app, &waiting.id.to_string()).await.is_active());
    })
    .await;
}

#[tokio::test]
async fn parallel_requests_and_decisions_cannot_slip_past_the_rules() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        // Eight requests at once: the limit of waiting requests holds.
        let names: Vec<String> = (0..8).map(|n| format!("App {n}")).collect();
        let results = futures_util::future::join_all(
            names.iter().map(|name| request(app, &browser, &site, name)),
        )
        .await;
        let ok = results
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count();
        let conflict = results
            .iter()
            .filter(|r| r.status() == StatusCode::CONFLICT)
            .count();
        assert_eq!((ok, conflict), (5, 3), "on {}", app.backend);
        let pending = app
            .call_json("get_pending_requests", &[], StatusCode::OK)
            .await;
        assert_eq!(pending.as_array().unwrap().len(), 5);

        // Approve and reject the same request at once: exactly one wins.
        let target = pending[0]["id"].as_str().unwrap().to_owned();
        let (approve, reject) = tokio::join!(
            decide(app, "approve_request", &target, ""),
            decide(app, "reject_request", &target, "no")
        );
        let statuses = [approve, reject];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{statuses:?} on {}",
            app.backend
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CONFLICT)
                .count(),
            1
        );
        let decided = client_row(app, &target).await;
        assert_eq!(decided.is_active(), approve == StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn another_sites_administrator_cannot_see_or_decide_a_request() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let client_uuid = requested(app, &browser, &site, "Mine").await;
        let other = create_site(app, "Other").await;
        add_user(app, "bob", &[(&other, true, false)], StatusCode::OK).await;
        let bob = app.new_client();
        let signed = app
            .call_with(
                &bob,
                "sign_in",
                &[("username", "bob"), ("password", USER_PASSWORD)],
            )
            .await;
        assert_eq!(signed.status(), StatusCode::OK);
        let session: Value = app
            .call_with(&bob, "get_console_session", &[])
            .await
            .json()
            .await
            .unwrap();
        let csrf = session["csrf"].as_str().unwrap();
        let listed: Value = app
            .call_with(&bob, "get_pending_requests", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed, serde_json::json!([]));
        for function in ["approve_request", "reject_request"] {
            let tried = app
                .call_with(
                    &bob,
                    function,
                    &[
                        ("csrf", csrf),
                        ("client_uuid", &client_uuid),
                        ("reason", "mine now"),
                    ],
                )
                .await;
            assert_eq!(tried.status(), StatusCode::NOT_FOUND, "{function}");
        }
        // Paula cannot ask on a site where she is no API user.
        let elsewhere = request(app, &browser, &other, "Sneaky").await;
        assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
        assert_eq!(client_row(app, &client_uuid).await.review, "pending");

        // A deleted request cannot be decided (and comes back pending if restored).
        let csrf = app.csrf().await;
        app.call_json(
            "delete_client",
            &[("csrf", &csrf), ("client_uuid", &client_uuid)],
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(client_row(app, &client_uuid).await.review, "pending");
        assert!(
            client_row(app, &client_uuid)
                .await
                .owner_secret_sealed
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn changing_the_account_password_ends_the_other_sessions() {
    on_each_backend(async |app| {
        with_api_user(app).await;
        let here = account_browser(app, "paula", USER_PASSWORD).await;
        let there = account_browser(app, "paula", USER_PASSWORD).await;
        let csrf = account_of(app, &here).await["csrf"]
            .as_str()
            .unwrap()
            .to_owned();
        let wrong: Value = app
            .call_with(
                &here,
                "change_account_password",
                &[
                    ("csrf", &csrf),
                    ("current_password", "nope"),
                    ("password", "a brand new passphrase"),
                ],
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(field_message(&wrong, "current_password").is_some());
        let changed = app
            .call_with(
                &here,
                "change_account_password",
                &[
                    ("csrf", &csrf),
                    ("current_password", USER_PASSWORD),
                    ("password", "a brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert!(
            !account_of(app, &here).await.is_null(),
            "this session stays"
        );
        assert!(
            account_of(app, &there).await.is_null(),
            "the other one ends"
        );
        let old = app
            .call_with(
                &app.new_client(),
                "account_sign_in",
                &[("username", "paula"), ("password", USER_PASSWORD)],
            )
            .await;
        assert_eq!(old.status(), StatusCode::BAD_REQUEST);
        account_browser(app, "paula", "a brand new passphrase").await;
    })
    .await;
}

/// Token requests of a pending client are refused like a disabled client's.
#[tokio::test]
async fn a_pending_client_gets_invalid_client_at_the_token_endpoint() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let client_uuid = requested(app, &browser, &site, "Early bird").await;
        // A request has no secret; an administrator can make one while it is pending, and even
        // then the client stays refused.
        let csrf = app.csrf().await;
        let rotated = app
            .call(
                "rotate_client_secret",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &client_uuid),
                    ("grace", "0"),
                    ("tokens", "keep"),
                    ("current_password", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(rotated.status(), StatusCode::OK);
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &client_uuid)],
                StatusCode::OK,
            )
            .await;
        let row = client_row(app, &client_uuid).await;
        assert!(
            row.owner_secret_sealed.is_none(),
            "the owner's view is withdrawn"
        );
        let fixture = Fixture {
            client_uuid: client_uuid.clone(),
            client_id: row.client_id.clone(),
            client_secret: detail["revealed"][1].as_str().unwrap().to_owned(),
            redirect_uri: row.redirect_uri.clone(),
            username: "paula".into(),
            user_id: String::new(),
            password: USER_PASSWORD.into(),
            csrf: String::new(),
        };
        let refused = token(
            app,
            &fixture,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "lkrt_nothing"),
            ],
        )
        .await;
        expect_error(refused, StatusCode::UNAUTHORIZED, "invalid_client").await;
    })
    .await;
}

#[tokio::test]
async fn connected_applications_are_listed_and_revoked_by_their_user_only() {
    on_each_backend(async |app| {
        let f = crate::oauth_helpers::fixture(app, "carl", false).await;
        let code = code_for(app, &f, &[]).await;
        let tokens = crate::oauth_helpers::exchange(app, &f, &code).await;
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let access = tokens["access_token"].as_str().unwrap().to_owned();

        let carl = account_browser(app, "carl", &f.password).await;
        let account = account_of(app, &carl).await;
        let connection = &account["connections"][0];
        assert_eq!(connection["name"], "App of carl");
        assert_eq!(connection["site"], "Acme");
        assert_eq!(connection["scopes"], serde_json::json!(["profile"]));
        assert_eq!(account["connections"].as_array().unwrap().len(), 1);
        let client_uuid = connection["id"].as_str().unwrap().to_owned();

        // Someone else cannot withdraw Carl's grant, even knowing the client.
        let site = site_id(app).await;
        add_user(app, "paula", &[(&site, false, true)], StatusCode::OK).await;
        let paula = account_browser(app, "paula", USER_PASSWORD).await;
        assert_eq!(
            account_of(app, &paula).await["connections"],
            serde_json::json!([])
        );
        assert_eq!(
            on_client(app, &paula, "revoke_connection", &client_uuid).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            crate::oauth_helpers::me(app, &access).await.status(),
            StatusCode::OK
        );

        let csrf = account["csrf"].as_str().unwrap();
        let forged = app
            .call_with(
                &carl,
                "revoke_connection",
                &[("csrf", "x"), ("client_uuid", &client_uuid)],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let revoked = app
            .call_with(
                &carl,
                "revoke_connection",
                &[("csrf", csrf), ("client_uuid", &client_uuid)],
            )
            .await;
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(
            account_of(app, &carl).await["connections"],
            serde_json::json!([])
        );
        // Every token of the grant stops at once; the client's next refresh gets invalid_grant.
        assert_eq!(
            crate::oauth_helpers::me(app, &access).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let refreshed = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        expect_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let again = app
            .call_with(
                &carl,
                "revoke_connection",
                &[("csrf", csrf), ("client_uuid", &client_uuid)],
            )
            .await;
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
        assert!(
            actions(app)
                .await
                .iter()
                .any(|a| a == "token.revoked_by_user")
        );
    })
    .await;
}

/// A request that waited is not born old: its secret's lifetime starts at approval, and it is
/// not announced as stale for the time it spent waiting (nor while it waits).
#[tokio::test]
async fn a_request_that_waited_gets_a_fresh_secret_and_no_stale_notice() {
    use app::server::{entities::client_secret, services::clients::announce_stale};
    use sea_orm::{ColumnTrait, QueryFilter};
    const DAY: i64 = 86_400;
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        site::Entity::update(site::ActiveModel {
            id: Set(site.parse().unwrap()),
            secret_lifetime: Set(Some(30 * DAY)),
            ..Default::default()
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let client_uuid = requested(app, &browser, &site, "Patient").await;
        let id: uuid::Uuid = client_uuid.parse().unwrap();
        let slots = || async {
            client_secret::Entity::find()
                .filter(client_secret::Column::ClientUuid.eq(id))
                .all(&app.state.db)
                .await
                .unwrap()
        };
        assert!(slots().await.is_empty(), "no secret while pending");

        app.state.clock.advance(40 * DAY);
        let stale = announce_stale(
            &app.state.db,
            &app.state.keys,
            30 * DAY,
            app.state.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(stale, 0, "a waiting request is not stale");
        // Forty days on, both have to sign in again.
        app.sign_in(ADMIN, ADMIN_PASSWORD).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::OK
        );
        let approved_at = app.state.clock.now().unix();
        let made = slots().await;
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].valid_until, Some(approved_at + 30 * DAY));
        let stale = announce_stale(
            &app.state.db,
            &app.state.keys,
            30 * DAY,
            app.state.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(stale, 0, "approved just now: not stale for having waited");

        assert_eq!(
            on_client(app, &browser, "show_owner_secret", &client_uuid).await,
            StatusCode::OK
        );
        assert!(
            account_of(app, &browser).await["applications"][0]["shown_secret"][1]
                .as_str()
                .unwrap()
                .starts_with("lkcs_")
        );
    })
    .await;
}

/// A secret retired before its owner looked is not shown: only a working one is worth showing.
#[tokio::test]
async fn a_secret_retired_before_its_owner_looked_is_not_shown() {
    on_each_backend(async |app| {
        let site = with_api_user(app).await;
        let browser = account_browser(app, "paula", USER_PASSWORD).await;
        let client_uuid = requested(app, &browser, &site, "Leaky").await;
        assert_eq!(
            decide(app, "approve_request", &client_uuid, "").await,
            StatusCode::OK
        );
        // Its only secret is quarantined (as a leak report would) before the owner looks.
        use app::server::entities::client_secret;
        use sea_orm::{ColumnTrait, QueryFilter};
        let id: uuid::Uuid = client_uuid.parse().unwrap();
        client_secret::Entity::update_many()
            .col_expr(
                client_secret::Column::RetiredAt,
                sea_orm::sea_query::Expr::value(app.state.clock.now().unix()),
            )
            .filter(client_secret::Column::ClientUuid.eq(id))
            .exec(&app.state.db)
            .await
            .unwrap();
        assert_eq!(
            on_client(app, &browser, "show_owner_secret", &client_uuid).await,
            StatusCode::CONFLICT
        );
        assert!(
            client_row(app, &client_uuid)
                .await
                .owner_secret_sealed
                .is_none()
        );
    })
    .await;
}
