//! `audit_events`: the append-only, hash-chained log (see `services::audit`).

use sea_orm::entity::prelude::*;

/// A row of `audit_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The chain this event extends: `site:<uuid>` or `global`.
    pub chain: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    pub site_id: Option<Uuid>,
    pub occurred_at: i64,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub client_address: Option<String>,
    pub summary: String,
    /// Structured details as a JSON object.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
