//! Admin API tokens (issue 22 item 1): named, expiring credentials an administrator creates for
//! automation. `admin_tokens` keeps only the SHA-256 digest of a token; `admin_token_sites` lists
//! the sites a token may reach (never more than its owner administers when it is used);
//! `admin_api_idempotency` remembers the answer to a creation so a retried request with the same
//! `Idempotency-Key` gets that answer again instead of creating a second client.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("admin_tokens")
                    .col(uuid("id").primary_key())
                    .col(uuid("user_id"))
                    .col(text("name"))
                    .col(text("token_digest").unique_key())
                    .col(text("hint"))
                    .col(boolean("can_write"))
                    .col(text("created_by_label"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("last_used_at"))
                    .col(text_null("last_used_from"))
                    .col(big_integer_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_admin_tokens_user")
                            .from("admin_tokens", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_admin_tokens_user")
                    .table("admin_tokens")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("admin_token_sites")
                    .col(uuid("token_id"))
                    .col(uuid("site_id"))
                    .primary_key(Index::create().col("token_id").col("site_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_admin_token_sites_token")
                            .from("admin_token_sites", "token_id")
                            .to("admin_tokens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_admin_token_sites_site")
                            .from("admin_token_sites", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("admin_api_idempotency")
                    .col(uuid("token_id"))
                    .col(text("key"))
                    .col(text("request_digest"))
                    .col(uuid_null("site_id"))
                    .col(integer_null("status"))
                    .col(text_null("body_sealed"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("token_id").col("key"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_admin_api_idempotency_token")
                            .from("admin_api_idempotency", "token_id")
                            .to("admin_tokens", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["admin_api_idempotency", "admin_token_sites", "admin_tokens"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
