//! A site's e-mail notifications as its administrators manage them: turned on or off
//! (audited), a test message to oneself, and the mail log.

use super::{attempts, mail};
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{mail_delivery, site, user},
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// Messages the log shows.
pub const LOGGED: u64 = 50;

/// Turns a site's e-mail notifications on or off (audited when it changes).
pub async fn set_enabled(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    enabled: bool,
) -> Result<site::Model, ServiceError> {
    let txn = begin_write(cx.db).await?;
    let current = cx.acting.require_site_admin(&txn, site_id).await?;
    if current.email_notifications == enabled {
        return Ok(current);
    }
    let mut update = current.into_active_model();
    update.email_notifications = Set(enabled);
    update.updated_at = Set(cx.now.unix());
    let updated = update.update(&txn).await?;
    let state = if enabled { "on" } else { "off" };
    audit::record(
        &txn,
        cx.keys,
        NewEvent::new(
            Some(site_id),
            Action::SiteEmailNotificationsChanged,
            cx.acting.actor(),
            format!(
                "E-mail notifications of \"{}\" turned {state}",
                updated.name
            ),
        )
        .target(Target::site(&updated))
        .details(json!({"enabled": enabled})),
        cx.now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Queues a test message to the acting administrator's own address; returns it. One test
/// at a time per administrator and site, so the button cannot flood a mailbox.
pub async fn send_test(cx: &ServiceContext<'_>, site_id: Uuid) -> Result<Uuid, ServiceError> {
    let txn = begin_write(cx.db).await?;
    let site = cx.acting.require_site_admin(&txn, site_id).await?;
    let me = match cx.acting.admin_id() {
        Some(id) => user::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|me| !me.email.trim().is_empty()),
        None => None,
    };
    let Some((user_id, address)) = me.map(|me| (me.id, me.email)) else {
        return Err(ServiceError::Conflict(
            "Your account has no e-mail address to send a test to.".into(),
        ));
    };
    let pending = mail_delivery::Entity::find()
        .filter(mail_delivery::Column::SiteId.eq(site.id))
        .filter(mail_delivery::Column::Recipient.eq(&address))
        .filter(mail_delivery::Column::Event.eq(mail::TEST_EVENT))
        .filter(mail_delivery::Column::NextAttemptAt.is_not_null())
        .one(&txn)
        .await?;
    if pending.is_some() {
        return Err(ServiceError::Conflict(
            "A test e-mail to you is still on its way; see the mail log.".into(),
        ));
    }
    let label = cx.acting.actor().label;
    let id = mail::queue_test(&txn, &site, user_id, &address, &label, cx.now).await?;
    txn.commit_neutral().await?;
    Ok(id)
}

/// The newest [`LOGGED`] messages of `site_id`.
pub async fn log(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<mail_delivery::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(mail_delivery::Entity::find()
        .filter(mail_delivery::Column::SiteId.eq(site_id))
        .order_by_desc(mail_delivery::Column::CreatedAt)
        .order_by_desc(mail_delivery::Column::Id)
        .limit(LOGGED)
        .all(conn)
        .await?)
}

/// Where a message stands, in words for the log.
pub fn state_words(row: &mail_delivery::Model, now: Timestamp) -> String {
    attempts::state_words(
        row.sent_at,
        row.failed_at,
        row.next_attempt_at,
        row.attempts,
        "Sent",
        now,
    )
}
