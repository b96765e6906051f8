//! API client registration, the API Clients list, reveal, rotation, disable and delete.

use crate::helpers::{
    ADMIN_PASSWORD, TestApp, field_message, on_each_backend, on_each_backend_with,
};
use app::server::{
    crypto::tokens::{TokenKind, is_well_formed},
    entities::{audit_event, client_secret},
    services::secrets,
    state::SecretPolicy,
};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// Sets up the site, an API user `owner` and returns (csrf, owner id).
pub async fn site_with_api_user(app: &TestApp) -> (String, String) {
    app.complete_setup().await;
    let csrf = app.csrf().await;
    let site = app.console_session().await["site"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = app
        .call_json(
            "create_user",
            &[
                ("csrf", &csrf),
                ("username", "owner"),
                ("email", "owner@example.com"),
                ("password", "a sturdy passphrase"),
                ("roles[0][site_id]", &site),
                ("roles[0][api_user]", "on"),
            ],
            StatusCode::OK,
        )
        .await;
    (csrf, owner.as_str().unwrap().to_owned())
}

/// Registers a client through the console form; returns its internal id.
pub async fn register(app: &TestApp, csrf: &str, owner: &str, name: &str) -> String {
    let id = app
        .call_json(
            "register_client",
            &[
                ("csrf", csrf),
                ("name", name),
                ("description", "Reads reports"),
                ("redirect_uri", "https://app.example.com/callback"),
                ("owner", owner),
                ("scopes[0]", "profile"),
                ("accept_terms", "on"),
            ],
            StatusCode::OK,
        )
        .await;
    id.as_str().unwrap().to_owned()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    app.call_json("get_client", &[("client_uuid", id)], StatusCode::OK)
        .await
}

/// Regenerates the secret of client `id`, the old one valid for `grace` seconds, tokens kept.
async fn rotate(app: &TestApp, csrf: &str, id: &str, grace: &str) {
    app.call_json(
        "rotate_client_secret",
        &[
            ("csrf", csrf),
            ("client_uuid", id),
            ("grace", grace),
            ("tokens", "keep"),
        ],
        StatusCode::OK,
    )
    .await;
}

/// A partner's job authenticates with `secret` (introspecting a made-up token is enough).
async fn use_secret(app: &TestApp, client_id: &str, secret: &str, user_agent: Option<&str>) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/oauth/introspect", app.base))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", "lkat_not_a_real_token")]);
    if let Some(agent) = user_agent {
        request = request.header("user-agent", agent);
    }
    assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
}

