//! Hostile input against every endpoint and every server function of a real server, on both
//! databases (issue 17, "prove the class is gone"): malformed, duplicated, oversized and
//! non-UTF-8 input, crafted Unicode, wrong content types and garbage headers, signed in and
//! signed out. Every request must get an answer (no dropped connection), none a 5xx, no
//! handler may panic, and a refused request must leave the domain tables exactly as they were.
//!
//! Inputs come from a seeded generator (the same run every time), `CASES_PER_TARGET` per
//! endpoint and server function; the run prints how many requests each family sent.

use crate::helpers::{TestApp, on_each_backend};
use crate::hostile;
use crate::oauth_helpers::{Fixture, basic, fixture, fresh_browser};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests per endpoint or server function, per kind of client (signed in or not).
const CASES_PER_TARGET: usize = 24;

/// Panics on this test's thread. Its server runs in-process, on the test's own runtime
/// (one thread, named after the test), so a handler that panics panics here; other tests'
/// threads (their own failed assertions) do not count.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("hostile_http::"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Field names the console's forms and the OAuth endpoints use, so hostile values reach
/// the parsers behind them rather than stopping at "missing field".
const FIELDS: &[&str] = &[
    "accept_terms",
    "action",
    "actor",
    "after",
    "alert_id",
    "before",
    "client",
    "client_uuid",
    "csrf",
    "current_password",
    "description",
    "dir",
    "disabled",
    "email",
    "from",
    "grace",
    "grant_id",
    "name",
    "next",
    "owner",
    "page",
    "password",
    "q",
    "redirect_uri",
    "require_pkce",
    "roles[0][site_id]",
    "roles[0][site_admin]",
    "roles[0][api_user]",
    "roles[1][site_id]",
    "scopes[0]",
    "scopes[1]",
    "setup_token",
    "site_id",
    "site_name",
    "slot_id",
    "sort",
    "tokens",
    "unused",
    "until",
    "user_id",
    "username",
    "grant_type",
    "code",
    "refresh_token",
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "scope",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "decision",
    "request_token",
];

/// The families of hostile requests, with how many of each were sent.
#[derive(Default)]
struct Tally(BTreeMap<&'static str, usize>);

impl Tally {
    fn count(&mut self, family: &'static str) {
        *self.0.entry(family).or_default() += 1;
    }
}

/// A deterministic source of hostile values.
struct Generator {
    runner: TestRunner,
}

impl Generator {
    fn new() -> Self {
        Self {
            runner: TestRunner::new_with_rng(
                proptest::test_runner::Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &[17; 32]),
            ),
        }
    }

    fn value<S: Strategy>(&mut self, strategy: S) -> S::Value {
        strategy
            .new_tree(&mut self.runner)
            .expect("a value")
            .current()
    }

    fn text(&mut self) -> String {
        self.value(hostile::hostile_text())
    }

    fn bytes(&mut self) -> Vec<u8> {
        self.value(hostile::hostile_bytes())
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.value(0..items.len());
        &items[index]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.value(0u32..100) < percent
    }
}

/// The values a hostile form may borrow so that it gets past the first checks: the session's
/// anti-forgery token and the ids of real objects.
struct Known {
    csrf: String,
    ids: Vec<String>,
    fixture: Fixture,
}

/// One hostile form body: the family it belongs to and the bytes.
fn hostile_body(g: &mut Generator, known: &Known, tally: &mut Tally) -> Vec<u8> {
    let family = g.value(0u32..7);
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    let field_count = g.value(0usize..8);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..field_count {
        let name = (*g.pick(FIELDS)).to_owned();
        let value = match g.value(0u32..10) {
            0 => known.csrf.clone(),
            1 => g.pick(&known.ids).clone(),
            2 => known.fixture.client_id.clone(),
            _ => g.text(),
        };
        pairs.push((name, value));
    }
    if g.chance(70) {
        pairs.push(("csrf".into(), known.csrf.clone()));
    }
    match family {
        0 => {
            tally.count("arbitrary bytes as the body");
            return g.bytes();
        }
        1 => {
            tally.count("every field sent twice");
            let doubled = pairs.clone();
            pairs.extend(doubled);
        }
        2 => {
            tally.count("non-UTF-8 percent escapes");
            let mut body = String::new();
            for (name, _) in &pairs {
                body.push_str(&format!("{name}=%FF%FE%C3%28&"));
            }
            return body.into_bytes();
        }
        3 => {
            tally.count("oversized values (5,000 to 60,000 bytes)");
            let size = g.value(5_000usize..60_000);
            if let Some(first) = pairs.first_mut() {
                first.1 = "é".repeat(size / 2);
            } else {
                pairs.push(("name".into(), "x".repeat(size)));
            }
        }
        4 => {
            tally.count("empty body");
            return Vec::new();
        }
        _ => tally.count("crafted Unicode in known fields"),
    }
    for (name, value) in &pairs {
        form.append_pair(name, value);
    }
    form.finish().into_bytes()
}

