//! After issuance: the protected API (RFC 6750), revocation (RFC 7009), introspection
//! (RFC 7662), metadata (RFC 8414), usage bookkeeping, purging, token-server-only mode, and
//! hostile input that must never produce a 5xx.

use crate::helpers::{TestApp, on_each_backend};
use crate::oauth_helpers::{
    Fixture, basic, browser, code_for, exchange, expect_error, fixture, me, token,
};
use app::server::{
    entities::{
        access_token, authorization_code, client, client_secret, refresh_token, usage_daily,
    },
    services::oauth::purge,
};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

async fn post(app: &TestApp, path: &str, f: &Fixture, form: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .post(format!("{}{path}", app.base))
        .header("authorization", basic(&f.client_id, &f.client_secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, f: &Fixture, token: &str) -> Value {
    let response = post(app, "/oauth/introspect", f, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn protected_api_errors_follow_rfc_6750() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-pia", false).await;
        let none = browser()
            .get(format!("{}/api/v1/me", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            none.headers()["www-authenticate"],
            "Bearer realm=\"latchkey\"",
            "no error code without a token"
        );
        let basic_auth = browser()
            .get(format!("{}/api/v1/me", app.base))
            .header("authorization", "Basic Zm9vOmJhcg==")
            .send()
            .await
            .unwrap();
        assert_eq!(
            basic_auth.headers()["www-authenticate"],
            "Bearer realm=\"latchkey\""
        );
        for bad in [
            "garbage",
            "lkat_",
            &"lkat_".repeat(12),
            "lkrt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
        ] {
            let response = me(app, bad).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                challenge.starts_with("Bearer realm=\"latchkey\", error=\"invalid_token\""),
                "{challenge}"
            );
        }
        // Expired after 30 minutes.
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(me(app, access).await.status(), StatusCode::OK);
        app.state.clock.advance(1801);
        let expired = me(app, access).await;
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        assert!(
            expired.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("expired")
        );
    })
    .await;
}

#[tokio::test]
async fn revocation_is_per_client_and_refresh_revokes_the_grant() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-quin", false).await;
        let other = fixture(app, "api-rae", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let (access, refresh) = (
            tokens["access_token"].as_str().unwrap(),
            tokens["refresh_token"].as_str().unwrap(),
        );

        // Unknown tokens and someone else's tokens: 200, and nothing happens.
        for token in ["lkat_unknown", "not-even-a-token", access] {
            let response = post(app, "/oauth/revoke", &other, &[("token", token)]).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert_eq!(
            me(app, access).await.status(),
            StatusCode::OK,
            "another client cannot revoke it"
        );
        expect_error(
            post(app, "/oauth/revoke", &f, &[]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        let unauthenticated = browser()
            .post(format!("{}/oauth/revoke", app.base))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap();
        expect_error(unauthenticated, StatusCode::UNAUTHORIZED, "invalid_client").await;

        // Revoking the access token leaves the refresh token working.
        let response = post(
            app,
            "/oauth/revoke",
            &f,
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(me(app, access).await.status(), StatusCode::UNAUTHORIZED);
        let refreshed: Value = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await
        .json()
        .await
        .unwrap();
        let new_access = refreshed["access_token"].as_str().unwrap();
        assert_eq!(me(app, new_access).await.status(), StatusCode::OK);
        // Revoking a refresh token revokes its whole grant (a wrong hint does not matter).
        let new_refresh = refreshed["refresh_token"].as_str().unwrap();
        post(
            app,
            "/oauth/revoke",
            &f,
            &[("token", new_refresh), ("token_type_hint", "access_token")],
        )
        .await;
        assert_eq!(me(app, new_access).await.status(), StatusCode::UNAUTHORIZED);
        expect_error(
            token(
                app,
                &f,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", new_refresh),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn introspection_describes_only_the_callers_live_tokens() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-sam", false).await;
        let other = fixture(app, "api-tia", false).await;
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let access = tokens["access_token"].as_str().unwrap();
        let info = introspect(app, &f, access).await;
        assert_eq!(info["active"], true);
        assert_eq!(
            info["token_type"], "Bearer",
            "RFC 7662 §2.2: the RFC 6749 §5.1 type"
        );
        assert_eq!(info["scope"], "profile");
        assert_eq!(info["client_id"], f.client_id.as_str());
        assert_eq!(info["username"], "api-sam");
        assert_eq!(info["site"], "Acme");
        assert!(info["sub"].as_str().is_some());
        assert_eq!(
            info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(),
            1800
        );
        let refresh_info = introspect(app, &f, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(
            (
                refresh_info["active"].as_bool(),
                refresh_info["token_type"].as_str()
            ),
            (Some(true), None),
            "a refresh token has no RFC 6749 token type"
        );

        assert_eq!(
            introspect(app, &other, access).await,
            serde_json::json!({"active": false}),
            "not the caller's"
        );
        assert_eq!(
            introspect(app, &f, "lkat_nope").await,
            serde_json::json!({"active": false})
        );
        expect_error(
            post(app, "/oauth/introspect", &f, &[]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        post(app, "/oauth/revoke", &f, &[("token", access)]).await;
        assert_eq!(
            introspect(app, &f, access).await["active"],
            false,
            "revoked"
        );
    })
    .await;
}

#[tokio::test]
async fn metadata_lists_every_endpoint_and_capability() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let response = browser()
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let m: Value = response.json().await.unwrap();
        let base = app.base.as_str();
        assert_eq!(m["issuer"], base);
        assert_eq!(
            m["authorization_endpoint"],
            format!("{base}/oauth/authorize")
        );
        assert_eq!(m["token_endpoint"], format!("{base}/oauth/token"));
        assert_eq!(m["revocation_endpoint"], format!("{base}/oauth/revoke"));
        assert_eq!(
            m["introspection_endpoint"],
            format!("{base}/oauth/introspect")
        );
        assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            m["grant_types_supported"],
            serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            m["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let methods = serde_json::json!(["client_secret_basic", "client_secret_post"]);
        for key in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
        ] {
            assert_eq!(m[key], methods, "{key}");
        }
        assert!(
            m["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from("profile"))
        );
    })
    .await;
}

#[tokio::test]
async fn usage_is_counted_in_memory_and_flushed_in_batches() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-uma", false).await;
        for _ in 0..3 {
            exchange(app, &f, &code_for(app, &f, &[]).await).await;
        }
        let uuid: uuid::Uuid = f.client_uuid.parse().unwrap();
        let before = client::Entity::find_by_id(uuid)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(before.last_used_at, None, "nothing written per request");
        app.state.usage.flush(&app.state.db).await.unwrap();
        let after = client::Entity::find_by_id(uuid)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.last_used_at, Some(app.state.clock.now().unix()));
        let slot = client_secret::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.client_uuid == uuid)
            .unwrap();
        assert_eq!(slot.use_count, 3);
        let daily = usage_daily::Entity::find_by_id((
            uuid,
            app.state.clock.now().unix().div_euclid(86_400),
        ))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
        assert_eq!(daily.tokens_issued, 3);
        // A second flush adds, it does not overwrite (replicas each flush their own counts).
        exchange(app, &f, &code_for(app, &f, &[]).await).await;
        app.state.usage.flush(&app.state.db).await.unwrap();
        let daily = usage_daily::Entity::find_by_id((
            uuid,
            app.state.clock.now().unix().div_euclid(86_400),
        ))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
        assert_eq!(daily.tokens_issued, 4);
    })
    .await;
}

