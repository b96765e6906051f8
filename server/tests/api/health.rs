use crate::helpers::on_each_backend;
use reqwest::StatusCode;

#[tokio::test]
async fn healthz_checks_the_database_and_sets_security_headers() {
    on_each_backend(async |app| {
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.contains_key("x-request-id"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");

        // The WASM bundle and its chunks keep their names across builds: browsers revalidate.
        let response = app.get("/pkg/chunk_1.wasm").await;
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");

        // With the database gone the check says so (and is not a 200).
        app.state.db.clone().close().await.unwrap();
        let response = app.get("/healthz").await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_pages_are_404_and_the_console_redirects_to_sign_in() {
    on_each_backend(async |app| {
        assert_eq!(
            app.page("/no/such/page").await.status(),
            StatusCode::NOT_FOUND
        );
        app.complete_setup().await;
        let anonymous = app.new_client();
        let response = anonymous
            .get(format!("{}/clients", app.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()["location"], "/sign-in?next=%2Fclients");
    })
    .await;
}
