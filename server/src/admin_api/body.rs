//! JSON request bodies and the headers around them (`If-Match`), refused as problems rather
//! than axum's plain-text rejections.

use super::problem::Problem;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// Parses a JSON body. Unknown fields are refused by each body type (`deny_unknown_fields`),
/// so a misspelt field never silently does nothing.
pub fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json" || media == "application/merge-patch+json"
        });
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Send the body as Content-Type: application/json.",
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            Some("malformed-body"),
            format!("The JSON body does not match: {error}"),
        )
    })
}

/// What `If-Match` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One strong entity tag, without its quotes.
    Tag(String),
}

/// `If-Match`, required on updates and deletions: 428 without it, so an automation cannot
/// overwrite a change it never saw by forgetting the header.
pub fn if_match(headers: &HeaderMap) -> Result<IfMatch, Problem> {
    let mut values = headers.get_all(header::IF_MATCH).iter();
    let (first, second) = (values.next(), values.next());
    if second.is_some() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            Some("malformed-if-match"),
            "Send one If-Match header.",
        ));
    }
    let Some(value) = first else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            Some("if-match-required"),
            "Send If-Match with the ETag of your last GET (or * to overwrite whatever is there).",
        ));
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(IfMatch::Any);
    }
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(tag) if !tag.is_empty() && !tag.contains('"') => Ok(IfMatch::Tag(tag.to_owned())),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            Some("malformed-if-match"),
            "If-Match takes one strong ETag, in quotes, as the GET returned it.",
        )),
    }
}

impl IfMatch {
    /// The revision the change requires, if any.
    pub fn expected(&self) -> Option<&str> {
        match self {
            Self::Any => None,
            Self::Tag(tag) => Some(tag),
        }
    }
}

/// A query string, or a problem saying what in it was refused.
pub fn query<T>(
    parsed: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Problem> {
    parsed.map(|query| query.0).map_err(|rejection| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            Some("malformed-query"),
            rejection.body_text(),
        )
    })
}

/// An id from the path: one that is not a UUID names nothing (404).
pub fn path_id(raw: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(raw).map_err(|_| Problem::not_found())
}
