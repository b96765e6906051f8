//! The API Clients list orders by (sort key, id) for stable pages: indexes that end in `id`
//! let the database walk a page in index order, so a deep page at 10,000 clients neither
//! sorts nor reads the rows it skips.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (old index, new index, sort column).
const SORT_INDEXES: [(Option<&str>, &str, &str); 4] = [
    (
        Some("idx_clients_site_name"),
        "idx_clients_site_name_id",
        "name_key",
    ),
    (
        Some("idx_clients_site_created"),
        "idx_clients_site_created_id",
        "created_at",
    ),
    (
        Some("idx_clients_site_last_used"),
        "idx_clients_site_last_used_id",
        "last_used_at",
    ),
    (None, "idx_clients_site_disabled_id", "disabled_at"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (old, new, column) in SORT_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(new)
                        .table("clients")
                        .col("site_id")
                        .col(column)
                        .col("id")
                        .to_owned(),
                )
                .await?;
            if let Some(old) = old {
                manager
                    .drop_index(Index::drop().name(old).table("clients").to_owned())
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (old, new, column) in SORT_INDEXES {
            if let Some(old) = old {
                manager
                    .create_index(
                        Index::create()
                            .name(old)
                            .table("clients")
                            .col("site_id")
                            .col(column)
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .drop_index(Index::drop().name(new).table("clients").to_owned())
                .await?;
        }
        Ok(())
    }
}
