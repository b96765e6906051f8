//! Two columns for issue 17 ("trust holes"):
//! - `users.session_generation`: a counter that every password reset or change, and "sign out
//!   everywhere", moves on. A console session remembers the generation it started in and ends
//!   when the user's has moved on, on every replica at once.
//! - `audit_chain_heads.signature`: an HMAC (audit key, never in the database) of the head's
//!   chain, position and hash, so rewriting the head row alone is detected.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(big_integer("session_generation").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_chain_heads")
                    .add_column(text_null("signature"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("audit_chain_heads")
                    .drop_column("signature")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("session_generation")
                    .to_owned(),
            )
            .await
    }
}
