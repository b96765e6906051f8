//! Issue 17, item 5: ownership never leaves a site's reach. A user who owns API clients on a
//! site cannot be taken off it (assign the clients first), and an administrator of another
//! site can neither delete such a user nor see their clients there.

use crate::helpers::{
    add_user, create_site, field_message, on_each_backend, signed_in_browser, site_id,
};
use crate::trust_credentials::find_user_id;
use reqwest::StatusCode;
use serde_json::Value;

struct World {
    acme: String,
    carol: String,
    client_uuid: String,
    bob: reqwest::Client,
    bob_csrf: String,
}

/// Acme (alice) and Globex (alice and bob); carol, an API user of both, owns an Acme client.
async fn world(app: &crate::helpers::TestApp) -> World {
    app.complete_setup().await;
    let acme = site_id(app).await;
    let globex = create_site(app, "Globex").await;
    add_user(app, "bob", &[(&globex, true, false)], StatusCode::OK).await;
    add_user(
        app,
        "carol",
        &[(&acme, false, true), (&globex, false, true)],
        StatusCode::OK,
    )
    .await;
    let carol = find_user_id(app, "carol").await;
    let csrf = app.csrf().await;
    let id = app
        .call_json(
            "register_client",
            &[
                ("csrf", &csrf),
                ("name", "Acme Payroll Export"),
                ("description", "Exports payroll"),
                ("redirect_uri", "https://payroll.acme.example/cb"),
                ("owner", &carol),
                ("accept_terms", "on"),
            ],
            StatusCode::OK,
        )
        .await;
    let (bob, session) = signed_in_browser(app, "bob").await;
    World {
        acme,
        carol,
        client_uuid: id.as_str().unwrap().to_owned(),
        bob,
        bob_csrf: session["csrf"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_client_owner_cannot_be_taken_off_the_site_until_the_clients_are_reassigned() {
    on_each_backend(async |app| {
        let w = world(app).await;
        let csrf = app.csrf().await;
        let remove = [
            ("csrf", csrf.as_str()),
            ("user_id", w.carol.as_str()),
            ("roles[0][site_id]", w.acme.as_str()),
        ];
        let refused = app
            .call_json("update_user_roles", &remove, StatusCode::CONFLICT)
            .await;
        assert!(
            refused["Conflict"]
                .as_str()
                .is_some_and(|m| m.contains("owns 1 API client")),
            "{refused} on {}",
            app.backend
        );
        // Reassign the client to another API user of Acme, then the removal goes through.
        add_user(app, "dave", &[(&w.acme, false, true)], StatusCode::OK).await;
        let dave = find_user_id(app, "dave").await;
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &w.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert!(
            detail["owners"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["username"] == "dave")
        );
        // Not to someone who is no API user of the site.
        let globex_only = find_user_id(app, "bob").await;
        for (owner, status) in [
            (globex_only.as_str(), StatusCode::BAD_REQUEST),
            (dave.as_str(), StatusCode::OK),
        ] {
            let answer = app
                .call_json(
                    "update_client",
                    &[
                        ("csrf", &csrf),
                        ("client_uuid", &w.client_uuid),
                        ("name", "Acme Payroll Export"),
                        ("description", "Exports payroll"),
                        ("redirect_uri", "https://payroll.acme.example/cb"),
                        ("scopes[0]", "profile"),
                        ("owner", owner),
                    ],
                    status,
                )
                .await;
            if status == StatusCode::BAD_REQUEST {
                assert!(field_message(&answer, "owner").is_some(), "{answer}");
            }
        }
        app.call_json("update_user_roles", &remove, StatusCode::OK)
            .await;
    })
    .await;
}

#[tokio::test]
async fn another_sites_administrator_cannot_delete_a_user_who_owns_clients_here() {
    on_each_backend(async |app| {
        let w = world(app).await;
        // The state the review found (Acme removed carol's role while she kept her client),
        // made directly in the database as an earlier version allowed.
        use app::server::entities::site_membership;
        use sea_orm::EntityTrait;
        site_membership::Entity::delete_by_id((
            w.acme.parse::<uuid::Uuid>().unwrap(),
            w.carol.parse::<uuid::Uuid>().unwrap(),
        ))
        .exec(&app.state.db)
        .await
        .unwrap();

        // Bob administers Globex only: no preview (it would name Acme's clients), no delete.
        let preview = app
            .call_with(&w.bob, "preview_user_deletion", &[("user_id", &w.carol)])
            .await;
        assert_eq!(preview.status(), StatusCode::CONFLICT, "{}", app.backend);
        let body = preview.text().await.unwrap();
        assert!(!body.contains("Payroll"), "{body}");
        let delete = app
            .call_with(
                &w.bob,
                "delete_user",
                &[("csrf", &w.bob_csrf), ("user_id", &w.carol)],
            )
            .await;
        assert_eq!(delete.status(), StatusCode::CONFLICT);
        // Nothing of Acme went away.
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &w.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(detail["name"], "Acme Payroll Export");

        // Alice administers both: she may, and Acme's log records it.
        let csrf = app.csrf().await;
        let preview: Value = app
            .call_json(
                "preview_user_deletion",
                &[("user_id", &w.carol)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            preview["clients"],
            serde_json::json!(["Acme Payroll Export"])
        );
        app.call_json(
            "delete_user",
            &[("csrf", &csrf), ("user_id", &w.carol)],
            StatusCode::OK,
        )
        .await;
        use app::server::entities::audit_event;
        use sea_orm::{ColumnTrait, QueryFilter};
        let acme_site = w.acme.parse::<uuid::Uuid>().unwrap();
        let deleted_on_acme = audit_event::Entity::find()
            .filter(audit_event::Column::SiteId.eq(acme_site))
            .filter(audit_event::Column::Action.eq("user.deleted"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(deleted_on_acme.len(), 1, "{}", app.backend);
        assert!(deleted_on_acme[0].details.contains("Acme Payroll Export"));
    })
    .await;
}
