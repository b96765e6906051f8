//! DPoP (RFC 9449): a token request with a proof gets tokens bound to the proof's key; the
//! grant's refreshes need that key; `/api/v1/me` takes a bound token only with the DPoP scheme
//! and a fresh proof by that key for that token; every proof is single-use across replicas;
//! a client may be made to require DPoP; and nonces are enforced when the operator asks. The
//! proofs here are made with `jsonwebtoken`, as a Rust client would (the browser suite drives
//! `openid-client` through the same flows).

use crate::helpers::{TestApp, latchkey_json, on_each_backend, on_each_backend_with, site_name};
use crate::oauth_helpers::{
    Fixture, authorize, basic, browser, code_for, exchange, expect_error, fixture, introspect_as,
    location_params, me, param, query,
};
use app::server::crypto::{
    dpop::access_token_hash,
    jose::{self, GeneratedKey, SigningAlgorithm},
};
use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// A client's DPoP key pair.
struct DpopKey {
    key: GeneratedKey,
    algorithm: SigningAlgorithm,
}

impl DpopKey {
    fn new(algorithm: SigningAlgorithm) -> Self {
        Self {
            key: jose::generate(algorithm).unwrap(),
            algorithm,
        }
    }

    /// Its RFC 7638 thumbprint (what `cnf.jkt` must say).
    fn jkt(&self) -> &str {
        &self.key.kid
    }

