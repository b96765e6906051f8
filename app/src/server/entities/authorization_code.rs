//! `authorization_codes`: single-use codes (stored as digests).

use sea_orm::entity::prelude::*;

/// A row of `authorization_codes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_uuid: Uuid,
    pub user_id: Uuid,
    pub site_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    /// PKCE S256 challenge, if the request had one.
    pub code_challenge: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// The resource server it was asked for (`resource`, RFC 8707), if any.
    pub resource: Option<String>,
    /// The thumbprint of the DPoP key the client named (`dpop_jkt`, RFC 9449 §10): only a
    /// proof by that key may exchange the code.
    pub dpop_jkt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
