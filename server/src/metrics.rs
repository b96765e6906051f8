//! Prometheus metrics at `GET /metrics` (only when the operator turns them on): requests by
//! route and status, request latency histograms by route, token grants by type and outcome,
//! database pool use. A small in-process registry: counters behind one mutex, rendered in
//! the Prometheus text exposition format on each scrape.

use app::server::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The route label of requests no route matched (static files, 404s): never the raw path,
/// which would let anyone create unbounded label values.
const UNMATCHED: &str = "unmatched";

/// What the token endpoint did, attached to its response for the metrics layer to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantOutcome {
    /// `authorization_code`, `refresh_token` or `other`.
    pub grant_type: &'static str,
    /// `success` or the RFC 6749 error code.
    pub outcome: &'static str,
}

#[derive(Default)]
struct RouteStats {
    /// Requests by (method, status).
    responses: BTreeMap<(String, u16), u64>,
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`].
    buckets: [u64; LATENCY_BUCKETS.len()],
    seconds_sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    routes: BTreeMap<String, RouteStats>,
    grants: BTreeMap<(&'static str, &'static str), u64>,
}

/// The process's metrics.
#[derive(Default, Clone)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    /// Counts one finished request.
    pub fn observe(
        &self,
        route: &str,
        method: &str,
        status: u16,
        seconds: f64,
        grant: Option<GrantOutcome>,
    ) {
        let mut registry = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !registry.routes.contains_key(route) {
            registry
                .routes
                .insert(route.to_owned(), RouteStats::default());
        }
        if let Some(stats) = registry.routes.get_mut(route) {
            *stats
                .responses
                .entry((method.to_owned(), status))
                .or_default() += 1;
            for (bucket, bound) in stats.buckets.iter_mut().zip(LATENCY_BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            stats.seconds_sum += seconds;
            stats.count += 1;
        }
        if let Some(grant) = grant {
            *registry
                .grants
                .entry((grant.grant_type, grant.outcome))
                .or_default() += 1;
        }
    }

    /// The metrics in the Prometheus text format, with the database pool's current use.
    pub fn render(&self, pool: app::server::db::PoolUsage) -> String {
        let registry = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP latchkey_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE latchkey_http_requests_total counter\n");
        for (route, stats) in &registry.routes {
            for ((method, status), count) in &stats.responses {
                let _ = writeln!(
                    out,
                    "latchkey_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                    escape(route),
                    escape(method)
                );
            }
        }
        out.push_str("# HELP latchkey_http_request_duration_seconds Time to produce the response, by route.\n");
        out.push_str("# TYPE latchkey_http_request_duration_seconds histogram\n");
        for (route, stats) in &registry.routes {
            let route = escape(route);
            for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "latchkey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "latchkey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "latchkey_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                stats.seconds_sum
            );
            let _ = writeln!(
                out,
                "latchkey_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                stats.count
            );
        }
        out.push_str("# HELP latchkey_token_grants_total Token endpoint requests by grant type and outcome.\n");
        out.push_str("# TYPE latchkey_token_grants_total counter\n");
        for ((grant_type, outcome), count) in &registry.grants {
            let _ = writeln!(
                out,
                "latchkey_token_grants_total{{grant_type=\"{grant_type}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str("# HELP latchkey_db_pool_connections Database connections open, by state.\n");
        out.push_str("# TYPE latchkey_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "latchkey_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(
            out,
            "latchkey_db_pool_connections{{state=\"in_use\"}} {}",
            pool.open.saturating_sub(pool.idle)
        );
        out.push_str(
            "# HELP latchkey_db_pool_max_connections Largest number of database connections.\n",
        );
        out.push_str("# TYPE latchkey_db_pool_max_connections gauge\n");
        let _ = writeln!(out, "latchkey_db_pool_max_connections {}", pool.max);
        out
    }
}

/// Label values are quoted: escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Innermost layer (`route_layer`): copies the matched route template onto the response,
/// where the outer [`record`] layer can read it after routing has happened.
pub async fn tag_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

/// The `method` label: one of the standard methods, or `other`. Clients may send any token
/// as a method (`FOO`, `X` × 8,000), which would otherwise become a new label value each.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Outer layer: times every request and counts it under its route template.
pub async fn record(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let grant = response.extensions().get::<GrantOutcome>().copied();
    metrics.observe(
        route,
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
        grant,
    );
    response
}

/// `GET /metrics`.
pub async fn scrape(State((metrics, state)): State<(Metrics, AppState)>) -> Response {
    let body = metrics.render(app::server::db::pool_usage(&state.db));
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::server::db::PoolUsage;

    #[test]
    fn made_up_methods_share_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::POST), "POST");
        for made_up in ["FOO", "BREW", &"X".repeat(200)] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other");
        }
    }

    #[test]
    fn renders_counters_cumulative_buckets_and_pool_gauges() {
        let metrics = Metrics::default();
        metrics.observe(
            "/oauth/token",
            "POST",
            200,
            0.003,
            Some(GrantOutcome {
                grant_type: "authorization_code",
                outcome: "success",
            }),
        );
        metrics.observe(
            "/oauth/token",
            "POST",
            400,
            0.2,
            Some(GrantOutcome {
                grant_type: "refresh_token",
                outcome: "invalid_grant",
            }),
        );
        metrics.observe("we\"ird", "GET", 404, 9.0, None);
        let text = metrics.render(PoolUsage {
            open: 3,
            idle: 1,
            max: 16,
        });
        for expected in [
            "latchkey_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"200\"} 1",
            "latchkey_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"400\"} 1",
            "latchkey_http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"0.001\"} 0",
            "latchkey_http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"0.005\"} 1",
            "latchkey_http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"0.25\"} 2",
            "latchkey_http_request_duration_seconds_bucket{route=\"/oauth/token\",le=\"+Inf\"} 2",
            "latchkey_http_request_duration_seconds_count{route=\"/oauth/token\"} 2",
            "latchkey_http_request_duration_seconds_bucket{route=\"we\\\"ird\",le=\"5\"} 0",
            "latchkey_token_grants_total{grant_type=\"authorization_code\",outcome=\"success\"} 1",
            "latchkey_token_grants_total{grant_type=\"refresh_token\",outcome=\"invalid_grant\"} 1",
            "latchkey_db_pool_connections{state=\"in_use\"} 2",
            "latchkey_db_pool_max_connections 16",
        ] {
            assert!(
                text.lines().any(|line| line == expected),
                "missing {expected}\n{text}"
            );
        }
    }
}
