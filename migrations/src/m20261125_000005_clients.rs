//! API clients: the site's scope catalogue, clients (Consumer Key, one redirect URI, owner,
//! status), their allowed scopes, their secret slots (two during a rotation grace period), and
//! the record of every Terms of Use acceptance.

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("site_scopes")
                    .col(uuid("site_id"))
                    .col(text("name"))
                    .col(text("description"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("site_id").col("name"))
                    .foreign_key(&mut cascade(
                        "fk_site_scopes_site",
                        ("site_scopes", "site_id"),
                        ("sites", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        // Every existing site gets the default catalogue.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO site_scopes (site_id, name, description, created_at) \
                 SELECT id, 'profile', 'Read the API user''s profile (username, email, site)', created_at FROM sites",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("clients")
                    .col(uuid("id").primary_key())
                    .col(uuid("site_id"))
                    .col(text("client_id").unique_key())
                    .col(text("name"))
                    .col(text("name_key"))
                    .col(text("description"))
                    .col(text("redirect_uri"))
                    .col(uuid("owner_user_id"))
                    .col(boolean("require_pkce"))
                    .col(big_integer_null("disabled_at"))
                    .col(uuid_null("created_by_user_id"))
                    .col(text("created_by_label"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .col(big_integer_null("last_used_at"))
                    .col(text("terms_version"))
                    .foreign_key(&mut cascade(
                        "fk_clients_site",
                        ("clients", "site_id"),
                        ("sites", "id"),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_clients_owner",
                        ("clients", "owner_user_id"),
                        ("users", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &str, &[&str]); 4] = [
            ("idx_clients_site_name", "clients", &["site_id", "name_key"]),
            (
                "idx_clients_site_created",
                "clients",
                &["site_id", "created_at"],
            ),
            (
                "idx_clients_site_last_used",
                "clients",
                &["site_id", "last_used_at"],
            ),
            ("idx_clients_owner", "clients", &["owner_user_id"]),
        ];
        for (name, table, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("client_scopes")
                    .col(uuid("client_uuid"))
                    .col(text("scope"))
                    .primary_key(Index::create().col("client_uuid").col("scope"))
                    .foreign_key(&mut cascade(
                        "fk_client_scopes_client",
                        ("client_scopes", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("client_secrets")
                    .col(uuid("id").primary_key())
                    .col(uuid("client_uuid"))
                    .col(text("verifier"))
                    .col(text_null("ciphertext"))
                    .col(text("hint"))
                    .col(big_integer("created_at"))
                    .col(text("created_by_label"))
                    .col(big_integer_null("expires_at"))
                    .col(big_integer_null("retired_at"))
                    .col(big_integer_null("last_used_at"))
                    .col(big_integer("use_count"))
                    .foreign_key(&mut cascade(
                        "fk_client_secrets_client",
                        ("client_secrets", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_client_secrets_client")
                    .table("client_secrets")
                    .col("client_uuid")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("terms_acceptances")
                    .col(big_pk_auto("id"))
                    .col(uuid("client_uuid"))
                    .col(text("terms_version"))
                    .col(uuid_null("accepted_by_user_id"))
                    .col(text("accepted_by_label"))
                    .col(big_integer("accepted_at"))
                    .col(text_null("accepted_from"))
                    .foreign_key(&mut cascade(
                        "fk_terms_acceptances_client",
                        ("terms_acceptances", "client_uuid"),
                        ("clients", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_terms_acceptances_client")
                    .table("terms_acceptances")
                    .col("client_uuid")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "terms_acceptances",
            "client_secrets",
            "client_scopes",
            "clients",
            "site_scopes",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
