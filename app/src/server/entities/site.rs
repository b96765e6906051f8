//! `sites`: a tenant; clients, memberships and audit chains belong to one.

use sea_orm::entity::prelude::*;

/// A row of `sites`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Lower-cased name; unique.
    pub name_key: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// How long new secrets of the site's clients stay valid (seconds); `None`: no expiry.
    pub secret_lifetime: Option<i64>,
    /// Notifications go by e-mail too (to the client's owner and the site's administrators),
    /// through the operator's SMTP server.
    pub email_notifications: bool,
    /// How long a consent given at the prompt is remembered (seconds); 0: never.
    pub consent_lifetime: i64,
    /// `opaque` or `jwt` (`domain::AccessTokenFormat`, stored form).
    pub access_token_format: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::site_membership::Entity")]
    Membership,
}

impl Related<super::site_membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
