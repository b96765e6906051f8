//! Response headers (issue 17, "prove the class is gone"): a Content-Security-Policy that
//! allows only this origin's scripts and WASM (a page's one inline hydration script by its
//! nonce), no framing anywhere (the authorization prompt included), HSTS behind a trusted
//! proxy, and a forwarded address read from the last `X-Forwarded-For` line the proxy wrote.

use crate::helpers::{on_each_backend, spawn_behind_proxy};
use crate::oauth_helpers::{authorize, fixture, query};
use app::server::testing::TestDb;
use reqwest::StatusCode;

/// The value of `directive` in a CSP header.
fn directive<'a>(csp: &'a str, name: &str) -> Option<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with(name))
        .map(|d| d[name.len()..].trim())
}

#[tokio::test]
async fn pages_allow_only_their_own_scripts_by_nonce_and_nothing_frames_anything() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let page = app.page("/clients").await;
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = page.text().await.unwrap();
        let scripts = directive(&csp, "script-src").unwrap();
        let nonce = scripts
            .split_whitespace()
            .find_map(|source| source.strip_prefix("'nonce-"))
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("no nonce in {csp}"));
        assert!(nonce.len() >= 22, "{nonce}");
        assert!(
            !scripts.contains("unsafe-inline") && !scripts.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert!(scripts.contains("'wasm-unsafe-eval'"));
        // Every inline script of the page carries it.
        for script in html.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            if !tag.contains("src=") {
                assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}>");
            }
        }
        assert_eq!(directive(&csp, "frame-ancestors"), Some("'none'"));
        assert_eq!(directive(&csp, "object-src"), Some("'none'"));
        // Another page, another nonce.
        let again = app.page("/clients").await;
        let other = again.headers()["content-security-policy"].to_str().unwrap();
        assert!(!other.contains(nonce));

        // The prompt cannot be framed (clickjacking an Authorize button).
        let fixture = fixture(app, "framed", false).await;
        let q = query(&fixture);
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let prompt = authorize(app, &q).await;
        assert_eq!(prompt.status(), StatusCode::OK);
        let csp = prompt.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert_eq!(directive(csp, "frame-ancestors"), Some("'none'"), "{csp}");
        assert_eq!(prompt.headers()["x-frame-options"], "DENY");
        // Without a proxy in front, no HSTS (plain http on loopback).
        assert!(prompt.headers().get("strict-transport-security").is_none());
    })
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_hsts_is_sent_and_the_proxys_address_is_used() {
    for db in [TestDb::sqlite().await, TestDb::postgres().await] {
        let app = spawn_behind_proxy(db).await;
        let response = app.get("/healthz").await;
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{}",
            app.backend
        );
        // The proxy's own request id is kept; a made-up one is not.
        let kept = app
            .client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", "proxy-1234")
            .send()
            .await
            .unwrap();
        assert_eq!(kept.headers()["x-request-id"], "proxy-1234");
        let refused = app
            .client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", "<script>")
            .send()
            .await
            .unwrap();
        assert_ne!(refused.headers()["x-request-id"], "<script>");
        app.cleanup().await;
    }
}