/// The id of client `id`'s slot in its grace period.
async fn grace_slot_id(app: &TestApp, id: &str) -> String {
    detail(app, id).await["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "grace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn audit_texts(app: &TestApp) -> Vec<String> {
    audit_event::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} | {} | {}", e.action, e.summary, e.details))
        .collect()
}

#[tokio::test]
async fn registration_requires_terms_and_valid_fields() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let error = app
            .call_json(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", ""),
                    ("description", " "),
                    ("redirect_uri", "http://evil.example/cb"),
                    ("owner", ""),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        for field in [
            "name",
            "description",
            "redirect_uri",
            "owner",
            "accept_terms",
        ] {
            assert!(field_message(&error, field).is_some(), "{field}: {error}");
        }
        assert!(
            field_message(&error, "accept_terms")
                .unwrap()
                .contains("Terms of Use")
        );

        // Everything valid but the terms: still refused, nothing created.
        let no_terms = app
            .call_json(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", "Bot"),
                    ("description", "d"),
                    ("redirect_uri", "https://app.example.com/cb"),
                    ("owner", &owner),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(
            no_terms["Invalid"].as_array().unwrap().len(),
            1,
            "{no_terms}"
        );
        let list = app
            .call_json(
                "list_clients",
                &[("q", ""), ("sort", ""), ("dir", ""), ("page", "0")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(list["total"], 0);

        // The owner must be an API user of the site; scopes must be in the catalogue.
        let alice = app
            .call_json(
                "list_users",
                &[("q", "alice"), ("page", "0")],
                StatusCode::OK,
            )
            .await["rows"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let not_api = app
            .call_json(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", "Bot"),
                    ("description", "d"),
                    ("redirect_uri", "https://app.example.com/cb"),
                    ("owner", &alice),
                    ("accept_terms", "on"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(field_message(&not_api, "owner").is_some(), "{not_api}");
        let bad_scope = app
            .call_json(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", "Bot"),
                    ("description", "d"),
                    ("redirect_uri", "https://app.example.com/cb"),
                    ("owner", &owner),
                    ("scopes[0]", "admin"),
                    ("accept_terms", "on"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&bad_scope, "scopes")
                .unwrap()
                .contains("admin"),
            "{bad_scope}"
        );
    })
    .await;
}

#[tokio::test]
async fn registration_shows_the_secret_once_and_records_terms() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let response = app
            .call(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", "Reporting Bot"),
                    ("description", "Reads reports\nnightly"),
                    ("redirect_uri", "https://app.example.com/callback"),
                    ("owner", &owner),
                    ("scopes[0]", "profile"),
                    ("require_pkce", "on"),
                    ("accept_terms", "on"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let id: String = response.json().await.unwrap();

        let first = detail(app, &id).await;
        let client_id = first["client_id"].as_str().unwrap();
        assert!(
            is_well_formed(TokenKind::ClientId, client_id),
            "{client_id}"
        );
        let (hint, secret) = (
            first["revealed"][0].as_str().unwrap(),
            first["revealed"][1].as_str().unwrap(),
        );
        assert!(is_well_formed(TokenKind::ClientSecret, secret));
        assert!(secret.ends_with(hint));
        assert_eq!(first["require_pkce"], true);
        assert_eq!(first["scopes"], json!(["profile"]));
        assert_eq!(first["description"], "Reads reports\nnightly");
        assert_eq!(first["terms"]["version"], first["current_terms_version"]);
        assert_eq!(first["terms"]["by"], "alice");
        assert_eq!(first["terms"]["from"], "127.0.0.1");
        // Shown once: the next view masks it.
        assert_eq!(detail(app, &id).await["revealed"], Value::Null);

        // The stored row holds a keyed hash and ciphertext, never the secret.
        let rows = client_secret::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(
            !rows[0].verifier.contains(secret)
                && rows[0]
                    .ciphertext
                    .as_deref()
                    .is_some_and(|c| !c.contains(secret))
        );
        let valid = secrets::valid_slots(&app.state.db, rows[0].client_uuid, app.state.clock.now())
            .await
            .unwrap();
        assert_eq!(
            secrets::verify(&app.state.keys, secret, &valid),
            Some(rows[0].id)
        );
        // No secret anywhere in the audit log.
        let audit = audit_texts(app).await;
        assert!(audit.iter().all(|e| !e.contains(secret)));
        assert!(audit.iter().any(|e| {
            e.starts_with("client.registered | API client \"Reporting Bot\" registered for owner")
        }));
        assert!(audit.iter().any(|e| e.starts_with("client.terms_accepted")));
    })
    .await;
}

#[tokio::test]
async fn reveal_needs_a_recent_password_and_is_audited() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Bot").await;
        let original = detail(app, &id).await["revealed"][1]
            .as_str()
            .unwrap()
            .to_owned();
        let slot = detail(app, &id).await["secrets"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Just signed in: reveal works.
        app.call_json(
            "reveal_client_secret",
            &[("csrf", &csrf), ("client_uuid", &id), ("slot_id", &slot)],
            StatusCode::OK,
        )
        .await;
        assert_eq!(detail(app, &id).await["revealed"][1], original.as_str());

        // Six minutes later a password is needed.
        app.state.clock.advance(6 * 60);
        let stale = app
            .call_json(
                "reveal_client_secret",
                &[("csrf", &csrf), ("client_uuid", &id), ("slot_id", &slot)],
                StatusCode::UNAUTHORIZED,
            )
            .await;
        assert_eq!(stale, json!("ReauthenticationRequired"));
        let wrong = app
            .call_json(
                "reveal_client_secret",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &id),
                    ("slot_id", &slot),
                    ("current_password", "not it at all"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(field_message(&wrong, "current_password").is_some());
        assert_eq!(detail(app, &id).await["revealed"], Value::Null);
        app.call_json(
            "reveal_client_secret",
            &[
                ("csrf", &csrf),
                ("client_uuid", &id),
                ("slot_id", &slot),
                ("current_password", ADMIN_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
        assert_eq!(detail(app, &id).await["revealed"][1], original.as_str());
        // ...and the confirmation lasts a few minutes.
        app.call_json(
            "reveal_client_secret",
            &[("csrf", &csrf), ("client_uuid", &id), ("slot_id", &slot)],
            StatusCode::OK,
        )
        .await;

        let audit = audit_texts(app).await;
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.starts_with("client.secret_revealed"))
                .count(),
            3,
            "{audit:?}"
        );
        assert!(audit.iter().any(|e| e.starts_with("admin.reauthenticated")));
        assert!(audit.iter().all(|e| !e.contains(&original)));
    })
    .await;
}

#[tokio::test]
async fn rotation_with_grace_two_slots_then_retire() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Bot").await;
        let old = detail(app, &id).await["revealed"][1]
            .as_str()
            .unwrap()
            .to_owned();
        let uuid: uuid::Uuid = id.parse().unwrap();

        rotate(app, &csrf, &id, "3600").await;
        let after = detail(app, &id).await;
        let new = after["revealed"][1].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let states: Vec<&str> = after["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["current", "grace"]);

        let keys = &app.state.keys;
        let valid = secrets::valid_slots(&app.state.db, uuid, app.state.clock.now())
            .await
            .unwrap();
        assert!(secrets::verify(keys, &new, &valid).is_some(), "new works");
        assert!(
            secrets::verify(keys, &old, &valid).is_some(),
            "old works during grace"
        );
        app.state.clock.advance(3601);
        let valid = secrets::valid_slots(&app.state.db, uuid, app.state.clock.now())
            .await
            .unwrap();
        assert!(
            secrets::verify(keys, &old, &valid).is_none(),
            "old fails after grace"
        );
        assert!(secrets::verify(keys, &new, &valid).is_some());
        // (An hour idle ended the console session.)
        app.sign_in("alice", ADMIN_PASSWORD).await;
        let csrf = app.csrf().await;

        // Rotate again with a grace period, then retire the old one early.
        rotate(app, &csrf, &id, "86400").await;
        let newest = detail(app, &id).await;
        let grace_slot = newest["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["state"] == "grace")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let current_slot = newest["secrets"][0]["id"].as_str().unwrap().to_owned();
        app.call_json(
            "retire_client_secret",
            &[
                ("csrf", &csrf),
                ("client_uuid", &id),
                ("slot_id", &current_slot),
            ],
            StatusCode::CONFLICT,
        )
        .await;
        app.call_json(
            "retire_client_secret",
            &[
                ("csrf", &csrf),
                ("client_uuid", &id),
                ("slot_id", &grace_slot),
            ],
            StatusCode::OK,
        )
        .await;
        let valid = secrets::valid_slots(&app.state.db, uuid, app.state.clock.now())
            .await
            .unwrap();
        assert_eq!(valid.len(), 1);
        assert!(
            secrets::verify(keys, &new, &valid).is_none(),
            "retired early"
        );

        // Grace beyond 30 days is refused; so is a missing token choice.
        app.call_json(
            "rotate_client_secret",
            &[
                ("csrf", &csrf),
                ("client_uuid", &id),
                ("grace", "99999999"),
                ("tokens", "keep"),
            ],
            StatusCode::BAD_REQUEST,
        )
        .await;
        app.call_json(
            "rotate_client_secret",
            &[
                ("csrf", &csrf),
                ("client_uuid", &id),
                ("grace", "0"),
                ("tokens", ""),
            ],
            StatusCode::BAD_REQUEST,
        )
        .await;
        let audit = audit_texts(app).await;
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.starts_with("client.secret_rotated"))
                .count(),
            2
        );
        assert!(audit.iter().any(|e| e.starts_with("client.secret_retired")));
        assert!(audit.iter().all(|e| !e.contains(&new) && !e.contains(&old)));
    })
    .await;
}

#[tokio::test]
async fn list_search_sort_paginate_edit_disable_delete() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let mut ids = Vec::new();
        for name in ["Charlie", "alpha", "Bravo", "delta 100%"] {
            ids.push(register(app, &csrf, &owner, name).await);
            app.state.clock.advance(10);
        }
        let list = |q: &'static str, sort: &'static str, dir: &'static str, page: &'static str| async move {
            app.call_json("list_clients", &[("q", q), ("sort", sort), ("dir", dir), ("page", page)], StatusCode::OK).await
        };
        let names = |page: &Value| -> Vec<String> {
            page["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(names(&list("", "name", "asc", "0").await), ["alpha", "Bravo", "Charlie", "delta 100%"]);
        assert_eq!(names(&list("", "", "", "0").await)[0], "delta 100%", "newest first by default");
        assert_eq!(names(&list("AL", "name", "asc", "0").await), ["alpha"]);
        assert_eq!(names(&list("%", "name", "asc", "0").await), ["delta 100%"], "LIKE wildcards are literal");
        let by_key = detail(app, &ids[0]).await["client_id"].as_str().unwrap().to_owned();
        let found = app.call_json("list_clients", &[("q", &by_key), ("sort", ""), ("dir", ""), ("page", "0")], StatusCode::OK).await;
        assert_eq!(names(&found), ["Charlie"]);
        // Unused filter: never-used clients created more than N days ago.
        app.state.clock.advance(3 * 86_400);
        app.sign_in("alice", ADMIN_PASSWORD).await;
        let csrf = app.csrf().await;
        let stale = app.call_json("list_clients", &[("q", ""), ("sort", ""), ("dir", ""), ("page", "0"), ("unused", "2")], StatusCode::OK).await;
        assert_eq!(stale["total"], 4);
        let fresh = app.call_json("list_clients", &[("q", ""), ("sort", ""), ("dir", ""), ("page", "0"), ("unused", "5")], StatusCode::OK).await;
        assert_eq!(fresh["total"], 0);
        app.call_json("list_clients", &[("q", ""), ("sort", ""), ("dir", ""), ("page", "0"), ("unused", "soon")], StatusCode::BAD_REQUEST).await;

        // Edit with validation, then a real change.
        let bad = app
            .call_json("update_client", &[("csrf", &csrf), ("client_uuid", &ids[1]), ("name", "alpha"), ("description", "x"), ("redirect_uri", "https://a.example/cb#x")], StatusCode::BAD_REQUEST)
            .await;
        assert!(field_message(&bad, "redirect_uri").unwrap().contains("fragment"));
        app.call_json(
            "update_client",
            &[("csrf", &csrf), ("client_uuid", &ids[1]), ("name", "Alpha 2"), ("description", "New"), ("redirect_uri", "https://b.example/cb"), ("scopes[0]", "profile")],
            StatusCode::OK,
        )
        .await;
        let edited = detail(app, &ids[1]).await;
        assert_eq!((edited["name"].as_str(), edited["redirect_uri"].as_str()), (Some("Alpha 2"), Some("https://b.example/cb")));

        // Disable (choice required), enable, delete.
        app.call_json("set_client_disabled", &[("csrf", &csrf), ("client_uuid", &ids[1]), ("disabled", "true")], StatusCode::BAD_REQUEST).await;
        app.call_json("set_client_disabled", &[("csrf", &csrf), ("client_uuid", &ids[1]), ("disabled", "true"), ("tokens", "revoke")], StatusCode::OK).await;
        assert_eq!(detail(app, &ids[1]).await["active"], false);
        app.call_json("set_client_disabled", &[("csrf", &csrf), ("client_uuid", &ids[1]), ("disabled", "false")], StatusCode::OK).await;
        assert_eq!(detail(app, &ids[1]).await["active"], true);
        app.call_json("delete_client", &[("csrf", &csrf), ("client_uuid", &ids[1])], StatusCode::OK).await;
        app.call_json("get_client", &[("client_uuid", &ids[1])], StatusCode::NOT_FOUND).await;
        assert_eq!(list("", "", "", "0").await["total"], 3);
        let audit = audit_texts(app).await;
        for action in ["client.updated", "client.disabled", "client.enabled", "client.deleted"] {
            assert!(audit.iter().any(|e| e.starts_with(action)), "{action}");
        }

        // Another site's administrator sees none of it.
        let csrf_site = app.call_json("create_site", &[("csrf", &csrf), ("name", "Other")], StatusCode::OK).await;
        let other_site = csrf_site.as_str().unwrap().to_owned();
        app.call_json(
            "create_user",
            &[("csrf", &csrf), ("username", "outsider"), ("email", "o@example.com"), ("password", "a sturdy passphrase"), ("roles[0][site_id]", &other_site), ("roles[0][site_admin]", "on")],
            StatusCode::OK,
        )
        .await;
        let outsider = app.new_client();
        app.call_with(&outsider, "sign_in", &[("username", "outsider"), ("password", "a sturdy passphrase")]).await;
        let hidden = app.call_with(&outsider, "get_client", &[("client_uuid", &ids[0])]).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
        let theirs: Value = app.call_with(&outsider, "list_clients", &[("q", ""), ("sort", ""), ("dir", ""), ("page", "0")]).await.json().await.unwrap();
        assert_eq!(theirs["total"], 0);
    })
    .await;
}