    /// A proof for `method` `url` made at `iat`, for `access_token` and with `nonce` if given.
    fn proof_at(
        &self,
        method: &str,
        url: &str,
        iat: i64,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut jwk: Jwk = serde_json::from_str(&self.key.public_jwk).unwrap();
        jwk.common = Default::default();
        let mut header = Header::new(self.algorithm.jws());
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(jwk);
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": iat,
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(access_token_hash(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let encoding = match self.algorithm {
            SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&self.key.pkcs8),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(&self.key.pkcs8),
        };
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
    }

    fn for_token(&self, app: &TestApp) -> String {
        self.for_token_with(app, None)
    }

    fn for_token_with(&self, app: &TestApp, nonce: Option<&str>) -> String {
        let url = format!("{}/oauth/token", app.base);
        self.proof_at("POST", &url, now(app), None, nonce)
    }

    fn for_me(&self, app: &TestApp, access_token: &str) -> String {
        let url = format!("{}/api/v1/me", app.base);
        self.proof_at("GET", &url, now(app), Some(access_token), None)
    }
}

fn now(app: &TestApp) -> i64 {
    app.state.clock.now().unix()
}

/// `POST /oauth/token` as `client_id`, with `proofs` as `DPoP` headers.
async fn token_with(
    app: &TestApp,
    (client_id, secret): (&str, &str),
    form: &[(&str, &str)],
    proofs: &[&str],
) -> Response {
    let mut request = browser()
        .post(format!("{}/oauth/token", app.base))
        .header("authorization", basic(client_id, secret))
        .form(form);
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    request.send().await.unwrap()
}

fn credentials(fx: &Fixture) -> (&str, &str) {
    (&fx.client_id, &fx.client_secret)
}

/// `GET /api/v1/me` with `Authorization: DPoP <token>` and `proof` (if any).
async fn me_dpop(base: &str, token: &str, proof: Option<&str>) -> Response {
    let mut request = browser()
        .get(format!("{base}/api/v1/me"))
        .header("authorization", format!("DPoP {token}"));
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.send().await.unwrap()
}

/// Sends `requests` at once; their statuses, in order.
async fn statuses_of(
    requests: impl Iterator<Item = impl Future<Output = Response>>,
) -> Vec<StatusCode> {
    futures_util::future::join_all(requests)
        .await
        .iter()
        .map(Response::status)
        .collect()
}

fn challenge(response: &Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn exchange_with_proof(app: &TestApp, fx: &Fixture, key: &DpopKey) -> Value {
    let code = code_for(app, fx, &[]).await;
    let response = token_with(
        app,
        credentials(fx),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &fx.redirect_uri),
        ],
        &[&key.for_token(app)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", app.backend);
    assert!(
        response.headers().contains_key("dpop-nonce"),
        "a DPoP client gets a nonce for its next proof"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_proof_binds_the_grant_its_refreshes_and_its_tokens_at_the_api() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-alice", false).await;
        let key = DpopKey::new(SigningAlgorithm::Es256);
        let thief = DpopKey::new(SigningAlgorithm::EdDsa);
        let metadata: Value = app
            .get("/.well-known/oauth-authorization-server")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            metadata["dpop_signing_alg_values_supported"],
            json!(["ES256", "EdDSA", "Ed25519"])
        );

        let issued = exchange_with_proof(app, &fx, &key).await;
        assert_eq!(issued["token_type"], "DPoP");
        let access = issued["access_token"].as_str().unwrap();
        let refresh = issued["refresh_token"].as_str().unwrap();
        let seen = introspect_as(app, &fx.client_id, &fx.client_secret, access).await;
        assert_eq!(seen["token_type"], "DPoP");
        assert_eq!(seen["cnf"]["jkt"], key.jkt());

        // At the API: never as a bearer token, never without a proof by the key for it.
        let as_bearer = me(app, access).await;
        assert_eq!(as_bearer.status(), StatusCode::UNAUTHORIZED);
        assert!(
            challenge(&as_bearer).starts_with("Bearer realm=\"latchkey\", error=\"invalid_token\"")
        );
        let no_proof = me_dpop(&app.base, access, None).await;
        assert_eq!(no_proof.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&no_proof).starts_with("DPoP error=\"invalid_dpop_proof\""));
        assert!(challenge(&no_proof).contains("algs=\"ES256 EdDSA Ed25519\""));
        let stolen = me_dpop(&app.base, access, Some(&thief.for_me(app, access))).await;
        assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&stolen).starts_with("DPoP error=\"invalid_dpop_proof\""));
        let url = format!("{}/api/v1/me", app.base);
        let without_ath = key.proof_at("GET", &url, now(app), None, None);
        let refused = me_dpop(&app.base, access, Some(&without_ath)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let for_post = key.proof_at("POST", &url, now(app), Some(access), None);
        let refused = me_dpop(&app.base, access, Some(&for_post)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let proof = key.for_me(app, access);
        let profile = me_dpop(&app.base, access, Some(&proof)).await;
        assert_eq!(profile.status(), StatusCode::OK);
        let body: Value = profile.json().await.unwrap();
        assert_eq!(body["username"], "dpop-alice");
        // The same proof again is a replay.
        let replayed = me_dpop(&app.base, access, Some(&proof)).await;
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&replayed).contains("used before"));

        // The grant's refreshes need the key; a thief's refusal does not revoke the grant.
        let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        let bare = token_with(app, credentials(&fx), &refresh_form, &[]).await;
        expect_error(bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        let theirs = token_with(
            app,
            credentials(&fx),
            &refresh_form,
            &[&thief.for_token(app)],
        )
        .await;
        expect_error(theirs, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        let mine = token_with(app, credentials(&fx), &refresh_form, &[&key.for_token(app)]).await;
        assert_eq!(mine.status(), StatusCode::OK);
        let next: Value = mine.json().await.unwrap();
        assert_eq!(next["token_type"], "DPoP");
        let next_access = next["access_token"].as_str().unwrap();
        let profile = me_dpop(&app.base, next_access, Some(&key.for_me(app, next_access))).await;
        assert_eq!(profile.status(), StatusCode::OK);

        // A bearer token stays a bearer token.
        let bearer = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        assert_eq!(bearer["token_type"], "Bearer");
        let bearer_access = bearer["access_token"].as_str().unwrap();
        let wrong_scheme = me_dpop(
            &app.base,
            bearer_access,
            Some(&key.for_me(app, bearer_access)),
        )
        .await;
        assert_eq!(wrong_scheme.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&wrong_scheme).starts_with("DPoP error=\"invalid_token\""));
        assert_eq!(me(app, bearer_access).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_proof_is_accepted_once_across_replicas_and_parallel_copies() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-bob", false).await;
        let key = DpopKey::new(SigningAlgorithm::Es256);
        let issued = exchange_with_proof(app, &fx, &key).await;
        let access = issued["access_token"].as_str().unwrap().to_owned();
        // A replica behind the same public URL, on the same database.
        let replica = app.sibling(|s| s.public_url = app.base.clone()).await;
        let proof = key.for_me(app, &access);
        let copies = (0..8).map(|i| {
            let base = if i % 2 == 0 { &app.base } else { &replica.base };
            me_dpop(base, &access, Some(&proof))
        });
        let statuses = statuses_of(copies).await;
        let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(accepted, 1, "{statuses:?} on {}", app.backend);
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
        );

        // The same at the token endpoint: one proof, one set of tokens.
        let proof = key.for_token(app);
        let codes = [code_for(app, &fx, &[]).await, code_for(app, &fx, &[]).await];
        let forms: Vec<[(&str, &str); 3]> = codes
            .iter()
            .map(|code| {
                [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", fx.redirect_uri.as_str()),
                ]
            })
            .collect();
        let proofs = [proof.as_str()];
        let requests = forms
            .iter()
            .map(|form| token_with(app, credentials(&fx), form, &proofs));
        let statuses = statuses_of(requests).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{statuses:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn hostile_proofs_get_invalid_dpop_proof_never_a_server_error() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-carol", false).await;
        let key = DpopKey::new(SigningAlgorithm::Es256);
        let code = code_for(app, &fx, &[]).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", fx.redirect_uri.as_str()),
        ];
        let url = format!("{}/oauth/token", app.base);
        let good = key.for_token(app);
        let old = key.proof_at("POST", &url, now(app) - 301, None, None);
        let elsewhere = key.proof_at(
            "POST",
            "https://evil.example/oauth/token",
            now(app),
            None,
            None,
        );
        let huge = "A".repeat(20_000);
        // A short Ed25519 key once panicked inside the JOSE library.
        let short_key = {
            use base64::Engine;
            let b64 =
                |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let header = json!({"typ": "dpop+jwt", "alg": "EdDSA",
                "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}});
            let claims = json!({"jti": "j", "htm": "POST", "htu": url, "iat": now(app)});
            format!("{}.{}.AA", b64(header), b64(claims))
        };
        for proofs in [
            vec![good.as_str(), good.as_str()],
            vec!["not.a.proof"],
            vec![old.as_str()],
            vec![elsewhere.as_str()],
            vec![huge.as_str()],
            vec![short_key.as_str()],
        ] {
            let response = token_with(app, credentials(&fx), &form, &proofs).await;
            expect_error(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        }
        // None of that consumed the code.
        let response = token_with(app, credentials(&fx), &form, &[&good]).await;
        assert_eq!(response.status(), StatusCode::OK);
        // Non-ASCII bytes in the header.
        let raw = browser()
            .post(&url)
            .header("authorization", basic(&fx.client_id, &fx.client_secret))
            .header(
                "dpop",
                reqwest::header::HeaderValue::from_bytes(b"\xc3\xa9.x.y").unwrap(),
            )
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(raw, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
    })
    .await;
}

#[tokio::test]
async fn a_client_made_to_require_dpop_is_refused_without_a_proof() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-dave", false).await;
        let site = site_name(app).await;
        let created = latchkey_json(
            app,
            &[
                "client",
                "create",
                "--site",
                &site,
                "--name",
                "Bound sync",
                "--description",
                "Copies reports with bound tokens",
                "--accept-terms",
                "--redirect-uri",
                "https://sync.example.com/cb",
                "--grant-type",
                "client_credentials",
                "--require-dpop",
            ],
        );
        assert_eq!(created["require_dpop"], true);
        let client = (
            created["client_id"].as_str().unwrap(),
            created["client_secret"].as_str().unwrap(),
        );
        let form = [("grant_type", "client_credentials")];
        let bare = token_with(app, client, &form, &[]).await;
        let body = expect_error(bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("must send a DPoP proof")
        );
        let key = DpopKey::new(SigningAlgorithm::EdDsa);
        let bound = token_with(app, client, &form, &[&key.for_token(app)]).await;
        assert_eq!(bound.status(), StatusCode::OK);
        let issued: Value = bound.json().await.unwrap();
        assert_eq!(issued["token_type"], "DPoP");
        let access = issued["access_token"].as_str().unwrap();
        let seen = me_dpop(&app.base, access, Some(&key.for_me(app, access))).await;
        assert_eq!(seen.status(), StatusCode::OK);

        // The console turns it on for an existing client; the audit event says so.
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &fx.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(detail["require_dpop"], false);
        let csrf = app.csrf().await;
        app.call_json(
            "update_client",
            &[
                ("csrf", &csrf),
                ("client_uuid", &fx.client_uuid),
                ("name", detail["name"].as_str().unwrap()),
                ("description", detail["description"].as_str().unwrap()),
                ("redirect_uri", &fx.redirect_uri),
                ("scopes[0]", "profile"),
                ("require_dpop", "on"),
            ],
            StatusCode::OK,
        )
        .await;
        let detail = app
            .call_json(
                "get_client",
                &[("client_uuid", &fx.client_uuid)],
                StatusCode::OK,
            )
            .await;
        assert_eq!(detail["require_dpop"], true);
        let code = code_for(app, &fx, &[]).await;
        let refused = token_with(
            app,
            credentials(&fx),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &fx.redirect_uri),
            ],
            &[],
        )
        .await;
        expect_error(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
    })
    .await;
}

