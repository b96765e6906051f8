//! Machine clients (RFC 6749 §4.4): a client registered for the client credentials grant gets
//! tokens for itself through a real OAuth client library (`oauth2`); the token speaks for the
//! client alone at `/api/v1/me` and introspection; grants the client is not registered for get
//! `unauthorized_client`; and the console, the CLI and the admin API register such clients.

use crate::helpers::{ADMIN, TestApp, on_each_backend};
use crate::oauth_helpers::{basic, browser, code_for, exchange, expect_error, fixture, me, token};
use app::server::entities::audit_event;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl, basic::BasicClient};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

/// A client registered from the console for the client credentials grant alone, with no owner.
struct Machine {
    uuid: String,
    client_id: String,
    secret: String,
    csrf: String,
}

async fn register_machine(app: &TestApp, grant_types: &str) -> Machine {
    if app.console_session().await.is_null() {
        app.complete_setup().await;
    }
    let csrf = app.csrf().await;
    let id = app
        .call_json(
            "register_client",
            &[
                ("csrf", &csrf),
                ("name", "Nightly sync"),
                ("description", "Copies reports between our servers"),
                ("redirect_uri", "https://sync.example.com/unused"),
                ("grant_types", grant_types),
                ("scopes[0]", "profile"),
                ("accept_terms", "on"),
            ],
            StatusCode::OK,
        )
        .await;
    let uuid = id.as_str().unwrap().to_owned();
    let detail = app
        .call_json("get_client", &[("client_uuid", &uuid)], StatusCode::OK)
        .await;
    assert_eq!(detail["grant_types"], grant_types);
    assert_eq!(detail["owner_id"], Value::Null);
    Machine {
        uuid,
        client_id: detail["client_id"].as_str().unwrap().to_owned(),
        secret: detail["revealed"][1].as_str().unwrap().to_owned(),
        csrf,
    }
}

