//! `client_failures`: the failure timeline of each client (why its requests were refused).

use sea_orm::entity::prelude::*;

/// A row of `client_failures`: identical failures of one flush, counted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub client_uuid: Uuid,
    pub site_id: Uuid,
    /// The first and the last of the counted failures (unix seconds).
    pub first_at: i64,
    pub last_at: i64,
    pub count: i64,
    /// A `domain::FailureReason` code.
    pub reason: String,
    /// The RFC error code the client was sent.
    pub error_code: String,
    /// The explanation for the administrator (never a secret).
    pub detail: String,
    /// Where the requests came from.
    pub address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
