//! Secrets that expire (issue 20 item 1): each site may set a lifetime for new secrets, and a
//! secret slot keeps its own end of validity, apart from the end of a replaced secret's grace
//! period (`expires_at`), so the console can tell "expired" from "replaced".

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sites")
                    .add_column(big_integer_null("secret_lifetime"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("client_secrets")
                    .add_column(big_integer_null("valid_until"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_client_secrets_valid_until")
                    .table("client_secrets")
                    .col("valid_until")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_client_secrets_valid_until")
                    .table("client_secrets")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("client_secrets")
                    .drop_column("valid_until")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sites")
                    .drop_column("secret_lifetime")
                    .to_owned(),
            )
            .await
    }
}