#[tokio::test]
async fn show_once_policy_keeps_no_ciphertext() {
    on_each_backend_with(
        |settings| settings.secret_policy = SecretPolicy::ShowOnce,
        async |app| {
            let (csrf, owner) = site_with_api_user(app).await;
            let id = register(app, &csrf, &owner, "Bot").await;
            let first = detail(app, &id).await;
            assert!(
                first["revealed"][1].as_str().unwrap().starts_with("lkcs_"),
                "shown once after registration"
            );
            assert_eq!(first["reveal_policy"], false);
            let slot = first["secrets"][0]["id"].as_str().unwrap().to_owned();
            assert_eq!(first["secrets"][0]["revealable"], false);
            let refused = app
                .call_json(
                    "reveal_client_secret",
                    &[("csrf", &csrf), ("client_uuid", &id), ("slot_id", &slot)],
                    StatusCode::CONFLICT,
                )
                .await;
            assert!(refused["Conflict"].as_str().unwrap().contains("only once"));
            let rows = client_secret::Entity::find()
                .all(&app.state.db)
                .await
                .unwrap();
            assert!(rows.iter().all(|r| r.ciphertext.is_none()));
        },
    )
    .await;
}

#[tokio::test]
async fn a_new_terms_version_asks_for_acceptance_again() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Bot").await;
        // The operator publishes new terms (a restart with another version).
        let restarted = app
            .sibling(|settings| {
                settings.terms.version = "2027-01-01".into();
                settings.terms.text = "New terms.".into();
            })
            .await;
        restarted.sign_in("alice", ADMIN_PASSWORD).await;
        let csrf = restarted.csrf().await;
        let seen = restarted
            .call_json("get_client", &[("client_uuid", &id)], StatusCode::OK)
            .await;
        assert_ne!(seen["terms"]["version"], seen["current_terms_version"]);
        let terms = restarted.call_json("get_terms", &[], StatusCode::OK).await;
        assert_eq!(terms["version"], "2027-01-01");
        restarted
            .call_json(
                "accept_client_terms",
                &[("csrf", &csrf), ("client_uuid", &id)],
                StatusCode::BAD_REQUEST,
            )
            .await;
        restarted
            .call_json(
                "accept_client_terms",
                &[
                    ("csrf", &csrf),
                    ("client_uuid", &id),
                    ("accept_terms", "on"),
                ],
                StatusCode::OK,
            )
            .await;
        let seen = restarted
            .call_json("get_client", &[("client_uuid", &id)], StatusCode::OK)
            .await;
        assert_eq!(seen["terms"]["version"], "2027-01-01");
        let acceptances = audit_texts(app)
            .await
            .into_iter()
            .filter(|e| e.starts_with("client.terms_accepted"))
            .count();
        assert_eq!(acceptances, 2);
    })
    .await;
}

