//! HTTP policy applied to every response and every browser request: client address, security
//! headers, and a same-origin check on every state-changing browser request (defence in depth
//! beside the console's synchronizer tokens and SameSite cookies).

use app::server::ctx::ClientAddress;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{net::SocketAddr, sync::Arc};

/// How the server is reached, as configured by the operator.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// `X-Forwarded-*` headers come from a trusted TLS proxy.
    pub trusted_proxy: bool,
    /// Served over https (directly or behind the proxy): Secure cookies and HSTS.
    pub secure: bool,
    /// The public origin (`scheme://host[:port]`) browsers post from.
    pub public_origin: String,
    /// Serve Prometheus metrics at `/metrics` (an operator choice: they reveal traffic).
    pub metrics: bool,
}

/// Endpoints called by client back ends with client credentials, never with cookies: the
/// same-origin rule does not apply to them.
const CLIENT_AUTHENTICATED_PATHS: &[&str] = &["/oauth/token", "/oauth/revoke", "/oauth/introspect"];

/// Records the request's client address (the peer, or the proxy-supplied one when trusted).
pub async fn record_client_address(
    State(policy): State<Arc<HttpPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = policy
        .trusted_proxy
        .then(|| forwarded_for(request.headers()))
        .flatten();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    if let Some(address) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

/// The address the trusted proxy appended last to `X-Forwarded-For`. The header may come as
/// several lines (RFC 9110 §5.3: one list, in order), and the client controls every entry but
/// the proxy's own, which is the very last: read across all lines, never only the first.
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let last_line = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last = last_line.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// Drops an `x-request-id` the request brought unless it comes from a trusted proxy and looks
/// like an id (1 to 64 of `A-Z a-z 0-9 - _ .`): the id is written to every log line of the
/// request, so a client-chosen one could forge or poison log correlation. A fresh id is then
/// generated (`SetRequestIdLayer`, the next layer in).
pub async fn untrusted_request_id(
    State(policy): State<Arc<HttpPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let keep = policy.trusted_proxy
        && request.headers().get_all(REQUEST_ID_HEADER).iter().count() == 1
        && request
            .headers()
            .get(REQUEST_ID_HEADER)
            .is_some_and(|id| is_plausible_request_id(id.as_bytes()));
    if !keep {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// The request-id header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn is_plausible_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Refuses state-changing browser requests that come from another site.
pub async fn same_origin_for_mutations(
    State(policy): State<Arc<HttpPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let exempt =
        request.method().is_safe() || CLIENT_AUTHENTICATED_PATHS.contains(&request.uri().path());
    if !exempt && !is_same_origin(request.headers(), &policy) {
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(request).await
}

/// Browsers label cross-site requests (`Sec-Fetch-Site`) and name their origin (`Origin`);
/// either one pointing elsewhere refuses the request. Clients that send neither (curl, the
/// CLI, tests) are not browsers and cannot carry a victim's cookies.
fn is_same_origin(headers: &HeaderMap, policy: &HttpPolicy) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == policy.public_origin {
        return true;
    }
    // The console may also be reached by another name (e.g. 127.0.0.1 vs localhost).
    let scheme = if policy.secure { "https" } else { "http" };
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| origin == format!("{scheme}://{host}"))
}

/// The Content-Security-Policy of a response without inline scripts: only this origin's
/// scripts, styles, images and WASM (`'wasm-unsafe-eval'` lets the bundle compile its WASM,
/// nothing else), no plugins, no framing (the authorization prompt included).
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of a console page: [`DEFAULT_CSP`], plus the one inline script
/// that starts hydration, allowed by the page's nonce.
pub fn page_csp(nonce: &str) -> String {
    DEFAULT_CSP.replacen(
        "script-src 'self'",
        &format!("script-src 'self' 'nonce-{nonce}'"),
        1,
    )
}

/// Security headers on every response, and `no-store` on every response that set no cache
/// policy of its own (the static files set `no-cache`: `startup::static_files`).
pub async fn security_headers(
    State(policy): State<Arc<HttpPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "same-origin");
    if policy.secure {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // A console page sets its own policy, with the nonce of its inline hydration script
    // (`startup::build_router`); everything else gets the same policy without one.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    response
}

/// Signs the refusal leptos_axum puts in the URL when a form posted without JavaScript is
/// refused (`Location: /page?__path=…&__err=…`): the console shows only signed refusals
/// (`console_session::verified_url_error`), so a hand-made link cannot put words on our pages.
pub async fn sign_url_errors(
    State(keys): State<Arc<app::server::keys::Keys>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .filter(|location| location.contains("__err="))
    else {
        return response;
    };
    let query = location.split_once('?').map_or("", |(_, query)| query);
    let (mut path, mut error) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "__path" => path = Some(value.into_owned()),
            "__err" => error = Some(value.into_owned()),
            _ => {}
        }
    }
    if let (Some(path), Some(error)) = (path, error) {
        let signature = app::server::console_session::url_error_signature(&keys, &path, &error);
        let signed = format!("{location}&__sig={signature}");
        if let Ok(value) = HeaderValue::from_str(&signed) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

/// Server functions answer every error with status 500; this gives each its real status
/// (400 for bad input, 401, 403, 404, 409, 429) from the `ConsoleError` in the body, so bad
/// input is never reported as a server fault. Redirects (forms without JavaScript) pass as is.
pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body unreadable").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::ConsoleError>(&bytes) {
        parts.status = StatusCode::from_u16(error.http_status()).unwrap_or(parts.status);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HttpPolicy {
        HttpPolicy {
            trusted_proxy: false,
            secure: false,
            public_origin: "http://127.0.0.1:3000".into(),
            metrics: false,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_rules() {
        let p = policy();
        assert!(is_same_origin(&headers(&[]), &p), "non-browser clients");
        assert!(is_same_origin(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            &p
        ));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            &p
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            &p
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), &p));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &p
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            &p
        ));
        assert!(is_same_origin(
            &headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            &p
        ));
    }

    #[test]
    fn forwarded_for_takes_the_proxy_appended_address() {
        let map = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        assert_eq!(forwarded_for(&map).as_deref(), Some("198.51.100.7"));
        assert_eq!(
            forwarded_for(&headers(&[("x-forwarded-for", "garbage")])),
            None
        );
    }

    #[test]
    fn forwarded_for_reads_the_last_of_several_header_lines() {
        // The client sent its own line first; the proxy appended the real address last.
        let mut map = HeaderMap::new();
        map.append("x-forwarded-for", HeaderValue::from_static("10.9.9.9"));
        map.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.5, 198.51.100.7"),
        );
        assert_eq!(forwarded_for(&map).as_deref(), Some("198.51.100.7"));
        let mut spoofed = HeaderMap::new();
        spoofed.append("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        spoofed.append("x-forwarded-for", HeaderValue::from_static("198.51.100.8"));
        assert_eq!(forwarded_for(&spoofed).as_deref(), Some("198.51.100.8"));
    }
}
