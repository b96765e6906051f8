//! `signing_keys`: the keys that sign JWT access tokens (RFC 9068), newest unretired first.

use sea_orm::entity::prelude::*;

/// A row of `signing_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// The public key's RFC 7638 thumbprint, the `kid` of every token it signs.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// The JWS algorithm (`ES256` or `EdDSA`).
    pub algorithm: String,
    /// The public key as a JWK (JSON), as `/.well-known/jwks.json` publishes it.
    pub public_jwk: String,
    /// The PKCS #8 private key, sealed under the master key and bound to `kid`.
    pub private_key_sealed: String,
    pub created_at: i64,
    /// When a newer key replaced it; `None`: it signs.
    pub retired_at: Option<i64>,
    /// Published until then (every token it signed has expired by then).
    pub publish_until: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