#[tokio::test]
async fn scope_catalogue_per_site() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let site = app.console_session().await["site"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let settings = app
            .call_json("get_site_settings", &[("site_id", &site)], StatusCode::OK)
            .await;
        assert_eq!(settings["scopes"][0][0], "profile");
        app.call_json(
            "add_site_scope",
            &[
                ("csrf", &csrf),
                ("site_id", &site),
                ("name", "Reports"),
                ("description", "x"),
            ],
            StatusCode::BAD_REQUEST,
        )
        .await;
        app.call_json(
            "add_site_scope",
            &[
                ("csrf", &csrf),
                ("site_id", &site),
                ("name", "reports:read"),
                ("description", "Read reports"),
            ],
            StatusCode::OK,
        )
        .await;
        let id = app
            .call_json(
                "register_client",
                &[
                    ("csrf", &csrf),
                    ("name", "R"),
                    ("description", "d"),
                    ("redirect_uri", "https://r.example/cb"),
                    ("owner", &owner),
                    ("scopes[0]", "profile"),
                    ("scopes[2]", "reports:read"),
                    ("accept_terms", "on"),
                ],
                StatusCode::OK,
            )
            .await;
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", id.as_str().unwrap())],
                StatusCode::OK,
            )
            .await;
        assert_eq!(detail["scopes"], json!(["profile", "reports:read"]));
        let in_use = app
            .call_json(
                "remove_site_scope",
                &[
                    ("csrf", &csrf),
                    ("site_id", &site),
                    ("name", "reports:read"),
                ],
                StatusCode::CONFLICT,
            )
            .await;
        assert!(
            in_use["Conflict"]
                .as_str()
                .unwrap()
                .contains("used by 1 client")
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_an_owner_says_and_does_what_happens_to_their_clients() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Owned Bot").await;
        let preview = app
            .call_json(
                "preview_user_deletion",
                &[("user_id", &owner)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(preview["clients"], json!(["Owned Bot"]));
        app.call_json(
            "delete_user",
            &[("csrf", &csrf), ("user_id", &owner)],
            StatusCode::OK,
        )
        .await;
        app.call_json("get_client", &[("client_uuid", &id)], StatusCode::NOT_FOUND)
            .await;
        let secrets = client_secret::Entity::find().all(&app.state.db);
        assert!(!secrets.await.unwrap().is_empty(), "kept for a restore");
        app.call_json(
            "purge_user",
            &[("csrf", &csrf), ("user_id", &owner), ("confirm", "yes")],
            StatusCode::OK,
        )
        .await;
        assert!(
            client_secret::Entity::find()
                .all(&app.state.db)
                .await
                .unwrap()
                .is_empty(),
            "secrets went with the client when its owner was purged"
        );
    })
    .await;
}

