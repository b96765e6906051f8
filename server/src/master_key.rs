//! Loading the operator's 256-bit master key: from `--secret-key`, from a key file, or (on the
//! embedded SQLite default only) from `<data-dir>/latchkey.key`, generated on first start with
//! mode 0600. With PostgreSQL the key must be given explicitly, so that every replica uses the
//! same one.

use crate::config::GlobalArgs;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use std::{fs, io::Write, path::Path};

/// Why no key could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key text is not 32 bytes in hex or base64url.
    #[error("the secret key must be 32 bytes written as 64 hex or 43 base64url characters")]
    Malformed,
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The operating system's random source failed.
    #[error("{0}")]
    Random(String),
    /// PostgreSQL without an explicit key.
    #[error(
        "with PostgreSQL, set LATCHKEY_SECRET_KEY or --secret-key-file so every replica shares one key \
         (generate one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')"
    )]
    Missing,
    /// A command that checks an existing server's output found no key.
    #[error(
        "no master key at {0}: give the key of the server that wrote it (LATCHKEY_SECRET_KEY or \
         --secret-key-file)"
    )]
    NotFound(String),
}

/// Parses 64 hex characters or 43 unpadded base64url characters.
pub fn parse_key(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| KeyError::Malformed)?
    } else {
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| KeyError::Malformed)?
    };
    bytes.try_into().map_err(|_| KeyError::Malformed)
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::File {
        path: path.display().to_string(),
        source,
    }
}

/// Loads (or, on the embedded default, creates) the master key.
pub fn load(global: &GlobalArgs) -> Result<[u8; 32], KeyError> {
    if let Some(text) = &global.secret_key {
        return parse_key(text);
    }
    if let Some(path) = &global.secret_key_file {
        return parse_key(&fs::read_to_string(path).map_err(file_error(path))?);
    }
    if !global.is_sqlite() {
        return Err(KeyError::Missing);
    }
    let path = global.data_dir.join("latchkey.key");
    match fs::read_to_string(&path) {
        Ok(text) => parse_key(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => generate(&path),
        Err(error) => Err(file_error(&path)(error)),
    }
}

/// Loads the master key without ever creating one, for commands that check what an existing
/// server wrote (a new key would only make every check fail).
pub fn load_existing(global: &GlobalArgs) -> Result<[u8; 32], KeyError> {
    if global.secret_key.is_none() && global.secret_key_file.is_none() && global.is_sqlite() {
        let path = global.data_dir.join("latchkey.key");
        if !path.exists() {
            return Err(KeyError::NotFound(path.display().to_string()));
        }
    }
    load(global)
}

fn generate(path: &Path) -> Result<[u8; 32], KeyError> {
    let key = app::server::crypto::random::bytes::<32>()
        .map_err(|error| KeyError::Random(error.to_string()))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(file_error(path))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(file_error(path))?;
    file.write_all(URL_SAFE_NO_PAD.encode(key).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(file_error(path))?;
    tracing::info!(path = %path.display(), "generated a new master key (mode 0600); back it up with the database");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64url_and_rejects_anything_else() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(parse_key(&hex).unwrap()[31], 0xff);
        let b64 = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert_eq!(parse_key(&format!(" {b64}\n")).unwrap(), [7u8; 32]);
        for bad in [
            "",
            "short",
            &"zz".repeat(32),
            &URL_SAFE_NO_PAD.encode([1u8; 31]),
        ] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }
}
