//! The audit stream's line format: one JSON object per line for each event (with its chain
//! link: `chain`, `seq`, `prev_hash`, `hash`) and for each signed retention checkpoint a
//! stream crosses. Written by [`super::stream`], read back by [`super::stream_verify`].
//!
//! `details` is written as the JSON the event stores (exactly those bytes, so the link can be
//! recomputed from the line); text that is not a JSON object or array on one line is written
//! as a JSON string instead. A line may carry a prefix before its first `{` (a syslog header
//! a collector kept), which the reader skips.

use crate::domain::Timestamp;
use crate::server::entities::{audit_checkpoint as checkpoint, audit_event as event};
use serde::Deserialize;
use serde_json::{Map, Value, json, value::RawValue};

/// `format` of an event line.
pub const EVENT_FORMAT: &str = "latchkey-audit/1";
/// `format` of a checkpoint line: the chain continues after events that were pruned from the
/// database before the stream delivered them (or before the stream began).
pub const CHECKPOINT_FORMAT: &str = "latchkey-audit-checkpoint/1";

/// The line (without its newline) of an event: `format` first, then the event as people read
/// it, then its chain link, `details` last.
pub fn event_line(row: &event::Model) -> String {
    let fields = [
        ("format", json!(EVENT_FORMAT)),
        ("time", json!(Timestamp(row.occurred_at).format_rfc3339())),
        ("action", json!(row.action)),
        ("actor_kind", json!(row.actor_kind)),
        ("actor_id", json!(row.actor_id)),
        ("actor_label", json!(row.actor_label)),
        ("target_kind", json!(row.target_kind)),
        ("target_id", json!(row.target_id)),
        ("target_label", json!(row.target_label)),
        ("client_address", json!(row.client_address)),
        ("summary", json!(row.summary)),
        ("site_id", json!(row.site_id.map(|id| id.to_string()))),
        ("occurred_at", json!(row.occurred_at)),
        ("id", json!(row.id)),
        ("chain", json!(row.chain)),
        ("seq", json!(row.seq)),
        ("prev_hash", json!(row.prev_hash)),
        ("hash", json!(row.hash)),
    ];
    let mut line = String::with_capacity(512 + row.details.len());
    line.push('{');
    for (name, value) in fields {
        // The names are fixed ASCII; each value is serialised JSON.
        line.push('"');
        line.push_str(name);
        line.push_str("\":");
        line.push_str(&value.to_string());
        line.push(',');
    }
    line.push_str("\"details\":");
    if details_fit_raw(&row.details) {
        line.push_str(&row.details);
    } else {
        line.push_str(&Value::String(row.details.clone()).to_string());
    }
    line.push('}');
    line
}

/// True when stored details can go into a line as they are and read back byte for byte: a
/// JSON object or array with no line break, no surrounding whitespace and nothing a JSON
/// reader refuses (a lone surrogate escape).
fn details_fit_raw(details: &str) -> bool {
    details.starts_with(['{', '['])
        && !details.contains(['\n', '\r'])
        && serde_json::from_str::<&RawValue>(details).is_ok_and(|raw| raw.get() == details)
        && serde_json::from_str::<Value>(details).is_ok()
}

/// The line of a signed retention checkpoint.
pub fn checkpoint_line(row: &checkpoint::Model) -> String {
    json!({
        "format": CHECKPOINT_FORMAT,
        "chain": row.chain,
        "seq": row.seq,
        "hash": row.hash,
        "signature": row.signature,
    })
    .to_string()
}

