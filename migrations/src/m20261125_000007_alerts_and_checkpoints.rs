//! Security alerts shown on the dashboard until acknowledged (refresh-token reuse, bursts of
//! failed client authentication); signed audit checkpoints that keep a pruned chain
//! verifiable; indexes for the audit filters and the active-token count.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("alerts")
                    .col(big_pk_auto("id"))
                    .col(uuid("site_id"))
                    .col(text("kind"))
                    .col(text_null("client_id"))
                    .col(text_null("client_name"))
                    .col(text_null("username"))
                    .col(text_null("address"))
                    .col(text("summary"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("acknowledged_at"))
                    .col(text_null("acknowledged_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_site")
                            .from("alerts", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_checkpoints")
                    .col(big_pk_auto("id"))
                    .col(text("chain"))
                    .col(big_integer("seq"))
                    .col(text("hash"))
                    .col(big_integer("created_at"))
                    .col(text("signature"))
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &str, &[&str]); 4] = [
            (
                "idx_alerts_site_open",
                "alerts",
                &["site_id", "acknowledged_at", "id"],
            ),
            (
                "idx_audit_checkpoints_chain",
                "audit_checkpoints",
                &["chain", "seq"],
            ),
            (
                "idx_audit_site_actor_id",
                "audit_events",
                &["site_id", "actor_id", "id"],
            ),
            (
                "idx_access_tokens_site",
                "access_tokens",
                &["site_id", "expires_at"],
            ),
        ];
        for (name, table, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table));
            for col in cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_audit_site_actor_id", "audit_events"),
            ("idx_access_tokens_site", "access_tokens"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        for table in ["audit_checkpoints", "alerts"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
