//! The dashboard: counts, the tokens-per-day chart, open security alerts and recent activity
//! of the selected site; acknowledging an alert.

use crate::api::DailyBar;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of recent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentEvent {
    /// When (formatted, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What happened, in a sentence.
    pub summary: String,
}

/// An open security alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    /// Alert id (to acknowledge it).
    pub id: i64,
    /// `refresh_token_reuse`, `code_reuse` or `invalid_client_burst`.
    pub kind: String,
    /// A heading for the kind.
    pub title: String,
    /// What happened.
    pub summary: String,
    /// Client name and Consumer Key, if known.
    pub client: Option<(String, String)>,
    /// The API user involved, if known.
    pub username: Option<String>,
    /// Where the request came from.
    pub address: Option<String>,
    /// When (formatted, UTC).
    pub at: String,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The selected site.
    pub site_name: String,
    /// Users with the site-administrator role here.
    pub administrators: u64,
    /// Users with the API User permission here.
    pub api_users: u64,
    /// API clients registered here.
    pub clients: u64,
    /// Access tokens neither expired nor revoked.
    pub active_tokens: u64,
    /// Tokens issued per day, the last 30 days, oldest first.
    pub tokens_per_day: Vec<DailyBar>,
    /// Unacknowledged security alerts, newest first.
    pub alerts: Vec<AlertView>,
    /// Newest audit events of the site.
    pub recent_events: Vec<RecentEvent>,
    /// Secrets expiring within 30 days (or expired), soonest first.
    pub expiring_secrets: Vec<ExpiringSecret>,
}

/// A client whose current secret expires soon (or has expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringSecret {
    /// The client's id (link).
    pub client_uuid: Uuid,
    /// Its name.
    pub client_name: String,
    /// The secret's last four characters.
    pub hint: String,
    /// When it expires (formatted).
    pub expires: String,
    /// Whole days left (0: expired).
    pub days_left: i64,
}

#[cfg(feature = "ssr")]
fn alert_title(kind: &str) -> &'static str {
    match kind {
        "refresh_token_reuse" => "Refresh token reused — possible token theft",
        "code_reuse" => "Authorization code reused",
        "invalid_client_burst" => "Burst of failed client authentications",
        "credential_leaked" => "Leaked token reported — revoked",
        "secret_quarantined" => "Leaked secret reported — quarantined",
        _ => "Security alert",
    }
}

/// A signed-in administrator: the dashboard of the selected site.
#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{ctx, services::dashboard};
    let admin = ctx::require_admin().await?;
    let now = admin.state.clock.now();
    let summary = dashboard::summary(&admin.state.db, &admin.acting(), admin.site.id, now).await?;
    Ok(Dashboard {
        site_name: admin.site.name.clone(),
        administrators: summary.administrators,
        api_users: summary.api_users,
        clients: summary.clients,
        active_tokens: summary.active_tokens,
        tokens_per_day: crate::api::daily_bars(summary.tokens_per_day),
        alerts: summary
            .alerts
            .into_iter()
            .map(|alert| AlertView {
                id: alert.id,
                title: alert_title(&alert.kind).to_owned(),
                kind: alert.kind,
                summary: alert.summary,
                client: alert.client_name.zip(alert.client_id),
                username: alert.username,
                address: alert.address,
                at: Timestamp(alert.created_at).format_utc(),
            })
            .collect(),
        expiring_secrets: summary
            .expiring_secrets
            .into_iter()
            .map(|(client, slot)| {
                let end = slot.valid_until.unwrap_or_default();
                ExpiringSecret {
                    client_uuid: client.id,
                    client_name: client.name,
                    hint: slot.hint,
                    expires: Timestamp(end).format_utc(),
                    days_left: crate::domain::secret_lifetime::days_left(end, now.unix()),
                }
            })
            .collect(),
        recent_events: summary
            .recent_events
            .into_iter()
            .map(|event| RecentEvent {
                at: Timestamp(event.occurred_at).format_utc(),
                actor: event.actor_label,
                summary: event.summary,
            })
            .collect(),
    })
}

/// A signed-in administrator of the alert's site: marks it handled (it leaves the dashboard;
/// the acknowledgement is audited).
#[server(endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(csrf: String, alert_id: i64) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::alerts};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let now = admin.state.clock.now();
    alerts::acknowledge(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        alert_id,
        now,
    )
    .await?;
    Ok(())
}
