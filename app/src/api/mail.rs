//! The E-mail section of the Webhooks page: whether the selected site sends its
//! notifications by e-mail too, a test message to oneself, and the mail log.

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One message of the mail log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRow {
    /// The message.
    pub id: Uuid,
    /// When it was queued.
    pub at: String,
    /// Event type.
    pub event: String,
    /// The address it goes to.
    pub recipient: String,
    /// Its subject.
    pub subject: String,
    /// Sent, retrying, gave up…
    pub state: String,
    /// Why the last attempt failed (the SMTP server's answer in a few words).
    pub error: Option<String>,
}

/// Everything the E-mail section shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSection {
    /// The site sends e-mail.
    pub enabled: bool,
    /// The operator configured an SMTP server.
    pub configured: bool,
    /// The events that go by e-mail, and to whom, in words.
    pub audiences: Vec<(String, String)>,
    /// The newest messages.
    pub messages: Vec<MailRow>,
}

/// A signed-in administrator: the selected site's e-mail switch and mail log.
#[server(endpoint = "get_mail")]
pub async fn get_mail() -> Result<MailSection, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{
        ctx,
        services::notifications::{mail, mail_settings, outbox},
    };
    let admin = ctx::require_admin().await?;
    let now = admin.state.clock.now();
    let messages = mail_settings::log(&admin.state.db, &admin.acting(), admin.site.id)
        .await?
        .into_iter()
        .map(|row| MailRow {
            state: mail_settings::state_words(&row, now),
            id: row.id,
            at: Timestamp(row.created_at).format_utc(),
            event: row.event,
            recipient: row.recipient,
            subject: row.subject,
            error: row.last_error,
        })
        .collect();
    let audiences = outbox::ANNOUNCED
        .iter()
        .filter_map(|event| {
            let audience = mail::audience(event)?;
            let who = if audience.admins {
                "the client's owner and the site's administrators"
            } else {
                "the client's owner"
            };
            Some(((*event).to_owned(), who.to_owned()))
        })
        .collect();
    Ok(MailSection {
        enabled: admin.site.email_notifications,
        configured: admin.state.settings.mail_configured,
        audiences,
        messages,
    })
}

/// An administrator of the selected site: turns its e-mail notifications on or off. Turning
/// them on needs an SMTP server configured by the operator.
#[server(endpoint = "set_email_notifications")]
pub async fn set_email_notifications(csrf: String, enabled: bool) -> Result<(), ConsoleError> {
    use crate::server::{ServiceError, ctx, services::notifications::mail_settings};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    if enabled && !admin.state.settings.mail_configured {
        return Err(ServiceError::Conflict(
            "This server has no SMTP server configured (--smtp-url); ask the operator.".into(),
        )
        .into());
    }
    mail_settings::set_enabled(&admin.service(), admin.site.id, enabled).await?;
    leptos_axum::redirect("/webhooks#email-heading");
    Ok(())
}

/// An administrator of the selected site: queues a test message to their own address.
#[server(endpoint = "send_test_mail")]
pub async fn send_test_mail(csrf: String) -> Result<Uuid, ConsoleError> {
    use crate::server::{ServiceError, ctx, services::notifications::mail_settings};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    if !admin.site.email_notifications || !admin.state.settings.mail_configured {
        return Err(ServiceError::Conflict(
            "Turn e-mail notifications on first (the server needs an SMTP server).".into(),
        )
        .into());
    }
    let id = mail_settings::send_test(&admin.service(), admin.site.id).await?;
    leptos_axum::redirect("/webhooks#email-heading");
    Ok(id)
}
