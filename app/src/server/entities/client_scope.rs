//! `client_scopes`: the scopes a client may request.

use sea_orm::entity::prelude::*;

/// A row of `client_scopes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_scopes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_uuid: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::client::Entity",
        from = "Column::ClientUuid",
        to = "super::client::Column::Id",
        on_delete = "Cascade"
    )]
    Client,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
