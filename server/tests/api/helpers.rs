//! `spawn_app`: a real Latchkey on a random port over a fresh database, and a cookie-keeping
//! HTTP client to talk to it like a browser without JavaScript would (or like its WASM does).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use app::{
    domain::Timestamp,
    server::{
        AppState, Clock, Settings,
        testing::{TestDatabases, TestDb},
    },
};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use server::{
    middleware::HttpPolicy,
    startup::{Mode, build_router},
};
use std::{net::SocketAddr, path::PathBuf, sync::LazyLock};

/// The setup token every test server accepts.
pub const SETUP_TOKEN: &str = "test-setup-token-0123456789";
/// The first administrator created by [`TestApp::complete_setup`].
pub const ADMIN: &str = "alice";
/// Their password.
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A file of the compiled bundle every test server serves from its site root (`/pkg/…`).
pub const BUNDLE_FILE: &str = "chunk_test.wasm";

/// Its contents: the smallest valid WASM module.
pub const BUNDLE_BYTES: &[u8] = b"\0asm\x01\0\0\0";

/// What crawlers are told (`public/robots.txt`, copied to the site root by cargo-leptos).
pub const ROBOTS_TXT: &str = include_str!("../../../public/robots.txt");

/// The test servers' site root: a directory holding [`BUNDLE_FILE`] and the real
/// `public/robots.txt`, made once per test process under cargo's scratch
/// directory for integration tests (inside the target directory, so `cargo clean` removes it).
static SITE_ROOT: LazyLock<PathBuf> = LazyLock::new(|| {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("test-site-{}", std::process::id()));
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg").join(BUNDLE_FILE), BUNDLE_BYTES).unwrap();
    std::fs::write(root.join("robots.txt"), ROBOTS_TXT).unwrap();
    root
});

/// The test servers' master key (`TestApp::master_key_hex` spells it for the CLI).
const MASTER_KEY: [u8; 32] = [0x2a; 32];

/// A running server and a client with its own cookie jar.
pub struct TestApp {
    /// The address it listens on.
    pub address: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Keeps cookies; never follows redirects (tests look at them).
    pub client: reqwest::Client,
    /// The API user's browser at the authorization prompt: keeps cookies, follows no
    /// redirects. One per server (a client must not outlive the runtime of its test).
    pub browser: reqwest::Client,
    /// The server's state (same database, same manual clock).
    pub state: AppState,
    /// Which backend (`sqlite`/`postgres`), for messages.
    pub backend: &'static str,
    db: Option<TestDb>,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts Latchkey over `db` with a manual clock set to the real time.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// [`spawn_app`] with settings changed by `configure`.
pub async fn spawn_app_with(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let clock = Clock::manual(Timestamp(Clock::System.now().unix()));
    let mut app = serve(db.conn.clone(), db.name, clock, configure).await;
    app.db = Some(db);
    app
}

/// Server errors are printed (with the test's output) so a failure shows its cause; set
/// `LATCHKEY_TEST_LOG` (e.g. `debug`) for more.
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("LATCHKEY_TEST_LOG").unwrap_or_else(|_| "error".into());
        let builder = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_thread_names(true);
        // `LATCHKEY_TEST_LOG_FILE` keeps every test's log in one file, panics included: the
        // harness shows a test's captured output only when that test fails.
        let _ = match std::env::var_os("LATCHKEY_TEST_LOG_FILE") {
            Some(path) => {
                let default_hook = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| {
                    tracing::error!("panic: {info}");
                    default_hook(info);
                }));
                let file = std::fs::File::create(path).unwrap();
                builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init()
            }
            None => builder.with_test_writer().try_init(),
        };
    });
}

async fn serve(
    conn: sea_orm::DatabaseConnection,
    backend: &'static str,
    clock: Clock,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    serve_with_policy(conn, backend, clock, configure, false).await
}

