//! The real `latchkey` binary as a process (issue 17, "prove the class is gone"):
//! - crash safety: SIGKILL under token and console load, restart, and nothing is half written
//!   (every client has its secret, scopes and Terms record; every grant, token and user is
//!   whole) and `latchkey audit verify` passes;
//! - SIGTERM drains: requests in flight when it arrives are answered, then the process exits;
//! - no secret in the log: the whole flow at debug level, and no password, client secret,
//!   code or token appears in what the server wrote.

use crate::helpers::{answers_health, free_port};
use crate::oauth_helpers::{basic, form_fields, location_params, param};
use app::server::testing::{TestDatabases, TestDb};
use reqwest::StatusCode;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const KEY: &str = "00000000000000000000000000000000000000000000000000000000000000a7";
const SETUP_TOKEN: &str = "process-test-setup-token-0123456789";
const ADMIN_PASSWORD: &str = "process admin passphrase";
const API_PASSWORD: &str = "process api user passphrase";

/// A running `latchkey serve` and where it writes its log.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

/// Starts the binary on `db` and waits until it answers.
async fn start(db: &TestDb, log_level: &str, name: &str) -> Server {
    let port = free_port();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("process-{}-{name}-{port}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_SECRET_KEY", KEY)
        .env("LATCHKEY_SETUP_TOKEN", SETUP_TOKEN)
        .env("LATCHKEY_LOG", log_level)
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LEPTOS_SITE_ROOT", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    if answers_health(&base).await {
        return Server { child, base, log };
    }
    child.kill().ok();
    child.wait().ok();
    panic!(
        "the server did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    function: &str,
    form: &[(&str, &str)],
) -> Value {
    let response = client
        .post(format!("{base}/api/{function}"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{function}: {status} {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// What one flow through the server leaves in hand (and must never appear in its log).
struct Flow {
    console: reqwest::Client,
    csrf: String,
    owner_id: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    /// Every code, access and refresh token the flow saw.
    secrets: Vec<String>,
}

/// Setup, an API user, a client (secret revealed too), and one authorization walked in a
/// browser: the console and the prompt as people use them.
async fn walk_the_flow(server: &Server) -> Flow {
    walk_the_flow_at(&server.base, SETUP_TOKEN).await
}

/// [`walk_the_flow`] on the server at `base`, set up with `setup_token`.
async fn walk_the_flow_at(base: &str, setup_token: &str) -> Flow {
    let console = browser();
    call(
        &console,
        base,
        "complete_setup",
        &[
            ("setup_token", setup_token),
            ("site_name", "Process"),
            ("username", "proc-admin"),
            ("email", "proc-admin@example.com"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    let session = call(&console, base, "get_console_session", &[]).await;
    let csrf = session["csrf"].as_str().unwrap().to_owned();
    let site = session["site"]["id"].as_str().unwrap().to_owned();
    let user = call(
        &console,
        base,
        "create_user",
        &[
            ("csrf", &csrf),
            ("username", "proc-api"),
            ("email", "proc-api@example.com"),
            ("password", API_PASSWORD),
            ("roles[0][site_id]", &site),
            ("roles[0][api_user]", "on"),
        ],
    )
    .await;
    let redirect_uri = "https://proc.example.com/cb".to_owned();
    let client_uuid = call(
        &console,
        base,
        "register_client",
        &[
            ("csrf", &csrf),
            ("name", "Process App"),
            ("description", "Walks the flow"),
            ("redirect_uri", &redirect_uri),
            ("owner", user.as_str().unwrap()),
            ("accept_terms", "on"),
        ],
    )
    .await;
    let client_uuid = client_uuid.as_str().unwrap().to_owned();
    let detail = call(
        &console,
        base,
        "get_client",
        &[("client_uuid", &client_uuid)],
    )
    .await;
    let client_id = detail["client_id"].as_str().unwrap().to_owned();
    let client_secret = detail["revealed"][1].as_str().unwrap().to_owned();
    // Reveal it again (with the password, as after a while).
    let slot = detail["secrets"][0]["id"].as_str().unwrap().to_owned();
    call(
        &console,
        base,
        "reveal_client_secret",
        &[
            ("csrf", &csrf),
            ("client_uuid", &client_uuid),
            ("slot_id", &slot),
            ("current_password", ADMIN_PASSWORD),
        ],
    )
    .await;
    let mut flow = Flow {
        console,
        csrf,
        owner_id: user.as_str().unwrap().to_owned(),
        client_id,
        client_secret,
        redirect_uri,
        secrets: Vec::new(),
    };
    let tokens = authorize_and_exchange(base, &flow).await;
    flow.secrets.extend(tokens);
    flow
}

/// One authorization through the prompt and its code exchange; returns the code and tokens.
async fn authorize_and_exchange(base: &str, flow: &Flow) -> Vec<String> {
    let prompt_browser = browser();
    let html = prompt_browser
        .get(format!("{base}/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", flow.client_id.as_str()),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("scope", "profile"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = form_fields(&html)
        .into_iter()
        .filter(|(name, _)| name != "username" && name != "password")
        .collect();
    form.push(("username".into(), "proc-api".into()));
    form.push(("password".into(), API_PASSWORD.into()));
    form.push(("decision".into(), "allow".into()));
    let decided = prompt_browser
        .post(format!("{base}/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let (_, params) = location_params(&decided);
    let code = param(&params, "code").unwrap().to_owned();
    let tokens: Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .header("authorization", basic(&flow.client_id, &flow.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", flow.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    vec![
        code,
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
    ]
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The checks that nothing is half written, as SQL counts that must all be zero.
const HALF_WRITTEN: &[(&str, &str)] = &[
    (
        "clients without a secret",
        "SELECT COUNT(*) AS n FROM clients c WHERE NOT EXISTS (SELECT 1 FROM client_secrets s WHERE s.client_uuid = c.id)",
    ),
    (
        "clients without scopes",
        "SELECT COUNT(*) AS n FROM clients c WHERE NOT EXISTS (SELECT 1 FROM client_scopes s WHERE s.client_uuid = c.id)",
    ),
    (
        "clients without a Terms of Use record",
        "SELECT COUNT(*) AS n FROM clients c WHERE NOT EXISTS (SELECT 1 FROM terms_acceptances t WHERE t.client_uuid = c.id)",
    ),
    (
        "users without a site",
        "SELECT COUNT(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM site_memberships m WHERE m.user_id = u.id)",
    ),
    (
        "grants without an access token",
        "SELECT COUNT(*) AS n FROM token_families f WHERE NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.family_id = f.id)",
    ),
    (
        "grants whose code is not spent",
        "SELECT COUNT(*) AS n FROM token_families f JOIN authorization_codes c ON c.code_hash = f.code_hash WHERE c.consumed_at IS NULL",
    ),
];

async fn count(db: &TestDb, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.conn.get_database_backend();
    db.conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

#[tokio::test]
async fn sigkill_under_load_leaves_nothing_half_written_and_the_audit_log_verifies() {
    for db in TestDatabases::all().await {
        let server = start(&db, "warn", "kill").await;
        let flow = walk_the_flow(&server).await;
        // Load: exchanges and refreshes of fresh grants, and console registrations, until
        // the process is killed in the middle of them.
        let base = server.base.clone();
        let mut load = Vec::new();
        for worker in 0..4 {
            let (base, console, csrf) = (base.clone(), flow.console.clone(), flow.csrf.clone());
            let owner = flow.owner_id.clone();
            let (client_id, secret) = (flow.client_id.clone(), flow.client_secret.clone());
            let refresh = flow.secrets[2].clone();
            load.push(tokio::spawn(async move {
                let mut n = 0;
                loop {
                    n += 1;
                    let name = format!("Load {worker}-{n}");
                    let registered = console
                        .post(format!("{base}/api/register_client"))
                        .header("accept", "application/json")
                        .form(&[
                            ("csrf", csrf.as_str()),
                            ("name", name.as_str()),
                            ("description", "Registered under load"),
                            ("redirect_uri", "https://load.example.com/cb"),
                            ("owner", owner.as_str()),
                            ("accept_terms", "on"),
                        ])
                        .send()
                        .await;
                    let refreshed = reqwest::Client::new()
                        .post(format!("{base}/oauth/token"))
                        .header("authorization", basic(&client_id, &secret))
                        .form(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", refresh.as_str()),
                        ])
                        .send()
                        .await;
                    if registered.is_err() && refreshed.is_err() {
                        break;
                    }
                }
            }));
        }
        // More authorizations while the load runs.
        for _ in 0..3 {
            authorize_and_exchange(&server.base, &flow).await;
        }
        let mut server = server;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for task in load {
            task.await.unwrap();
        }

        // Restart on the same database: it comes up, and nothing is half written.
        let restarted = start(&db, "warn", "restart").await;
        for (what, sql) in HALF_WRITTEN {
            assert_eq!(count(&db, sql).await, 0, "{what} on {}", db.name);
        }
        // Every grant's tokens were recorded in the same transaction as the grant.
        {
            use app::server::entities::{audit_event, token_family};
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let issued: Vec<String> = audit_event::Entity::find()
                .filter(audit_event::Column::Action.eq("oauth.token_issued"))
                .all(&db.conn)
                .await
                .unwrap()
                .into_iter()
                .map(|event| event.details)
                .collect();
            for family in token_family::Entity::find().all(&db.conn).await.unwrap() {
                let id = family.id.to_string();
                assert!(
                    issued.iter().any(|details| details.contains(&id)),
                    "grant {id} has no audit event on {}",
                    db.name
                );
            }
        }
        let verify = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["audit", "verify"])
            .env("DATABASE_URL", &db.url)
            .env("LATCHKEY_SECRET_KEY", KEY)
            .env("LATCHKEY_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "audit verify after a crash on {}: {}",
            db.name,
            String::from_utf8_lossy(&verify.stderr)
        );
        let mut restarted = restarted;
        restarted.child.kill().unwrap();
        restarted.child.wait().unwrap();
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sigterm_answers_the_requests_in_flight_then_exits() {
    for db in TestDatabases::all().await {
        let mut server = start(&db, "info", "term").await;
        let flow = walk_the_flow(&server).await;
        // Sign-ins take a password hash each: slow enough to be in flight at the signal.
        let mut in_flight = Vec::new();
        for _ in 0..4 {
            let base = server.base.clone();
            in_flight.push(tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/api/sign_in"))
                    .header("accept", "application/json")
                    .form(&[("username", "proc-admin"), ("password", ADMIN_PASSWORD)])
                    .send()
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        signal(&server.child, "TERM");
        for request in in_flight {
            let response = request.await.unwrap().expect("answered, not cut off");
            assert!(
                !response.status().is_server_error(),
                "{} on {}",
                response.status(),
                db.name
            );
        }
        let status = server.child.wait().unwrap();
        assert!(status.success(), "exit status {status:?}");
        let log = std::fs::read_to_string(&server.log).unwrap();
        assert!(log.contains("shutting down"), "{log}");
        let _ = flow;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_whole_flow_at_debug_level_logs_no_password_secret_code_or_token() {
    for db in TestDatabases::all().await {
        let mut server = start(&db, "debug", "log").await;
        let mut flow = walk_the_flow(&server).await;
        let base = server.base.clone();
        // Refresh, introspect, call the API, revoke: every token endpoint once.
        let refreshed: Value = reqwest::Client::new()
            .post(format!("{base}/oauth/token"))
            .header("authorization", basic(&flow.client_id, &flow.client_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", flow.secrets[2].as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = refreshed["access_token"].as_str().unwrap().to_owned();
        flow.secrets.push(access.clone());
        flow.secrets
            .push(refreshed["refresh_token"].as_str().unwrap().to_owned());
        for (path, form) in [
            ("/oauth/introspect", vec![("token", access.as_str())]),
            ("/oauth/revoke", vec![("token", access.as_str())]),
        ] {
            reqwest::Client::new()
                .post(format!("{base}{path}"))
                .basic_auth(&flow.client_id, Some(&flow.client_secret))
                .form(&form)
                .send()
                .await
                .unwrap();
        }
        reqwest::Client::new()
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        // A failed sign-in and a failed client authentication are logged too.
        reqwest::Client::new()
            .post(format!("{base}/api/sign_in"))
            .header("accept", "application/json")
            .form(&[
                ("username", "proc-admin"),
                ("password", "wrong secret passphrase"),
            ])
            .send()
            .await
            .unwrap();
        signal(&server.child, "TERM");
        server.child.wait().unwrap();
        let log = std::fs::read_to_string(&server.log).unwrap();
        assert!(log.contains("DEBUG"), "the log ran at debug level");
        let mut secrets = flow.secrets.clone();
        secrets.extend([
            ADMIN_PASSWORD.to_owned(),
            API_PASSWORD.to_owned(),
            "wrong secret passphrase".to_owned(),
            flow.client_secret.clone(),
            flow.csrf.clone(),
        ]);
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "the log holds a secret ({}…) on {}",
                &secret[..8],
                db.name
            );
        }
        db.cleanup().await;
    }
}

/// The installed Debian package (`make package-test`: `packaging/test.sh` installs it, starts
/// the service from its systemd unit and points this test at it): first-run setup, an API user
/// and a client in the console, the whole authorization, the API, and the console's bundle
/// served from the package's site directory.
#[tokio::test]
#[ignore = "run by `make package-test` against the package it installed and started"]
async fn the_installed_package_completes_the_flow() {
    let base = std::env::var("LATCHKEY_PACKAGE_URL").expect("LATCHKEY_PACKAGE_URL");
    let token =
        std::env::var("LATCHKEY_PACKAGE_SETUP_TOKEN").expect("LATCHKEY_PACKAGE_SETUP_TOKEN");
    let flow = walk_the_flow_at(&base, &token).await;
    let me: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&flow.secrets[1])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "proc-api", "{me}");
    assert_eq!(me["client_id"], flow.client_id.as_str(), "{me}");
    let page = reqwest::get(format!("{base}/sign-in")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let script = html
        .split('"')
        .find(|part| part.starts_with("/pkg/") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no script in the page: {html}"))
        .to_owned();
    let bundle = reqwest::get(format!("{base}{script}")).await.unwrap();
    assert_eq!(bundle.status(), StatusCode::OK, "{script}");
}
