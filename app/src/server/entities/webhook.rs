//! `webhooks`: an endpoint of a site that is told about its notable events, signed.

use sea_orm::entity::prelude::*;

/// A row of `webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub site_id: Uuid,
    /// Where deliveries are POSTed (https; http only to loopback when the operator allows).
    pub url: String,
    /// The signing secret, sealed under the secret-encryption key (bound to this row's id).
    pub secret_sealed: String,
    /// The last characters of the signing secret, to tell endpoints apart.
    pub secret_hint: String,
    pub created_by_label: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
