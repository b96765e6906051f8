//! The files behind `latchkey audit verify --stream FILE...` and `--against FILE`: reading an
//! exported audit stream line by line into `services::audit::stream_verify` (the server's key
//! alone, no database), and the anchors `latchkey audit head` wrote.

use app::server::{
    keys::Keys,
    services::audit::{Anchor, StreamReport, StreamVerifier},
};
use serde_json::{Value, json};
use std::io::{BufRead, Read};

/// The longest line read: an audit event's line is a few kilobytes at most, and a file of one
/// endless line must not take the verifier's memory.
const MAX_LINE: u64 = 1 << 20;
use std::path::{Path, PathBuf};

/// The anchors in a file `latchkey audit head` wrote (`--against`), if one is given; the error
/// is one line naming the file.
pub fn read_anchors(against: Option<&Path>) -> Result<Vec<Anchor>, String> {
    let Some(path) = against else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("--against {}: {error}", path.display()))?;
    let file: Value = serde_json::from_str(&text)
        .map_err(|error| format!("--against {}: not JSON: {error}", path.display()))?;
    serde_json::from_value(file["anchors"].clone()).map_err(|error| {
        format!(
            "--against {}: not written by `latchkey audit head`: {error}",
            path.display()
        )
    })
}

/// Verifies the lines of `files` in order (rotated files oldest first), then `anchors`.
pub fn verify_files(
    keys: &Keys,
    files: &[PathBuf],
    anchors: Vec<Anchor>,
) -> Result<StreamReport, String> {
    let mut verifier = StreamVerifier::new(keys, anchors);
    for path in files {
        let failed = |error: std::io::Error| format!("--stream {}: {error}", path.display());
        let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(failed)?);
        let mut line = Vec::new();
        let mut number = 0_u64;
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut line)
                .map_err(failed)?;
            if read == 0 {
                break;
            }
            number += 1;
            if read as u64 > MAX_LINE {
                return Err(format!(
                    "--stream {}: line {number} is longer than {MAX_LINE} bytes: not an audit \
                     stream",
                    path.display()
                ));
            }
            verifier.line(&String::from_utf8_lossy(&line));
        }
    }
    Ok(verifier.finish())
}

/// The report as the command prints it.
pub fn report_json(files: &[PathBuf], report: &StreamReport) -> Value {
    json!({
        "stream": files.iter().map(|path| path.display().to_string()).collect::<Vec<_>>(),
        "lines": report.lines,
        "unreadable_lines": report.unreadable_lines,
        "chains": report.chains,
        "anchors": report.anchors,
        "ok": report.broken.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_line_is_refused_not_read_into_memory() {
        let path = std::env::temp_dir().join(format!("latchkey-long-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, vec![b'{'; 3 << 20]).unwrap();
        let keys = Keys::derive(&[3u8; 32]);
        let error = verify_files(&keys, std::slice::from_ref(&path), Vec::new()).unwrap_err();
        assert!(error.contains("line 1 is longer than"), "{error}");
        std::fs::remove_file(&path).ok();
    }
}
