//! Issue 17, items 2 and 4: every action that yields a secret or changes a credential needs
//! the same recent password, and a password reset or change ends the user's other sessions.
//! A stolen console cookie alone must yield nothing.

use crate::helpers::{
    ADMIN, ADMIN_PASSWORD, USER_PASSWORD, add_user, field_message, on_each_backend, session_of,
    signed_in_browser, site_id,
};
use crate::oauth_helpers::{Fixture, fixture};
use reqwest::StatusCode;
use serde_json::Value;

/// Lets the console sign-in of `app` age past the re-authentication window.
fn age_sign_in(app: &crate::helpers::TestApp) {
    app.state
        .clock
        .advance(app.state.settings.reauth_window + 1);
}

/// A console call that must be refused for want of a recent password, changing nothing.
async fn needs_password(app: &crate::helpers::TestApp, function: &str, form: &[(&str, &str)]) {
    let refused = app
        .call_json(function, form, StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(
        refused,
        Value::String("ReauthenticationRequired".into()),
        "{function} on {}",
        app.backend
    );
}

async fn secret_slots(app: &crate::helpers::TestApp, fixture: &Fixture) -> Vec<Value> {
    app.call_json(
        "get_client",
        &[("client_uuid", &fixture.client_uuid)],
        StatusCode::OK,
    )
    .await["secrets"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn secrets_and_credentials_need_a_recent_password() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "reauth-user", false).await;
        let csrf = &fixture.csrf;
        // Within the window (just signed in) everything works; past it, a stolen cookie alone
        // gets nothing: not a new secret, not a registration, not an old secret retired.
        age_sign_in(app);
        let slots_before = secret_slots(app, &fixture).await;
        needs_password(
            app,
            "rotate_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("grace", "3600"),
                ("tokens", "keep"),
            ],
        )
        .await;
        assert_eq!(
            secret_slots(app, &fixture).await,
            slots_before,
            "no rotation happened"
        );
        let slot = slots_before[0]["id"].as_str().unwrap().to_owned();
        needs_password(
            app,
            "reveal_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("slot_id", &slot),
            ],
        )
        .await;
        needs_password(
            app,
            "register_client",
            &[
                ("csrf", csrf),
                ("name", "Sneaky"),
                ("description", "Wants a secret"),
                ("redirect_uri", "https://sneaky.example.com/cb"),
                ("owner", &fixture.user_id),
                ("accept_terms", "on"),
            ],
        )
        .await;
        needs_password(
            app,
            "reset_user_password",
            &[
                ("csrf", csrf),
                ("user_id", &fixture.user_id),
                ("password", "an entirely new passphrase"),
            ],
        )
        .await;

        // A wrong password is refused next to the field, and counts as a failed attempt.
        let wrong = app
            .call_json(
                "rotate_client_secret",
                &[
                    ("csrf", csrf),
                    ("client_uuid", &fixture.client_uuid),
                    ("grace", "3600"),
                    ("tokens", "keep"),
                    ("current_password", "not my password"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(
            field_message(&wrong, "current_password").as_deref(),
            Some("Incorrect password.")
        );
        // The right one lets the action through, and opens the window again.
        app.call_json(
            "rotate_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("grace", "3600"),
                ("tokens", "keep"),
                ("current_password", ADMIN_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
        let slots = secret_slots(app, &fixture).await;
        assert_eq!(slots.len(), 2, "{}", app.backend);
        let old_slot = slots[1]["id"].as_str().unwrap().to_owned();
        app.call_json(
            "retire_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("slot_id", &old_slot),
            ],
            StatusCode::OK,
        )
        .await;

        // Retiring needs it too once the window is over.
        app.call_json(
            "rotate_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("grace", "3600"),
                ("tokens", "keep"),
            ],
            StatusCode::OK,
        )
        .await;
        age_sign_in(app);
        let slots = secret_slots(app, &fixture).await;
        let grace_slot = slots.iter().find(|s| s["state"] == "grace").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        needs_password(
            app,
            "retire_client_secret",
            &[
                ("csrf", csrf),
                ("client_uuid", &fixture.client_uuid),
                ("slot_id", &grace_slot),
            ],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn the_server_enforces_the_consoles_longest_grace_period() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "grace-user", false).await;
        for (grace, status) in [
            ("604801", StatusCode::BAD_REQUEST),
            ("2592000", StatusCode::BAD_REQUEST),
            ("-1", StatusCode::BAD_REQUEST),
            ("604800", StatusCode::OK),
        ] {
            let answer = app
                .call_json(
                    "rotate_client_secret",
                    &[
                        ("csrf", &fixture.csrf),
                        ("client_uuid", &fixture.client_uuid),
                        ("grace", grace),
                        ("tokens", "keep"),
                    ],
                    status,
                )
                .await;
            if status == StatusCode::BAD_REQUEST {
                assert!(
                    field_message(&answer, "grace").is_some_and(|m| m.contains("7 day")),
                    "{grace}: {answer}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one_and_ends_the_other_sessions() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let me = app.console_session().await;
        let my_id = find_user_id(app, ADMIN).await;
        // A second browser of the same administrator (say, a stolen cookie).
        let other = app.new_client();
        let signed_in = app
            .call_with(
                &other,
                "sign_in",
                &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        assert!(!session_of(app, &other).await.is_null());

        let csrf = me["csrf"].as_str().unwrap();
        // Without the current password, even within the window: refused.
        let missing = app
            .call_json(
                "reset_user_password",
                &[
                    ("csrf", csrf),
                    ("user_id", &my_id),
                    ("password", "a brand new passphrase"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&missing, "current_password").is_some(),
            "{missing}"
        );
        let wrong = app
            .call_json(
                "reset_user_password",
                &[
                    ("csrf", csrf),
                    ("user_id", &my_id),
                    ("password", "a brand new passphrase"),
                    ("current_password", "a guess"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(
            field_message(&wrong, "current_password").as_deref(),
            Some("Incorrect password.")
        );
        // The policy is checked against the account's own username, not a form field.
        let weak = app
            .call_json(
                "reset_user_password",
                &[
                    ("csrf", csrf),
                    ("user_id", &my_id),
                    ("password", "alice-alice-alice"),
                    ("current_password", ADMIN_PASSWORD),
                    ("username", "someone-else"),
                ],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            field_message(&weak, "password").is_some_and(|m| m.contains("username")),
            "{weak}"
        );
        app.call_json(
            "reset_user_password",
            &[
                ("csrf", csrf),
                ("user_id", &my_id),
                ("password", "a brand new passphrase"),
                ("current_password", ADMIN_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
        // This session goes on; the other one has ended.
        assert_eq!(app.console_session().await["username"], ADMIN);
        assert!(session_of(app, &other).await.is_null(), "{}", app.backend);
        // And the new password is the one that signs in.
        let fresh = app.new_client();
        let old = app
            .call_with(
                &fresh,
                "sign_in",
                &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(old.status(), StatusCode::BAD_REQUEST);
        let new = app
            .call_with(
                &fresh,
                "sign_in",
                &[("username", ADMIN), ("password", "a brand new passphrase")],
            )
            .await;
        assert_eq!(new.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_that_user_at_once() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        add_user(app, "bob", &[(&site, true, false)], StatusCode::OK).await;
        let bob_id = find_user_id(app, "bob").await;
        let (bob_one, _) = signed_in_browser(app, "bob").await;
        let (bob_two, _) = signed_in_browser(app, "bob").await;
        let csrf = app.csrf().await;
        app.call_json(
            "reset_user_password",
            &[
                ("csrf", &csrf),
                ("user_id", &bob_id),
                ("password", "a completely new passphrase"),
            ],
            StatusCode::OK,
        )
        .await;
        for browser in [&bob_one, &bob_two] {
            assert!(session_of(app, browser).await.is_null(), "{}", app.backend);
        }
        // The administrator who reset it is still signed in.
        assert_eq!(app.console_session().await["username"], ADMIN);
        // Bob signs in again with the new password only.
        let again = app.new_client();
        let old = app
            .call_with(
                &again,
                "sign_in",
                &[("username", "bob"), ("password", USER_PASSWORD)],
            )
            .await;
        assert_eq!(old.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_administrator() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let other = app.new_client();
        app.call_with(
            &other,
            "sign_in",
            &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
        )
        .await;
        assert!(!session_of(app, &other).await.is_null());
        let csrf = app.csrf().await;
        app.call_json("sign_out_everywhere", &[("csrf", &csrf)], StatusCode::OK)
            .await;
        assert!(app.console_session().await.is_null(), "{}", app.backend);
        assert!(session_of(app, &other).await.is_null());
        // Recorded on the administrator's sites.
        let events: Vec<String> = audit_actions(app).await;
        assert!(
            events.iter().any(|a| a == "admin.signed_out_everywhere"),
            "{events:?}"
        );
    })
    .await;
}

/// The id of `username` (looked up in the database the test server uses).
pub async fn find_user_id(app: &crate::helpers::TestApp, username: &str) -> String {
    app::server::services::users::find_by_username(&app.state.db, username)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// Every audit action recorded so far, oldest first.
pub async fn audit_actions(app: &crate::helpers::TestApp) -> Vec<String> {
    use app::server::entities::audit_event;
    use sea_orm::{EntityTrait, QueryOrder};
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .collect()
}

/// Review finding: a stolen session kept changing "its" password while another administrator
/// reset it; a change confirmed before the reset and written after it undid the reset and
/// kept the session alive. The change now refuses when the account moved on meanwhile.
#[tokio::test]
async fn an_own_password_change_never_undoes_a_reset_that_committed_meanwhile() {
    use app::server::{
        ServiceError,
        entities::user,
        services::{account, users},
    };
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
    on_each_backend(async |app| {
        app.complete_setup().await;
        let confirmed = users::find_by_username(&app.state.db, ADMIN)
            .await
            .unwrap()
            .unwrap();
        // Another administrator's reset commits while the change is hashing.
        let reset = {
            let mut row = confirmed.clone();
            let chosen = app::domain::NewPassword::parse("bob chose this one", ADMIN).unwrap();
            row.password_hash = app.state.passwords.hash(&chosen).await.unwrap();
            row.session_generation += 1;
            row
        };
        let mut write = reset.clone().into_active_model();
        write.reset(user::Column::PasswordHash);
        write.reset(user::Column::SessionGeneration);
        write.update(&app.state.db).await.unwrap();
        let outcome = account::change_own_password(
            &app.state,
            &confirmed,
            ADMIN_PASSWORD,
            "an attacker's new passphrase",
            None,
        )
        .await;
        assert!(
            matches!(outcome, Err(ServiceError::Conflict(_))),
            "{outcome:?} on {}",
            app.backend
        );
        let after = user::Entity::find_by_id(confirmed.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.password_hash, reset.password_hash, "{}", app.backend);
        assert_eq!(after.session_generation, reset.session_generation);
    })
    .await;
}

/// Review finding: a stolen cookie could skip re-authentication by making a site
/// administrator with a password the thief chose (or promoting a user they control), then
/// revealing every secret as that administrator. Granting administration needs the password.
#[tokio::test]
async fn making_a_site_administrator_needs_a_recent_password() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "promote-me", false).await;
        let csrf = &fixture.csrf;
        let site = site_id(app).await;
        age_sign_in(app);
        let new_admin = [
            ("csrf", csrf.as_str()),
            ("username", "mallory"),
            ("email", "mallory@example.com"),
            ("password", "a thief's own passphrase"),
            ("roles[0][site_id]", site.as_str()),
            ("roles[0][site_admin]", "on"),
        ];
        needs_password(app, "create_user", &new_admin).await;
        let promote = [
            ("csrf", csrf.as_str()),
            ("user_id", fixture.user_id.as_str()),
            ("roles[0][site_id]", site.as_str()),
            ("roles[0][site_admin]", "on"),
            ("roles[0][api_user]", "on"),
        ];
        needs_password(app, "update_user_roles", &promote).await;
        let listed = app
            .call_json(
                "list_users",
                &[("q", "mallory"), ("page", "1")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(listed["total"], 0, "nobody was created on {}", app.backend);

        // An API user needs no password; with the password, the administrator is made.
        let api_only = [
            ("csrf", csrf.as_str()),
            ("username", "plain-api-user"),
            ("email", "plain@example.com"),
            ("password", "a sturdy passphrase"),
            ("roles[0][site_id]", site.as_str()),
            ("roles[0][api_user]", "on"),
        ];
        app.call_json("create_user", &api_only, StatusCode::OK)
            .await;
        let mut confirmed = promote.to_vec();
        confirmed.push(("current_password", ADMIN_PASSWORD));
        app.call_json("update_user_roles", &confirmed, StatusCode::OK)
            .await;
    })
    .await;
}
