//! `clients`: an API client (application) of a site.

use crate::domain::{ClientStatus, GrantTypes, Review};
use sea_orm::entity::prelude::*;

/// A row of `clients`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub site_id: Uuid,
    /// The public Consumer Key (`lkci_...`).
    pub client_id: String,
    pub name: String,
    /// Lower-cased name, for sorting and search.
    pub name_key: String,
    pub description: String,
    /// The one registered redirect URI, exactly as written.
    pub redirect_uri: String,
    /// The API user the client acts for by default (its owner); `None` for a machine client
    /// (client credentials only) that belongs to its site.
    pub owner_user_id: Option<Uuid>,
    pub require_pkce: bool,
    /// Set while disabled: client authentication then fails with `invalid_client`.
    pub disabled_at: Option<i64>,
    pub created_by_user_id: Option<Uuid>,
    pub created_by_label: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    /// The Terms of Use version last accepted for this client.
    pub terms_version: String,
    /// Set while deleted (in the Deleted view, restorable until purged): refused like a
    /// disabled client and left out of every list.
    pub deleted_at: Option<i64>,
    /// Deleted together with its owner: restoring the owner restores it.
    pub deleted_with_owner: bool,
    /// When the client was last announced as stale (unused for the stale period); it is
    /// announced again only after it has been used since.
    pub stale_announced_at: Option<i64>,
    /// `approved`, `pending` or `rejected` (see `domain::Review`): only an approved client
    /// authenticates.
    pub review: String,
    /// Why a request was rejected, in the administrator's words.
    pub review_reason: Option<String>,
    /// When a request was approved or rejected.
    pub reviewed_at: Option<i64>,
    /// Who approved or rejected it.
    pub reviewed_by_label: Option<String>,
    /// The first secret of an approved request, sealed under the secret key until its owner
    /// has seen it once on their page (then cleared).
    pub owner_secret_sealed: Option<String>,
    /// The grants it is registered for (`domain::GrantTypes`, stored form).
    pub grant_types: String,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2 `dpop_bound_access_tokens`):
    /// its tokens are always sender-constrained.
    pub require_dpop: bool,
}

impl Model {
    /// True when approved and neither disabled nor deleted: only an active client
    /// authenticates.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none() && self.deleted_at.is_none() && self.review() == Review::Approved
    }

    /// The review of the client (approved, pending or rejected).
    pub fn review(&self) -> Review {
        Review::from_stored(&self.review)
    }

    /// Its status: active, disabled, pending or rejected.
    pub fn status(&self) -> ClientStatus {
        ClientStatus::of(self.review(), self.disabled_at.is_some())
    }

    /// The grants it is registered for.
    pub fn grant_types(&self) -> GrantTypes {
        GrantTypes::from_stored(&self.grant_types)
    }

    /// True while in the Deleted view.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerUserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    Owner,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
