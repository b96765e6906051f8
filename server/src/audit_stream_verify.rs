//! The files behind `latchkey audit verify --stream FILE...` and `--against FILE`: reading an
//! exported audit stream line by line into `services::audit::stream_verify` (the server's key
//! alone, no database), and the anchors `latchkey audit head` wrote.

use app::server::{
    keys::Keys,
    services::audit::{Anchor, StreamReport, StreamVerifier},
};
use serde_json::{Value, json};
use std::io::BufRead;
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
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(failed)? == 0 {
                break;
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