/// Retiring an old secret that clients still use needs "retire it anyway"; the refusal and the
/// details page say when, from where and by what it was last used (the user agent cleaned for
/// display); the audit event records that it was retired while in use. A secret no one used
/// recently retires without the question.
#[tokio::test]
async fn retiring_a_secret_still_in_use_needs_confirmation_and_shows_the_evidence() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Nightly sync").await;
        let first = detail(app, &id).await;
        let old = first["revealed"][1].as_str().unwrap().to_owned();
        let client_id = first["client_id"].as_str().unwrap().to_owned();
        // A partner's job still uses the old secret.
        use_secret(app, &client_id, &old, Some("partner-sync/2.1 \t  (linux)")).await;
        rotate(app, &csrf, &id, "86400").await;
        let retire = |anyway: Option<&'static str>, slot: String| {
            let csrf = csrf.clone();
            let id = id.clone();
            async move {
                let mut form = vec![("csrf", csrf), ("client_uuid", id), ("slot_id", slot)];
                if let Some(value) = anyway {
                    form.push(("retire_anyway", value.to_owned()));
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call("retire_client_secret", &form).await
            }
        };
        let grace_id = grace_slot_id(app, &id).await;
        let refused = retire(None, grace_id.clone()).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let error: Value = refused.json().await.unwrap();
        let message = field_message(&error, "retire_anyway").unwrap_or_default();
        assert!(
            message.contains("still in use")
                && message.contains("from 127.0.0.1")
                && message.contains("user agent “partner-sync/2.1 (linux)”"),
            "{message}"
        );
        // The evidence on the details page (read after the refusal flushed the counts).
        let slot = detail(app, &id).await["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == grace_id.as_str())
            .unwrap()
            .clone();
        assert_eq!(slot["in_use"], true);
        assert_eq!(slot["use_count"], 1);
        assert_eq!(slot["last_used_from"], "127.0.0.1");
        assert_eq!(slot["last_user_agent"], "partner-sync/2.1 (linux)");
        assert_eq!(slot["state"], "grace", "nothing retired by the refusal");

        assert_eq!(retire(Some("yes"), grace_id).await.status(), StatusCode::OK);
        let audit = audit_texts(app).await;
        assert!(
            audit.iter().any(|e| e.starts_with("client.secret_retired")
                && e.contains("\"retired_while_in_use\":true")
                && e.contains("127.0.0.1")),
            "{audit:#?}"
        );

        // A secret nobody used since its rotation retires without the question.
        rotate(app, &csrf, &id, "86400").await;
        let unused = grace_slot_id(app, &id).await;
        assert_eq!(retire(None, unused).await.status(), StatusCode::OK);
    })
    .await;
}

