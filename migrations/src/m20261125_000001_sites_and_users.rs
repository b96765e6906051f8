//! Sites, the people who use the console or authorize clients, and who may do what where.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sites")
                    .col(uuid("id").primary_key())
                    .col(text("name"))
                    .col(text("name_key").unique_key())
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(uuid("id").primary_key())
                    .col(text("username"))
                    .col(text("username_key").unique_key())
                    .col(text("email"))
                    .col(text("password_hash"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer("password_changed_at"))
                    .col(big_integer_null("last_sign_in_at"))
                    .col(big_integer_null("disabled_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("site_memberships")
                    .col(uuid("site_id"))
                    .col(uuid("user_id"))
                    .col(boolean("is_site_admin"))
                    .col(boolean("is_api_user"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("site_id").col("user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_site_memberships_site")
                            .from("site_memberships", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_site_memberships_user")
                            .from("site_memberships", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_site_memberships_user")
                    .table("site_memberships")
                    .col("user_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["site_memberships", "users", "sites"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
