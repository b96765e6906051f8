use crate::helpers::{BUNDLE_BYTES, BUNDLE_FILE, ROBOTS_TXT, on_each_backend};
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

#[tokio::test]
async fn static_files_are_served_as_files_that_browsers_revalidate() {
    on_each_backend(async |app| {
        let bundle_path = format!("/pkg/{BUNDLE_FILE}");
        let files: [(&str, &str, &[u8]); 2] = [
            (&bundle_path, "application/wasm", BUNDLE_BYTES),
            ("/robots.txt", "text/plain", ROBOTS_TXT.as_bytes()),
        ];
        for (path, content_type, body) in files {
            let response = app.get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} {}", app.backend);
            let headers = response.headers().clone();
            assert_eq!(headers["content-type"], content_type, "{path}");
            // The bundle's file names stay the same from build to build: browsers revalidate.
            assert_eq!(headers["cache-control"], "no-cache", "{path}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(response.bytes().await.unwrap().as_ref(), body, "{path}");

            // Revalidation answers 304, never the app's 404 page or its redirect to sign-in.
            let response = app
                .client
                .get(format!("{}{path}", app.base))
                .header("if-modified-since", headers["last-modified"].clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_MODIFIED,
                "{path} {}",
                app.backend
            );
            assert!(response.headers().get("location").is_none());
        }

        let response = app.get("/pkg/no-such-chunk.wasm").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    })
    .await;
}
