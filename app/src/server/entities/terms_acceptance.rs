//! `terms_acceptances`: every acceptance of the Terms of Use for a client.

use sea_orm::entity::prelude::*;

/// A row of `terms_acceptances`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "terms_acceptances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub client_uuid: Uuid,
    pub terms_version: String,
    pub accepted_by_user_id: Option<Uuid>,
    pub accepted_by_label: String,
    pub accepted_at: i64,
    /// Client address of the acceptance (console only).
    pub accepted_from: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
