//! `audit_chain_heads`: the newest link of each audit chain.

use sea_orm::entity::prelude::*;

/// A row of `audit_chain_heads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_chain_heads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    /// HMAC (audit key) of chain, seq and hash; `None` only for heads written before chains
    /// were keyed.
    pub signature: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
