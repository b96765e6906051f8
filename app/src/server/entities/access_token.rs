//! `access_tokens`: bearer tokens (stored as digests).

use sea_orm::entity::prelude::*;

/// A row of `access_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub family_id: Uuid,
    pub client_uuid: Uuid,
    /// The API user it acts for; `None` for a client credentials token (acting as the client).
    pub user_id: Option<Uuid>,
    pub site_id: Uuid,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The resource server it is for (`aud`, RFC 8707), if it was narrowed to one.
    pub audience: Option<String>,
    /// The RFC 7638 thumbprint of the key it is bound to (DPoP, RFC 9449 `cnf.jkt`); `None`:
    /// a bearer token.
    pub dpop_jkt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
