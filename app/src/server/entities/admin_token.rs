//! `admin_tokens`: a credential for the admin REST API, created by an administrator for
//! automation. Only the SHA-256 digest is stored; the token itself is shown once.

use sea_orm::entity::prelude::*;

/// A row of `admin_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_tokens")]
pub struct Model {
    /// Its id (UUID v7), what `admin-token revoke --id` takes.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The administrator the token acts for: it never reaches more than they administer.
    pub user_id: Uuid,
    /// What the administrator called it ("terraform", "CI").
    pub name: String,
    /// HMAC-SHA-256 (hex) of the token under the secret-verifier key: never the token.
    #[sea_orm(unique)]
    pub token_digest: String,
    /// Its last four characters, to tell tokens apart.
    pub hint: String,
    /// False: GET requests only.
    pub can_write: bool,
    /// Who created it, as the audit log names them.
    pub created_by_label: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// When it was last accepted (written at most once a minute).
    pub last_used_at: Option<i64>,
    /// The address it was last used from.
    pub last_used_from: Option<String>,
    /// Set once revoked: the token is refused from then on.
    pub revoked_at: Option<i64>,
}

/// No relations declared: queries join by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
