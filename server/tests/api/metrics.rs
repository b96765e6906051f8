//! `GET /metrics`: Prometheus text with requests by route, latencies, grants and the pool.

use crate::helpers::on_each_backend;
use crate::oauth_helpers::{code_for, exchange, expect_error, fixture, token};
use reqwest::StatusCode;

/// The value of the sample `name{labels}` in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn requests_grants_latency_and_pool_are_exported() {
    on_each_backend(async |app| {
        let f = fixture(app, "api-metrics", false).await;
        exchange(app, &f, &code_for(app, &f, &[]).await).await;
        let bad = token(app, &f, &[("grant_type", "refresh_token"), ("refresh_token", "lkrt_unknown")]).await;
        expect_error(bad, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let odd = token(app, &f, &[("grant_type", "password")]).await;
        expect_error(odd, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
        assert_eq!(app.page("/no-such-page-7f3a").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.page(&format!("/clients/{}", f.client_uuid)).await.status(), StatusCode::OK);

        let response = app.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = response.text().await.unwrap();
        let value = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert_eq!(value(r#"latchkey_token_grants_total{grant_type="authorization_code",outcome="success"}"#), 1.0);
        assert_eq!(value(r#"latchkey_token_grants_total{grant_type="refresh_token",outcome="invalid_grant"}"#), 1.0);
        assert_eq!(value(r#"latchkey_token_grants_total{grant_type="other",outcome="unsupported_grant_type"}"#), 1.0);
        assert_eq!(value(r#"latchkey_http_requests_total{route="/oauth/token",method="POST",status="200"}"#), 1.0);
        assert_eq!(value(r#"latchkey_http_requests_total{route="/oauth/token",method="POST",status="400"}"#), 2.0);
        assert_eq!(value(r#"latchkey_http_requests_total{route="/clients/{id}",method="GET",status="200"}"#), 1.0);
        assert!(value(r#"latchkey_http_requests_total{route="unmatched",method="GET",status="404"}"#) >= 1.0);
        assert!(!text.contains("no-such-page-7f3a"), "raw paths never become labels");
        assert!(!text.contains(&f.client_uuid));
        assert_eq!(value(r#"latchkey_http_request_duration_seconds_count{route="/oauth/token"}"#), 3.0);
        assert_eq!(value(r#"latchkey_http_request_duration_seconds_bucket{route="/oauth/token",le="+Inf"}"#), 3.0);
        assert!(value(r#"latchkey_db_pool_max_connections"#) >= 1.0);
        assert!(value(r#"latchkey_db_pool_connections{state="idle"}"#) >= 0.0);
    })
    .await;
}