#[tokio::test]
async fn nonces_are_enforced_when_the_operator_requires_them() {
    on_each_backend_with(
        |settings| settings.dpop_require_nonce = true,
        async |app: &TestApp| {
            let fx = fixture(app, "dpop-erin", false).await;
            let key = DpopKey::new(SigningAlgorithm::Es256);
            let code = code_for(app, &fx, &[]).await;
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", fx.redirect_uri.as_str()),
            ];
            let first = token_with(app, credentials(&fx), &form, &[&key.for_token(app)]).await;
            let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
            expect_error(first, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;
            let forged = key.for_token_with(app, Some("bm90LWEtbm9uY2U"));
            let refused = token_with(app, credentials(&fx), &form, &[&forged]).await;
            expect_error(refused, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;
            let with_nonce = key.for_token_with(app, Some(&nonce));
            let issued = token_with(app, credentials(&fx), &form, &[&with_nonce]).await;
            assert_eq!(issued.status(), StatusCode::OK);
            let issued: Value = issued.json().await.unwrap();
            let access = issued["access_token"].as_str().unwrap();

            // At the API too: the challenge carries a nonce to retry with.
            let no_nonce = me_dpop(&app.base, access, Some(&key.for_me(app, access))).await;
            assert_eq!(no_nonce.status(), StatusCode::UNAUTHORIZED);
            assert!(challenge(&no_nonce).starts_with("DPoP error=\"use_dpop_nonce\""));
            let nonce = no_nonce.headers()["dpop-nonce"]
                .to_str()
                .unwrap()
                .to_owned();
            let url = format!("{}/api/v1/me", app.base);
            let proof = key.proof_at("GET", &url, now(app), Some(access), Some(&nonce));
            let seen = me_dpop(&app.base, access, Some(&proof)).await;
            assert_eq!(seen.status(), StatusCode::OK);
        },
    )
    .await;
}

#[tokio::test]
async fn a_bound_jwt_carries_cnf_and_is_checked_like_an_opaque_one() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-jwt", false).await;
        let site = site_name(app).await;
        latchkey_json(
            app,
            &[
                "site",
                "update",
                "--name",
                &site,
                "--access-token-format",
                "jwt",
            ],
        );
        let key = DpopKey::new(SigningAlgorithm::EdDsa);
        let issued = exchange_with_proof(app, &fx, &key).await;
        assert_eq!(issued["token_type"], "DPoP");
        let jwt = issued["access_token"].as_str().unwrap();
        let payload = jwt_payload(jwt);
        assert_eq!(payload["cnf"]["jkt"], key.jkt(), "RFC 9449 §6.1");
        assert_eq!(me(app, jwt).await.status(), StatusCode::UNAUTHORIZED);
        let seen = me_dpop(&app.base, jwt, Some(&key.for_me(app, jwt))).await;
        assert_eq!(seen.status(), StatusCode::OK);
        // An unbound JWT of the same site has no cnf.
        let bearer = exchange(app, &fx, &code_for(app, &fx, &[]).await).await;
        let bearer = bearer["access_token"].as_str().unwrap();
        assert_eq!(jwt_payload(bearer)["cnf"], Value::Null);
        assert_eq!(me(app, bearer).await.status(), StatusCode::OK);
    })
    .await;
}

