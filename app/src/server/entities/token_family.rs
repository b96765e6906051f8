//! `token_families`: one authorization (a code's exchange and every refresh after it); revoking
//! the family revokes all its tokens.

use sea_orm::entity::prelude::*;

/// A row of `token_families`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_uuid: Uuid,
    /// The API user it acts for; `None` for a client credentials grant (acting as the client).
    pub user_id: Option<Uuid>,
    pub site_id: Uuid,
    /// Scope granted at authorization (space-delimited, RFC 6749 form).
    pub scope: String,
    /// Digest of the authorization code it came from.
    pub code_hash: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// The resource server the grant was authorized for (RFC 8707), if any: its tokens are
    /// for that audience alone.
    pub resource: Option<String>,
    /// The thumbprint of the DPoP key the grant is bound to (RFC 9449 §5): every refresh must
    /// prove possession of it. `None`: not bound.
    pub dpop_jkt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
