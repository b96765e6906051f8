//! The Audit Log as CSV: the streamed export's format (RFC 4180, formulas defused) and the
//! event that records an export.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError, db::begin_write, entities::audit_event as event, keys::Keys,
    services::access::Acting,
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use super::action::Action;
use super::chain::record;
use super::event::NewEvent;
use super::query::AuditFilter;

/// Records that an administrator exported the events of `site_id` matching `filter`.
pub async fn record_export(
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    site_id: Uuid,
    filter: &AuditFilter,
    now: Timestamp,
) -> Result<(), ServiceError> {
    acting.require_site_admin(db, site_id).await?;
    let txn = begin_write(db).await?;
    let described = describe(filter);
    record(
        &txn,
        keys,
        NewEvent::new(
            Some(site_id),
            Action::AuditExported,
            acting.actor(),
            format!("Audit Log exported as CSV ({described})"),
        )
        .details(json!({
            "actor": filter.actor, "client": filter.client, "action": filter.action,
            "from": filter.from.map(Timestamp::unix), "until": filter.until.map(Timestamp::unix),
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The filters in words, for the export's audit event.
fn describe(filter: &AuditFilter) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("actor", &filter.actor),
        ("client", &filter.client),
        ("action", &filter.action),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name} {value}"));
        }
    }
    if let Some(from) = filter.from {
        parts.push(format!("from {}", from.format_date()));
    }
    if let Some(until) = filter.until {
        parts.push(format!("before {}", until.format_date()));
    }
    if parts.is_empty() {
        "all events".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The CSV header of the export.
pub const CSV_HEADER: &str = "id,time_utc,site_id,action,actor_kind,actor,actor_id,target_kind,target,target_id,client_address,summary,details,hash\r\n";

/// One CSV field (RFC 4180 quoting). Fields a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'` (OWASP CSV injection).
pub fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// One CSV line (with CRLF) for an event.
pub fn csv_line(row: &event::Model) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        row.id.to_string(),
        Timestamp(row.occurred_at).format_rfc3339(),
        row.site_id.map(|id| id.to_string()).unwrap_or_default(),
        row.action.clone(),
        row.actor_kind.clone(),
        row.actor_label.clone(),
        opt(&row.actor_id),
        opt(&row.target_kind),
        opt(&row.target_label),
        opt(&row.target_id),
        opt(&row.client_address),
        row.summary.clone(),
        row.details.clone(),
        row.hash.clone(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        for formula in ["+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_field(formula).starts_with("\"'"), "{formula:?}");
        }
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines, comma"), "\"two\nlines, comma\"");
    }
}
