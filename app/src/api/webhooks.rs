//! The Webhooks page of the selected site: its endpoints (add with a recent password, the
//! signing secret shown once; remove; send a test event) and the delivery log.

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An endpoint, as the page lists it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRow {
    /// Its id (the forms send it).
    pub id: Uuid,
    /// Where deliveries go.
    pub url: String,
    /// The last characters of its signing secret.
    pub secret_hint: String,
    /// When it was added, and by whom.
    pub added: String,
    /// The signing secret, on the one page view right after it was added.
    pub new_secret: Option<String>,
}

impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the one-time signing secret (a logged page would keep it).
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret_hint", &self.secret_hint)
            .field("new_secret", &self.new_secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// One delivery of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    /// The delivery id (also the body's `id` and the `Latchkey-Delivery` header).
    pub id: Uuid,
    /// When the event happened.
    pub at: String,
    /// Event type.
    pub event: String,
    /// The endpoint's URL.
    pub url: String,
    /// Delivered, retrying, gave up…
    pub state: String,
    /// The last HTTP status, if the endpoint answered.
    pub status: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: i32,
}

/// Everything the Webhooks page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksPage {
    /// The selected site.
    pub site_name: String,
    /// Its endpoints.
    pub endpoints: Vec<WebhookRow>,
    /// The newest deliveries.
    pub deliveries: Vec<DeliveryRow>,
    /// The events delivered.
    pub events: Vec<String>,
    /// Adding an endpoint needs the password first.
    pub needs_password: bool,
    /// The operator allows private targets (and plain http).
    pub allow_private: bool,
}

/// A signed-in administrator: the selected site's webhooks and delivery log.
#[server(endpoint = "get_webhooks")]
pub async fn get_webhooks() -> Result<WebhooksPage, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{ctx, services::notifications::endpoints};
    use std::collections::HashMap;
    let admin = ctx::require_admin().await?;
    let acting = admin.acting();
    let db = &admin.state.db;
    let now = admin.state.clock.now();
    let hooks = endpoints::of_site(db, &acting, admin.site.id).await?;
    let urls: HashMap<Uuid, String> = hooks.iter().map(|h| (h.id, h.url.clone())).collect();
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let new_secret = admin
            .take_flashed_secret(hook.id)
            .await?
            .map(|(_, secret)| secret);
        rows.push(WebhookRow {
            id: hook.id,
            added: format!(
                "{} by {}",
                Timestamp(hook.created_at).format_utc(),
                hook.created_by_label
            ),
            url: hook.url,
            secret_hint: hook.secret_hint,
            new_secret,
        });
    }
    let deliveries = endpoints::delivery_log(db, &acting, admin.site.id)
        .await?
        .into_iter()
        .map(|row| DeliveryRow {
            state: endpoints::state_words(&row, now),
            id: row.id,
            at: Timestamp(row.created_at).format_utc(),
            url: urls.get(&row.webhook_id).cloned().unwrap_or_default(),
            event: row.event,
            status: row.last_status,
            error: row.last_error,
            attempts: row.attempts,
        })
        .collect();
    Ok(WebhooksPage {
        site_name: admin.site.name.clone(),
        endpoints: rows,
        deliveries,
        events: crate::server::services::notifications::outbox::ANNOUNCED
            .iter()
            .map(|event| (*event).to_owned())
            .collect(),
        needs_password: !admin.recently_authenticated(),
        allow_private: admin.state.settings.webhooks_allow_private,
    })
}

/// An administrator of the selected site, with a recent password: adds an endpoint; the page
/// then shows its signing secret once.
#[server(endpoint = "add_webhook")]
pub async fn add_webhook(
    csrf: String,
    url: String,
    #[server(default)] current_password: Option<String>,
) -> Result<Uuid, ConsoleError> {
    use crate::server::{ctx, services::notifications::endpoints};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let (hook, secret) = endpoints::add(&admin.service(), admin.site.id, &url).await?;
    admin.flash_secret(hook.id, &secret).await?;
    leptos_axum::redirect("/webhooks");
    Ok(hook.id)
}

/// An administrator of the endpoint's site: removes it.
#[server(endpoint = "remove_webhook")]
pub async fn remove_webhook(csrf: String, webhook_id: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::notifications::endpoints};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    endpoints::remove(&admin.service(), webhook_id).await?;
    leptos_axum::redirect("/webhooks");
    Ok(())
}

/// An administrator of the endpoint's site: queues the test event to it.
#[server(endpoint = "send_test_webhook")]
pub async fn send_test_webhook(csrf: String, webhook_id: Uuid) -> Result<Uuid, ConsoleError> {
    use crate::server::{ctx, services::notifications::endpoints};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let delivery = endpoints::send_test(&admin.service(), webhook_id).await?;
    leptos_axum::redirect("/webhooks");
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_new_signing_secret() {
        let row = WebhookRow {
            id: Uuid::nil(),
            url: "https://hooks.example.com/x".into(),
            secret_hint: "abcd".into(),
            added: String::new(),
            new_secret: Some("lkws_supersecretvalue".into()),
        };
        let printed = format!("{row:?}");
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(printed.contains("abcd"));
    }
}