/// The rows of every domain table, as text: what a refused request must leave as it was.
/// (Audit events, throttle counters, sessions and usage counts may legitimately change.)
async fn domain_snapshot(app: &TestApp) -> String {
    use app::server::entities::*;
    use sea_orm::EntityTrait;
    let db = &app.state.db;
    let mut parts: Vec<String> = Vec::new();
    macro_rules! table {
        ($($entity:ident),*) => {$(
            let mut rows: Vec<String> = $entity::Entity::find()
                .all(db)
                .await
                .unwrap()
                .iter()
                .map(|row| format!("{row:?}"))
                .collect();
            rows.sort();
            parts.push(format!("{}: {}", stringify!($entity), rows.join("\n")));
        )*};
    }
    table!(
        site,
        user,
        site_membership,
        client,
        client_scope,
        client_secret,
        site_scope,
        terms_acceptance,
        authorization_code,
        access_token,
        refresh_token,
        token_family
    );
    parts.join("\n\n")
}

/// Sends one request and checks the answer: received, not a 5xx, and (if refused) nothing
/// changed in the domain tables.
async fn send_checked(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    what: &str,
    before: &mut String,
) {
    let response = request
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|error| panic!("{what}: no answer ({error:?}) on {}", app.backend));
    let status = response.status();
    if let Err(error) = response.bytes().await {
        panic!(
            "{what}: the answer was cut off ({error:?}) on {}",
            app.backend
        );
    }
    assert!(
        !status.is_server_error(),
        "{what}: {status} on {}",
        app.backend
    );
    let after = domain_snapshot(app).await;
    if status.is_client_error() {
        assert_eq!(
            &after, before,
            "{what}: refused with {status} but the database changed on {}",
            app.backend
        );
    }
    *before = after;
}

