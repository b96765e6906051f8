//! `POST /oauth/leaks`: reports of leaked credentials (issue 20 item 4). Form-encoded `token`
//! fields (repeatable), or the JSON array GitHub's secret-scanning partner program posts
//! (`[{"token": …, "type": …, "url": …, "source": …}]`). Answers 200 with one entry per
//! candidate, in order: `{"status": "quarantined"|"revoked"|"inactive"|"unknown"|"malformed",
//! "type": …, "client_id": …}` — never the candidate itself. No client authentication: whoever
//! holds a leaked secret may have it quarantined, and a guess finds nothing.

use super::response;
use app::server::{
    AppState,
    crypto::signatures::{self, PayloadKey},
    ctx::ClientAddress,
    protocol::OAuthError,
    services::leaks::{self, Candidate, MAX_CANDIDATES, Reporter},
};
use axum::{
    Extension, Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
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
    let trusted = match origin(&state.settings.leak_report_keys, &headers, &body) {
        Origin::Unproven => false,
        Origin::Signed => true,
        Origin::Refused => return unsigned_refusal(),
    };
    let (candidates, label) = match parse(&headers, &body) {
        Ok(parsed) => parsed,
        Err(error) => return response::error(&error),
    };
    let reporter = Reporter {
        label,
        address,
        trusted,
    };
    let now = state.clock.now();
    match leaks::report(&state.db, &state.keys, &candidates, &reporter, now).await {
        Ok(findings) => {
            let body: Vec<_> = findings.iter().map(leaks::LeakFinding::to_json).collect();
            response::no_store(Json(body).into_response())
        }
        Err(error) => response::error(&OAuthError::from(error)),
    }
}

/// Whether a report's origin is proven.
enum Origin {
    /// Not signed, and need not be (a form report, or no keys configured).
    Unproven,
    /// Signed by a configured key.
    Signed,
    /// A JSON report without a valid signature while keys are configured: refused.
    Refused,
}

/// With keys configured, a JSON report must be signed by one of them, as GitHub signs its
/// reports: `Github-Public-Key-Identifier` names the key, `Github-Public-Key-Signature` is the
/// base64 DER ECDSA signature of the raw body. Form reports need none (quarantining needs the
/// secret itself), but count as unproven.
fn origin(keys: &[PayloadKey], headers: &HeaderMap, body: &[u8]) -> Origin {
    if keys.is_empty() || media_type(headers) != "application/json" {
        return Origin::Unproven;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = header("github-public-key-identifier")
        .and_then(|id| keys.iter().find(|key| key.id == id))
        .zip(header("github-public-key-signature"))
        .and_then(|(key, signature)| Some((key, STANDARD.decode(signature.trim()).ok()?)))
        .is_some_and(|(key, signature)| signatures::verifies(key, body, &signature));
    if signed {
        Origin::Signed
    } else {
        Origin::Refused
    }
}

/// The answer to a JSON report whose signature does not verify.
fn unsigned_refusal() -> Response {
    let body = json!({
        "error": "invalid_signature",
        "error_description": "a JSON leak report must be signed by a configured key \
            (Github-Public-Key-Identifier, Github-Public-Key-Signature)"
    });
    response::no_store((StatusCode::UNAUTHORIZED, Json(body)).into_response())
}

/// The request's media type, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The candidates (each with where it was found) and who reported them, from either body
/// shape.
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<Candidate>, String), OAuthError> {
    let (candidates, label) = match media_type(headers).as_str() {
        "application/json" => {
            let entries: Vec<PartnerEntry> = serde_json::from_slice(body).map_err(|_| {
                OAuthError::invalid_request(
                    "the body must be a JSON array of {\"token\": …} objects",
                )
            })?;
            let candidates = entries
                .into_iter()
                .map(|e| Candidate {
                    token: e.token,
                    url: e.url.filter(|url| !url.is_empty()),
                    source: e.source,
                })
                .collect();
            (candidates, "github")
        }
        "application/x-www-form-urlencoded" => {
            let mut tokens = Vec::new();
            let mut url = None;
            for (key, value) in url::form_urlencoded::parse(body) {
                match &*key {
                    "token" => tokens.push(value.into_owned()),
                    "url" if url.is_none() => url = Some(value.into_owned()),
                    _ => {}
                }
            }
            let candidates = tokens
                .into_iter()
                .map(|token| Candidate {
                    token,
                    url: url.clone(),
                    source: None,
                })
                .collect();
            (candidates, "leak report")
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "send application/x-www-form-urlencoded token fields, or a JSON array",
            ));
        }
    };
    let candidates: Vec<Candidate> = candidates;
    if candidates.is_empty() {
        return Err(OAuthError::invalid_request("no token to check"));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(OAuthError::invalid_request(format!(
            "at most {MAX_CANDIDATES} tokens per report"
        )));
    }
    Ok((candidates, label.to_owned()))
}
