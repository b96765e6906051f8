//! The admin REST API (`/admin/v1`) on both databases: every operation of its OpenAPI document
//! driven with a real HTTP client, and the token, ETag and idempotency rules.

use crate::helpers::{ADMIN, TestApp, add_user, create_site, latchkey, on_each_backend, site_id};
use crate::oauth_helpers::{Fixture, code_for, exchange, fixture};
use app::{
    domain::AdminTokenName,
    server::services::{
        access::Acting,
        admin_tokens::{self, NewAdminToken},
        alerts::{self, AlertKind, AlertSubject},
        context::ServiceContext,
        sites, users,
    },
};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Creates an admin token for `username` on `site_names` as the operator would.
pub async fn admin_token(
    app: &TestApp,
    username: &str,
    site_names: &[&str],
    write: bool,
) -> String {
    let operator = Acting::operator();
    let cx = ServiceContext::new(&app.state, &operator);
    let user = users::find_by_username(&app.state.db, username)
        .await
        .unwrap()
        .unwrap();
    let mut site_ids = Vec::new();
    for name in site_names {
        site_ids.push(
            sites::find_by_name(&app.state.db, name)
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    let (_, secret) = admin_tokens::create(
        &cx,
        NewAdminToken {
            name: AdminTokenName::parse("tests").unwrap(),
            user_id: user.id,
            sites: site_ids,
            write,
            lifetime_seconds: 30 * 86_400,
        },
    )
    .await
    .unwrap();
    secret.expose().to_owned()
}

/// The status `GET /admin/v1/sites` answers `token` (is it live?).
async fn sites_status(app: &TestApp, token: &str) -> StatusCode {
    call(app, Some(token), Method::GET, "/admin/v1/sites", &[], None)
        .await
        .0
}

/// One admin API call.
async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let client = app.new_client();
    let mut request = client.request(method, format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        status.as_u16() < 500,
        "{path} answered {status} on {}: {text}",
        app.backend
    );
    if !status.is_success() {
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}: errors are problem details ({})",
            app.backend
        );
        assert_eq!(value["status"], status.as_u16(), "{path}: {text}");
    }
    (status, headers, value)
}

fn etag(headers: &reqwest::header::HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_owned()
}

/// A site with a client that has a live grant, an old secret in its grace period and an open
/// alert: something for every operation to act on.
async fn populated(app: &TestApp) -> Fixture {
    let fixture = fixture(app, "bob", false).await;
    let code = code_for(app, &fixture, &[]).await;
    exchange(app, &fixture, &code).await;
    let site = sites::find_by_name(&app.state.db, "Acme")
        .await
        .unwrap()
        .unwrap();
    alerts::raise(
        &app.state.db,
        site.id,
        AlertKind::InvalidClientBurst,
        AlertSubject {
            client_id: Some(fixture.client_id.clone()),
            ..Default::default()
        },
        "Many failed client authentications".into(),
        app.state.clock.now(),
    )
    .await
    .unwrap();
    fixture
}

/// The `(method, path template)` of every operation in the document.
fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

/// The statuses the document lists for an operation.
fn documented_statuses(document: &Value, method: &str, path: &str) -> BTreeSet<u16> {
    document["paths"][path][method]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|code| code.parse().unwrap())
        .collect()
}

