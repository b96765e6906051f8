//! Applications API users request for themselves (issue 21 item 3): a client is `approved`
//! (every client before this version, and every client an administrator registers), `pending`
//! until a site administrator decides, or `rejected` with the reason they gave. Only an
//! approved client authenticates. The secret of an approved request waits, sealed under the
//! master key, until its owner has seen it once on their page.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 5] = [
    "review",
    "review_reason",
    "reviewed_at",
    "reviewed_by_label",
    "owner_secret_sealed",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let columns = [
            text("review").default("approved").to_owned(),
            text_null("review_reason"),
            big_integer_null("reviewed_at"),
            text_null("reviewed_by_label"),
            text_null("owner_secret_sealed"),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_clients_site_review")
                    .table("clients")
                    .col("site_id")
                    .col("review")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_clients_site_review")
                    .table("clients")
                    .to_owned(),
            )
            .await?;
        for column in COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .drop_column(Alias::new(*column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