async fn client_credentials(
    app: &TestApp,
    machine: &Machine,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(format!("{}/oauth/token", app.base))
        .header("authorization", basic(&machine.client_id, &machine.secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A client credentials access token of `machine` (every scope it is registered for).
async fn machine_token(app: &TestApp, machine: &Machine) -> String {
    let issued: Value = client_credentials(app, machine, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    issued["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(app: &TestApp, machine: &Machine, presented: &str) -> Value {
    crate::oauth_helpers::introspect_as(app, &machine.client_id, &machine.secret, presented).await
}

#[tokio::test]
async fn a_machine_client_gets_a_token_for_itself_through_a_client_library() {
    on_each_backend(async |app| {
        let machine = register_machine(app, "client_credentials").await;
        let library = BasicClient::new(ClientId::new(machine.client_id.clone()))
            .set_client_secret(ClientSecret::new(machine.secret.clone()))
            .set_auth_uri(AuthUrl::new(format!("{}/oauth/authorize", app.base)).unwrap())
            .set_token_uri(TokenUrl::new(format!("{}/oauth/token", app.base)).unwrap());
        let http = browser();
        let issued = library
            .exchange_client_credentials()
            .add_scope(Scope::new("profile".into()))
            .request_async(&http)
            .await
            .unwrap();
        assert!(
            issued.refresh_token().is_none(),
            "no refresh token (§4.4.3)"
        );
        let access = issued.access_token().secret().clone();
        assert!(access.starts_with("lkat_"));
        assert_eq!(
            issued.scopes().unwrap()[0].as_str(),
            "profile",
            "{}",
            app.backend
        );

        // The protected API answers for the client: no user fields at all.
        let answer: Value = me(app, &access).await.json().await.unwrap();
        assert_eq!(answer["client_id"], machine.client_id.as_str());
        assert_eq!(answer["site"], "Acme");
        assert_eq!(answer["scope"], "profile");
        assert!(
            answer.get("username").is_none() && answer.get("email").is_none(),
            "{answer}"
        );

        // Introspection: active, about the client, no username.
        let about = introspect(app, &machine, &access).await;
        assert_eq!(about["active"], true, "{about}");
        assert_eq!(about["sub"], machine.client_id.as_str());
        assert!(about.get("username").is_none(), "{about}");
        assert_eq!(about["token_type"], "Bearer");

        // The audit log names the client as actor and target.
        let event = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("oauth.token_issued"))
            .order_by_desc(audit_event::Column::Id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.actor_kind, "client");
        assert_eq!(event.actor_id.as_deref(), Some(machine.client_id.as_str()));
        assert_eq!(event.target_id.as_deref(), Some(machine.client_id.as_str()));
        assert!(
            event
                .details
                .contains("\"grant_type\":\"client_credentials\"")
        );

        // No scope asked for: every registered scope. One not registered: invalid_scope.
        let all: Value = client_credentials(app, &machine, &[("grant_type", "client_credentials")])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(all["scope"], "profile", "{all}");
        assert!(all.get("refresh_token").is_none(), "{all}");
        expect_error(
            client_credentials(
                app,
                &machine,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "profile admin"),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        )
        .await;

        // Grants it is not registered for.
        for form in [
            vec![
                ("grant_type", "authorization_code"),
                ("code", "lkac_x"),
                ("redirect_uri", "https://sync.example.com/unused"),
            ],
            vec![("grant_type", "refresh_token"), ("refresh_token", "lkrt_x")],
        ] {
            expect_error(
                client_credentials(app, &machine, &form).await,
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
            )
            .await;
        }
        // Nor may it send a user to the authorization prompt (the redirect URI is verified, so
        // the refusal goes back to it).
        let prompt = app
            .browser
            .get(format!("{}/oauth/authorize", app.base))
            .query(&[
                ("client_id", machine.client_id.as_str()),
                ("redirect_uri", "https://sync.example.com/unused"),
                ("response_type", "code"),
                ("state", "s1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(prompt.status(), StatusCode::SEE_OTHER, "{}", app.backend);
        let location = prompt.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with("https://sync.example.com/unused?error=unauthorized_client"),
            "{location}"
        );

        // Revoked: the API refuses it, introspection says inactive.
        let revoked = browser()
            .post(format!("{}/oauth/revoke", app.base))
            .header("authorization", basic(&machine.client_id, &machine.secret))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(introspect(app, &machine, &access).await["active"], false);
    })
    .await;
}

#[tokio::test]
async fn taking_a_grant_away_stops_its_tokens_at_once() {
    on_each_backend(async |app| {
        let machine = register_machine(app, "client_credentials").await;
        let access = machine_token(app, &machine).await;
        assert_eq!(me(app, &access).await.status(), StatusCode::OK);

        // Over to the authorization code grant alone: that needs an owner first.
        let regrant = |owner: &str| {
            let mut form = vec![
                ("csrf", machine.csrf.clone()),
                ("client_uuid", machine.uuid.clone()),
                ("name", "Nightly sync".to_owned()),
                (
                    "description",
                    "Copies reports between our servers".to_owned(),
                ),
                ("redirect_uri", "https://sync.example.com/unused".to_owned()),
                ("scopes[0]", "profile".to_owned()),
                ("grant_types", "authorization_code".to_owned()),
            ];
            if !owner.is_empty() {
                form.push(("owner", owner.to_owned()));
            }
            form
        };
        let form = regrant("");
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.call("update_client", &form).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let refused: Value = refused.json().await.unwrap();
        assert!(
            crate::helpers::field_message(&refused, "owner").is_some(),
            "{refused}"
        );
        let owner = fixture(app, "api-owner", false).await;
        let form = regrant(&owner.user_id);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.call_json("update_client", &form, StatusCode::OK).await;
        assert_eq!(
            me(app, &access).await.status(),
            StatusCode::UNAUTHORIZED,
            "the client's own token ends with the grant"
        );
        expect_error(
            client_credentials(app, &machine, &[("grant_type", "client_credentials")]).await,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        )
        .await;

        // An authorization code client (the default) asking for client credentials.
        expect_error(
            token(app, &owner, &[("grant_type", "client_credentials")]).await,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        )
        .await;
        // Its user's tokens are unaffected by a client credentials grant being added, and end
        // when the authorization code grant is taken away.
        let pair = exchange(app, &owner, &code_for(app, &owner, &[]).await).await;
        let user_token = pair["access_token"].as_str().unwrap();
        assert_eq!(me(app, user_token).await.status(), StatusCode::OK);
        app.call_json(
            "update_client",
            &[
                ("csrf", &owner.csrf),
                ("client_uuid", &owner.client_uuid),
                ("name", &format!("App of {}", owner.username)),
                ("description", "Reads the profile"),
                ("redirect_uri", &owner.redirect_uri),
                ("scopes[0]", "profile"),
                ("grant_types", "client_credentials"),
            ],
            StatusCode::OK,
        )
        .await;
        assert_eq!(me(app, user_token).await.status(), StatusCode::UNAUTHORIZED);
        expect_error(
            token(
                app,
                &owner,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", pair["refresh_token"].as_str().unwrap()),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn registration_says_what_a_machine_client_needs() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let csrf = app.csrf().await;
        let base = [
            ("csrf", csrf.as_str()),
            ("name", "No owner"),
            ("description", "Acts for nobody"),
            ("redirect_uri", "https://nobody.example.com/cb"),
            ("accept_terms", "on"),
        ];
        for (grant_types, field) in [
            (None, "owner"),
            (Some("authorization_code"), "owner"),
            (Some("password"), "grant_types"),
            // Nothing chosen is the default: the authorization code grant, which needs an owner.
            (Some(""), "owner"),
            (Some("client_credentials\u{0}"), "grant_types"),
        ] {
            let mut form = base.to_vec();
            if let Some(grant_types) = grant_types {
                form.push(("grant_types", grant_types));
            }
            let refused = app.call("register_client", &form).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{grant_types:?}");
            let refused: Value = refused.json().await.unwrap();
            assert!(
                crate::helpers::field_message(&refused, field).is_some(),
                "{grant_types:?}: {refused}"
            );
        }

        // Hostile token requests get their RFC error, never a 5xx. (An empty `scope` is no
        // scope at all, RFC 6749 §3.1: every registered scope.)
        let machine = register_machine(app, "client_credentials").await;
        let long = "a".repeat(10_000);
        for (form, code) in [
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("scope", "profile\u{0}"),
                ],
                "invalid_scope",
            ),
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("scope", "pro\u{202e}file"),
                ],
                "invalid_scope",
            ),
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("scope", long.as_str()),
                ],
                "invalid_request",
            ),
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("grant_type", "client_credentials"),
                ],
                "invalid_request",
            ),
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("resource", "https://unlisted.example.com/"),
                ],
                "invalid_target",
            ),
        ] {
            let answer = client_credentials(app, &machine, &form).await;
            let shown: String = format!("{form:?}").chars().take(80).collect();
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{shown}");
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error"], code, "{shown}: {body}");
        }

        // Parallel requests of one machine client: each gets its own token.
        let requests = (0..24)
            .map(|_| client_credentials(app, &machine, &[("grant_type", "client_credentials")]));
        let mut tokens = std::collections::HashSet::new();
        for response in futures_util::future::join_all(requests).await {
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            tokens.insert(body["access_token"].as_str().unwrap().to_owned());
        }
        assert_eq!(tokens.len(), 24);
    })
    .await;
}