/// A line read back.
#[derive(Debug)]
pub enum ReadLine {
    /// Not a stream line: a collector's own message, another program's JSON.
    Foreign,
    /// The start of a stream line cut short (a write torn by a crash): nothing can be read
    /// from it, and the event it held is written again whole.
    Torn,
    /// A line that says it is a stream line but is not a valid one (an unknown or duplicate
    /// field, a wrong type, something after the object, a `time` that is not the event's):
    /// what it says cannot be checked, so the stream does not verify.
    Malformed(String),
    /// An event, as it was stored.
    Event(Box<event::Model>),
    /// A signed checkpoint: `(chain, seq, hash, signature)`.
    Checkpoint(String, i64, String, String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFields<'a> {
    // Told apart before these are read; listed so that `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    format: String,
    time: String,
    id: i64,
    chain: String,
    seq: i64,
    prev_hash: String,
    hash: String,
    site_id: Option<uuid::Uuid>,
    occurred_at: i64,
    action: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_label: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    target_label: Option<String>,
    client_address: Option<String>,
    summary: String,
    #[serde(borrow)]
    details: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointFields {
    // Told apart before these are read; listed so that `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    format: String,
    chain: String,
    seq: i64,
    hash: String,
    signature: String,
}

/// Reads a line (without its newline). What comes before its first `{` (a syslog header a
/// collector kept) is not evidence and is skipped: only the fields the link covers are.
pub fn read_line(text: &str) -> ReadLine {
    let Some(start) = text.find('{') else {
        return ReadLine::Foreign;
    };
    let text = text[start..].trim_end();
    let object = match serde_json::from_str::<Map<String, Value>>(text) {
        Ok(object) => object,
        Err(error) if error.is_eof() => return ReadLine::Torn,
        Err(_) if text.contains("latchkey-audit") => {
            return ReadLine::Malformed("not a valid stream line".into());
        }
        Err(_) => return ReadLine::Foreign,
    };
    let format = object
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match format {
        EVENT_FORMAT => read_event(text),
        CHECKPOINT_FORMAT => match serde_json::from_str::<CheckpointFields>(text) {
            Ok(fields) => {
                ReadLine::Checkpoint(fields.chain, fields.seq, fields.hash, fields.signature)
            }
            Err(error) => ReadLine::Malformed(format!("a checkpoint line: {error}")),
        },
        _ if format.starts_with("latchkey-audit") => {
            ReadLine::Malformed(format!("unknown format {format:?}"))
        }
        _ => ReadLine::Foreign,
    }
}

fn read_event(text: &str) -> ReadLine {
    let fields: EventFields = match serde_json::from_str(text) {
        Ok(fields) => fields,
        Err(error) => return ReadLine::Malformed(format!("an event line: {error}")),
    };
    if fields.time != Timestamp(fields.occurred_at).format_rfc3339() {
        return ReadLine::Malformed("its time is not the time the event occurred".into());
    }
    let raw = fields.details.get();
    let details = if raw.starts_with('"') {
        match serde_json::from_str::<String>(raw) {
            Ok(details) => details,
            Err(error) => return ReadLine::Malformed(format!("its details: {error}")),
        }
    } else {
        raw.to_owned()
    };
    ReadLine::Event(Box::new(event::Model {
        id: fields.id,
        chain: fields.chain,
        seq: fields.seq,
        site_id: fields.site_id,
        occurred_at: fields.occurred_at,
        action: fields.action,
        actor_kind: fields.actor_kind,
        actor_id: fields.actor_id,
        actor_label: fields.actor_label,
        target_kind: fields.target_kind,
        target_id: fields.target_id,
        target_label: fields.target_label,
        client_address: fields.client_address,
        summary: fields.summary,
        details,
        prev_hash: fields.prev_hash,
        hash: fields.hash,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(details: &str) -> event::Model {
        event::Model {
            id: 7,
            chain: "global".into(),
            seq: 3,
            site_id: None,
            occurred_at: 1_800_000_000,
            action: "site.created".into(),
            actor_kind: "operator".into(),
            actor_id: None,
            actor_label: "Operator \u{202e}\"quoted\"\n".into(),
            target_kind: Some("site".into()),
            target_id: Some("x".into()),
            target_label: None,
            client_address: None,
            summary: "line one\nline two".into(),
            details: details.into(),
            prev_hash: "a".repeat(64),
            hash: "b".repeat(64),
        }
    }

    #[test]
    fn an_event_reads_back_exactly_as_stored() {
        for details in [
            "{}",
            "{\"b\":1,\"a\":[1.5,\"x\"]}",
            "{ \"spaced\" : true }",
            "not json",
            "{\"broken\":",
            "{\"two\":\n\"lines\"}",
            "\"a string\"",
            "",
            "[1,2]",
            "{} ",
            "{\"lone\":\"\\ud800\"}",
        ] {
            let original = row(details);
            let line = event_line(&original);
            assert!(!line.contains('\n'), "{line}");
            let ReadLine::Event(read) = read_line(&line) else {
                panic!("unreadable: {line}");
            };
            assert_eq!(*read, original, "{details:?}");
            // A collector's syslog header before the JSON is skipped.
            let prefixed =
                format!("<110>1 2026-12-03T10:00:00Z host latchkey 1 - - \u{feff}{line}");
            assert!(matches!(read_line(&prefixed), ReadLine::Event(_)));
        }
        let raw = event_line(&row("{\"b\":1}"));
        assert!(
            raw.starts_with("{\"format\":\"latchkey-audit/1\",\"time\":"),
            "{raw}"
        );
        assert!(serde_json::from_str::<Value>(&raw).is_ok(), "{raw}");
        assert!(raw.ends_with(",\"details\":{\"b\":1}}"), "{raw}");
    }

    #[test]
    fn torn_foreign_and_malformed_lines_are_told_apart() {
        let line = event_line(&row("{}"));
        assert!(matches!(read_line(&line[..line.len() / 2]), ReadLine::Torn));
        assert!(matches!(read_line(""), ReadLine::Foreign));
        assert!(matches!(
            read_line("{\"format\":\"something/1\"}"),
            ReadLine::Foreign
        ));
        assert!(matches!(
            read_line("2026-12-03 INFO started"),
            ReadLine::Foreign
        ));
        for forged in [
            line.replacen("{", "{\"extra\":1,", 1),
            line.replacen("\"seq\":3", "\"seq\":\"3\"", 1),
            line.replacen("\"seq\":3", "\"seq\":3,\"seq\":4", 1),
            format!("{line}{line}"),
            line.replacen("2027", "2030", 1),
            line.replacen("latchkey-audit/1", "latchkey-audit/9", 1),
        ] {
            assert!(
                matches!(read_line(&forged), ReadLine::Malformed(_)),
                "{forged}"
            );
        }
    }
}