#[tokio::test]
async fn expired_codes_and_tokens_are_purged() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-vic", false).await;
        exchange(app, &f, &code_for(app, &f, &[]).await).await;
        code_for(app, &f, &[]).await;
        let db = &app.state.db;
        assert_eq!(
            authorization_code::Entity::find().count(db).await.unwrap(),
            2
        );
        let now = app.state.clock.now();
        assert_eq!(
            purge::purge_expired(db, now, 30 * 86_400).await.unwrap(),
            purge::Purged::default(),
            "nothing expired yet"
        );
        let later = now.plus_seconds(31 * 86_400 + 2 * 86_400);
        let purged = purge::purge_expired(db, later, 30 * 86_400).await.unwrap();
        assert_eq!(
            (
                purged.codes,
                purged.access_tokens,
                purged.refresh_tokens,
                purged.families
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(access_token::Entity::find().count(db).await.unwrap(), 0);
        assert_eq!(refresh_token::Entity::find().count(db).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn hostile_input_never_causes_a_server_error() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-wes", false).await;
        let ugly = [
            "%00%00%00",
            "grant_type=%ZZ",
            "=&=&=",
            "grant_type=authorization_code&code=%F0%9F%92%A9",
            "grant_type=refresh_token&refresh_token=' OR 1=1 --",
            "a=1&a=2&a=3",
        ];
        for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
            for body in ugly {
                let response = browser()
                    .post(format!("{}{path}", app.base))
                    .header("authorization", basic(&f.client_id, &f.client_secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    response.status().is_client_error() || response.status().is_success(),
                    "{path} {body}: {}",
                    response.status()
                );
            }
            let huge = browser()
                .post(format!("{}{path}", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={}", "x".repeat(200_000)))
                .send()
                .await
                .unwrap();
            assert!(huge.status().is_client_error(), "{path}: {}", huge.status());
        }
        for query in [
            "client_id=%00",
            "response_type=code&client_id=../../etc",
            &format!("client_id={}", "x".repeat(10_000)),
            "%%%%",
        ] {
            let response = browser()
                .get(format!("{}/oauth/authorize?{query}", app.base))
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{query}: {}",
                response.status()
            );
        }
        let long_header = me(app, &"lkat_".repeat(2_000)).await;
        assert_eq!(long_header.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn the_token_server_can_run_without_the_console() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-xia", false).await;
        // A second process serving only the authorization server, on the same database.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let options = leptos::config::LeptosOptions::builder()
            .output_name("latchkey")
            .site_root("target/site")
            .site_addr(address)
            .build();
        let policy = server::middleware::HttpPolicy {
            trusted_proxy: false,
            secure: false,
            public_origin: format!("http://{address}"),
            metrics: false,
        };
        let router = server::startup::build_router(
            app.state.clone(),
            options,
            policy,
            server::startup::Mode::TokenServerOnly,
        );
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let tokens = exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let replica = format!("http://{address}");
        let refreshed = browser()
            .post(format!("{replica}/oauth/token"))
            .header("authorization", basic(&f.client_id, &f.client_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), StatusCode::OK);
        let console = browser()
            .get(format!("{replica}/administrators"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            console.status(),
            StatusCode::NOT_FOUND,
            "no console on a token-server-only process"
        );
        let metrics = browser()
            .get(format!("{replica}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            metrics.status(),
            StatusCode::NOT_FOUND,
            "metrics are off unless the operator turns them on"
        );
        assert_eq!(
            browser()
                .get(format!("{replica}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    })
    .await;
}