#[tokio::test]
async fn the_cli_and_the_admin_api_register_machine_clients() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let latchkey = |args: &[&str]| crate::helpers::latchkey(app, args);
        let created = latchkey(&[
            "client", "create", "--site", "Acme", "--name", "Reports bot",
            "--description", "Pulls reports", "--redirect-uri", "https://bot.example.com/cb",
            "--grant-type", "client_credentials", "--accept-terms",
        ]);
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let created: Value = serde_json::from_slice(&created.stdout).unwrap();
        assert_eq!(created["owner"], Value::Null);
        assert_eq!(created["grant_types"], serde_json::json!(["client_credentials"]));
        let machine = Machine {
            uuid: String::new(),
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().unwrap().to_owned(),
            csrf: String::new(),
        };
        let issued = client_credentials(app, &machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(issued.status(), StatusCode::OK);

        for (args, expected) in [
            (vec!["--site", "Acme"], "--owner"),
            (vec!["--site", "Acme", "--grant-type", "implicit"], "--grant-type"),
            (vec!["--grant-type", "client_credentials"], "--site"),
        ] {
            let mut all = vec![
                "client", "create", "--name", "Refused", "--description", "Refused",
                "--redirect-uri", "https://refused.example.com/cb", "--accept-terms",
            ];
            all.extend(args);
            let refused = latchkey(&all);
            assert!(!refused.status.success());
            let error = String::from_utf8_lossy(&refused.stderr);
            assert!(error.contains(expected), "{expected}: {error}");
        }

        // The admin API, with an admin token.
        let admin_token = crate::admin_api::admin_token(app, ADMIN, &["Acme"], true).await;
        let api = |body: Value| {
            browser()
                .post(format!("{}/admin/v1/clients", app.base))
                .bearer_auth(&admin_token)
                .json(&body)
                .send()
        };
        let answer = api(serde_json::json!({
            "name": "Billing bot", "description": "Bills", "redirect_uri": "https://billing.example.com/cb",
            "grant_types": ["client_credentials"], "accept_terms": true,
        }))
        .await
        .unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["owner"], Value::Null);
        assert_eq!(answer["grant_types"], serde_json::json!(["client_credentials"]));
        let refused = api(serde_json::json!({
            "name": "Billing bot 2", "description": "Bills", "redirect_uri": "https://billing.example.com/cb",
            "accept_terms": true,
        }))
        .await
        .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused: Value = refused.json().await.unwrap();
        assert!(
            refused["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "owner"),
            "{refused}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_machine_client_is_deleted_restored_and_purged_like_any_other() {
    on_each_backend(async |app| {
        let machine = register_machine(app, "client_credentials").await;
        let access = machine_token(app, &machine).await;
        let ids = [
            ("csrf", machine.csrf.as_str()),
            ("client_uuid", machine.uuid.as_str()),
        ];
        app.call_json("delete_client", &ids, StatusCode::OK).await;
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        let deleted = app.call_json("list_deleted", &[], StatusCode::OK).await;
        assert_eq!(
            deleted["clients"][0]["owner"],
            app::domain::SITE_OWNED,
            "{deleted}"
        );
        app.call_json("restore_client", &ids, StatusCode::OK).await;
        let again =
            client_credentials(app, &machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(again.status(), StatusCode::OK, "{}", app.backend);
        app.call_json("delete_client", &ids, StatusCode::OK).await;
        let mut confirmed = ids.to_vec();
        confirmed.push(("confirm", "yes"));
        app.call_json("purge_client", &confirmed, StatusCode::OK)
            .await;
        let gone = app.call_json("list_deleted", &[], StatusCode::OK).await;
        assert!(gone["clients"].as_array().unwrap().is_empty(), "{gone}");

        // Each client credentials grant goes a day after its token expired, not a refresh
        // lifetime later.
        let machine = register_machine(app, "client_credentials").await;
        for _ in 0..3 {
            client_credentials(app, &machine, &[("grant_type", "client_credentials")]).await;
        }
        let later = app.state.clock.now().plus_seconds(2 * 86_400 + 3_600);
        let purged =
            app::server::services::oauth::purge::purge_expired(&app.state.db, later, 30 * 86_400)
                .await
                .unwrap();
        assert_eq!(
            (purged.access_tokens, purged.families),
            (3, 3),
            "{}",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn a_grant_type_given_back_does_not_bring_back_what_it_issued() {
    on_each_backend(async |app| {
        let owner = fixture(app, "api-regrant", false).await;
        let pair = exchange(app, &owner, &code_for(app, &owner, &[]).await).await;
        let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
        let access = pair["access_token"].as_str().unwrap().to_owned();
        let unused = code_for(app, &owner, &[]).await;
        let set_grants = |grant_types: &'static str| {
            let owner = owner.clone();
            async move {
                app.call_json(
                    "update_client",
                    &[
                        ("csrf", owner.csrf.as_str()),
                        ("client_uuid", owner.client_uuid.as_str()),
                        ("name", &format!("App of {}", owner.username)),
                        ("description", "Reads the profile"),
                        ("redirect_uri", &owner.redirect_uri),
                        ("scopes[0]", "profile"),
                        ("grant_types", grant_types),
                    ],
                    StatusCode::OK,
                )
                .await;
            }
        };
        set_grants("client_credentials").await;
        // Introspection judges the refresh token as the token endpoint would.
        let about: Value = browser()
            .post(format!("{}/oauth/introspect", app.base))
            .header(
                "authorization",
                basic(&owner.client_id, &owner.client_secret),
            )
            .form(&[("token", refresh.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(about["active"], false, "{about}");
        set_grants("authorization_code").await;
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        expect_error(
            token(
                app,
                &owner,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        expect_error(
            token(
                app,
                &owner,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &unused),
                    ("redirect_uri", &owner.redirect_uri),
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
