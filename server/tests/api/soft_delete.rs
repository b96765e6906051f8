//! Soft delete with undo (issue 20 item 5): a deleted client or user is refused everywhere
//! at once and left out of every list, sits in the Deleted view, comes back as it was (tokens
//! still revoked) when restored, and is purged — by "Delete now" or when the retention period
//! ends — with an audit event for each step.

use crate::helpers::{
    TestApp, USER_PASSWORD, add_user, create_site, field_message, on_each_backend,
    signed_in_browser, site_id,
};
use crate::oauth_helpers::{Fixture, basic, code_for, exchange, expect_error, fixture, me, token};
use app::domain::Timestamp;
use app::server::{
    entities::{access_token, client, refresh_token, token_family, user},
    services::{clients, users},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

const DAY: i64 = 86_400;

async fn deleted(app: &TestApp) -> Value {
    app.call_json("list_deleted", &[], StatusCode::OK).await
}

async fn listed_clients(app: &TestApp) -> Vec<String> {
    let page = app
        .call_json(
            "list_clients",
            &[("q", ""), ("sort", "name"), ("dir", ""), ("page", "0")],
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

async fn actions(app: &TestApp) -> Vec<String> {
    use app::server::entities::audit_event;
    audit_event::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// Client authentication alone (introspection of a nonsense token): 200 while the client may
/// authenticate, 401 `invalid_client` otherwise.
async fn authenticates(app: &TestApp, f: &Fixture) -> bool {
    let response = app
        .client
        .post(format!("{}/oauth/introspect", app.base))
        .header("Authorization", basic(&f.client_id, &f.client_secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("introspection answered {other}"),
    }
}

async fn live_tokens(app: &TestApp, client_uuid: &str) -> u64 {
    let id: uuid::Uuid = client_uuid.parse().unwrap();
    let db = &app.state.db;
    let access = access_token::Entity::find()
        .filter(access_token::Column::ClientUuid.eq(id))
        .filter(access_token::Column::RevokedAt.is_null())
        .count(db)
        .await
        .unwrap();
    let refresh = refresh_token::Entity::find()
        .filter(refresh_token::Column::ClientUuid.eq(id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .count(db)
        .await
        .unwrap();
    let families = token_family::Entity::find()
        .filter(token_family::Column::ClientUuid.eq(id))
        .filter(token_family::Column::RevokedAt.is_null())
        .count(db)
        .await
        .unwrap();
    access + refresh + families
}

#[tokio::test]
async fn a_deleted_client_is_refused_at_once_restorable_and_purged_on_request() {
    on_each_backend(async |app| {
        let f = fixture(app, "dora", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let unused_code = code_for(app, &f, &[]).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        assert!(authenticates(app, &f).await);

        app.call_json(
            "delete_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::OK,
        )
        .await;

        // Refused at once, everywhere: every token and code of it is dead.
        assert!(!authenticates(app, &f).await, "{}", app.backend);
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        expect_error(
            token(
                app,
                &f,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
        expect_error(
            token(
                app,
                &f,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &unused_code),
                    ("redirect_uri", &f.redirect_uri),
                ],
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
        assert_eq!(live_tokens(app, &f.client_uuid).await, 0, "{}", app.backend);
        // The authorization prompt does not offer it.
        let prompt = app
            .client
            .get(format!("{}/oauth/authorize", app.base))
            .query(&[
                ("response_type", "code"),
                ("client_id", f.client_id.as_str()),
                ("redirect_uri", f.redirect_uri.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert!(prompt.status().is_client_error(), "{}", prompt.status());

        // Gone from every list and count; only the Deleted view has it.
        assert!(listed_clients(app).await.is_empty());
        app.call_json(
            "get_client",
            &[("client_uuid", &f.client_uuid)],
            StatusCode::NOT_FOUND,
        )
        .await;
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        assert_eq!(dashboard["clients"], 0);
        let view = deleted(app).await;
        assert_eq!(view["retention_days"], 30);
        assert_eq!(view["clients"][0]["name"], "App of dora");
        assert_eq!(view["clients"][0]["purge_in_days"], 30);
        assert_eq!(view["clients"][0]["with_owner"], false);
        // Console actions on it are refused like on a missing client.
        app.call_json(
            "set_client_disabled",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("disabled", "false"),
            ],
            StatusCode::NOT_FOUND,
        )
        .await;
        app.call_json(
            "delete_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::NOT_FOUND,
        )
        .await;

        // Undo: back as it was; its secret works again, its tokens stay revoked.
        app.call_json(
            "restore_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::OK,
        )
        .await;
        assert!(authenticates(app, &f).await, "{}", app.backend);
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(listed_clients(app).await, ["App of dora"]);
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &f.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(detail["active"], true);
        assert!(deleted(app).await["clients"].as_array().unwrap().is_empty());
        // Restoring twice finds nothing to restore.
        app.call_json(
            "restore_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::NOT_FOUND,
        )
        .await;
        // A code issued before the deletion was dropped with it: no grant starts after an undo.
        expect_error(
            token(
                app,
                &f,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &unused_code),
                    ("redirect_uri", &f.redirect_uri),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        // A new authorization works.
        let again = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        assert_eq!(
            me(app, again["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::OK
        );

        // Delete now: refused without the box ticked, then removed for good.
        app.call_json(
            "delete_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::OK,
        )
        .await;
        let unticked = app
            .call_json(
                "purge_client",
                &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(field_message(&unticked, "confirm").is_some(), "{unticked}");
        app.call_json(
            "purge_client",
            &[
                ("csrf", &f.csrf),
                ("client_uuid", &f.client_uuid),
                ("confirm", "yes"),
            ],
            StatusCode::OK,
        )
        .await;
        let id: uuid::Uuid = f.client_uuid.parse().unwrap();
        assert!(
            client::Entity::find_by_id(id)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_none()
        );
        assert!(deleted(app).await["clients"].as_array().unwrap().is_empty());
        app.call_json(
            "restore_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::NOT_FOUND,
        )
        .await;
        let log = actions(app).await;
        for action in ["client.deleted", "client.restored", "client.purged"] {
            assert!(log.iter().any(|a| a == action), "{action}: {log:?}");
        }
    })
    .await;
}

/// How many audit events `action` name the client `client_id` as their target.
async fn client_events(app: &TestApp, action: &str, client_id: &str) -> usize {
    app::server::entities::audit_event::Entity::find()
        .filter(app::server::entities::audit_event::Column::Action.eq(action))
        .filter(app::server::entities::audit_event::Column::TargetId.eq(client_id))
        .count(&app.state.db)
        .await
        .unwrap() as usize
}

#[tokio::test]
async fn a_deleted_user_takes_their_clients_and_sessions_and_brings_them_back() {
    on_each_backend(async |app| {
        let f = fixture(app, "dora", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let site = site_id(app).await;
        // Another administrator, signed in elsewhere.
        add_user(app, "erin", &[(&site, true, false)], StatusCode::OK).await;
        let (erin, _) = signed_in_browser(app, "erin").await;

        // Dora (an API user who owns a client) is deleted: her client goes with her.
        app.call_json(
            "delete_user",
            &[("csrf", &f.csrf), ("user_id", &f.user_id)],
            StatusCode::OK,
        )
        .await;
        assert!(!authenticates(app, &f).await, "{}", app.backend);
        assert_eq!(
            me(app, tokens["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(live_tokens(app, &f.client_uuid).await, 0);
        assert!(listed_clients(app).await.is_empty());
        let users = app
            .call_json(
                "list_users",
                &[("q", "dora"), ("page", "0")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(users["total"], 0, "{users}");
        app.call_json(
            "get_user",
            &[("user_id", &f.user_id)],
            StatusCode::NOT_FOUND,
        )
        .await;
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        assert_eq!(dashboard["api_users"], 0);
        let view = deleted(app).await;
        assert_eq!(view["users"][0]["username"], "dora");
        assert_eq!(
            view["users"][0]["clients"],
            serde_json::json!(["App of dora"])
        );
        assert_eq!(view["clients"][0]["with_owner"], true);
        // Her client's deletion is an event of its own (what `client.deleted` subscribers get).
        assert_eq!(client_events(app, "client.deleted", &f.client_id).await, 1);
        // Her name stays hers until she is purged.
        let taken = add_user(
            app,
            "dora",
            &[(&site, false, true)],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(
            field_message(&taken, "username")
                .unwrap()
                .contains("deleted user"),
            "{taken}"
        );
        // Her client alone cannot come back while she is deleted.
        let refused = app
            .call_json(
                "restore_client",
                &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
                StatusCode::CONFLICT,
            )
            .await;
        assert!(
            refused["Conflict"]
                .as_str()
                .unwrap()
                .contains("restore them first"),
            "{refused}"
        );

        // Erin is deleted while signed in: her session ends at once.
        let erin_id = app
            .call_json(
                "list_users",
                &[("q", "erin"), ("page", "0")],
                StatusCode::OK,
            )
            .await["rows"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.call_json(
            "delete_user",
            &[("csrf", &f.csrf), ("user_id", &erin_id)],
            StatusCode::OK,
        )
        .await;
        let after = app.call_with(&erin, "get_dashboard", &[]).await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "{}", app.backend);
        let erin_again = app
            .call_with(
                &app.new_client(),
                "sign_in",
                &[("username", "erin"), ("password", USER_PASSWORD)],
            )
            .await;
        assert_eq!(erin_again.status(), StatusCode::BAD_REQUEST);

        // Restoring Dora restores her client (tokens still revoked, secret working).
        app.call_json(
            "restore_user",
            &[("csrf", &f.csrf), ("user_id", &f.user_id)],
            StatusCode::OK,
        )
        .await;
        assert!(authenticates(app, &f).await, "{}", app.backend);
        assert_eq!(listed_clients(app).await, ["App of dora"]);
        assert_eq!(client_events(app, "client.restored", &f.client_id).await, 1);
        assert_eq!(live_tokens(app, &f.client_uuid).await, 0);
        let again = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        assert_eq!(
            me(app, again["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::OK
        );
        // Erin comes back too and signs in again.
        app.call_json(
            "restore_user",
            &[("csrf", &f.csrf), ("user_id", &erin_id)],
            StatusCode::OK,
        )
        .await;
        signed_in_browser(app, "erin").await;

        // Delete now, for a user: the user and the clients deleted with them are gone.
        app.call_json(
            "delete_user",
            &[("csrf", &f.csrf), ("user_id", &f.user_id)],
            StatusCode::OK,
        )
        .await;
        app.call_json(
            "purge_user",
            &[
                ("csrf", &f.csrf),
                ("user_id", &f.user_id),
                ("confirm", "yes"),
            ],
            StatusCode::OK,
        )
        .await;
        let db = &app.state.db;
        let dora: uuid::Uuid = f.user_id.parse().unwrap();
        assert!(
            user::Entity::find_by_id(dora)
                .one(db)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            client::Entity::find()
                .filter(client::Column::OwnerUserId.eq(dora))
                .count(db)
                .await
                .unwrap(),
            0
        );
        let view = deleted(app).await;
        assert!(view["users"].as_array().unwrap().is_empty(), "{view}");
        assert!(view["clients"].as_array().unwrap().is_empty(), "{view}");
        // Her name is free again.
        add_user(app, "dora", &[(&site, false, true)], StatusCode::OK).await;
        let log = actions(app).await;
        for action in ["user.deleted", "user.restored", "user.purged"] {
            assert!(log.iter().any(|a| a == action), "{action}: {log:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_retention_period_purges_what_was_not_restored() {
    on_each_backend(async |app| {
        let kept = fixture(app, "kept", false).await;
        let lost = fixture(app, "lost", false).await;
        let owner_gone = fixture(app, "gone", false).await;
        for f in [&kept, &lost] {
            app.call_json(
                "delete_client",
                &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
                StatusCode::OK,
            )
            .await;
        }
        app.call_json(
            "delete_user",
            &[("csrf", &owner_gone.csrf), ("user_id", &owner_gone.user_id)],
            StatusCode::OK,
        )
        .await;
        app.call_json(
            "restore_client",
            &[("csrf", &kept.csrf), ("client_uuid", &kept.client_uuid)],
            StatusCode::OK,
        )
        .await;

        let db = &app.state.db;
        let keys = &app.state.keys;
        let now = app.state.clock.now();
        // A day before the period ends (the housekeeping's cutoff is its now less the
        // period), nothing goes.
        let cutoff_at = |at: Timestamp| Timestamp(at.unix() - 30 * DAY);
        let early = Timestamp(now.unix() + 29 * DAY);
        assert_eq!(
            clients::purge_expired(db, keys, cutoff_at(early), early)
                .await
                .unwrap(),
            0
        );
        let users_early = users::purge_expired(db, keys, cutoff_at(early), early).await;
        assert_eq!(users_early.unwrap(), 0);
        // When it ends: the deleted client, and the deleted user with their client.
        let now = Timestamp(now.unix() + 30 * DAY);
        let cutoff = cutoff_at(now);
        assert_eq!(
            clients::purge_expired(db, keys, cutoff, now).await.unwrap(),
            1,
            "{}",
            app.backend
        );
        assert_eq!(
            users::purge_expired(db, keys, cutoff, now).await.unwrap(),
            1,
            "{}",
            app.backend
        );
        let remaining: Vec<String> = client::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(remaining, ["App of kept"], "{}", app.backend);
        let view = deleted(app).await;
        assert!(view["clients"].as_array().unwrap().is_empty(), "{view}");
        assert!(view["users"].as_array().unwrap().is_empty(), "{view}");
        let log = actions(app).await;
        assert_eq!(
            log.iter().filter(|a| *a == "client.purged").count(),
            1,
            "{log:?}"
        );
        assert_eq!(
            log.iter().filter(|a| *a == "user.purged").count(),
            1,
            "{log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn another_sites_administrator_can_neither_see_nor_restore_nor_purge() {
    on_each_backend(async |app| {
        let f = fixture(app, "dora", false).await;
        app.call_json(
            "delete_client",
            &[("csrf", &f.csrf), ("client_uuid", &f.client_uuid)],
            StatusCode::OK,
        )
        .await;
        app.call_json(
            "delete_user",
            &[("csrf", &f.csrf), ("user_id", &f.user_id)],
            StatusCode::OK,
        )
        .await;
        let other = create_site(app, "Globex").await;
        add_user(app, "outsider", &[(&other, true, false)], StatusCode::OK).await;
        let (outsider, session) = signed_in_browser(app, "outsider").await;
        let csrf = session["csrf"].as_str().unwrap().to_owned();
        let view: Value = app
            .call_with(&outsider, "list_deleted", &[])
            .await
            .json()
            .await
            .unwrap();
        assert!(view["clients"].as_array().unwrap().is_empty(), "{view}");
        assert!(view["users"].as_array().unwrap().is_empty(), "{view}");
        for (function, field, id) in [
            ("restore_client", "client_uuid", &f.client_uuid),
            ("purge_client", "client_uuid", &f.client_uuid),
            ("restore_user", "user_id", &f.user_id),
            ("purge_user", "user_id", &f.user_id),
        ] {
            let response = app
                .call_with(
                    &outsider,
                    function,
                    &[("csrf", &csrf), (field, id), ("confirm", "yes")],
                )
                .await;
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{function} on {}",
                app.backend
            );
        }
        // Still there for Acme's administrator.
        assert_eq!(deleted(app).await["users"][0]["username"], "dora");
    })
    .await;
}
