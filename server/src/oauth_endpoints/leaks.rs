//! `POST /oauth/leaks`: reports of leaked credentials (issue 20 item 4). Form-encoded `token`
//! fields (repeatable), or the JSON array GitHub's secret-scanning partner program posts
//! (`[{"token": …, "type": …, "url": …, "source": …}]`). Answers 200 with one entry per
//! candidate, in order: `{"status": "quarantined"|"revoked"|"inactive"|"unknown"|"malformed",
//! "type": …, "client_id": …}` — never the candidate itself. No client authentication: whoever
//! holds a leaked secret may have it quarantined, and a guess finds nothing.

use super::response;
use app::server::{
    AppState,
    ctx::ClientAddress,
    protocol::OAuthError,
    services::leaks::{self, MAX_CANDIDATES, Reporter},
};
use axum::{
    Extension, Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

/// One entry of GitHub's secret-scanning partner payload.
#[derive(Debug, Deserialize)]
struct PartnerEntry {
    token: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Takes a report and answers what became of each candidate.
pub async fn report(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address.map(|Extension(a)| a.0);
    let (candidates, reporter) = match parse(&headers, &body) {
        Ok(parsed) => parsed,
        Err(error) => return response::error(&error),
    };
    let reporter = Reporter {
        address,
        ..reporter
    };
    let now = state.clock.now();
    match leaks::report(&state.db, &state.keys, &candidates, &reporter, now).await {
        Ok(findings) => {
            let body: Vec<_> = findings
                .iter()
                .map(|f| json!({"status": f.status.as_str(), "type": f.kind, "client_id": f.client_id}))
                .collect();
            response::no_store(Json(body).into_response())
        }
        Err(error) => response::error(&OAuthError::from(error)),
    }
}

/// The candidates and who reported them, from either body shape.
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<String>, Reporter), OAuthError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (candidates, reporter) = match media_type.as_str() {
        "application/json" => {
            let entries: Vec<PartnerEntry> = serde_json::from_slice(body).map_err(|_| {
                OAuthError::invalid_request(
                    "the body must be a JSON array of {\"token\": …} objects",
                )
            })?;
            let url = entries.iter().find_map(|e| e.url.clone());
            let label = entries.iter().find_map(|e| e.source.clone()).map_or_else(
                || "github".to_owned(),
                |source| format!("github ({source})"),
            );
            let candidates = entries.into_iter().map(|e| e.token).collect();
            (
                candidates,
                Reporter {
                    label,
                    url,
                    address: None,
                },
            )
        }
        "application/x-www-form-urlencoded" => {
            let mut candidates = Vec::new();
            let mut url = None;
            for (key, value) in url::form_urlencoded::parse(body) {
                match &*key {
                    "token" => candidates.push(value.into_owned()),
                    "url" if url.is_none() => url = Some(value.into_owned()),
                    _ => {}
                }
            }
            let label = "leak report".to_owned();
            (
                candidates,
                Reporter {
                    label,
                    url,
                    address: None,
                },
            )
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "send application/x-www-form-urlencoded token fields, or a JSON array",
            ));
        }
    };
    if candidates.is_empty() {
        return Err(OAuthError::invalid_request("no token to check"));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(OAuthError::invalid_request(format!(
            "at most {MAX_CANDIDATES} tokens per report"
        )));
    }
    Ok((candidates, reporter))
}
