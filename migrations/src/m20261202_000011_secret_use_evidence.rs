//! Evidence that an old secret is still in use before it is retired (issue 20, item 2): each
//! secret slot keeps the address and the user agent of its last successful use, beside the
//! last-used time and use count it already had.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        for column in ["last_used_from", "last_user_agent"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("client_secrets")
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["last_user_agent", "last_used_from"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("client_secrets")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
