//! `usage_daily`: tokens issued per client per day (UTC), for the usage charts.

use sea_orm::entity::prelude::*;

/// A row of `usage_daily`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_daily")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_uuid: Uuid,
    /// Days since the epoch.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    pub site_id: Uuid,
    pub tokens_issued: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
