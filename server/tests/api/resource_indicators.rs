//! Resource indicators (RFC 8707): a site lists its resource servers (console and CLI); a
//! `resource` at the authorization or token endpoint narrows the access token's audience, which
//! introspection reports as `aud`; any other resource gets `invalid_target`; a token narrowed
//! to another API is refused at Latchkey's own.

use crate::helpers::{TestApp, field_message, on_each_backend_with};
use crate::oauth_helpers::{
    Fixture, authorize, code_for, expect_error, fixture, location_params, me, param, query, token,
};
use reqwest::StatusCode;
use serde_json::Value;

const REPORTS: &str = "https://reports.example.com/";

async fn introspect(app: &TestApp, f: &Fixture, presented: &str) -> Value {
    crate::oauth_helpers::introspect_as(app, &f.client_id, &f.client_secret, presented).await
}

async fn exchange_for(
    app: &TestApp,
    f: &Fixture,
    code: &str,
    resource: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", f.redirect_uri.as_str()),
    ];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    token(app, f, &form).await
}

#[tokio::test]
async fn a_token_is_for_the_resource_server_it_was_asked_for() {
    // Latchkey's own API is http://127.0.0.1:… here, a loopback resource server.
    let loopback = |settings: &mut app::server::Settings| settings.allow_loopback_redirects = true;
    on_each_backend_with(loopback, async |app| {
        let f = fixture(app, "api-aud", false).await;
        let site = app.console_session().await["site"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let settings = app
            .call_json("get_site_settings", &[("site_id", &site)], StatusCode::OK)
            .await;
        let own = settings["own_resource"].as_str().unwrap().to_owned();
        assert!(own.ends_with("/api/v1"), "{own}");

        // The list: refusals next to the field, then two resource servers.
        let add = |uri: &str| {
            let (csrf, site, uri) = (f.csrf.clone(), site.clone(), uri.to_owned());
            async move {
                app.call(
                    "add_site_resource",
                    &[("csrf", &csrf), ("site_id", &site), ("uri", &uri)],
                )
                .await
            }
        };
        for bad in [
            "http://reports.example.com/",
            "reports",
            "https://r.example.com/#x",
            "https://r.example.com/\u{0}",
        ] {
            let refused = add(bad).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            let refused: Value = refused.json().await.unwrap();
            assert!(
                field_message(&refused, "uri").is_some(),
                "{bad:?}: {refused}"
            );
        }
        assert_eq!(add(REPORTS).await.status(), StatusCode::OK);
        assert_eq!(add(&own).await.status(), StatusCode::OK);
        let again: Value = add(REPORTS).await.json().await.unwrap();
        assert!(field_message(&again, "uri").is_some(), "{again}");

        // An unknown resource at the authorization endpoint goes back as invalid_target.
        let mut q = query(&f);
        q.push(("resource", "https://unknown.example.com/".into()));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = authorize(app, &q).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{}", app.backend);
        let (_, params) = location_params(&refused);
        assert_eq!(param(&params, "error"), Some("invalid_target"));
        // Malformed ones too, refused before any lookup (a NUL byte never reaches the database).
        for hostile in [
            "https://r.example.com/\u{0}",
            "https://r\u{e9}.example.com/",
            "",
        ] {
            let mut q = query(&f);
            q.push(("resource", hostile.into()));
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let refused = authorize(app, &q).await;
            // An empty parameter is no parameter (RFC 6749 §3.1): the prompt.
            let expected = if hostile.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::SEE_OTHER
            };
            assert_eq!(refused.status(), expected, "{hostile:?} on {}", app.backend);
        }
        // The prompt names the one API a narrowed grant is for.
        let mut q = query(&f);
        q.push(("resource", REPORTS.into()));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let shown = authorize(app, &q).await.text().await.unwrap();
        assert!(
            shown.contains(&format!(
                "data-testid=\"prompt-resource\">Only at the API <code>{REPORTS}"
            )),
            "{shown}"
        );
        let base = query(&f);
        let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let plain = authorize(app, &base).await.text().await.unwrap();
        assert!(!plain.contains("prompt-resource"));
        let code = code_for(app, &f, &[]).await;
        expect_error(
            exchange_for(app, &f, &code, Some("https://r.example.com/\u{0}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;

        // Authorized for the reports API: the token is for it alone.
        let code = code_for(app, &f, &[("resource", REPORTS)]).await;
        let pair: Value = exchange_for(app, &f, &code, None)
            .await
            .json()
            .await
            .unwrap();
        let access = pair["access_token"].as_str().unwrap().to_owned();
        let about = introspect(app, &f, &access).await;
        assert_eq!(about["aud"], REPORTS, "{about}");
        assert_eq!(me(app, &access).await.status(), StatusCode::UNAUTHORIZED);
        // Its refresh keeps the audience; asking for another is invalid_target.
        let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
        expect_error(
            token(
                app,
                &f,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("resource", &own),
                ],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
        let refreshed: Value = token(
            app,
            &f,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await
        .json()
        .await
        .unwrap();
        let about = introspect(app, &f, refreshed["access_token"].as_str().unwrap()).await;
        assert_eq!(about["aud"], REPORTS, "{about}");

        // A code for the reports API cannot become a token for another.
        let code = code_for(app, &f, &[("resource", REPORTS)]).await;
        expect_error(
            exchange_for(app, &f, &code, Some(&own)).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;

        // No resource at authorization: the token request may narrow to any listed one.
        let code = code_for(app, &f, &[]).await;
        let narrowed: Value = exchange_for(app, &f, &code, Some(&own))
            .await
            .json()
            .await
            .unwrap();
        let access = narrowed["access_token"].as_str().unwrap();
        assert_eq!(introspect(app, &f, access).await["aud"], own.as_str());
        assert_eq!(
            me(app, access).await.status(),
            StatusCode::OK,
            "narrowed to Latchkey's own API"
        );
        let code = code_for(app, &f, &[]).await;
        expect_error(
            exchange_for(app, &f, &code, Some("https://unknown.example.com/")).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
        // Without any resource, no audience (as before resource indicators).
        let code = code_for(app, &f, &[]).await;
        let plain: Value = exchange_for(app, &f, &code, None)
            .await
            .json()
            .await
            .unwrap();
        let about = introspect(app, &f, plain["access_token"].as_str().unwrap()).await;
        assert!(about.get("aud").is_none(), "{about}");

        // The CLI lists and removes; a removed resource is unknown from then on.
        let latchkey = |args: &[&str]| crate::helpers::latchkey(app, args);
        let listed = latchkey(&[
            "site",
            "add-resource",
            "--name",
            "Acme",
            "--uri",
            "https://billing.example.com/v2",
        ]);
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(listed["resources"].as_array().unwrap().len(), 3, "{listed}");
        let refused = latchkey(&[
            "site",
            "add-resource",
            "--name",
            "Acme",
            "--uri",
            "ftp://x.example.com/",
        ]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--uri"));
        assert!(
            latchkey(&[
                "site",
                "remove-resource",
                "--name",
                "Acme",
                "--uri",
                REPORTS
            ])
            .status
            .success()
        );
        let code = code_for(app, &f, &[]).await;
        expect_error(
            exchange_for(app, &f, &code, Some(REPORTS)).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
        // And what was issued for it ends with it: the grant and its tokens.
        let latest = refreshed["refresh_token"].as_str().unwrap();
        expect_error(
            token(
                app,
                &f,
                &[("grant_type", "refresh_token"), ("refresh_token", latest)],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        let about = introspect(app, &f, refreshed["access_token"].as_str().unwrap()).await;
        assert_eq!(about["active"], false, "{about}");
        // Latchkey's own API listed with a trailing slash is still itself.
        let own_slash = format!("{own}/");
        assert_eq!(add(&own_slash).await.status(), StatusCode::OK);
        let code = code_for(app, &f, &[("resource", own_slash.as_str())]).await;
        let pair: Value = exchange_for(app, &f, &code, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            me(app, pair["access_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::OK
        );

        // Both changes are in the audit log.
        let events = app
            .call_json(
                "list_audit",
                &[("query[action]", "site.resource_added")],
                StatusCode::OK,
            )
            .await;
        assert_eq!(events["rows"].as_array().unwrap().len(), 4, "{events}");
    })
    .await;
}
