//! A site's webhook endpoints — added (with a signing secret shown once), removed, sent a test
//! event — and its delivery log. Every change is audited on the site.

use super::{dispatch::secret_context, outbox};
use crate::domain::{Timestamp, WebhookUrl};
use crate::server::{
    ServiceError,
    crypto::{random, secret_box, tokens::Secret},
    db::begin_write,
    entities::{webhook, webhook_delivery as delivery},
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target, TargetKind},
        context::ServiceContext,
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// Endpoints a site may have.
pub const MAX_PER_SITE: usize = 10;
/// Deliveries the log shows.
pub const LOGGED: u64 = 50;

/// Adds an endpoint to `site_id`; returns it with its signing secret, which is never shown
/// again. The URL must be https to a public address (see [`WebhookUrl`]) unless the operator
/// allows private targets.
pub async fn add(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    url: &str,
) -> Result<(webhook::Model, Secret), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    let url = WebhookUrl::parse(url, settings.webhooks_allow_private)
        .map_err(|invalid| ServiceError::invalid("url", invalid.0))?;
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let existing = webhook::Entity::find()
        .filter(webhook::Column::SiteId.eq(site.id))
        .all(&txn)
        .await?;
    if existing.len() >= MAX_PER_SITE {
        return Err(ServiceError::invalid(
            "url",
            format!("A site can have at most {MAX_PER_SITE} webhooks."),
        ));
    }
    if existing.iter().any(|hook| hook.url == url.as_str()) {
        return Err(ServiceError::invalid(
            "url",
            "This site already sends to this URL.",
        ));
    }
    let id = Uuid::now_v7();
    let secret = Secret::new(format!("lkws_{}", random::token_256()?));
    let created = webhook::Model {
        id,
        site_id: site.id,
        url: url.as_str().to_owned(),
        secret_sealed: secret_box::seal(
            &keys.secret_encryption,
            secret.expose().as_bytes(),
            &secret_context(id),
        )?,
        secret_hint: secret.hint(),
        created_by_label: acting.actor().label,
        created_at: now.unix(),
    };
    webhook::Entity::insert(webhook::ActiveModel {
        id: Set(created.id),
        site_id: Set(created.site_id),
        url: Set(created.url.clone()),
        secret_sealed: Set(created.secret_sealed.clone()),
        secret_hint: Set(created.secret_hint.clone()),
        created_by_label: Set(created.created_by_label.clone()),
        created_at: Set(created.created_at),
    })
    .exec_without_returning(&txn)
    .await
    .map_err(|error| {
        // Two administrators adding the same URL at once: the unique index decides.
        let error = ServiceError::from(error);
        if error.is_unique_violation() {
            ServiceError::invalid("url", "This site already sends to this URL.")
        } else {
            error
        }
    })?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(site.id),
            Action::WebhookAdded,
            acting.actor(),
            format!("Webhook to {} added", created.url),
        )
        .target(target(&created))
        .details(json!({"url": created.url, "secret_hint": created.secret_hint})),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    Ok((created, secret))
}

/// Removes an endpoint (its delivery log goes with it).
pub async fn remove(cx: &ServiceContext<'_>, webhook_id: Uuid) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let hook = require(&txn, acting, webhook_id).await?;
    webhook::Entity::delete_by_id(hook.id).exec(&txn).await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(hook.site_id),
            Action::WebhookRemoved,
            acting.actor(),
            format!("Webhook to {} removed", hook.url),
        )
        .target(target(&hook))
        .details(json!({"url": hook.url})),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    Ok(())
}

/// Queues the test event to one endpoint; returns the delivery. One test at a time per
/// endpoint: a test still on its way refuses another, so the button cannot flood the outbox.
pub async fn send_test(cx: &ServiceContext<'_>, webhook_id: Uuid) -> Result<Uuid, ServiceError> {
    let txn = begin_write(cx.db).await?;
    let hook = require(&txn, cx.acting, webhook_id).await?;
    let pending = delivery::Entity::find()
        .filter(delivery::Column::WebhookId.eq(hook.id))
        .filter(delivery::Column::Event.eq(outbox::TEST_EVENT))
        .filter(delivery::Column::NextAttemptAt.is_not_null())
        .one(&txn)
        .await?;
    if pending.is_some() {
        return Err(ServiceError::Conflict(
            "A test event to this endpoint is still on its way; see the delivery log.".into(),
        ));
    }
    let id = outbox::queue_test(&txn, &hook, &cx.acting.actor().label, cx.now).await?;
    txn.commit_neutral().await?;
    Ok(id)
}

/// The endpoints of `site_id`, oldest first.
pub async fn of_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<webhook::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(webhook::Entity::find()
        .filter(webhook::Column::SiteId.eq(site_id))
        .order_by_asc(webhook::Column::CreatedAt)
        .all(conn)
        .await?)
}

/// The newest [`LOGGED`] deliveries of `site_id`.
pub async fn delivery_log(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<delivery::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(delivery::Entity::find()
        .filter(delivery::Column::SiteId.eq(site_id))
        .order_by_desc(delivery::Column::CreatedAt)
        .order_by_desc(delivery::Column::Id)
        .limit(LOGGED)
        .all(conn)
        .await?)
}

/// The endpoint `webhook_id`, if the actor administers its site (reported like a missing one
/// otherwise).
async fn require(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    webhook_id: Uuid,
) -> Result<webhook::Model, ServiceError> {
    let hook = webhook::Entity::find_by_id(webhook_id)
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    acting.require_site_admin(conn, hook.site_id).await?;
    Ok(hook)
}

fn target(hook: &webhook::Model) -> Target {
    Target::new(TargetKind::Webhook, hook.id, &hook.url)
}

/// Where a delivery stands, in words for the log.
pub fn state_words(row: &delivery::Model, now: Timestamp) -> String {
    super::attempts::state_words(
        row.delivered_at,
        row.failed_at,
        row.next_attempt_at,
        row.attempts,
        "Delivered",
        now,
    )
}
