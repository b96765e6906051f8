//! Builds the whole HTTP application: console pages and server functions, the authorization
//! server, health check, static files, and the middleware around them. Used by `main` and by
//! the integration tests, so tests exercise exactly what production serves.

use crate::metrics::Metrics;
use crate::middleware::{self, HttpPolicy};
use app::{
    App,
    server::{AppState, ctx::RequestAdmin, session_store::DbSessionStore},
    shell,
};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use leptos::prelude::{LeptosOptions, provide_context, use_context};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::{Arc, OnceLock};
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeader,
    trace::{DefaultOnResponse, TraceLayer},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// A static file service whose answers browsers may keep but must revalidate (`no-cache`):
/// the bundle's file names (`latchkey.js`, `latchkey.wasm`) do not change between builds, so a
/// copy kept from an older version would pair old JS glue with a new WASM bundle, or old pages'
/// islands with a bundle that no longer has them. Everything else is `no-store` (see [`middleware::security_headers`]).
fn static_files<S>(files: S) -> SetResponseHeader<S, HeaderValue> {
    SetResponseHeader::if_not_present(
        files,
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    )
}

/// Largest request body accepted anywhere (forms and token requests are tiny).
const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The console's routes, generated once per process. Leptos generates them by rendering the
/// app with resource loading suppressed through a process-wide flag, and a page resource that
/// any server of the process first polls meanwhile waits forever (leptos issue #4773): after
/// the first router is built, no generation may run again. Every router of a process serves
/// the same `App`, so one list serves them all.
fn console_routes() -> &'static Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// Which parts a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Console, authorization server and API.
    Full,
    /// Authorization server and API only (scale it apart from the console).
    TokenServerOnly,
}

/// The complete application for `state`.
pub fn build_router(
    state: AppState,
    leptos_options: LeptosOptions,
    policy: HttpPolicy,
    mode: Mode,
) -> Router {
    let policy = Arc::new(policy);
    let keys = state.keys.clone();
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(if policy.secure {
            "__Host-latchkey_session"
        } else {
            "latchkey_session"
        })
        .with_secure(policy.secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.settings.session_idle_timeout,
        )));

    // The compiled bundle (JS, WASM, CSS), served as files. Leptos' file-and-error fallback
    // must not see these: it renders the app for any answer but 200, so a browser revalidating
    // a cached file (304 Not Modified) got a page, or a redirect, instead.
    // `/robots.txt` (from `public/`) likewise.
    let bundle = static_files(ServeDir::new(format!("{}/pkg", leptos_options.site_root)));
    let robots = static_files(ServeFile::new(format!(
        "{}/robots.txt",
        leptos_options.site_root
    )));
    let console = if mode == Mode::TokenServerOnly {
        // The prompt's stylesheet is the only bundle file the token server needs.
        Router::new()
            .nest_service("/pkg", bundle)
            .route_service("/robots.txt", robots)
    } else {
        let routes = console_routes().clone();
        let provide_state = {
            let state = state.clone();
            move || {
                provide_context(state.clone());
                provide_context(RequestAdmin::default());
                // A page's hydration script is inline: allow it by this render's nonce.
                if let (Some(nonce), Some(response)) = (
                    leptos::nonce::use_nonce(),
                    use_context::<leptos_axum::ResponseOptions>(),
                ) {
                    response.insert_header(
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_str(&middleware::page_csp(&nonce))
                            .unwrap_or_else(|_| HeaderValue::from_static(middleware::DEFAULT_CSP)),
                    );
                }
            }
        };
        Router::new()
            .leptos_routes_with_context(&leptos_options, routes, provide_state.clone(), {
                let options = leptos_options.clone();
                move || shell(options.clone())
            })
            .fallback(leptos_axum::file_and_error_handler_with_context(
                provide_state,
                shell,
            ))
            .with_state(leptos_options)
            .nest_service("/pkg", bundle)
            .route_service("/robots.txt", robots)
            .merge(crate::console::routes().with_state(state.clone()))
            .layer(session_layer.clone())
            // Token-authenticated: no session, no cookies.
            .merge(crate::admin_api::routes().with_state(state.clone()))
    };

    let metrics = policy.metrics.then(Metrics::default);
    let operations = Router::new()
        .route("/healthz", get(healthz))
        .merge(crate::oauth_endpoints::routes())
        .merge(crate::oauth_endpoints::prompt_routes().layer(session_layer.clone()))
        .merge(crate::resource_api::routes())
        .with_state(state.clone());

    let mut app = Router::new().merge(operations).merge(console);
    if let Some(metrics) = &metrics {
        app = app
            .merge(
                Router::new()
                    .route("/metrics", get(crate::metrics::scrape))
                    .with_state((metrics.clone(), state)),
            )
            .route_layer(axum::middleware::from_fn(crate::metrics::tag_route));
    }
    let app = app
        .layer(axum::middleware::from_fn(
            middleware::server_fn_error_status,
        ))
        .layer(axum::middleware::from_fn_with_state(
            keys,
            middleware::sign_url_errors,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            middleware::same_origin_for_mutations,
        ))
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            middleware::record_client_address,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings are the client's business.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn_with_state(
            policy,
            middleware::untrusted_request_id,
        ));
    let app = match metrics {
        Some(metrics) => app.layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::record,
        )),
        None => app,
    };
    // Defence in depth: a bug that panics in a handler answers 500 (and is logged with the
    // request) instead of dropping the connection. The hostile-input suite asserts that no
    // request ever gets here.
    app.layer(CatchPanicLayer::custom(panic_response))
        // Outermost, so the admin API's refusals by any layer are problem details.
        .layer(axum::middleware::from_fn(crate::admin_api::problems_only))
}

/// The answer to a request whose handler panicked: a 500 with no detail, and the panic logged.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": "ok"})),
        ),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}
