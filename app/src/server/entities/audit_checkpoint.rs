//! `audit_checkpoints`: the last link of a pruned stretch of a chain, signed with the audit key.

use sea_orm::entity::prelude::*;

/// A row of `audit_checkpoints`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub chain: String,
    /// The last pruned event's position.
    pub seq: i64,
    /// The last pruned event's hash: the next event links to it.
    pub hash: String,
    pub created_at: i64,
    /// HMAC-SHA-256 (audit key) of chain, seq and hash.
    pub signature: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
