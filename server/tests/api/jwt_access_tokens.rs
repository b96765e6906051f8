//! JWT access tokens (RFC 9068): a site switched to JWTs issues signed tokens that a resource
//! server verifies alone with `/.well-known/jwks.json` (here with `jsonwebtoken`, the JOSE
//! library a Rust resource server would use; the browser suite checks them with `jose` too),
//! that Latchkey's own API, introspection and revocation still judge by their stored row, and
//! whose keys rotate without breaking the tokens already out.

use crate::helpers::{TestApp, latchkey, latchkey_json, on_each_backend, site_name};
use crate::oauth_helpers::{basic, browser, code_for, exchange, fixture, introspect_as, me, token};
use app::server::entities::audit_event;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// Switches the test's site to JWT access tokens from the command line.
fn use_jwts(app: &TestApp, site: &str) -> Value {
    latchkey_json(
        app,
        &[
            "site",
            "update",
            "--name",
            site,
            "--access-token-format",
            "jwt",
        ],
    )
}

async fn jwks(app: &TestApp) -> JwkSet {
    let response = browser()
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    response.json().await.unwrap()
}

fn header_of(jwt: &str) -> Value {
    let head = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

/// Verifies `jwt` as a resource server would: the key its `kid` names in the JWK set, the
/// algorithm that key is for, the issuer and the audience.
fn verify_offline(set: &JwkSet, jwt: &str, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap_or_else(|error| panic!("{jwt} does not verify: {error}"))
        .claims
}

#[tokio::test]
async fn a_jwt_site_issues_tokens_resource_servers_verify_alone_and_latchkey_still_revokes() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "jwt-alice", false).await;
        let site = site_name(app).await;
        let metadata: Value = app
            .get("/.well-known/oauth-authorization-server")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            metadata["jwks_uri"],
            format!("{}/.well-known/jwks.json", app.base)
        );
        assert_eq!(
            jwks(app).await.keys.len(),
            0,
            "no key before a site needs one"
        );

        // Opaque by default; the CLI switches the site.
        let before = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        assert!(
            before["access_token"]
                .as_str()
                .unwrap()
                .starts_with("lkat_")
        );
        let updated = use_jwts(app, &site);
        assert_eq!(updated["access_token_format"], "jwt");
        let refused = latchkey(
            app,
            &[
                "site",
                "update",
                "--name",
                &site,
                "--access-token-format",
                "jwe",
            ],
        );
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("opaque or jwt"));

        let issued = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        assert_eq!(issued["token_type"], "Bearer");
        let jwt = issued["access_token"].as_str().unwrap();
        let refresh = issued["refresh_token"].as_str().unwrap();
        assert!(refresh.starts_with("lkrt_"), "refresh tokens stay opaque");
        let header = header_of(jwt);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "ES256");

        let set = jwks(app).await;
        assert_eq!(set.keys.len(), 1);
        assert!(
            !serde_json::to_string(&set).unwrap().contains("\"d\""),
            "no private key material is published"
        );
        let own_api = format!("{}/api/v1", app.base);
        let claims = verify_offline(&set, jwt, &app.base, &own_api);
        assert_eq!(claims["sub"], fx.user_id);
        assert_eq!(claims["client_id"], fx.client_id);
        assert_eq!(claims["scope"], "profile");
        assert_eq!(claims["site"], site);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            issued["expires_in"].as_i64().unwrap()
        );
        assert_eq!(claims["jti"].as_str().unwrap().len(), 64);

        // Latchkey's own API and introspection take the JWT.
        let answer = me(app, jwt).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["username"], "jwt-alice");
        let active = introspect_as(app, &fx.client_id, &fx.client_secret, jwt).await;
        assert_eq!(active["active"], true, "{active}");
        assert_eq!(active["sub"], fx.user_id);

        // A refresh gives another JWT (its own jti); the old one stays good until revoked.
        let refreshed: Value = token(
            app,
            &fx,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await
        .json()
        .await
        .unwrap();
        let second = refreshed["access_token"].as_str().unwrap();
        let second_claims = verify_offline(&set, second, &app.base, &own_api);
        assert_ne!(second_claims["jti"], claims["jti"]);

        // Revocation by jti: Latchkey refuses the token at once, though its signature still
        // verifies (the trade-off the console states).
        let revoked = browser()
            .post(format!("{}/oauth/revoke", app.base))
            .header("authorization", basic(&fx.client_id, &fx.client_secret))
            .form(&[("token", jwt)])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(me(app, jwt).await.status(), StatusCode::UNAUTHORIZED);
        let inactive = introspect_as(app, &fx.client_id, &fx.client_secret, jwt).await;
        assert_eq!(inactive, json!({"active": false}));
        verify_offline(&set, jwt, &app.base, &own_api);
        assert_eq!(me(app, second).await.status(), StatusCode::OK);

        // Opaque tokens issued before the switch still work.
        let old = before["access_token"].as_str().unwrap();
        assert_eq!(me(app, old).await.status(), StatusCode::OK);

        // Forged tokens: a changed payload, `alg: none`, and HS256 keyed with the public key.
        let parts: Vec<&str> = second.split('.').collect();
        let mut forged_claims = second_claims.clone();
        forged_claims["scope"] = json!("profile admin");
        let forged_payload = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        let none_header = URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}).to_string());
        let unsigned = format!("{none_header}.{forged_payload}.");
        let public_jwk = serde_json::to_vec(&set.keys[0]).unwrap();
        let hs_header = jsonwebtoken::Header {
            typ: Some("at+jwt".into()),
            kid: header["kid"].as_str().map(str::to_owned),
            ..jsonwebtoken::Header::new(Algorithm::HS256)
        };
        let confused = jsonwebtoken::encode(
            &hs_header,
            &forged_claims,
            &jsonwebtoken::EncodingKey::from_secret(&public_jwk).unwrap(),
        )
        .unwrap();
        for forged in [&tampered, &unsigned, &confused] {
            let refused = me(app, forged).await;
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{forged}");
            assert!(
                refused.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("invalid_token")
            );
            let inactive = introspect_as(app, &fx.client_id, &fx.client_secret, forged).await;
            assert_eq!(
                inactive["active"],
                false,
                "{inactive} for {}",
                &forged[..40]
            );
        }

        // An oversized one is refused before any parsing: 401 at the API, `invalid_request`
        // at introspection (every parameter has a length limit).
        let oversized = format!("{}.{}.{}", parts[0], "A".repeat(20_000), parts[2]);
        assert_eq!(me(app, &oversized).await.status(), StatusCode::UNAUTHORIZED);
        let refused = introspect_as(app, &fx.client_id, &fx.client_secret, &oversized).await;
        assert_eq!(refused["error"], "invalid_request");

        // Another client cannot introspect or revoke the JWT.
        let other = fixture(app, "jwt-bob", false).await;
        let foreign = introspect_as(app, &other.client_id, &other.client_secret, second).await;
        assert_eq!(foreign["active"], false);
        browser()
            .post(format!("{}/oauth/revoke", app.base))
            .header(
                "authorization",
                basic(&other.client_id, &other.client_secret),
            )
            .form(&[("token", second)])
            .send()
            .await
            .unwrap();
        assert_eq!(me(app, second).await.status(), StatusCode::OK);

        // The switch is audited.
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("site.access_token_format_changed"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor_kind, "operator");
    })
    .await;
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published_until_its_tokens_have_expired() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "jwt-carol", false).await;
        let site = site_name(app).await;
        use_jwts(app, &site);
        let first = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        let first = first["access_token"].as_str().unwrap().to_owned();
        let first_kid = header_of(&first)["kid"].as_str().unwrap().to_owned();

        let refused = latchkey(app, &["keys", "rotate", "--algorithm", "RS256"]);
        assert!(!refused.status.success());
        let rotated = latchkey_json(app, &["keys", "rotate", "--algorithm", "EdDSA"]);
        assert_eq!(rotated["signing"]["algorithm"], "EdDSA");
        assert_eq!(rotated["retired"][0]["kid"], first_kid.as_str());
        let until = rotated["retired"][0]["published_until"].as_i64().unwrap();
        let longest = app::server::settings::MAX_ACCESS_TOKEN_TTL;
        assert!(
            until >= app.state.clock.now().0 + longest,
            "published past the expiry of its tokens at any lifetime the servers may use"
        );

        // The rotation reached the server (another process) through the credential epoch.
        let mut second = String::new();
        for _ in 0..40 {
            let issued = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
            second = issued["access_token"].as_str().unwrap().to_owned();
            if header_of(&second)["alg"] == "EdDSA" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let header = header_of(&second);
        assert_eq!(header["alg"], "EdDSA");
        assert_ne!(header["kid"], first_kid.as_str());

        let set = jwks(app).await;
        assert_eq!(set.keys.len(), 2, "the retired key is still published");
        let own_api = format!("{}/api/v1", app.base);
        verify_offline(&set, &first, &app.base, &own_api);
        verify_offline(&set, &second, &app.base, &own_api);
        assert_eq!(me(app, &first).await.status(), StatusCode::OK);
        assert_eq!(me(app, &second).await.status(), StatusCode::OK);

        let listed = latchkey_json(app, &["keys", "list"]);
        assert_eq!(listed.as_array().unwrap().len(), 2);
        assert_eq!(listed[0]["signing"], true);
        assert_eq!(listed[1]["signing"], false);
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("signing_key.rotated"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].site_id.is_none(), "one key ring for every site");

        // A database writer without the master key cannot plant a verification key: the
        // published keys are derived from the sealed private keys, never read from the row.
        let mut planted_jwk = serde_json::to_value(&set.keys[0]).unwrap();
        planted_jwk["kid"] = json!("planted");
        sea_orm::ActiveModelTrait::insert(
            app::server::entities::signing_key::ActiveModel {
                kid: sea_orm::ActiveValue::Set("planted".into()),
                algorithm: sea_orm::ActiveValue::Set("ES256".into()),
                public_jwk: sea_orm::ActiveValue::Set(planted_jwk.to_string()),
                private_key_sealed: sea_orm::ActiveValue::Set("not sealed".into()),
                created_at: sea_orm::ActiveValue::Set(0),
                retired_at: sea_orm::ActiveValue::Set(Some(0)),
                publish_until: sea_orm::ActiveValue::Set(Some(i64::MAX)),
            },
            &app.state.db,
        )
        .await
        .unwrap();
        app.state.caches.key_ring.remove(&());
        let with_planted = jwks(app).await;
        assert_eq!(with_planted.keys.len(), 2);
        assert!(with_planted.find("planted").is_none());
        assert_eq!(
            me(app, &second).await.status(),
            StatusCode::OK,
            "one bad row breaks nothing"
        );
        app::server::entities::signing_key::Entity::delete_by_id("planted")
            .exec(&app.state.db)
            .await
            .unwrap();

        // Once every token the old key signed has expired, it is no longer published, and the
        // purge deletes it (its private key with it).
        app.state.clock.advance(until - app.state.clock.now().0 + 1);
        let set = jwks(app).await;
        assert_eq!(set.keys.len(), 1);
        assert!(set.find(&first_kid).is_none());
        let purged = app::server::services::oauth::purge::purge_expired(
            &app.state.db,
            app.state.clock.now(),
            app.state.settings.refresh_token_ttl,
        )
        .await
        .unwrap();
        assert_eq!(purged.signing_keys, 1);
        assert_eq!(
            latchkey_json(app, &["keys", "list"])
                .as_array()
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn machine_and_narrowed_tokens_carry_their_subject_and_audience() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "jwt-dave", false).await;
        let site = site_name(app).await;
        let site_id = app.console_session().await["site"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // The console's setting: a bad value is a field error, then JWTs.
        let csrf = app.csrf().await;
        let bad = app
            .call(
                "set_site_access_token_format",
                &[
                    ("csrf", &csrf),
                    ("site_id", &site_id),
                    ("access_token_format", "jwt\u{0}"),
                ],
            )
            .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let body: Value = bad.json().await.unwrap();
        assert!(
            crate::helpers::field_message(&body, "access_token_format").is_some(),
            "{body}"
        );
        app.call_json(
            "set_site_access_token_format",
            &[
                ("csrf", &csrf),
                ("site_id", &site_id),
                ("access_token_format", "jwt"),
            ],
            StatusCode::OK,
        )
        .await;
        let settings = app
            .call_json(
                "get_site_settings",
                &[("site_id", &site_id)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(settings["access_token_format"], "jwt");

        let reports = "https://reports.example.com/api";
        latchkey_json(
            app,
            &["site", "add-resource", "--name", &site, "--uri", reports],
        );
        let set_before = jwks(app).await;
        let issued = exchange(
            app,
            &fx,
            &code_for(app, &fx, &[("resource", reports)]).await,
        )
        .await;
        let jwt = issued["access_token"].as_str().unwrap();
        let claims = verify_offline(&set_before, jwt, &app.base, reports);
        assert_eq!(claims["aud"], reports, "narrowed: one audience");
        assert_eq!(
            me(app, jwt).await.status(),
            StatusCode::UNAUTHORIZED,
            "Latchkey's own API is not its audience"
        );

        // Not narrowed: the default resource indicator (RFC 9068 §3), Latchkey's own API; the
        // reports API would refuse it.
        let wide = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        let wide = wide["access_token"].as_str().unwrap();
        let own_api = format!("{}/api/v1", app.base);
        let claims = verify_offline(&set_before, wide, &app.base, &own_api);
        assert_eq!(claims["aud"], own_api.as_str());

        // A machine client's JWT names the client as subject.
        let created = latchkey_json(
            app,
            &[
                "client",
                "create",
                "--site",
                &site,
                "--name",
                "Nightly export",
                "--description",
                "Exports",
                "--redirect-uri",
                "https://export.example.com/cb",
                "--scope",
                "profile",
                "--grant-type",
                "client_credentials",
                "--accept-terms",
            ],
        );
        let (id, secret) = (
            created["client_id"].as_str().unwrap(),
            created["client_secret"].as_str().unwrap(),
        );
        let machine: Value = browser()
            .post(format!("{}/oauth/token", app.base))
            .header("authorization", basic(id, secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let machine_jwt = machine["access_token"].as_str().unwrap();
        let claims = verify_offline(&set_before, machine_jwt, &app.base, &own_api);
        assert_eq!(claims["sub"], id);
        assert_eq!(claims["client_id"], id);
        let answer: Value = me(app, machine_jwt).await.json().await.unwrap();
        assert_eq!(answer["client_id"], id);
        assert!(answer.get("username").is_none());
    })
    .await;
}
