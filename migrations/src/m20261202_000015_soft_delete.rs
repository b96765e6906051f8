//! Soft delete with undo (issue 20 item 5): a deleted client or user keeps its row, marked
//! with when it was deleted, until the retention period ends and it is purged. A client deleted
//! because its owner was deleted says so, so restoring the owner brings it back too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .add_column(big_integer_null("deleted_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .add_column(boolean("deleted_with_owner").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(big_integer_null("deleted_at"))
                    .to_owned(),
            )
            .await?;
        for (name, table) in [
            ("idx_clients_deleted_at", "clients"),
            ("idx_users_deleted_at", "users"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col("deleted_at")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_clients_deleted_at", "clients"),
            ("idx_users_deleted_at", "users"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        for (table, column) in [
            ("users", "deleted_at"),
            ("clients", "deleted_with_owner"),
            ("clients", "deleted_at"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
