//! Failed sign-in counters per account and per client address, shared by every replica.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sign_in_throttle")
                    .col(text("key").primary_key())
                    .col(integer("failures"))
                    .col(big_integer("window_started_at"))
                    .col(big_integer("blocked_until"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sign_in_throttle").to_owned())
            .await
    }
}