/// Starts Latchkey over `db` as `latchkey serve --trusted-proxy` would: behind a TLS proxy
/// (Secure cookies, HSTS, forwarded client addresses).
pub async fn spawn_behind_proxy(db: TestDb) -> TestApp {
    let clock = Clock::manual(Timestamp(Clock::System.now().unix()));
    let mut app = serve_with_policy(db.conn.clone(), db.name, clock, |_| {}, true).await;
    app.db = Some(db);
    app
}

async fn serve_with_policy(
    conn: sea_orm::DatabaseConnection,
    backend: &'static str,
    clock: Clock,
    configure: impl FnOnce(&mut Settings),
    trusted_proxy: bool,
) -> TestApp {
    init_logging();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let base = format!("http://{address}");
    let mut settings = Settings {
        public_url: base.clone(),
        secure_cookies: trusted_proxy,
        ..Settings::default()
    };
    configure(&mut settings);
    let state = AppState::new(
        conn,
        settings,
        &MASTER_KEY,
        clock,
        Some(SETUP_TOKEN.to_owned()),
    )
    .unwrap();
    let router = test_router(&state, address, trusted_proxy);
    // As in `latchkey serve`: notice credential changes made by other processes.
    tokio::spawn(app::server::cache::watch_epoch(state.db.clone()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        address,
        base,
        client: http_client(),
        browser: http_client(),
        state,
        backend,
        db: None,
    }
}

/// The application a test server at `address` serves, over `state`.
pub fn test_router(state: &AppState, address: SocketAddr, trusted_proxy: bool) -> axum::Router {
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("latchkey")
        .site_root(SITE_ROOT.to_string_lossy().into_owned())
        .site_addr(address)
        .build();
    let policy = HttpPolicy {
        trusted_proxy,
        secure: trusted_proxy,
        public_origin: format!("http://{address}"),
        // On in tests, so every test runs through the metrics layers.
        metrics: true,
    };
    build_router(state.clone(), leptos_options, policy, Mode::Full)
}

/// Runs `test` against a fresh server on SQLite, then on PostgreSQL.
pub async fn on_each_backend(test: impl AsyncFn(&TestApp)) {
    for db in TestDatabases::all().await {
        let app = spawn_app(db).await;
        test(&app).await;
        app.cleanup().await;
    }
}

/// Like [`on_each_backend`], with settings changed by `configure`.
pub async fn on_each_backend_with(configure: impl Fn(&mut Settings), test: impl AsyncFn(&TestApp)) {
    for db in TestDatabases::all().await {
        let app = spawn_app_with(db, &configure).await;
        test(&app).await;
        app.cleanup().await;
    }
}

impl TestApp {
    /// The URL of the server's database, for running the `latchkey` binary against it.
    pub fn database_url(&self) -> &str {
        self.db.as_ref().map_or("", |db| db.url.as_str())
    }

    /// The server's master key as `LATCHKEY_SECRET_KEY` spells it (64 hex characters).
    pub fn master_key_hex(&self) -> String {
        MASTER_KEY
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Removes the test database (if this app owns it).
    pub async fn cleanup(self) {
        if let Some(db) = self.db {
            db.cleanup().await;
        }
    }

    /// Another server on the same database and clock (a replica, or a restart with new
    /// settings). Its client is signed out.
    pub async fn sibling(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        serve(
            self.state.db.clone(),
            self.backend,
            self.state.clock.clone(),
            configure,
        )
        .await
    }

    /// A second client (another browser) for the same server.
    pub fn new_client(&self) -> reqwest::Client {
        http_client()
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// GET a page as a browser would (so redirects become 302s).
    pub async fn page(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function the way the hydrated console does (form body, JSON answer).
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> Response {
        self.call_with(&self.client, function, form).await
    }

    /// [`TestApp::call`] with another client.
    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(format!("{}/api/{function}", self.base))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function and returns its JSON answer, asserting the status.
    pub async fn call_json(
        &self,
        function: &str,
        form: &[(&str, &str)],
        status: StatusCode,
    ) -> Value {
        let response = self.call(function, form).await;
        let actual = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(actual, status, "{function} on {}: {body}", self.backend);
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Completes first-run setup as [`ADMIN`]; the client is then signed in.
    pub async fn complete_setup(&self) {
        self.call_json(
            "complete_setup",
            &[
                ("setup_token", SETUP_TOKEN),
                ("site_name", "Acme"),
                ("username", ADMIN),
                ("email", "alice@example.com"),
                ("password", ADMIN_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
    }

    /// The console session of the client (`null` when signed out).
    pub async fn console_session(&self) -> Value {
        self.call_json("get_console_session", &[], StatusCode::OK)
            .await
    }

    /// The anti-forgery token of the signed-in client.
    pub async fn csrf(&self) -> String {
        self.console_session().await["csrf"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Signs the client in.
    pub async fn sign_in(&self, username: &str, password: &str) -> Response {
        self.call("sign_in", &[("username", username), ("password", password)])
            .await
    }
}

/// The `field` message of an `Invalid` console error.
pub fn field_message(error: &Value, field: &str) -> Option<String> {
    error["Invalid"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .map(str::to_owned)
}

/// The id of the client's selected site.
pub async fn site_id(app: &TestApp) -> String {
    app.console_session().await["site"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a user through the Add New Administrator form; returns the response body.
pub async fn add_user(
    app: &TestApp,
    username: &str,
    roles: &[(&str, bool, bool)],
    status: StatusCode,
) -> Value {
    let csrf = app.csrf().await;
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf),
        ("username".into(), username.into()),
        ("email".into(), format!("{username}@example.com")),
        ("password".into(), USER_PASSWORD.into()),
    ];
    for (i, (site, admin, api)) in roles.iter().enumerate() {
        form.push((format!("roles[{i}][site_id]"), (*site).into()));
        if *admin {
            form.push((format!("roles[{i}][site_admin]"), "on".into()));
        }
        if *api {
            form.push((format!("roles[{i}][api_user]"), "on".into()));
        }
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call_json("create_user", &form, status).await
}

/// The password [`add_user`] gives every user.
pub const USER_PASSWORD: &str = "a sturdy passphrase";

/// Creates a site through the console; returns its id.
pub async fn create_site(app: &TestApp, name: &str) -> String {
    let csrf = app.csrf().await;
    let id = app
        .call_json(
            "create_site",
            &[("csrf", &csrf), ("name", name)],
            StatusCode::OK,
        )
        .await;
    id.as_str().unwrap().to_owned()
}

/// A second browser signed in as `username` (created by [`add_user`]), with its console
/// session.
pub async fn signed_in_browser(app: &TestApp, username: &str) -> (reqwest::Client, Value) {
    let browser = app.new_client();
    let signed_in = app
        .call_with(
            &browser,
            "sign_in",
            &[("username", username), ("password", USER_PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{username} signs in");
    let session = session_of(app, &browser).await;
    (browser, session)
}

/// The console session of another browser (`null` when signed out).
pub async fn session_of(app: &TestApp, browser: &reqwest::Client) -> Value {
    app.call_with(browser, "get_console_session", &[])
        .await
        .json()
        .await
        .unwrap()
}

/// A free loopback port, for a `latchkey serve` process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits up to 10 s for the server at `base` to answer `/healthz`; false if it never does.
pub async fn answers_health(base: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Runs the `latchkey` binary against `app`'s database and master key, with no standard input.
pub fn latchkey(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", app.master_key_hex())
        .env("LATCHKEY_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Runs the `latchkey` binary against `app` (see [`latchkey`]), asserts it succeeded and
/// returns the JSON it printed.
pub fn latchkey_json(app: &TestApp, args: &[&str]) -> Value {
    let out = latchkey(app, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The name of the site the console is on (the first site, after setup).
pub async fn site_name(app: &TestApp) -> String {
    app.console_session().await["site"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}
