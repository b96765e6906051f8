//! The authorization server's grants: single-use authorization codes, token families (one per
//! authorization, the unit of revocation), access tokens and rotating refresh tokens. Only
//! SHA-256 hashes of codes and tokens are stored.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(
    name: &str,
    from: (&'static str, &'static str),
    to: (&'static str, &'static str),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    cols: &[&str],
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for col in cols {
        index.col(Alias::new(*col));
    }
    manager.create_index(index.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("token_families")
                    .col(uuid("id").primary_key())
                    .col(uuid("client_uuid"))
                    .col(uuid("user_id"))
                    .col(uuid("site_id"))
                    .col(text("scope"))
                    .col(text_null("code_hash"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("revoked_at"))
                    .col(text_null("revoked_reason"))
                    .foreign_key(&mut cascade(
                        "fk_token_families_client",
                        ("token_families", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_token_families_user",
                        ("token_families", "user_id"),
                        ("users", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_token_families_client",
            "token_families",
            &["client_uuid", "revoked_at"],
        )
        .await?;
        index(
            manager,
            "idx_token_families_user",
            "token_families",
            &["user_id"],
        )
        .await?;
        index(
            manager,
            "idx_token_families_code",
            "token_families",
            &["code_hash"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("authorization_codes")
                    .col(text("code_hash").primary_key())
                    .col(uuid("client_uuid"))
                    .col(uuid("user_id"))
                    .col(uuid("site_id"))
                    .col(text("redirect_uri"))
                    .col(text("scope"))
                    .col(text_null("code_challenge"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("consumed_at"))
                    .foreign_key(&mut cascade(
                        "fk_authorization_codes_client",
                        ("authorization_codes", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_authorization_codes_user",
                        ("authorization_codes", "user_id"),
                        ("users", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_authorization_codes_expires",
            "authorization_codes",
            &["expires_at"],
        )
        .await?;

        for (table, extra) in [("access_tokens", None), ("refresh_tokens", Some("used_at"))] {
            let mut create = Table::create();
            create
                .table(table)
                .col(text("token_hash").primary_key())
                .col(uuid("family_id"))
                .col(uuid("client_uuid"))
                .col(uuid("user_id"))
                .col(uuid("site_id"))
                .col(text("scope"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("revoked_at"));
            if let Some(column) = extra {
                create.col(big_integer_null(column));
            }
            create.foreign_key(&mut cascade(
                &format!("fk_{table}_family"),
                (
                    if table == "access_tokens" {
                        "access_tokens"
                    } else {
                        "refresh_tokens"
                    },
                    "family_id",
                ),
                ("token_families", "id"),
            ));
            manager.create_table(create.to_owned()).await?;
            index(
                manager,
                &format!("idx_{table}_family"),
                table,
                &["family_id"],
            )
            .await?;
            index(
                manager,
                &format!("idx_{table}_client"),
                table,
                &["client_uuid", "expires_at"],
            )
            .await?;
            index(
                manager,
                &format!("idx_{table}_expires"),
                table,
                &["expires_at"],
            )
            .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("usage_daily")
                    .col(uuid("client_uuid"))
                    .col(big_integer("day"))
                    .col(uuid("site_id"))
                    .col(big_integer("tokens_issued"))
                    .primary_key(Index::create().col("client_uuid").col("day"))
                    .foreign_key(&mut cascade(
                        "fk_usage_daily_client",
                        ("usage_daily", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_usage_daily_site_day",
            "usage_daily",
            &["site_id", "day"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "usage_daily",
            "refresh_tokens",
            "access_tokens",
            "authorization_codes",
            "token_families",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
