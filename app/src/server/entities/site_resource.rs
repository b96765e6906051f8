//! `site_resources`: the resource servers of a site (RFC 8707), the audiences its tokens may
//! be narrowed to.

use sea_orm::entity::prelude::*;

/// A row of `site_resources`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_resources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub site_id: Uuid,
    /// The resource server's URI, exactly as registered (requests must match it exactly).
    #[sea_orm(primary_key, auto_increment = false)]
    pub uri: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
