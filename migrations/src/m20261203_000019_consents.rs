//! Remembered consent (issue 21 item 4): after an API user authorizes a client, the scopes they
//! granted it are remembered until the site's consent lifetime ends (`sites.consent_lifetime`,
//! seconds; default 90 days; 0: never remember) or they withdraw it, so a later authorization
//! of the same client and scopes completes without the prompt. One row per user and client.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Ninety days, the default consent lifetime.
const DEFAULT_CONSENT_LIFETIME: i64 = 90 * 86_400;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sites")
                    .add_column(big_integer("consent_lifetime").default(DEFAULT_CONSENT_LIFETIME))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("consents")
                    .col(uuid("id").primary_key())
                    .col(uuid("user_id"))
                    .col(uuid("client_uuid"))
                    .col(uuid("site_id"))
                    .col(text("scope"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_user")
                            .from("consents", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_client")
                            .from("consents", "client_uuid")
                            .to("clients", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consents_user_client")
                    .table("consents")
                    .col("user_id")
                    .col("client_uuid")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consents_client")
                    .table("consents")
                    .col("client_uuid")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("consents").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sites")
                    .drop_column("consent_lifetime")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
