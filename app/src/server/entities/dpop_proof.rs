//! `dpop_proofs`: the DPoP proofs accepted lately (RFC 9449 §11.1), so that none is accepted
//! twice, by this process or another replica.

use sea_orm::entity::prelude::*;

/// A row of `dpop_proofs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dpop_proofs")]
pub struct Model {
    /// SHA-256 (hex) of the proof's key thumbprint and `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub proof_hash: String,
    /// After this the proof is too old to be accepted anyway, and the row may go.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