/// The claims of `jwt`, unverified (the tests above check what Latchkey does with it).
fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
async fn a_code_asked_for_with_dpop_jkt_is_exchanged_only_with_that_key() {
    on_each_backend(async |app: &TestApp| {
        let fx = fixture(app, "dpop-frank", false).await;
        let key = DpopKey::new(SigningAlgorithm::Es256);
        let thief = DpopKey::new(SigningAlgorithm::Es256);
        let code = code_for(app, &fx, &[("dpop_jkt", key.jkt())]).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", fx.redirect_uri.as_str()),
        ];
        let bare = token_with(app, credentials(&fx), &form, &[]).await;
        expect_error(bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        let theirs = token_with(app, credentials(&fx), &form, &[&thief.for_token(app)]).await;
        expect_error(theirs, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        // Neither attempt spent the code or revoked anything.
        let mine = token_with(app, credentials(&fx), &form, &[&key.for_token(app)]).await;
        assert_eq!(mine.status(), StatusCode::OK, "{}", app.backend);
        let issued: Value = mine.json().await.unwrap();
        assert_eq!(issued["token_type"], "DPoP");

        // A dpop_jkt that is no thumbprint goes back to the client as invalid_request.
        let mut q: Vec<(&str, String)> = query(&fx);
        q.push(("dpop_jkt", "not a thumbprint".into()));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = authorize(app, &q).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER);
        let (_, params) = location_params(&refused);
        assert_eq!(param(&params, "error"), Some("invalid_request"));
    })
    .await;
}
