//! Signed webhooks (issue 20 item 6): a site's endpoints, each with a signing secret kept
//! encrypted under the master key, and an outbox of deliveries written in the transaction of
//! the audited change they announce, retried with backoff, kept as the delivery log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(uuid("id").primary_key())
                    .col(uuid("site_id"))
                    .col(text("url"))
                    .col(text("secret_sealed"))
                    .col(text("secret_hint"))
                    .col(text("created_by_label"))
                    .col(big_integer("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhooks_site")
                            .from("webhooks", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(uuid("id").primary_key())
                    .col(uuid("webhook_id"))
                    .col(uuid("site_id"))
                    .col(text("event"))
                    .col(text("payload"))
                    .col(big_integer("created_at"))
                    .col(integer("attempts").default(0))
                    .col(big_integer_null("next_attempt_at"))
                    .col(big_integer_null("last_attempt_at"))
                    .col(integer_null("last_status"))
                    .col(text_null("last_error"))
                    .col(big_integer_null("delivered_at"))
                    .col(big_integer_null("failed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook")
                            .from("webhook_deliveries", "webhook_id")
                            .to("webhooks", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhooks_site_url")
                    .table("webhooks")
                    .col("site_id")
                    .col("url")
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, table, cols) in [
            (
                "idx_webhook_deliveries_due",
                "webhook_deliveries",
                &["next_attempt_at"][..],
            ),
            (
                "idx_webhook_deliveries_site",
                "webhook_deliveries",
                &["site_id", "created_at"][..],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("webhook_deliveries").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("webhooks").to_owned())
            .await
    }
}
