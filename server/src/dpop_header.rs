//! The HTTP side of DPoP (RFC 9449): reading the `DPoP` request header the same way at the
//! token endpoint and the protected API, and handing out `DPoP-Nonce`.

use app::server::{AppState, services::oauth::dpop};
use axum::{
    http::{HeaderMap, HeaderName, HeaderValue},
    response::Response,
};

/// `DPoP` (RFC 9449 §4.1).
pub static DPOP: HeaderName = HeaderName::from_static("dpop");

/// `DPoP-Nonce` (RFC 9449 §8.1).
pub static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// What the request's `DPoP` header fields hold: none, one (visible ASCII, as a compact JWS
/// is), or something no proof can be.
pub fn proof_header(headers: &HeaderMap) -> dpop::ProofHeader<'_> {
    let mut values = headers.get_all(&DPOP).iter();
    let Some(value) = values.next() else {
        return dpop::ProofHeader::Absent;
    };
    if values.next().is_some() {
        return dpop::ProofHeader::Unreadable;
    }
    match value.to_str() {
        Ok(proof) if !proof.is_empty() && proof.bytes().all(|b| b.is_ascii_graphic()) => {
            dpop::ProofHeader::One(proof)
        }
        _ => dpop::ProofHeader::Unreadable,
    }
}

/// Adds a fresh `DPoP-Nonce` to `response` (any replica accepts it for five to ten minutes).
pub fn with_nonce(state: &AppState, mut response: Response) -> Response {
    let nonce = dpop::fresh_nonce(&state.keys, state.clock.now().unix());
    if let Ok(value) = HeaderValue::from_str(&nonce) {
        response.headers_mut().insert(DPOP_NONCE.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_visible_ascii_value_is_a_proof_anything_else_is_unreadable() {
        let with = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(&DPOP, HeaderValue::from_bytes(value).unwrap());
            }
            headers
        };
        assert_eq!(proof_header(&HeaderMap::new()), dpop::ProofHeader::Absent);
        assert_eq!(
            proof_header(&with(&[b"a.b.c"])),
            dpop::ProofHeader::One("a.b.c")
        );
        for bad in [
            &[b"a.b.c" as &[u8], b"d.e.f"][..],
            &[b"a b"],
            &[b"\xc3\xa9"],
            &[b""],
        ] {
            assert_eq!(proof_header(&with(bad)), dpop::ProofHeader::Unreadable);
        }
    }
}
