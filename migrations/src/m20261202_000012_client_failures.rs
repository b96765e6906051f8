//! The failure timeline of each client (issue 20 item 3): why its recent requests were
//! refused, with counts per reason. Coalesced in memory (identical failures within a flush are
//! one row with a count), capped per client, pruned with the audit retention.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("client_failures")
                    .col(big_pk_auto("id"))
                    .col(uuid("client_uuid"))
                    .col(uuid("site_id"))
                    .col(big_integer("first_at"))
                    .col(big_integer("last_at"))
                    .col(big_integer("count"))
                    .col(text("reason"))
                    .col(text("error_code"))
                    .col(text("detail"))
                    .col(text_null("address"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_client_failures_client")
                            .from("client_failures", "client_uuid")
                            .to("clients", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_client_failures_client", &["client_uuid", "id"][..]),
            ("idx_client_failures_last_at", &["last_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("client_failures");
            for col in cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("client_failures").to_owned())
            .await
    }
}
