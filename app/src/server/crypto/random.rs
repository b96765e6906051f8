//! Random bytes from the operating system, and the URL-safe text forms built from them.

use crate::server::ServiceError;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// `N` bytes from the operating system's CSPRNG.
pub fn bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|error| ServiceError::caused("reading the random source", error))?;
    Ok(out)
}

/// 256 random bits as unpadded base64url (43 characters of `A-Z a-z 0-9 - _`).
pub fn token_256() -> Result<String, ServiceError> {
    Ok(URL_SAFE_NO_PAD.encode(bytes::<32>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_chars_and_differ() {
        let a = token_256().unwrap();
        let b = token_256().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }
}
