//! `alerts`: security alerts of a site, shown until acknowledged.

use sea_orm::entity::prelude::*;

/// A row of `alerts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site_id: Uuid,
    /// `refresh_token_reuse`, `code_reuse` or `invalid_client_burst`.
    pub kind: String,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub username: Option<String>,
    pub address: Option<String>,
    pub summary: String,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
