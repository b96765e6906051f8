//! `admin_api_idempotency`: the answer to an admin API creation, per token and
//! `Idempotency-Key`, so a retried request is answered again instead of acting twice.

use sea_orm::entity::prelude::*;

/// A row of `admin_api_idempotency`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_api_idempotency")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 of method, path and body: the same key with another request is refused.
    pub request_digest: String,
    /// The site the answer is about: a replay is refused once the token no longer reaches it.
    pub site_id: Option<Uuid>,
    /// The answer's HTTP status; `None` while the first request is still running.
    pub status: Option<i32>,
    /// The answer's body, sealed under the secret-encryption key (it may hold a new secret).
    pub body_sealed: Option<String>,
    /// When the key was claimed (Unix seconds); forgotten a day later.
    pub created_at: i64,
}

/// No relations declared: queries join by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
