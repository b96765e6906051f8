//! `credential_epochs`: the single counter behind cross-process cache invalidation (see
//! `server::credential_cache`).

use sea_orm::entity::prelude::*;

/// The one row of `credential_epochs` (id 1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credential_epochs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// Incremented by every committed change that may invalidate a cached credential.
    pub epoch: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
