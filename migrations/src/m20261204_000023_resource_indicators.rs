//! Resource indicators (issue 19 item 3, RFC 8707): each site lists its resource servers
//! (`site_resources`, URIs as registered); an authorization code remembers the resource it
//! was asked for (`authorization_codes.resource`), a grant the resource it was authorized for
//! (`token_families.resource`), and an access token the audience it is for
//! (`access_tokens.audience`). All nullable: no resource asked for, no audience.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns added, each nullable text.
const COLUMNS: [(&str, &str); 3] = [
    ("authorization_codes", "resource"),
    ("token_families", "resource"),
    ("access_tokens", "audience"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("site_resources")
                    .if_not_exists()
                    .col(uuid("site_id"))
                    .col(text("uri"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("site_id").col("uri"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_site_resources_site")
                            .from("site_resources", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
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
        Ok(())
    }

    /// Refuses while a grant or token is narrowed to a resource: the older code would let
    /// such a token reach every API of its site.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in &COLUMNS[1..] {
            if !manager.has_column(table, column).await? {
                continue;
            }
            let found = manager
                .get_connection()
                .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                    manager.get_database_backend(),
                    format!(
                        "SELECT 1 AS found FROM \"{table}\" WHERE \"{column}\" IS NOT NULL \
                         AND revoked_at IS NULL LIMIT 1"
                    ),
                ))
                .await?;
            if found.is_some() {
                return Err(DbErr::Migration(format!(
                    "{table} has live rows narrowed to a resource server: revoke them (remove \
                     the site's resource servers) before migrating down"
                )));
            }
        }
        for (table, column) in COLUMNS {
            if manager.has_column(table, column).await? {
                manager
                    .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table("site_resources").if_exists().to_owned())
            .await
    }
}