/// Past the warning window (here 10 minutes) the same secret retires without the question.
#[tokio::test]
async fn a_secret_last_used_before_the_warning_window_retires_without_the_question() {
    on_each_backend_with(
        |settings| settings.retire_warning_window = 600,
        async |app| {
            let (csrf, owner) = site_with_api_user(app).await;
            let id = register(app, &csrf, &owner, "Weekly report").await;
            let first = detail(app, &id).await;
            let old = first["revealed"][1].as_str().unwrap().to_owned();
            let client_id = first["client_id"].as_str().unwrap().to_owned();
            use_secret(app, &client_id, &old, None).await;
            rotate(app, &csrf, &id, "86400").await;
            let grace = grace_slot_id(app, &id).await;
            let form = [
                ("csrf", csrf.as_str()),
                ("client_uuid", id.as_str()),
                ("slot_id", grace.as_str()),
                // Only "yes" confirms.
                ("retire_anyway", "no"),
            ];
            let refused = app.call("retire_client_secret", &form).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
            app.state.clock.advance(601);
            // (Ten idle minutes may end the console session: sign in again.)
            app.sign_in("alice", ADMIN_PASSWORD).await;
            let csrf = app.csrf().await;
            let form = [
                ("csrf", csrf.as_str()),
                ("client_uuid", id.as_str()),
                ("slot_id", grace.as_str()),
            ];
            let retired = app.call("retire_client_secret", &form).await;
            assert_eq!(retired.status(), StatusCode::OK);
        },
    )
    .await;
}

