//! The Audit Log page: filtered, keyset-paginated events of the selected site. The same
//! filters drive the CSV export (`GET /audit/export.csv`, served by the server crate).

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Events per page of the Audit Log.
pub const AUDIT_PAGE_SIZE: u64 = 50;

/// The Audit Log filters as typed in the page's form: also the query string of the page and
/// of the CSV export. Empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Who acted: exact username, client name or `operator`.
    #[serde(default)]
    pub actor: String,
    /// A Consumer Key: events where that client acted or was acted upon.
    #[serde(default)]
    pub client: String,
    /// An action's stored name, e.g. `client.secret_revealed`.
    #[serde(default)]
    pub action: String,
    /// First day (UTC, `YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub from: String,
    /// Last day (UTC, `YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub until: String,
}

impl AuditQuery {
    /// The filters as query-string pairs (for links that keep them).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("actor", self.actor.clone()),
            ("client", self.client.clone()),
            ("action", self.action.clone()),
            ("from", self.from.clone()),
            ("until", self.until.clone()),
        ]
    }

    /// Parses the filters; each problem is reported on its field.
    #[cfg(feature = "ssr")]
    pub fn to_filter(
        &self,
    ) -> Result<crate::server::services::audit::query::AuditFilter, ConsoleError> {
        use crate::domain::Timestamp;
        use crate::error::FieldErrors;
        use crate::server::services::audit::Action;
        let text = |raw: &str| Some(raw.trim().to_owned()).filter(|value| !value.is_empty());
        let date = |raw: &str| {
            text(raw)
                .map(|value| Timestamp::parse_date(&value))
                .transpose()
        };
        let mut errors = FieldErrors::new();
        let action = text(&self.action);
        if let Some(action) = &action
            && !Action::ALL.iter().any(|known| known.as_str() == action)
        {
            errors.push("action", "Choose an action from the list.");
        }
        let from = errors.check("from", date(&self.from)).flatten();
        let until = errors.check("until", date(&self.until)).flatten();
        if let (Some(from), Some(until)) = (from, until)
            && until.unix() < from.unix()
        {
            errors.push("until", "The last day is before the first day.");
        }
        errors.finish()?;
        Ok(crate::server::services::audit::query::AuditFilter {
            actor: text(&self.actor),
            client: text(&self.client),
            action,
            from,
            // The last day is inclusive: stop at the start of the next one.
            until: until.map(|day| day.plus_seconds(86_400)),
        })
    }
}

/// One line of the Audit Log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Event id (also the pagination cursor).
    pub id: i64,
    /// When (formatted, UTC).
    pub at: String,
    /// When, RFC 3339 (for `<time datetime>`).
    pub at_rfc3339: String,
    /// Stored action name.
    pub action: String,
    /// Who acted.
    pub actor: String,
    /// `admin`, `api_user`, `client`, `operator` or `anonymous`.
    pub actor_kind: String,
    /// What was acted upon, if anything: kind and label.
    pub target: Option<(String, String)>,
    /// Where the request came from.
    pub address: Option<String>,
    /// A readable sentence.
    pub summary: String,
}

#[cfg(feature = "ssr")]
impl From<crate::server::entities::audit_event::Model> for AuditRow {
    fn from(event: crate::server::entities::audit_event::Model) -> Self {
        use crate::domain::Timestamp;
        Self {
            id: event.id,
            at: Timestamp(event.occurred_at).format_utc(),
            at_rfc3339: Timestamp(event.occurred_at).format_rfc3339(),
            action: event.action,
            actor: event.actor_label,
            actor_kind: event.actor_kind,
            target: event.target_kind.zip(event.target_label),
            address: event.client_address,
            summary: event.summary,
        }
    }
}

/// One page of the Audit Log, or the problems with its filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogPage {
    /// The selected site.
    pub site_name: String,
    /// Events, newest first.
    pub rows: Vec<AuditRow>,
    /// Cursor to older events.
    pub older: Option<i64>,
    /// Cursor to newer events.
    pub newer: Option<i64>,
    /// Every action name, for the filter's list.
    pub actions: Vec<String>,
    /// Why the filters were refused (then `rows` is empty).
    pub filter_error: Option<ConsoleError>,
}

/// A signed-in administrator: one page of the selected site's audit events. `before` and
/// `after` are cursors (event ids) from a previous page; empty means the newest events.
#[server(endpoint = "list_audit")]
pub async fn list_audit(
    #[server(default)] query: AuditQuery,
    #[server(default)] before: String,
    #[server(default)] after: String,
) -> Result<AuditLogPage, ConsoleError> {
    use crate::server::{
        ctx,
        services::audit::{
            Action,
            query::{self, Cursor},
        },
    };
    let admin = ctx::require_admin().await?;
    let actions = Action::ALL.iter().map(|a| a.as_str().to_owned()).collect();
    let filter = match query.to_filter() {
        Ok(filter) => filter,
        Err(error) => {
            return Ok(AuditLogPage {
                site_name: admin.site.name.clone(),
                rows: Vec::new(),
                older: None,
                newer: None,
                actions,
                filter_error: Some(error),
            });
        }
    };
    let cursor = match (before.trim().parse::<i64>(), after.trim().parse::<i64>()) {
        (Ok(id), _) => Cursor::Before(id),
        (_, Ok(id)) => Cursor::After(id),
        _ => Cursor::Newest,
    };
    let page = query::search(
        &admin.state.db,
        &admin.acting(),
        admin.site.id,
        &filter,
        cursor,
        AUDIT_PAGE_SIZE,
    )
    .await?;
    Ok(AuditLogPage {
        site_name: admin.site.name.clone(),
        rows: page.rows.into_iter().map(AuditRow::from).collect(),
        older: page.older,
        newer: page.newer,
        actions,
        filter_error: None,
    })
}
