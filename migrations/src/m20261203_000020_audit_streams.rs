//! Audit streaming (issue 22 item 3): every audit event is written as one JSON line to the
//! operator's log pipeline. `audit_stream_cursors` remembers, per stream and chain, the last
//! position delivered (written and flushed), so delivery resumes there after a restart
//! (at-least-once); `audit_streams` holds the lease that lets one replica at a time write a
//! stream.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_streams")
                    .col(text("name").primary_key())
                    .col(text("holder"))
                    .col(big_integer("lease_until"))
                    .col(big_integer("delivered_at").null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_stream_cursors")
                    .col(text("stream"))
                    .col(text("chain"))
                    .col(big_integer("seq"))
                    .primary_key(Index::create().col("stream").col("chain"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_stream_cursors_stream")
                            .from("audit_stream_cursors", "stream")
                            .to("audit_streams", "name")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_stream_cursors").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("audit_streams").to_owned())
            .await?;
        Ok(())
    }
}
