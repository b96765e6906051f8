//! `webhook_deliveries`: the outbox and delivery log of webhooks — one event for one endpoint,
//! written with the change it announces, then sent, retried with backoff, and kept.

use sea_orm::entity::prelude::*;

/// A row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub site_id: Uuid,
    /// The event type (an audit action, or `webhook.test`).
    pub event: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    pub created_at: i64,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (or, while one is in flight, when its claim lapses);
    /// `None` once delivered or given up.
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt, if the endpoint answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed, if it did (never a secret).
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    /// Set when the attempts ran out.
    pub failed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
