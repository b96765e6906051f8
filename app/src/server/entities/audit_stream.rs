//! `audit_streams`: one row per configured audit stream (`serve --audit-stream`), holding the
//! lease that lets one replica at a time write it.

use sea_orm::entity::prelude::*;

/// A row of `audit_streams`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_streams")]
pub struct Model {
    /// The destination as configured (`stdout`, `file:PATH`, `syslog:HOST:PORT`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The process that holds the lease (a random id per process).
    pub holder: String,
    /// The lease ends then unless renewed; another replica may take it over after.
    pub lease_until: i64,
    /// When events were last delivered.
    pub delivered_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
