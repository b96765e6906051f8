//! The whole authorization code flow driven by a real OAuth client library (`oauth2`), with
//! PKCE, both client authentication methods, the protected API and refresh rotation.

use crate::helpers::{TestApp, on_each_backend};
use crate::oauth_helpers::{
    Fixture, browser, fixture, form_fields, location_params, me, param, submit_prompt,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, TokenResponse, TokenUrl,
    basic::{BasicClient, BasicErrorResponseType},
};
use reqwest::StatusCode;
use serde_json::Value;

type Client = oauth2::basic::BasicClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn oauth_client(app: &TestApp, fixture: &Fixture, auth_type: AuthType) -> Client {
    BasicClient::new(ClientId::new(fixture.client_id.clone()))
        .set_client_secret(ClientSecret::new(fixture.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/oauth/authorize", app.base)).unwrap())
        .set_token_uri(TokenUrl::new(format!("{}/oauth/token", app.base)).unwrap())
        .set_redirect_uri(RedirectUrl::new(fixture.redirect_uri.clone()).unwrap())
        .set_auth_type(auth_type)
}

/// The user at the browser: opens the authorization URL, signs in, clicks Authorize; returns
/// the redirect's query parameters.
async fn user_authorizes(
    app: &TestApp,
    url: &url::Url,
    fixture: &Fixture,
) -> Vec<(String, String)> {
    // The password every time: the browser stays signed in after the first authorization.
    let mut url = url.clone();
    url.query_pairs_mut().append_pair("prompt", "login");
    let prompt = app.browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(prompt.status(), StatusCode::OK);
    let html = prompt.text().await.unwrap();
    assert!(
        html.contains(&format!("Authorize App of {}", fixture.username)),
        "prompt names the app"
    );
    assert!(html.contains("name=\"decision\" value=\"allow\"") && html.contains(">Authorize<"));
    assert!(html.contains("name=\"decision\" value=\"deny\"") && html.contains(">Deny<"));
    assert!(
        form_fields(&html)
            .iter()
            .any(|(name, _)| name == "request_token"),
        "anti-forgery token"
    );
    let decided = submit_prompt(app, &html, &fixture.username, &fixture.password, "allow").await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let (location, params) = location_params(&decided);
    assert!(location.starts_with(&fixture.redirect_uri), "{location}");
    params
}

#[tokio::test]
async fn full_flow_with_pkce_refresh_and_both_client_authentication_methods() {
    on_each_backend(async |app| {
        let fixture = fixture(app, "api-alice", false).await;
        let http = browser();
        for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
            let client = oauth_client(app, &fixture, auth_type.clone());
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (url, csrf_state) = client
                .authorize_url(CsrfToken::new_random)
                .add_scope(Scope::new("profile".into()))
                .set_pkce_challenge(challenge)
                .url();
            let params = user_authorizes(app, &url, &fixture).await;
            assert_eq!(param(&params, "state"), Some(csrf_state.secret().as_str()));
            assert_eq!(
                param(&params, "iss"),
                Some(app.base.as_str()),
                "RFC 9207 issuer"
            );
            let code = param(&params, "code").unwrap().to_owned();
            assert!(code.starts_with("lkac_"));

            let tokens = client
                .exchange_code(AuthorizationCode::new(code.clone()))
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("{auth_type:?} exchange on {}: {e:?}", app.backend));
            assert_eq!(tokens.expires_in().unwrap().as_secs(), 1800);
            assert_eq!(tokens.scopes().unwrap()[0].as_str(), "profile");
            let access = tokens.access_token().secret().clone();
            assert!(access.starts_with("lkat_"));

            let profile: Value = me(app, &access).await.json().await.unwrap();
            assert_eq!(profile["username"], "api-alice");
            assert_eq!(profile["email"], "api-alice@example.com");
            assert_eq!(profile["site"], "Acme");
            assert_eq!(profile["client_id"], fixture.client_id.as_str());
            assert_eq!(profile["scope"], "profile");

            // Refresh rotates: a new refresh token, and the old one is spent.
            let first_refresh = tokens.refresh_token().unwrap().clone();
            let refreshed = client
                .exchange_refresh_token(&first_refresh)
                .request_async(&http)
                .await
                .unwrap();
            let second_refresh = refreshed.refresh_token().unwrap().clone();
            assert_ne!(second_refresh.secret(), first_refresh.secret());
            assert_eq!(
                me(app, refreshed.access_token().secret()).await.status(),
                StatusCode::OK
            );

            // Presenting the spent refresh token again revokes the whole grant.
            let reuse = client
                .exchange_refresh_token(&first_refresh)
                .request_async(&http)
                .await;
            match reuse {
                Err(RequestTokenError::ServerResponse(StandardErrorResponse { .. })) => {}
                other => panic!("reuse must fail: {other:?}"),
            }
            if let Err(RequestTokenError::ServerResponse(error)) = client
                .exchange_refresh_token(&RefreshToken::new(second_refresh.secret().clone()))
                .request_async(&http)
                .await
            {
                assert_eq!(
                    *error.error(),
                    BasicErrorResponseType::InvalidGrant,
                    "the family is revoked"
                );
            } else {
                panic!("the newer refresh token of a revoked family must fail");
            }
            assert_eq!(
                me(app, refreshed.access_token().secret()).await.status(),
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);

            // The code was single-use.
            let again = client
                .exchange_code(AuthorizationCode::new(code))
                .request_async(&http)
                .await;
            assert!(matches!(again, Err(RequestTokenError::ServerResponse(_))));
        }
    })
    .await;
}
