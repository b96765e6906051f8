//! Issue 17, item 6: a token carries only the rights its client and user hold now. Removing a
//! scope from the client, the API User role from the user, or disabling the client counts at
//! the next use of every token already issued (`/api/v1/me`, introspection, refresh), and a
//! grant ends after its absolute lifetime however often it is refreshed.

use crate::helpers::{TestApp, field_message, on_each_backend, on_each_backend_with, site_id};
use crate::oauth_helpers::{
    Fixture, code_for, disable_client, exchange, expect_error, fixture, me, token,
};
use reqwest::StatusCode;
use serde_json::Value;

async fn introspect(app: &TestApp, fixture: &Fixture, token: &str) -> Value {
    crate::oauth_helpers::introspect_as(app, &fixture.client_id, &fixture.client_secret, token)
        .await
}

async fn refresh(app: &TestApp, fixture: &Fixture, refresh_token: &str) -> reqwest::Response {
    token(
        app,
        fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Tokens for `fixture` with the scopes `profile reports`.
async fn two_scope_tokens(app: &TestApp, fixture: &Fixture) -> Value {
    let site = site_id(app).await;
    app.call_json(
        "add_site_scope",
        &[
            ("csrf", &fixture.csrf),
            ("site_id", &site),
            ("name", "reports"),
            ("description", "Read reports"),
        ],
        StatusCode::OK,
    )
    .await;
    set_client_scopes(app, fixture, &["profile", "reports"]).await;
    let code = code_for(app, fixture, &[("scope", "profile reports")]).await;
    let tokens = exchange(app, fixture, &code).await;
    assert_eq!(tokens["scope"], "profile reports");
    tokens
}

async fn set_client_scopes(app: &TestApp, fixture: &Fixture, scopes: &[&str]) {
    let detail = app
        .call_json(
            "get_client",
            &[("client_uuid", &fixture.client_uuid)],
            StatusCode::OK,
        )
        .await;
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), fixture.csrf.clone()),
        ("client_uuid".into(), fixture.client_uuid.clone()),
        ("name".into(), detail["name"].as_str().unwrap().into()),
        (
            "description".into(),
            detail["description"].as_str().unwrap().into(),
        ),
        ("redirect_uri".into(), fixture.redirect_uri.clone()),
    ];
    for (i, scope) in scopes.iter().enumerate() {
        form.push((format!("scopes[{i}]"), (*scope).into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call_json("update_client", &form, StatusCode::OK).await;
}

#[tokio::test]
async fn removing_a_scope_from_the_client_narrows_every_token_at_once() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "scoped", false).await;
        let tokens = two_scope_tokens(app, &fixture).await;
        let access = tokens["access_token"].as_str().unwrap();
        let refresh_token = tokens["refresh_token"].as_str().unwrap();
        assert_eq!(
            introspect(app, &fixture, access).await["scope"],
            "profile reports"
        );

        set_client_scopes(app, &fixture, &["profile"]).await;
        // The access token already issued now speaks for `profile` only…
        assert_eq!(
            introspect(app, &fixture, access).await["scope"],
            "profile",
            "{}",
            app.backend
        );
        let answer: Value = me(app, access).await.json().await.unwrap();
        assert_eq!(answer["scope"], "profile");
        // …and the refresh token can no longer mint `reports`: the next pair is narrowed.
        let response = refresh(app, &fixture, refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
        let renewed: Value = response.json().await.unwrap();
        assert_eq!(renewed["scope"], "profile");
        let again = token(
            app,
            &fixture,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", renewed["refresh_token"].as_str().unwrap()),
                ("scope", "reports"),
            ],
        )
        .await;
        expect_error(again, StatusCode::BAD_REQUEST, "invalid_scope").await;
    })
    .await;
}