/// The required properties of the schema an operation documents for `status`, if any.
fn required_fields(document: &Value, method: &str, path: &str, status: u16) -> Vec<String> {
    let content = &document["paths"][path][method]["responses"][status.to_string()]["content"];
    let Some(media) = content.as_object().and_then(|c| c.values().next()) else {
        return Vec::new();
    };
    let mut schema = &media["schema"];
    if schema["type"] == "array" {
        schema = &schema["items"];
    }
    let Some(reference) = schema["$ref"].as_str() else {
        return Vec::new();
    };
    let name = reference.rsplit('/').next().unwrap();
    document["components"]["schemas"][name]["required"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_documented_operation_answers_as_its_document_says() {
    on_each_backend(async |app| {
        let fixture = populated(app).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let (status, headers, document) =
            call(app, None, Method::GET, "/admin/v1/openapi.json", &[], None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

        let client = fixture.client_id.clone();
        // What each operation is called with, in an order that leaves something for the next
        // (the client is deleted last). Every documented operation must be here, and nothing
        // here may be missing from the document.
        let steps: Vec<(&str, &str, String, Option<Value>, u16)> = vec![
            ("get", "/admin/v1/sites", "/admin/v1/sites".into(), None, 200),
            ("get", "/admin/v1/sites/{site}/users", "/admin/v1/sites/Acme/users".into(), None, 200),
            ("get", "/admin/v1/sites/{site}/scopes", "/admin/v1/sites/Acme/scopes".into(), None, 200),
            ("post", "/admin/v1/sites/{site}/users", "/admin/v1/sites/Acme/users".into(), Some(json!({
                "username": "dave", "email": "dave@example.com", "password": "a sturdy long passphrase",
                "api_user": true,
            })), 201),
            ("put", "/admin/v1/sites/{site}/users/{username}/roles", "/admin/v1/sites/Acme/users/dave/roles".into(),
                Some(json!({"site_admin": false, "api_user": true})), 204),
            ("post", "/admin/v1/users/{username}/disable", "/admin/v1/users/dave/disable".into(), None, 204),
            ("post", "/admin/v1/users/{username}/enable", "/admin/v1/users/dave/enable".into(), None, 204),
            ("delete", "/admin/v1/users/{username}", "/admin/v1/users/dave".into(), None, 204),
            ("get", "/admin/v1/sites/{site}", "/admin/v1/sites/Acme".into(), None, 200),
            ("patch", "/admin/v1/sites/{site}", "/admin/v1/sites/Acme".into(),
                Some(json!({"secret_lifetime_seconds": 0, "consent_lifetime_seconds": 0})), 200),
            ("post", "/admin/v1/sites/{site}/scopes", "/admin/v1/sites/Acme/scopes".into(),
                Some(json!({"name": "reports", "description": "Read reports"})), 201),
            ("delete", "/admin/v1/sites/{site}/scopes/{scope}", "/admin/v1/sites/Acme/scopes/reports".into(), None, 204),
            ("get", "/admin/v1/sites/{site}/alerts", "/admin/v1/sites/Acme/alerts".into(), None, 200),
            ("post", "/admin/v1/alerts/{alert_id}/acknowledge", "/admin/v1/alerts/{alert}/acknowledge".into(), None, 204),
            ("get", "/admin/v1/clients", "/admin/v1/clients".into(), None, 200),
            ("post", "/admin/v1/clients", "/admin/v1/clients".into(), Some(json!({
                "name": "Automation", "description": "Made by a test", "redirect_uri": "https://auto.example.com/cb",
                "owner": fixture.username, "scopes": ["profile"], "accept_terms": true,
            })), 201),
            ("get", "/admin/v1/clients/{client_id}", format!("/admin/v1/clients/{client}"), None, 200),
            ("patch", "/admin/v1/clients/{client_id}", format!("/admin/v1/clients/{client}"), Some(json!({"name": "Renamed"})), 200),
            ("get", "/admin/v1/clients/{client_id}/grants", format!("/admin/v1/clients/{client}/grants"), None, 200),
            ("delete", "/admin/v1/clients/{client_id}/grants/{grant_id}", format!("/admin/v1/clients/{client}/grants/{{grant}}"), None, 204),
            ("post", "/admin/v1/clients/{client_id}/secrets", format!("/admin/v1/clients/{client}/secrets"), Some(json!({"grace_seconds": 3600})), 201),
            ("get", "/admin/v1/clients/{client_id}/secrets", format!("/admin/v1/clients/{client}/secrets"), None, 200),
            ("delete", "/admin/v1/clients/{client_id}/secrets/{secret_id}", format!("/admin/v1/clients/{client}/secrets/{{old_secret}}"), None, 204),
            ("post", "/admin/v1/clients/{client_id}/disable", format!("/admin/v1/clients/{client}/disable"), Some(json!({"revoke_tokens": false})), 200),
            ("post", "/admin/v1/clients/{client_id}/enable", format!("/admin/v1/clients/{client}/enable"), None, 200),
            ("get", "/admin/v1/audit-events", "/admin/v1/audit-events?limit=5".into(), None, 200),
            ("delete", "/admin/v1/clients/{client_id}", format!("/admin/v1/clients/{client}"), None, 204),
        ];
        let documented = documented_operations(&document);
        let driven: BTreeSet<(String, String)> = steps
            .iter()
            .map(|(method, template, ..)| ((*method).to_owned(), (*template).to_owned()))
            .collect();
        assert_eq!(
            documented.difference(&driven).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented operations this test does not drive"
        );
        assert_eq!(
            driven.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routes missing from the document"
        );

        let mut found: Vec<(String, String)> = Vec::new();
        for (method, template, path, body, expected) in steps {
            let mut path = path;
            for (name, value) in &found {
                path = path.replace(&format!("{{{name}}}"), value);
            }
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let statuses = documented_statuses(&document, method, template);
            // Without a token: 401, as documented.
            let (status, ..) = call(app, None, http_method.clone(), &path, &[], body.as_ref()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert!(statuses.contains(&401), "{method} {template} documents 401");
            let mut headers = Vec::new();
            if statuses.contains(&428) {
                let (_, got, _) =
                    call(app, Some(&token), Method::GET, &path, &[], None).await;
                headers.push(("if-match", etag(&got)));
            }
            let (status, _, value) =
                call(app, Some(&token), http_method, &path, &headers, body.as_ref()).await;
            assert_eq!(status.as_u16(), expected, "{method} {path} on {}: {value}", app.backend);
            assert!(
                statuses.contains(&expected),
                "{method} {template}: {expected} is not documented"
            );
            for field in required_fields(&document, method, template, expected) {
                let holder = if value.is_array() { &value[0] } else { &value };
                assert!(
                    value.as_array().is_some_and(Vec::is_empty) || holder.get(&field).is_some(),
                    "{method} {path}: documented field {field} missing from {value}"
                );
            }
            // Ids later steps need.
            match template {
                "/admin/v1/sites/{site}/alerts" => {
                    found.push(("alert".into(), value[0]["id"].to_string()));
                }
                "/admin/v1/clients/{client_id}/grants" => {
                    found.push(("grant".into(), value[0]["id"].as_str().unwrap().to_owned()));
                }
                "/admin/v1/clients/{client_id}/secrets" if method == "get" => {
                    let old = value
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["valid"] == true && s != &&value[0])
                        .unwrap();
                    found.push(("old_secret".into(), old["id"].as_str().unwrap().to_owned()));
                }
                _ => {}
            }
        }
        // Anything else under /admin/v1 is a problem-details 404.
        let (status, ..) = call(app, Some(&token), Method::GET, "/admin/v1/nothing", &[], None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_token_reaches_only_its_sites_while_its_administrator_does_and_reads_only_unless_written()
{
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let acme = site_id(app).await;
        let beta = create_site(app, "Beta").await;
        add_user(
            app,
            "carol",
            &[(&acme, true, false), (&beta, true, false)],
            StatusCode::OK,
        )
        .await;
        let beta_only = admin_token(app, "carol", &["Beta"], true).await;
        let reader = admin_token(app, "carol", &["Acme"], false).await;
        let writer = admin_token(app, "carol", &["Acme", "Beta"], true).await;
        let client = format!("/admin/v1/clients/{}", fixture.client_id);

        // Another site's client is not found, exactly like a missing one.
        let (status, _, other) = call(app, Some(&beta_only), Method::GET, &client, &[], None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, missing) = call(
            app,
            Some(&beta_only),
            Method::GET,
            "/admin/v1/clients/lkci_nothing",
            &[],
            None,
        )
        .await;
        assert_eq!(other["detail"], missing["detail"]);
        let (_, _, listed) = call(
            app,
            Some(&beta_only),
            Method::GET,
            "/admin/v1/clients",
            &[],
            None,
        )
        .await;
        assert_eq!(listed["clients"], json!([]));

        // A read-only token reads, and is refused every change.
        let (status, got, _) = call(app, Some(&reader), Method::GET, &client, &[], None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, problem) = call(
            app,
            Some(&reader),
            Method::PATCH,
            &client,
            &[("if-match", etag(&got))],
            Some(&json!({"name": "Mine now"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(problem["type"], "urn:latchkey:problem:read-only-token");
        let (status, ..) = call(
            app,
            Some(&reader),
            Method::POST,
            &format!("{client}/secrets"),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Its administrator losing the role on Acme takes Acme out of the token's reach.
        let (status, ..) = call(app, Some(&writer), Method::GET, &client, &[], None).await;
        assert_eq!(status, StatusCode::OK);
        let carol = users::find_by_username(&app.state.db, "carol")
            .await
            .unwrap()
            .unwrap();
        let acme_uuid: uuid::Uuid = acme.parse().unwrap();
        use app::server::entities::site_membership as membership;
        membership::Entity::update_many()
            .col_expr(
                membership::Column::IsSiteAdmin,
                sea_orm::sea_query::Expr::value(false),
            )
            .filter(membership::Column::UserId.eq(carol.id))
            .filter(membership::Column::SiteId.eq(acme_uuid))
            .exec(&app.state.db)
            .await
            .unwrap();
        let (status, ..) = call(app, Some(&writer), Method::GET, &client, &[], None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, sites) = call(
            app,
            Some(&writer),
            Method::GET,
            "/admin/v1/sites",
            &[],
            None,
        )
        .await;
        let names: Vec<&str> = sites
            .as_array()
            .unwrap()
            .iter()
            .map(|site| site["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Beta"]);
    })
    .await;
}

#[tokio::test]
async fn expired_revoked_malformed_and_orphaned_tokens_are_refused_alike() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], false).await;
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::OK);
        // Last used is recorded.
        let alice = users::find_by_username(&app.state.db, ADMIN)
            .await
            .unwrap()
            .unwrap();
        let rows = admin_tokens::list(
            &ServiceContext::new(&app.state, &Acting::operator()),
            Some(alice.id),
        )
        .await
        .unwrap();
        assert!(rows[0].token.last_used_at.is_some());

        // Hostile and wrong tokens: 401 problem, never a 5xx.
        let mut tampered = token.clone();
        tampered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        for bad in [
            "lkad_",
            "nonsense",
            "lkat_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &tampered,
            "lkad_ÄÖÜ\u{202e}",
            &"x".repeat(10_000),
        ] {
            let (status, headers, _) =
                call(app, Some(bad), Method::GET, "/admin/v1/sites", &[], None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:.40}");
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
        }

        // Expired.
        app.state.clock.advance(31 * 86_400);
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.state.clock.advance(-31 * 86_400);

        // Revoked.
        let second = admin_token(app, ADMIN, &["Acme"], false).await;
        let operator = Acting::operator();
        let cx = ServiceContext::new(&app.state, &operator);
        let rows = admin_tokens::list(&cx, Some(alice.id)).await.unwrap();
        let hint = &second[second.len() - 4..];
        let second_row = rows.iter().find(|row| row.token.hint == hint).unwrap();
        admin_tokens::revoke(&cx, second_row.token.id)
            .await
            .unwrap();
        let status = sites_status(app, &second).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let status = sites_status(app, &token).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "revoking one token leaves the others"
        );

        // A token cannot mint or revoke tokens: only people can.
        let acting = Acting {
            principal: app::server::services::access::Principal::AdminToken {
                token_id: second_row.token.id,
                token_name: "tests".into(),
                user_id: second_row.token.user_id,
                username: ADMIN.into(),
                sites: Vec::new(),
            },
            address: None,
        };
        let as_token = ServiceContext::new(&app.state, &acting);
        assert!(
            admin_tokens::revoke(&as_token, second_row.token.id)
                .await
                .is_err()
        );
        assert!(admin_tokens::list(&as_token, None).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn an_edit_needs_the_current_etag_and_only_one_of_two_parallel_edits_wins() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let client = format!("/admin/v1/clients/{}", fixture.client_id);
        let (_, got, before) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        let tag = etag(&got);

        let (status, _, problem) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[],
            Some(&json!({"name": "X"})),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{problem}");
        let (status, ..) = call(app, Some(&token), Method::DELETE, &client, &[], None).await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
        let (status, ..) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[("if-match", "W/\"x\"".into())],
            Some(&json!({"name": "X"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Unknown fields and bad values: refused, field by field.
        let (status, ..) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[("if-match", tag.clone())],
            Some(&json!({"nmae": "X"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, problem) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[("if-match", tag.clone())],
            Some(&json!({"redirect_uri": "http://evil.example.com/", "name": "\u{202e}x"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: BTreeSet<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, BTreeSet::from(["name", "redirect_uri"]));

        // Two automations with the same ETag, in parallel: one wins, the other is told.
        let precondition = [("if-match", tag.clone())];
        let (first_body, second_body) = (json!({"name": "First"}), json!({"name": "Second"}));
        let first = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &precondition,
            Some(&first_body),
        );
        let second = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &precondition,
            Some(&second_body),
        );
        let ((a, a_headers, _), (b, b_headers, _)) = tokio::join!(first, second);
        let mut statuses = [a.as_u16(), b.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{}", app.backend);
        let winner = if a == StatusCode::OK {
            a_headers
        } else {
            b_headers
        };
        assert_ne!(etag(&winner), tag);

        // The stale tag is refused for a deletion too; the fresh one is not.
        let (status, ..) = call(
            app,
            Some(&token),
            Method::DELETE,
            &client,
            &[("if-match", tag.clone())],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        // A console edit changes the tag as well.
        let (_, got, _) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        let fresh = etag(&got);
        let operator = Acting::operator();
        let cx = ServiceContext::new(&app.state, &operator);
        let uuid: uuid::Uuid = fixture.client_uuid.parse().unwrap();
        app::server::services::clients::set_disabled(
            &cx,
            uuid,
            true,
            app::server::services::secrets::ExistingTokens::Keep,
        )
        .await
        .unwrap();
        let (status, ..) = call(
            app,
            Some(&token),
            Method::DELETE,
            &client,
            &[("if-match", fresh)],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        let (_, got, after) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        assert_eq!(after["disabled"], true);
        assert_ne!(before["name"], after["name"], "one parallel edit landed");
        let (status, ..) = call(
            app,
            Some(&token),
            Method::DELETE,
            &client,
            &[("if-match", etag(&got))],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, ..) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_creation_retried_with_its_idempotency_key_happens_once() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let body = json!({
            "name": "Terraformed", "description": "Made by automation",
            "redirect_uri": "https://tf.example.com/cb", "owner": fixture.username,
            "accept_terms": true,
        });
        let key = [("idempotency-key", "create-terraformed-1".to_owned())];
        let (status, _, first) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert!(first["client_secret"].as_str().unwrap().starts_with("lkcs_"));
        let (status, headers, again) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(again, first, "the same answer, secret included");
        // The same key with another request: refused, not answered with the first.
        let other = json!({"name": "Other", "description": "d", "redirect_uri": "https://o.example.com/cb", "owner": fixture.username, "accept_terms": true});
        let (status, _, problem) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&other)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["type"], "urn:latchkey:problem:idempotency-key-reused");

        // Parallel copies of one request: one client, whatever the interleaving.
        let key = [("idempotency-key", "parallel".to_owned())];
        let body = json!({"name": "Parallel", "description": "d", "redirect_uri": "https://p.example.com/cb", "owner": fixture.username, "accept_terms": true});
        let copies = (0..4).map(|_| call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)));
        let answers = futures_util::future::join_all(copies).await;
        let created: BTreeSet<String> = answers
            .iter()
            .filter(|(status, ..)| *status == StatusCode::CREATED)
            .map(|(_, _, value)| value["client_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(created.len(), 1, "{}", app.backend);
        assert!(answers.iter().all(|(status, ..)| matches!(status.as_u16(), 201 | 409)));

        // A refused request does not use up its key.
        let key = [("idempotency-key", "fix-and-retry".to_owned())];
        let mut body = json!({"name": "Fixed", "description": "d", "redirect_uri": "https://f.example.com/cb", "owner": fixture.username, "accept_terms": false});
        let (status, _, problem) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &[], Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "accept_terms");
        let (status, ..) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        body["accept_terms"] = json!(true);
        let (status, ..) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "the corrected request runs under the same key");

        // Without a key, each request creates.
        let (_, _, list) = call(app, Some(&token), Method::GET, "/admin/v1/clients", &[], None).await;
        let names: Vec<&str> = list["clients"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names.iter().filter(|n| **n == "Terraformed").count(), 1);
        assert_eq!(names.iter().filter(|n| **n == "Parallel").count(), 1);
    })
    .await;
}

#[tokio::test]
async fn every_call_is_audited_with_the_token_as_actor_and_no_secret_is_ever_read_back() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let client = format!("/admin/v1/clients/{}", fixture.client_id);
        let (status, _, rotated) = call(
            app,
            Some(&token),
            Method::POST,
            &format!("{client}/secrets"),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let secret = rotated["client_secret"].as_str().unwrap().to_owned();
        let (_, _, got) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        let (_, _, slots) = call(
            app,
            Some(&token),
            Method::GET,
            &format!("{client}/secrets"),
            &[],
            None,
        )
        .await;
        let (_, _, page) = call(
            app,
            Some(&token),
            Method::GET,
            "/admin/v1/audit-events?limit=500",
            &[],
            None,
        )
        .await;
        for answer in [&got, &slots, &page] {
            assert!(
                !answer.to_string().contains(&secret),
                "a stored secret was read back"
            );
            assert!(!answer.to_string().contains(&fixture.client_secret));
        }
        let events = page["events"].as_array().unwrap();
        let by_token: Vec<&str> = events
            .iter()
            .filter(|e| e["actor_kind"] == "admin_token")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(by_token.contains(&"client.secret_rotated"), "{by_token:?}");
        assert!(by_token.contains(&"admin_api.read"), "{by_token:?}");
        assert!(events.iter().any(|e| e["action"] == "admin_token.created"));
        // Paging by cursor reaches the oldest event, without repeats.
        let mut seen = BTreeSet::new();
        let mut cursor: Option<i64> = None;
        loop {
            let path = match cursor {
                Some(c) => format!("/admin/v1/audit-events?limit=3&cursor={c}"),
                None => "/admin/v1/audit-events?limit=3".to_owned(),
            };
            let (_, _, page) = call(app, Some(&token), Method::GET, &path, &[], None).await;
            for event in page["events"].as_array().unwrap() {
                assert!(
                    seen.insert(event["id"].as_i64().unwrap()),
                    "repeated {event}"
                );
            }
            match page["next_cursor"].as_i64() {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert!(seen.len() > 5);
        let (status, ..) = call(
            app,
            Some(&token),
            Method::GET,
            "/admin/v1/audit-events?action=nope",
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, ..) = call(
            app,
            Some(&token),
            Method::GET,
            "/admin/v1/audit-events?limit=abc",
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

fn stdout_json(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn error_line(output: &std::process::Output) -> String {
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no machine output on failure");
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

#[tokio::test]
async fn the_operator_creates_lists_and_revokes_tokens_from_the_command_line() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let created = stdout_json(&latchkey(
            app,
            &[
                "admin-token",
                "create",
                "--username",
                ADMIN,
                "--site",
                "Acme",
                "--write",
                "--expires-in",
                "30d",
                "--name",
                "terraform",
            ],
        ));
        let token = created["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("lkad_"), "{created}");
        assert_eq!(created["write"], true);
        assert_eq!(created["sites"], json!(["Acme"]));
        let (status, ..) = call(
            app,
            Some(&token),
            Method::GET,
            &format!("/admin/v1/clients/{}", fixture.client_id),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        let listed = stdout_json(&latchkey(
            app,
            &["admin-token", "list", "--username", ADMIN],
        ));
        assert!(
            !listed.to_string().contains(&token),
            "a listed token is never shown"
        );
        assert_eq!(listed[0]["name"], "terraform");
        assert_eq!(listed[0]["hint"], token[token.len() - 4..]);
        assert!(listed[0]["last_used_at"].is_string());

        let id = listed[0]["id"].as_str().unwrap();
        let revoked = stdout_json(&latchkey(app, &["admin-token", "revoke", "--id", id]));
        assert!(revoked["revoked_at"].is_string());
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Refusals: one line each, nothing on stdout.
        let base = [
            "admin-token",
            "create",
            "--username",
            ADMIN,
            "--site",
            "Acme",
            "--name",
            "x",
        ];
        let too_short = [&base[..], &["--expires-in", "10m"]].concat();
        assert!(error_line(&latchkey(app, &too_short)).contains("expires-in"));
        let no_site = [
            "admin-token",
            "create",
            "--username",
            ADMIN,
            "--site",
            "Nowhere",
            "--name",
            "x",
        ];
        assert!(error_line(&latchkey(app, &no_site)).contains("no site named"));
        let not_admin = [
            "admin-token",
            "create",
            "--username",
            &fixture.username,
            "--site",
            "Acme",
            "--name",
            "x",
        ];
        assert!(error_line(&latchkey(app, &not_admin)).contains("does not administer"));
        assert!(
            error_line(&latchkey(app, &["admin-token", "revoke", "--id", "nope"]))
                .contains("not a token id")
        );
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_revokes_the_accounts_tokens() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        let acme = site_id(app).await;
        let carol = add_user(app, "carol", &[(&acme, true, false)], StatusCode::OK).await;
        let token = admin_token(app, "carol", &["Acme"], false).await;
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = app.csrf().await;
        app.call_json(
            "reset_user_password",
            &[
                ("csrf", &csrf),
                ("user_id", carol.as_str().unwrap()),
                ("password", "an entirely new passphrase"),
                ("current_password", crate::helpers::ADMIN_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn a_token_reported_leaked_is_revoked_and_the_site_alerted() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let unknown = app::server::crypto::tokens::generate(
            app::server::crypto::tokens::TokenKind::AdminToken,
        )
        .unwrap();
        let report = |candidates: Vec<String>| async move {
            let form: Vec<(&str, String)> = candidates.into_iter().map(|c| ("token", c)).collect();
            let response = app
                .new_client()
                .post(format!("{}/oauth/leaks", app.base))
                .form(&form)
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body
        };
        let found = report(vec![token.clone(), unknown]).await;
        assert_eq!(found[0]["status"], "revoked", "{found}");
        assert_eq!(found[0]["type"], "admin_token");
        assert_eq!(found[1]["status"], "unknown");
        assert!(
            !found.to_string().contains(&token),
            "the candidate is never echoed"
        );
        let status = sites_status(app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let again = report(vec![token.clone()]).await;
        assert_eq!(again[0]["status"], "inactive");

        let other = admin_token(app, ADMIN, &["Acme"], false).await;
        let (_, _, alerts) = call(
            app,
            Some(&other),
            Method::GET,
            "/admin/v1/sites/Acme/alerts",
            &[],
            None,
        )
        .await;
        assert!(
            alerts
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == "credential_leaked"
                    && a["summary"].as_str().unwrap().contains("reported leaked")),
            "{alerts}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_database_writer_without_the_keys_cannot_plant_a_token() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        // A row as a writer without the master key could make it: the token's bare digest.
        let planted = app::server::crypto::tokens::generate(
            app::server::crypto::tokens::TokenKind::AdminToken,
        )
        .unwrap();
        let alice = users::find_by_username(&app.state.db, ADMIN)
            .await
            .unwrap()
            .unwrap();
        let site = sites::find_by_name(&app.state.db, "Acme")
            .await
            .unwrap()
            .unwrap();
        let id = uuid::Uuid::now_v7();
        use app::server::entities::{admin_token, admin_token_site};
        use sea_orm::ActiveValue::Set;
        admin_token::Entity::insert(admin_token::ActiveModel {
            id: Set(id),
            user_id: Set(alice.id),
            name: Set("planted".into()),
            token_digest: Set(app::server::crypto::tokens::digest(&planted)),
            hint: Set("xxxx".into()),
            can_write: Set(true),
            created_by_label: Set("nobody".into()),
            created_at: Set(0),
            expires_at: Set(i64::MAX),
            last_used_at: Set(None),
            last_used_from: Set(None),
            revoked_at: Set(None),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        admin_token_site::Entity::insert(admin_token_site::ActiveModel {
            token_id: Set(id),
            site_id: Set(site.id),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        let status = sites_status(app, &planted).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn changing_ones_own_password_or_signing_out_everywhere_revokes_ones_tokens() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        let first = admin_token(app, ADMIN, &["Acme"], false).await;
        let csrf = app.csrf().await;
        app.call_json("sign_out_everywhere", &[("csrf", &csrf)], StatusCode::OK)
            .await;
        let status = sites_status(app, &first).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "sign out everywhere, {}",
            app.backend
        );

        let second = admin_token(app, ADMIN, &["Acme"], false).await;
        let alice = users::find_by_username(&app.state.db, ADMIN)
            .await
            .unwrap()
            .unwrap();
        app::server::services::account::change_own_password(
            &app.state,
            &alice,
            crate::helpers::ADMIN_PASSWORD,
            "an entirely different passphrase",
            None,
        )
        .await
        .unwrap();
        let status = sites_status(app, &second).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "own password change, {}",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn a_stored_answer_is_replayed_only_while_the_token_still_reaches_its_site() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let acme = site_id(app).await;
        add_user(app, "carol", &[(&acme, true, false)], StatusCode::OK).await;
        let token = admin_token(app, "carol", &["Acme"], true).await;
        let key = [("idempotency-key", "once".to_owned())];
        let body = json!({"name": "Kept", "description": "d", "redirect_uri": "https://k.example.com/cb", "owner": fixture.username, "accept_terms": true});
        let (status, ..) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
        let carol = users::find_by_username(&app.state.db, "carol").await.unwrap().unwrap();
        use app::server::entities::site_membership as membership;
        membership::Entity::update_many()
            .col_expr(membership::Column::IsSiteAdmin, sea_orm::sea_query::Expr::value(false))
            .filter(membership::Column::UserId.eq(carol.id))
            .exec(&app.state.db)
            .await
            .unwrap();
        let (status, _, problem) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert!(!problem.to_string().contains("lkcs_"));
    })
    .await;
}

#[tokio::test]
async fn an_owner_from_another_site_is_refused_like_an_unknown_name() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let beta = create_site(app, "Beta").await;
        add_user(app, "stranger", &[(&beta, false, true)], StatusCode::OK).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let mut messages = Vec::new();
        for owner in ["stranger", "nobody-at-all"] {
            let body = json!({"name": "X", "description": "d", "redirect_uri": "https://x.example.com/cb", "owner": owner, "accept_terms": true});
            let (status, _, problem) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &[], Some(&body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            messages.push(problem["errors"].clone());
        }
        assert_eq!(messages[0], messages[1]);
        let client = format!("/admin/v1/clients/{}", fixture.client_id);
        let mut answers = Vec::new();
        for owner in ["stranger", "nobody-at-all"] {
            let (status, _, problem) = call(app, Some(&token), Method::PATCH, &client, &[("if-match", "*".into())], Some(&json!({"owner": owner}))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            answers.push(problem["errors"].clone());
        }
        assert_eq!(answers[0], answers[1]);
        // Wrong method, repeated If-Match: problem details too.
        let (status, ..) = call(app, Some(&token), Method::PUT, &client, &[], None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, ..) = call(app, Some(&token), Method::PATCH, &client, &[("if-match", "*".into()), ("if-match", "*".into())], Some(&json!({}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn a_token_manages_api_users_but_never_administrators() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let acme = site_id(app).await;
        add_user(app, "carol", &[(&acme, true, false)], StatusCode::OK).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let refused = [
            (
                Method::POST,
                "/admin/v1/sites/Acme/users".to_owned(),
                Some(json!({
                    "username": "mallory", "email": "m@example.com",
                    "password": "a sturdy long passphrase", "site_admin": true,
                })),
            ),
            (
                Method::PUT,
                format!("/admin/v1/sites/Acme/users/{}/roles", fixture.username),
                Some(json!({"site_admin": true, "api_user": true})),
            ),
            (
                Method::PUT,
                "/admin/v1/sites/Acme/users/carol/roles".to_owned(),
                Some(json!({"site_admin": false, "api_user": true})),
            ),
            (
                Method::POST,
                "/admin/v1/users/carol/disable".to_owned(),
                None,
            ),
            (Method::DELETE, "/admin/v1/users/carol".to_owned(), None),
            (
                Method::POST,
                format!("/admin/v1/users/{ADMIN}/disable"),
                None,
            ),
        ];
        for (method, path, body) in refused {
            let (status, _, problem) =
                call(app, Some(&token), method.clone(), &path, &[], body.as_ref()).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} on {}",
                app.backend
            );
            assert_eq!(
                problem["type"],
                "urn:latchkey:problem:administrators-in-console"
            );
        }
        // An API user it may manage.
        let (status, ..) = call(
            app,
            Some(&token),
            Method::POST,
            &format!("/admin/v1/users/{}/disable", fixture.username),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let carol = users::find_by_username(&app.state.db, "carol")
            .await
            .unwrap()
            .unwrap();
        assert!(carol.is_active(), "carol untouched");
    })
    .await;
}

#[tokio::test]
async fn deleting_an_administrator_revokes_their_tokens_and_a_revocation_forgets_stored_answers() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let acme = site_id(app).await;
        add_user(app, "carol", &[(&acme, true, false)], StatusCode::OK).await;
        let token = admin_token(app, "carol", &["Acme"], true).await;
        let key = [("idempotency-key", "remembered".to_owned())];
        let body = json!({"name": "Remembered", "description": "d", "redirect_uri": "https://r.example.com/cb", "owner": fixture.username, "accept_terms": true});
        let (status, ..) = call(app, Some(&token), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
        use app::server::entities::admin_idempotency;
        use sea_orm::PaginatorTrait;
        assert_eq!(admin_idempotency::Entity::find().count(&app.state.db).await.unwrap(), 1);

        let carol = users::find_by_username(&app.state.db, "carol").await.unwrap().unwrap();
        let operator = Acting::operator();
        users::delete(&ServiceContext::new(&app.state, &operator), carol.id).await.unwrap();
        assert_eq!(sites_status(app, &token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            admin_idempotency::Entity::find().count(&app.state.db).await.unwrap(),
            0,
            "a revoked token's stored answers (a secret among them) are gone"
        );

        // And the housekeeping forgets any answer after a day.
        let other = admin_token(app, ADMIN, &["Acme"], true).await;
        let body = json!({"name": "Later", "description": "d", "redirect_uri": "https://l.example.com/cb", "owner": fixture.username, "accept_terms": true});
        let (status, ..) = call(app, Some(&other), Method::POST, "/admin/v1/clients", &key, Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
        let idempotency = app::server::services::admin_tokens::idempotency::forget_expired;
        assert_eq!(idempotency(&app.state.db, app.state.clock.now()).await.unwrap(), 0);
        let later = app.state.clock.now().plus_seconds(86_401);
        assert_eq!(idempotency(&app.state.db, later).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_site_change_needs_the_sites_current_etag() {
    on_each_backend(async |app| {
        fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let (_, got, _) = call(
            app,
            Some(&token),
            Method::GET,
            "/admin/v1/sites/Acme",
            &[],
            None,
        )
        .await;
        let tag = etag(&got);
        let change = json!({"consent_lifetime_seconds": 3600});
        let (status, ..) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[],
            Some(&change),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
        let (status, got, site) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[("if-match", tag.clone())],
            Some(&change),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{site}");
        assert_eq!(site["consent_lifetime_seconds"], 3600);
        assert_ne!(etag(&got), tag);
        let (status, ..) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[("if-match", tag)],
            Some(&json!({"secret_lifetime_seconds": 0})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::PRECONDITION_FAILED,
            "the first change moved the tag"
        );
        let (status, _, problem) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[("if-match", "*".into())],
            Some(&json!({"consent_lifetime_seconds": 5})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "consent_lifetime_seconds");

        // The access token format (RFC 9068): a bad value names its field; `jwt` is shown.
        let (status, _, problem) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[("if-match", "*".into())],
            Some(&json!({"access_token_format": "JWT\u{202e}"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], "access_token_format");
        let (status, _, site) = call(
            app,
            Some(&token),
            Method::PATCH,
            "/admin/v1/sites/Acme",
            &[("if-match", "*".into())],
            Some(&json!({"access_token_format": "jwt"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{site}");
        assert_eq!(site["access_token_format"], "jwt");
    })
    .await;
}

#[tokio::test]
async fn refusals_from_around_the_api_are_problems_too_and_users_page_by_cursor() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "bob", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        // Over the body limit, and from another site's page: answered before any handler.
        let response = app
            .new_client()
            .post(format!("{}/admin/v1/clients", app.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(vec![b' '; 100 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let (status, ..) = call(
            app,
            Some(&token),
            Method::POST,
            "/admin/v1/clients",
            &[("origin", "https://evil.example".into())],
            Some(&json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Only the API's own paths: a console page that merely starts alike is left as it is.
        let console = app
            .new_client()
            .get(format!("{}/admin/v1foo", app.base))
            .send()
            .await
            .unwrap();
        assert_ne!(
            console.headers()["content-type"],
            "application/problem+json"
        );

        // Users, three per page: every one once, in order.
        let acme = site_id(app).await;
        for name in ["dora", "erin", "finn", "gus"] {
            add_user(app, name, &[(&acme, false, true)], StatusCode::OK).await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/v1/sites/Acme/users?limit=3&cursor={c}"),
                None => "/admin/v1/sites/Acme/users?limit=3".to_owned(),
            };
            let (status, _, page) = call(app, Some(&token), Method::GET, &path, &[], None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            for user in page["users"].as_array().unwrap() {
                seen.push(user["username"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut expected = vec![ADMIN.to_owned(), fixture.username.clone()];
        expected.extend(["dora", "erin", "finn", "gus"].map(str::to_owned));
        expected.sort();
        assert_eq!(seen, expected, "{}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn an_automation_makes_a_client_require_dpop() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "dpop-admin", false).await;
        let token = admin_token(app, ADMIN, &["Acme"], true).await;
        let client = format!("/admin/v1/clients/{}", fixture.client_id);
        let (_, _, before) = call(app, Some(&token), Method::GET, &client, &[], None).await;
        assert_eq!(before["require_dpop"], false);
        let (status, _, after) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[("if-match", "*".into())],
            Some(&json!({"require_dpop": true})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{after}");
        assert_eq!(after["require_dpop"], true);
        let (status, ..) = call(
            app,
            Some(&token),
            Method::PATCH,
            &client,
            &[("if-match", "*".into())],
            Some(&json!({"require_dpop": "yes"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let refused = crate::oauth_helpers::token(
            app,
            &fixture,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
        crate::oauth_helpers::expect_error(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof")
            .await;
    })
    .await;
}
