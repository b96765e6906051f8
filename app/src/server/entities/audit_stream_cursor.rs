//! `audit_stream_cursors`: per stream and chain, the last position delivered (written and
//! flushed) to the stream, where delivery resumes after a restart.

use sea_orm::entity::prelude::*;

/// A row of `audit_stream_cursors`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_stream_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub stream: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain: String,
    /// The last position of the chain delivered.
    pub seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
