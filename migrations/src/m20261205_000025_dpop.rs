//! DPoP (issue 19 item 4, RFC 9449): sender-constrained tokens. A code asked for with
//! `dpop_jkt` keeps the key it may be exchanged with (`authorization_codes.dpop_jkt`); a grant
//! bound to a key keeps
//! its thumbprint (`token_families.dpop_jkt`), so its refresh tokens stay bound; each access
//! token keeps the thumbprint it is bound to (`access_tokens.dpop_jkt`); a client may be made
//! to always use DPoP (`clients.require_dpop`); and every proof accepted is remembered until it
//! is too old to be accepted again (`dpop_proofs`), in the database so that replicas share it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns added, as (table, column).
const COLUMNS: [(&str, &str); 3] = [
    ("authorization_codes", "dpop_jkt"),
    ("token_families", "dpop_jkt"),
    ("access_tokens", "dpop_jkt"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Each step is skipped when done: SQLite runs a migration step by step.
        for (table, column) in COLUMNS {
            if !manager.has_column(table, column).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table)
                            .add_column(text_null(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        if !manager.has_column("clients", "require_dpop").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .add_column(boolean("require_dpop").default(false))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("dpop_proofs")
                    .if_not_exists()
                    // SHA-256 of the proof's key thumbprint and its `jti`.
                    .col(text("proof_hash").primary_key())
                    // After this, the proof's `iat` is too old for it to be accepted anyway.
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dpop_proofs_expires_at")
                    .table("dpop_proofs")
                    .col("expires_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    /// Bound tokens become bearer tokens again under the older code: it does not know the
    /// binding. Revoke DPoP-bound grants before going back if that matters.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("dpop_proofs").if_exists().to_owned())
            .await?;
        if manager.has_column("clients", "require_dpop").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .drop_column("require_dpop")
                        .to_owned(),
                )
                .await?;
        }
        for (table, column) in COLUMNS {
            if manager.has_column(table, column).await? {
                manager
                    .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}
