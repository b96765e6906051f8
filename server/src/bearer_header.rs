//! Reading `Authorization: Bearer <token>` (RFC 6750 §2.1) the same way everywhere a bearer
//! token is accepted: the protected API (`/api/v1/me`) and the admin API (`/admin/v1`); and
//! `Authorization: DPoP <token>` (RFC 9449 §7.1), which only the protected API takes.

use axum::http::{HeaderMap, header};

/// What the request's `Authorization` header says about an access token: `Bearer` (RFC 6750
/// §2.1) or `DPoP` (RFC 9449 §7.1).
#[derive(Debug, PartialEq, Eq)]
pub enum BearerCredential<'a> {
    /// No `Authorization: Bearer` or `DPoP` header: the client sent no credentials.
    Absent,
    /// The token (any bytes after `Bearer `; its format is checked by the service).
    Token(&'a str),
    /// A DPoP-bound token, `Authorization: DPoP <token>` (RFC 9449 §7.1).
    Dpop(&'a str),
    /// A `Bearer` or `DPoP` header whose value is not a token (`b64token` is visible ASCII):
    /// the client did send credentials, malformed ones, so `invalid_token`.
    Malformed,
    /// More than one `Authorization` header: `invalid_request`.
    Repeated,
}

/// Reads the token of `Authorization: Bearer <token>` or `Authorization: DPoP <token>`. The
/// scheme name is case-insensitive; a non-ASCII value is a malformed token, never "no
/// credentials".
pub fn bearer_token(headers: &HeaderMap) -> BearerCredential<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return BearerCredential::Absent;
    };
    if values.next().is_some() {
        return BearerCredential::Repeated;
    }
    let bytes = value.as_bytes();
    let Some(space) = bytes.iter().position(|&b| b == b' ') else {
        return BearerCredential::Absent;
    };
    let scheme = &bytes[..space];
    let dpop = scheme.eq_ignore_ascii_case(b"dpop");
    if !dpop && !scheme.eq_ignore_ascii_case(b"bearer") {
        return BearerCredential::Absent;
    }
    match std::str::from_utf8(&bytes[space + 1..]) {
        Ok(token) if token.trim().bytes().all(|b| b.is_ascii_graphic()) => {
            if dpop {
                BearerCredential::Dpop(token.trim())
            } else {
                BearerCredential::Token(token.trim())
            }
        }
        _ => BearerCredential::Malformed,
    }
}
