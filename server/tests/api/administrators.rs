//! Sites, administrators and API users through the console's server functions.

use crate::helpers::{
    ADMIN, ADMIN_PASSWORD, add_user, field_message, on_each_backend, signed_in_browser, site_id,
};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn add_new_administrator_with_field_errors() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        let id = add_user(app, "api-bob", &[(&site, false, true)], StatusCode::OK).await;
        assert!(id.as_str().is_some(), "returns the new user's id");

        let duplicate = add_user(
            app,
            "API-BOB",
            &[(&site, false, true)],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(
            field_message(&duplicate, "username").unwrap(),
            "This username is already taken."
        );

        let csrf = app.csrf().await;
        let site_field = site.clone();
        let bad = app
            .call_json(
                "create_user",
                &[
                    ("csrf", &csrf),
                    ("username", ""),
                    ("email", "not an email"),
                    ("password", "carol-pw"),
                    ("roles[0][site_id]", &site_field),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&bad, "username")
                .unwrap()
                .contains("required")
        );
        assert!(
            field_message(&bad, "email")
                .unwrap()
                .contains("name@example.com")
        );
        assert!(
            field_message(&bad, "password")
                .unwrap()
                .contains("at least 12")
        );
        let no_roles = add_user(
            app,
            "carol",
            &[(&site, false, false)],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(
            field_message(&no_roles, "roles")
                .unwrap()
                .contains("at least one role")
        );
        let no_site = add_user(app, "carol", &[("", true, true)], StatusCode::BAD_REQUEST).await;
        assert!(field_message(&no_site, "roles").is_some(), "{no_site}");

        let page = app
            .call_json("list_users", &[("q", ""), ("page", "0")], StatusCode::OK)
            .await;
        assert_eq!(page["total"], 2, "{page}");
        let bob = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["username"] == "api-bob")
            .unwrap();
        assert_eq!(
            (bob["site_admin"].as_bool(), bob["api_user"].as_bool()),
            (Some(false), Some(true))
        );

        // Anti-forgery applies to every mutation.
        let forged = app
            .call(
                "create_user",
                &[
                    ("csrf", "x"),
                    ("username", "eve-user"),
                    ("email", "e@example.com"),
                    ("password", "a sturdy passphrase"),
                    ("roles[0][site_id]", &site),
                ],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn multi_site_users_and_site_scoping() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let acme = site_id(app).await;
        let csrf = app.csrf().await;
        let globex = app
            .call_json(
                "create_site",
                &[("csrf", &csrf), ("name", "Globex")],
                StatusCode::OK,
            )
            .await;
        let globex = globex.as_str().unwrap().to_owned();
        let duplicate = app
            .call_json(
                "create_site",
                &[("csrf", &csrf), ("name", "acme")],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(
            field_message(&duplicate, "name").unwrap(),
            "A site with this name already exists."
        );

        // One user, API user on both sites (the Add Site dropdown).
        let dana = add_user(
            app,
            "dana",
            &[(&acme, false, true), (&globex, false, true)],
            StatusCode::OK,
        )
        .await;
        let dana = dana.as_str().unwrap().to_owned();
        let detail = app
            .call_json("get_user", &[("user_id", &dana)], StatusCode::OK)
            .await;
        let roles = detail["roles"].as_array().unwrap();
        assert_eq!(roles.len(), 2);
        assert!(
            roles
                .iter()
                .all(|r| r["api_user"] == true && r["site_admin"] == false)
        );

        // A Globex-only administrator cannot see Acme's users.
        add_user(app, "gadmin", &[(&globex, true, false)], StatusCode::OK).await;
        let (gclient, session) = signed_in_browser(app, "gadmin").await;
        assert_eq!(session["site"]["name"], "Globex");
        assert_eq!(session["sites"].as_array().unwrap().len(), 1);
        let gcsrf = session["csrf"].as_str().unwrap().to_owned();
        // (Alice created Globex, so she administers it too; Frank is on Acme only.)
        let frank = add_user(app, "frank", &[(&acme, false, true)], StatusCode::OK).await;
        let hidden = app
            .call_with(
                &gclient,
                "get_user",
                &[("user_id", frank.as_str().unwrap())],
            )
            .await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
        let switch = app
            .call_with(
                &gclient,
                "select_site",
                &[("csrf", &gcsrf), ("site_id", &acme)],
            )
            .await;
        assert_eq!(
            switch.status(),
            StatusCode::NOT_FOUND,
            "cannot select a site they do not administer"
        );
        let rename = app
            .call_with(
                &gclient,
                "rename_site",
                &[("csrf", &gcsrf), ("site_id", &acme), ("name", "Pwned")],
            )
            .await;
        assert_eq!(rename.status(), StatusCode::NOT_FOUND);
        // Dana belongs to Acme too, so gadmin may edit her Globex roles but not her account.
        let dana_seen: Value = app
            .call_with(&gclient, "get_user", &[("user_id", &dana)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(dana_seen["can_manage_account"], false);
        assert_eq!(dana_seen["roles"].as_array().unwrap().len(), 1);
        let disable = app
            .call_with(
                &gclient,
                "set_user_disabled",
                &[("csrf", &gcsrf), ("user_id", &dana), ("disabled", "true")],
            )
            .await;
        assert_eq!(disable.status(), StatusCode::CONFLICT);

        // Alice switches the console to Globex: lists follow.
        app.call_json(
            "select_site",
            &[("csrf", &csrf), ("site_id", &globex)],
            StatusCode::OK,
        )
        .await;
        let page = app
            .call_json("list_users", &[("q", ""), ("page", "0")], StatusCode::OK)
            .await;
        let names: Vec<&str> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["alice", "dana", "gadmin"], "{}", app.backend);
        app.call_json(
            "rename_site",
            &[
                ("csrf", &csrf),
                ("site_id", &globex),
                ("name", "Globex Europe"),
            ],
            StatusCode::OK,
        )
        .await;
        let sites = app.call_json("list_sites", &[], StatusCode::OK).await;
        let names: Vec<&str> = sites
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Acme", "Globex Europe"]);
    })
    .await;
}

#[tokio::test]
async fn edit_disable_reset_and_delete_users() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        let csrf = app.csrf().await;
        let erin = add_user(app, "erin", &[(&site, true, false)], StatusCode::OK).await;
        let erin = erin.as_str().unwrap().to_owned();

        // Erin can sign in...
        let browser = app.new_client();
        let ok = app.call_with(&browser, "sign_in", &[("username", "erin"), ("password", "a sturdy passphrase")]).await;
        assert_eq!(ok.status(), StatusCode::OK);
        // ...until disabled: her open session ends and she cannot sign in again.
        app.call_json("set_user_disabled", &[("csrf", &csrf), ("user_id", &erin), ("disabled", "true")], StatusCode::OK).await;
        let session: Value = app.call_with(&browser, "get_console_session", &[]).await.json().await.unwrap();
        assert_eq!(session, Value::Null, "disabled users lose their session");
        let refused = app.call_with(&browser, "sign_in", &[("username", "erin"), ("password", "a sturdy passphrase")]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        app.call_json("set_user_disabled", &[("csrf", &csrf), ("user_id", &erin), ("disabled", "false")], StatusCode::OK).await;

        // Password reset (policy applies) and email change.
        let weak = app
            .call_json("reset_user_password", &[("csrf", &csrf), ("user_id", &erin), ("username", "erin"), ("password", "erin-erin-erin")], StatusCode::BAD_REQUEST)
            .await;
        assert!(field_message(&weak, "password").unwrap().contains("username"));
        app.call_json("reset_user_password", &[("csrf", &csrf), ("user_id", &erin), ("username", "erin"), ("password", "brand new passphrase")], StatusCode::OK).await;
        let ok = app.call_with(&browser, "sign_in", &[("username", "erin"), ("password", "brand new passphrase")]).await;
        assert_eq!(ok.status(), StatusCode::OK);
        app.call_json("update_user_email", &[("csrf", &csrf), ("user_id", &erin), ("email", "erin@acme.test")], StatusCode::OK).await;
        let bad = app.call_json("update_user_email", &[("csrf", &csrf), ("user_id", &erin), ("email", "erin@")], StatusCode::BAD_REQUEST).await;
        assert!(field_message(&bad, "email").is_some());

        // Alice cannot drop her own (last) admin right, nor disable or delete herself.
        let alice = app.call_json("list_users", &[("q", ADMIN), ("page", "0")], StatusCode::OK).await["rows"][0]["id"].as_str().unwrap().to_owned();
        let own = app.call_json("set_user_disabled", &[("csrf", &csrf), ("user_id", &alice), ("disabled", "true")], StatusCode::CONFLICT).await;
        assert!(own["Conflict"].as_str().unwrap().contains("your own account"));
        app.call_json("delete_user", &[("csrf", &csrf), ("user_id", &alice)], StatusCode::CONFLICT).await;

        // Erin demoted to API user; Alice remains the only admin and cannot step down.
        app.call_json("update_user_roles", &[("csrf", &csrf), ("user_id", &erin), ("roles[0][site_id]", &site), ("roles[0][api_user]", "on")], StatusCode::OK).await;
        let last = app.call_json("update_user_roles", &[("csrf", &csrf), ("user_id", &alice), ("roles[0][site_id]", &site), ("roles[0][api_user]", "on")], StatusCode::CONFLICT).await;
        assert!(last["Conflict"].as_str().unwrap().contains("last site-administrator right"), "{last}");
        // API users may not sign in to the console.
        let api_only = app.call_with(&app.new_client(), "sign_in", &[("username", "erin"), ("password", "brand new passphrase")]).await;
        assert_eq!(api_only.status(), StatusCode::BAD_REQUEST);

        let preview = app.call_json("preview_user_deletion", &[("user_id", &erin)], StatusCode::OK).await;
        assert_eq!(preview["sites"], serde_json::json!(["Acme"]));
        app.call_json("delete_user", &[("csrf", &csrf), ("user_id", &erin)], StatusCode::OK).await;
        app.call_json("get_user", &[("user_id", &erin)], StatusCode::NOT_FOUND).await;

        // Every step is in the audit log, and no password appears in it.
        let dashboard = app.call_json("get_dashboard", &[], StatusCode::OK).await;
        let summaries: Vec<&str> = dashboard["recent_events"].as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap()).collect();
        assert_eq!(summaries[0], "User \"erin\" deleted with 0 API client(s); 0 grant(s) revoked; restorable until purged in 30 day(s)", "{summaries:?}");
        assert!(summaries.iter().any(|s| s.contains("Roles of \"erin\" on \"Acme\": site administrator → API user")), "{summaries:?}");
        let all: Vec<String> = <app::server::entities::audit_event::Entity as sea_orm::EntityTrait>::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.summary, e.details))
            .collect();
        for secret in ["brand new passphrase", "a sturdy passphrase", ADMIN_PASSWORD] {
            assert!(!all.iter().any(|e| e.contains(secret)), "password leaked into the audit log");
        }
        for action in ["Password of \"erin\" reset", "Email of \"erin\" changed", "User \"erin\" disabled", "User \"erin\" enabled"] {
            assert!(all.iter().any(|e| e.starts_with(action)), "{action} missing");
        }
    })
    .await;
}