/// A regeneration retires an older secret still in its grace period: while clients used it
/// within the warning window it asks first, as "Retire now" does, with the same evidence; the
/// newest secret, replaced without a grace period, is what a regeneration is for.
#[tokio::test]
async fn regenerating_asks_before_retiring_an_old_secret_still_in_use() {
    on_each_backend(async |app| {
        let (csrf, owner) = site_with_api_user(app).await;
        let id = register(app, &csrf, &owner, "Twice rotated").await;
        let first = detail(app, &id).await;
        let old = first["revealed"][1].as_str().unwrap().to_owned();
        let client_id = first["client_id"].as_str().unwrap().to_owned();
        rotate(app, &csrf, &id, "86400").await;
        // The old secret, now in its grace period, is still in use by a partner.
        use_secret(app, &client_id, &old, Some("partner-cron/1.0")).await;
        let regenerate = |anyway: Option<&'static str>| {
            let (csrf, id) = (csrf.clone(), id.clone());
            async move {
                let mut form = vec![
                    ("csrf", csrf),
                    ("client_uuid", id),
                    ("grace", "86400".to_owned()),
                    ("tokens", "keep".to_owned()),
                ];
                if let Some(value) = anyway {
                    form.push(("retire_anyway", value.to_owned()));
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call("rotate_client_secret", &form).await
            }
        };
        let refused = regenerate(None).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{}", app.backend);
        let error: Value = refused.json().await.unwrap();
        let message = field_message(&error, "retire_anyway").unwrap_or_default();
        assert!(
            message.contains("still in use") && message.contains("partner-cron/1.0"),
            "{message}"
        );
        // Nothing changed: the old secret still works.
        use_secret(app, &client_id, &old, None).await;
        assert_eq!(regenerate(Some("yes")).await.status(), StatusCode::OK);
        let history = detail(app, &id).await["history"].to_string();
        assert!(
            history.contains("an old secret still in use was retired (confirmed)"),
            "{history}"
        );
        let refused = reqwest::Client::new()
            .post(format!("{}/oauth/introspect", app.base))
            .basic_auth(&client_id, Some(&old))
            .form(&[("token", "lkat_not_a_real_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "retired");
        // With no grace slot in use, regenerating asks nothing.
        assert_eq!(regenerate(None).await.status(), StatusCode::OK);
    })
    .await;
}
