//! `consents`: what an API user granted a client at the prompt, remembered until the site's
//! consent lifetime ends or they withdraw it (one row per user and client).

use sea_orm::entity::prelude::*;

/// A row of `consents`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub client_uuid: Uuid,
    pub site_id: Uuid,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// First remembered.
    pub created_at: i64,
    /// Last widened or renewed.
    pub updated_at: i64,
    /// The consent no longer counts from this time.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
