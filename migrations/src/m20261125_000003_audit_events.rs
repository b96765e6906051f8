//! The audit log: append-only events, hash-chained per site (`audit_chain_heads` holds the
//! newest link of each chain, so appending never scans the log and concurrent writers of one
//! chain serialise on one row).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .col(big_pk_auto("id"))
                    .col(text("chain"))
                    .col(big_integer("seq"))
                    .col(uuid_null("site_id"))
                    .col(big_integer("occurred_at"))
                    .col(text("action"))
                    .col(text("actor_kind"))
                    .col(text_null("actor_id"))
                    .col(text("actor_label"))
                    .col(text_null("target_kind"))
                    .col(text_null("target_id"))
                    .col(text_null("target_label"))
                    .col(text_null("client_address"))
                    .col(text("summary"))
                    .col(text("details"))
                    .col(text("prev_hash"))
                    .col(text("hash"))
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &[&str]); 6] = [
            ("idx_audit_chain_seq", &["chain", "seq"]),
            ("idx_audit_site_id", &["site_id", "id"]),
            ("idx_audit_site_action", &["site_id", "action", "id"]),
            ("idx_audit_site_actor", &["site_id", "actor_label", "id"]),
            ("idx_audit_site_target", &["site_id", "target_id", "id"]),
            ("idx_audit_site_time", &["site_id", "occurred_at"]),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table("audit_events");
            for col in cols {
                index.col(*col);
            }
            if name == "idx_audit_chain_seq" {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("audit_chain_heads")
                    .col(text("chain").primary_key())
                    .col(big_integer("seq"))
                    .col(text("hash"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_chain_heads", "audit_events"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
