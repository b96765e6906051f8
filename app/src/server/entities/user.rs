//! `users`: a person who signs in to the console and/or authorizes clients.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub username: String,
    /// Lower-cased username; unique.
    pub username_key: String,
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
    pub last_sign_in_at: Option<i64>,
    /// Set while the user is disabled: they can sign in nowhere and authorize nothing.
    pub disabled_at: Option<i64>,
    /// Moves on at every password reset or change and at "sign out everywhere": a session
    /// started in an earlier generation has ended.
    pub session_generation: i64,
    /// Set while deleted (in the Deleted view, restorable until purged): they can sign in
    /// nowhere and authorize nothing, and no list shows them.
    pub deleted_at: Option<i64>,
}

impl Model {
    /// True unless the user has been disabled or deleted.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none() && self.deleted_at.is_none()
    }

    /// True while in the Deleted view.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
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