#[tokio::test]
async fn hostile_input_to_every_endpoint_and_server_function_gets_a_clean_refusal() {
    count_panics();
    on_each_backend(async |app| {
        let fixture = fixture(app, "hostile", false).await;
        let session = app.console_session().await;
        let known = Known {
            csrf: fixture.csrf.clone(),
            ids: vec![
                fixture.client_uuid.clone(),
                fixture.user_id.clone(),
                session["site"]["id"].as_str().unwrap().to_owned(),
                uuid::Uuid::now_v7().to_string(),
            ],
            fixture: fixture.clone(),
        };
        let mut g = Generator::new();
        let mut tally = Tally::default();
        let mut snapshot = domain_snapshot(app).await;
        let panics_before = PANICS.load(Ordering::SeqCst);

        // Every server function, signed in and signed out. Ending the session would stop the
        // signed-in half from reaching past the session check, so those two get no token.
        let mut functions: Vec<&'static str> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect();
        functions.sort();
        functions.dedup();
        assert!(functions.len() >= 35, "{functions:?}");
        let signed_out = fresh_browser();
        for path in &functions {
            for case in 0..CASES_PER_TARGET {
                let ends_session = path.contains("sign_out");
                let mut body = hostile_body(&mut g, &known, &mut tally);
                if ends_session {
                    body = b"csrf=wrong".to_vec();
                }
                let content_type = match case % 5 {
                    0 => "application/json",
                    1 => "multipart/form-data; boundary=x",
                    _ => "application/x-www-form-urlencoded",
                };
                if case % 5 < 2 {
                    tally.count("wrong content type");
                }
                for (who, client) in [("signed in", &app.client), ("signed out", &signed_out)] {
                    let request = client
                        .post(format!("{}{path}", app.base))
                        .header("content-type", content_type)
                        .header(
                            "accept",
                            if case % 2 == 0 {
                                "application/json"
                            } else {
                                "text/html"
                            },
                        )
                        .body(body.clone());
                    send_checked(
                        app,
                        request,
                        &format!("{path} ({who}, case {case})"),
                        &mut snapshot,
                    )
                    .await;
                }
            }
        }
        // Sign-in guesses were part of it; the session itself must have survived.
        assert!(!app.console_session().await.is_null(), "still signed in");

        // The authorization server and the protected API, as any client on the internet.
        let client_auth = basic(&fixture.client_id, &fixture.client_secret);
        for endpoint in [
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/introspect",
            "/oauth/authorize",
        ] {
            for case in 0..CASES_PER_TARGET * 4 {
                let body = hostile_body(&mut g, &known, &mut tally);
                let mut request = fresh_browser()
                    .post(format!("{}{endpoint}", app.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body);
                request = match case % 4 {
                    0 => request.header("authorization", client_auth.clone()),
                    1 => {
                        tally.count("garbage Authorization header");
                        let garbage = g.bytes();
                        match reqwest::header::HeaderValue::from_bytes(&garbage) {
                            Ok(value) => request.header("authorization", value),
                            Err(_) => request.header("authorization", "Basic %%%"),
                        }
                    }
                    2 => {
                        tally.count("HTTP Basic of hostile text");
                        request.header("authorization", basic(&g.text(), &g.text()))
                    }
                    _ => request,
                };
                send_checked(
                    app,
                    request,
                    &format!("POST {endpoint} case {case}"),
                    &mut snapshot,
                )
                .await;
            }
        }
        for case in 0..CASES_PER_TARGET * 4 {
            tally.count("hostile query strings");
            let query = String::from_utf8_lossy(&g.bytes()).into_owned();
            let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            let raw = match case % 3 {
                0 => format!(
                    "client_id={}&redirect_uri={encoded}&response_type=code",
                    fixture.client_id
                ),
                1 => format!("{encoded}&{encoded}"),
                _ => format!("client_id=%FF%FE&x={}", "y".repeat(g.value(0usize..9_000))),
            };
            for path in [
                "/oauth/authorize",
                "/clients",
                "/audit",
                "/sign-in",
                "/administrators",
            ] {
                let request = fresh_browser().get(format!("{}{path}?{raw}", app.base));
                send_checked(
                    app,
                    request,
                    &format!("GET {path}?… case {case}"),
                    &mut snapshot,
                )
                .await;
            }
        }
        for case in 0..CASES_PER_TARGET * 4 {
            tally.count("hostile bearer tokens");
            let value = match case % 3 {
                0 => format!("Bearer {}", g.text()),
                1 => format!(
                    "bearer {}",
                    hostile::mutate(&fixture.client_secret, case, '\u{e9}')
                ),
                _ => g.text(),
            };
            let request = fresh_browser().get(format!("{}/api/v1/me", app.base));
            let request = match reqwest::header::HeaderValue::from_str(&value) {
                Ok(header) => request.header("authorization", header),
                Err(_) => request.header(
                    "authorization",
                    reqwest::header::HeaderValue::from_bytes(value.as_bytes())
                        .unwrap_or(reqwest::header::HeaderValue::from_static("Bearer x")),
                ),
            };
            send_checked(
                app,
                request,
                &format!("GET /api/v1/me case {case}"),
                &mut snapshot,
            )
            .await;
        }
        // Console pages with made-up ids and paths.
        for case in 0..CASES_PER_TARGET {
            tally.count("made-up ids in console paths");
            let id: String = url::form_urlencoded::byte_serialize(g.text().as_bytes()).collect();
            for path in [
                format!("/clients/{id}"),
                format!("/clients/{id}/regenerate"),
                format!("/administrators/{id}"),
                format!("/administrators/{id}/delete"),
                format!("/sites/{id}"),
            ] {
                let request = app
                    .client
                    .get(format!("{}{path}", app.base))
                    .header("accept", "text/html");
                send_checked(
                    app,
                    request,
                    &format!("GET {path} case {case}"),
                    &mut snapshot,
                )
                .await;
            }
        }
        // The admin REST API, with a live write token: every operation its document lists,
        // with hostile path segments, JSON, headers and content types.
        let token =
            crate::admin_api::admin_token(app, crate::helpers::ADMIN, &["Acme"], true).await;
        let document: serde_json::Value = app
            .client
            .get(format!("{}/admin/v1/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let fields = [
            "name",
            "description",
            "redirect_uri",
            "owner",
            "scopes",
            "accept_terms",
            "site",
            "require_pkce",
            "grace_seconds",
            "revoke_tokens",
            "even_if_in_use",
        ];
        for (template, item) in document["paths"].as_object().unwrap() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                for case in 0..CASES_PER_TARGET {
                    tally.count("admin API operations");
                    let mut path = template.clone();
                    for (name, real) in [
                        ("{client_id}", fixture.client_id.as_str()),
                        ("{site}", "Acme"),
                        ("{secret_id}", "00000000-0000-0000-0000-000000000000"),
                        ("{grant_id}", "not-a-uuid"),
                        ("{alert_id}", "-1"),
                        ("{username}", crate::helpers::ADMIN),
                        ("{scope}", "profile"),
                    ] {
                        // A DELETE never names the real client: it would (rightly) succeed.
                        // A segment of at most 300 characters: a longer URL is refused by
                        // the HTTP client itself, before any server sees it.
                        let value = if method != "delete" && g.chance(50) {
                            real.to_owned()
                        } else {
                            let text: String = g.text().chars().take(300).collect();
                            url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
                        };
                        path = path.replace(name, &value);
                    }
                    if g.chance(30) {
                        let query = String::from_utf8_lossy(&g.bytes()).into_owned();
                        let encoded: String =
                            url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
                        path.push_str(&format!("?limit={encoded}&cursor={encoded}&{encoded}"));
                    }
                    let body: Vec<u8> = if g.chance(30) {
                        g.bytes()
                    } else {
                        let mut object = serde_json::Map::new();
                        for field in fields {
                            if g.chance(50) {
                                let value = match g.value(0u32..4) {
                                    0 => serde_json::json!(g.text()),
                                    1 => serde_json::json!([g.text(), g.text()]),
                                    2 => serde_json::json!(g.value(i64::MIN..i64::MAX)),
                                    _ => serde_json::Value::Null,
                                };
                                object.insert(field.to_owned(), value);
                            }
                        }
                        serde_json::to_vec(&object).unwrap()
                    };
                    let http_method =
                        reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let mut request = fresh_browser()
                        .request(http_method, format!("{}{path}", app.base))
                        .header(
                            "content-type",
                            if g.chance(80) {
                                "application/json"
                            } else {
                                "text/plain; charset=x-unknown"
                            },
                        )
                        .body(body);
                    request = match case % 3 {
                        0 => request.bearer_auth(&token),
                        1 => {
                            let garbage = format!("Bearer {}", g.text());
                            match reqwest::header::HeaderValue::from_bytes(garbage.as_bytes()) {
                                Ok(value) => request.header("authorization", value),
                                Err(_) => request.header("authorization", "Bearer lkad_%%%"),
                            }
                        }
                        _ => request,
                    };
                    for header in ["if-match", "idempotency-key"] {
                        if g.chance(50)
                            && let Ok(value) = reqwest::header::HeaderValue::from_bytes(&g.bytes())
                        {
                            request = request.header(header, value);
                        }
                    }
                    send_checked(
                        app,
                        request,
                        &format!("{method} {path} case {case}"),
                        &mut snapshot,
                    )
                    .await;
                }
            }
        }
        // A body over the limit is refused before anything reads it.
        tally.count("bodies over the 64 KiB limit");
        let huge = vec![b'a'; 200 * 1024];
        for path in ["/oauth/token", "/api/sign_in", "/audit/export.csv"] {
            let response = fresh_browser()
                .post(format!("{}{path}", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(huge.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        }

        assert_eq!(
            PANICS.load(Ordering::SeqCst),
            panics_before,
            "a handler panicked on {}",
            app.backend
        );
        let total: usize = tally.0.values().sum();
        eprintln!(
            "hostile HTTP run on {} ({} server functions):",
            app.backend,
            functions.len()
        );
        for (family, count) in &tally.0 {
            eprintln!("  {count:>6}  {family}");
        }
        eprintln!("  {total:>6}  in all");
    })
    .await;
}
