//! The notification outbox: the audited events a site is told about, and their webhook
//! deliveries (and, through [`mail`](super::mail), e-mails), inserted in the caller's
//! transaction (the one recording the audit event).

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{audit_event as event, site, webhook, webhook_delivery as delivery},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// The audit actions announced to webhooks (and some by e-mail, see
/// [`mail::audience`](super::mail::audience)): a client's life, its credentials, and theft.
pub const ANNOUNCED: &[&str] = &[
    "client.registered",
    "client.requested",
    "client.approved",
    "client.rejected",
    "client.disabled",
    "client.enabled",
    "client.deleted",
    "client.restored",
    "client.purged",
    "client.secret_rotated",
    "client.secret_retired",
    "client.credential_leaked",
    "client.secret_expiring",
    "client.secret_expired",
    "client.stale",
    "oauth.code_reuse_detected",
    "oauth.refresh_reuse_detected",
    "user.deleted",
    "user.restored",
];

/// The event "Send test event" delivers.
pub const TEST_EVENT: &str = "webhook.test";

/// True when events of `action` are delivered to webhooks.
pub fn is_announced(action: &str) -> bool {
    ANNOUNCED.contains(&action)
}

/// Queues a delivery of each announced event of `rows` (audit rows of one chain, about to be
/// stored) to each webhook of its site, and its e-mails when the site sends e-mail. Call in
/// the transaction that records them. Looks the site up once, and only when some event is
/// announced: the token path's batches pay one string comparison per event.
pub async fn announce(
    conn: &impl ConnectionTrait,
    rows: &[event::Model],
    now: Timestamp,
) -> Result<(), ServiceError> {
    let Some(site_id) = rows
        .iter()
        .filter(|row| is_announced(&row.action))
        .find_map(|row| row.site_id)
    else {
        return Ok(());
    };
    // One chain: every row is of the same site.
    let announced: Vec<&event::Model> = rows
        .iter()
        .filter(|row| is_announced(&row.action) && row.site_id == Some(site_id))
        .collect();
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::SiteId.eq(site_id))
        .all(conn)
        .await?;
    for row in &announced {
        for hook in &hooks {
            queue(conn, hook, &row.action, |id| body(id, row), now).await?;
        }
    }
    if let Some(site) = site::Entity::find_by_id(site_id).one(conn).await? {
        super::mail::announce(conn, &site, &announced, now).await?;
    }
    Ok(())
}

/// The JSON body announcing audit row `row` as delivery `delivery_id`. The audit event's
/// structured details stay in the console: some name things of other sites (a user's clients
/// everywhere) or an end user's address, which a site's own systems need not receive.
fn body(delivery_id: Uuid, row: &event::Model) -> serde_json::Value {
    let site_id = row.site_id;
    json!({
        "id": delivery_id,
        "type": row.action,
        "occurred_at": Timestamp(row.occurred_at).format_rfc3339(),
        "site_id": site_id,
        "summary": row.summary,
        "actor": {"kind": row.actor_kind, "label": row.actor_label},
        "target": row.target_kind.as_ref().map(|kind| json!({
            "kind": kind,
            "id": row.target_id,
            "label": row.target_label,
        })),
        "audit": {"chain": row.chain, "seq": row.seq},
    })
}

/// Queues the test event for one webhook.
pub async fn queue_test(
    conn: &impl ConnectionTrait,
    hook: &webhook::Model,
    requested_by: &str,
    now: Timestamp,
) -> Result<Uuid, ServiceError> {
    let body = |delivery_id: Uuid| {
        json!({
            "id": delivery_id,
            "type": TEST_EVENT,
            "occurred_at": now.format_rfc3339(),
            "site_id": hook.site_id,
            "summary": format!("Test event sent by {requested_by}"),
            "actor": {"kind": "admin", "label": requested_by},
            "target": null,
        })
    };
    queue(conn, hook, TEST_EVENT, body, now).await
}

/// Inserts one delivery, due now.
async fn queue(
    conn: &impl ConnectionTrait,
    hook: &webhook::Model,
    event: &str,
    body: impl Fn(Uuid) -> serde_json::Value,
    now: Timestamp,
) -> Result<Uuid, ServiceError> {
    let id = Uuid::now_v7();
    delivery::Entity::insert(delivery::ActiveModel {
        id: Set(id),
        webhook_id: Set(hook.id),
        site_id: Set(hook.site_id),
        event: Set(event.to_owned()),
        payload: Set(body(id).to_string()),
        created_at: Set(now.unix()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now.unix())),
        last_attempt_at: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        delivered_at: Set(None),
        failed_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}
