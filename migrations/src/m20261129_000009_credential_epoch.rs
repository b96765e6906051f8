//! `credential_epochs`: one counter that every change able to invalidate a credential
//! (revocation, disabling a client or user, rotating a secret…) increments in its own
//! transaction. Each Latchkey process caches validated tokens and client credentials, and
//! polls this counter to drop its caches when another process (a replica, the CLI) changed
//! something.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("credential_epochs")
                    .col(ColumnDef::new("id").integer().not_null().primary_key())
                    .col(ColumnDef::new("epoch").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        let first_row = Query::insert()
            .into_table("credential_epochs")
            .columns(["id", "epoch"])
            .values([1.into(), 0.into()])
            .map_err(|error| DbErr::Custom(error.to_string()))?
            .to_owned();
        manager.exec_stmt(first_row).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("credential_epochs").to_owned())
            .await
    }
}