#[tokio::test]
async fn a_refresh_asking_for_a_removed_scope_is_refused_and_the_rest_is_narrowed() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "scoped2", false).await;
        let tokens = two_scope_tokens(app, &fixture).await;
        let refresh_token = tokens["refresh_token"].as_str().unwrap();
        set_client_scopes(app, &fixture, &["profile"]).await;
        let asked = token(
            app,
            &fixture,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("scope", "reports"),
            ],
        )
        .await;
        expect_error(asked, StatusCode::BAD_REQUEST, "invalid_scope").await;
        // The token was not spent by the refusal: without `scope` it refreshes, narrowed.
        let response = refresh(app, &fixture, refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
        let renewed: Value = response.json().await.unwrap();
        assert_eq!(renewed["scope"], "profile");
    })
    .await;
}

#[tokio::test]
async fn removing_the_api_user_role_ends_the_users_tokens_at_once() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "demoted", false).await;
        let code = code_for(app, &fixture, &[]).await;
        let tokens = exchange(app, &fixture, &code).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
        let site = site_id(app).await;
        // Keep them on the site (as an administrator) but without the API User role.
        app.call_json(
            "update_user_roles",
            &[
                ("csrf", &fixture.csrf),
                ("user_id", &fixture.user_id),
                ("roles[0][site_id]", &site),
                ("roles[0][site_admin]", "on"),
            ],
            StatusCode::OK,
        )
        .await;
        let refused = me(app, access).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            app.backend
        );
        assert!(
            refused.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        assert_eq!(introspect(app, &fixture, access).await["active"], false);
        let refresh_token = tokens["refresh_token"].as_str().unwrap();
        assert_eq!(
            introspect(app, &fixture, refresh_token).await["active"],
            false
        );
        expect_error(
            refresh(app, &fixture, refresh_token).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn disabling_a_client_keeping_its_tokens_still_stops_them_until_it_is_enabled() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "paused", false).await;
        let code = code_for(app, &fixture, &[]).await;
        let tokens = exchange(app, &fixture, &code).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
        disable_client(app, &fixture).await;
        assert_eq!(
            me(app, access).await.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            app.backend
        );
        // Enabled again, the kept tokens work again.
        app.call_json(
            "set_client_disabled",
            &[
                ("csrf", &fixture.csrf),
                ("client_uuid", &fixture.client_uuid),
                ("disabled", "false"),
            ],
            StatusCode::OK,
        )
        .await;
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_grant_ends_after_its_absolute_lifetime_however_often_it_is_refreshed() {
    let day = 86_400;
    on_each_backend_with(
        |settings| {
            settings.refresh_token_ttl = 2 * day;
            settings.refresh_token_absolute_ttl = 5 * day;
        },
        async |app| {
            let fixture = fixture(app, "longlived", false).await;
            let code = code_for(app, &fixture, &[]).await;
            let mut tokens = exchange(app, &fixture, &code).await;
            // Refreshing every day keeps the idle limit (2 days) from ever ending it…
            for _ in 0..4 {
                app.state.clock.advance(day);
                let response =
                    refresh(app, &fixture, tokens["refresh_token"].as_str().unwrap()).await;
                assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
                tokens = response.json().await.unwrap();
            }
            // …but not the absolute one: 5 days after the code's exchange it is over.
            app.state.clock.advance(day);
            let refresh_token = tokens["refresh_token"].as_str().unwrap();
            assert_eq!(
                introspect(app, &fixture, refresh_token).await["active"],
                false
            );
            expect_error(
                refresh(app, &fixture, refresh_token).await,
                StatusCode::BAD_REQUEST,
                "invalid_grant",
            )
            .await;
        },
    )
    .await;
}

#[tokio::test]
async fn introspection_reports_the_rfc_6749_token_type() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "typed", false).await;
        let code = code_for(app, &fixture, &[]).await;
        let tokens = exchange(app, &fixture, &code).await;
        let access = introspect(app, &fixture, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(access["token_type"], "Bearer", "{access}");
        let refresh = introspect(app, &fixture, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refresh["active"], true);
        assert!(refresh.get("token_type").is_none(), "{refresh}");
        let _ = field_message;
    })
    .await;
}
