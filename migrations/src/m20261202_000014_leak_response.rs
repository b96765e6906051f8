//! Leak response (issue 20 item 4): a secret reported as leaked is quarantined (retired, and
//! marked so the console says why), and a reported secret is found by its verifier, which
//! needs an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("client_secrets")
                    .add_column(big_integer_null("quarantined_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_client_secrets_verifier")
                    .table("client_secrets")
                    .col("verifier")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_client_secrets_verifier")
                    .table("client_secrets")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("client_secrets")
                    .drop_column("quarantined_at")
                    .to_owned(),
            )
            .await
    }
}
