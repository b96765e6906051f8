//! JWT access tokens (issue 19 item 2, RFC 9068): each site chooses its access token format
//! (`sites.access_token_format`, `opaque` by default), and Latchkey keeps the keys that sign
//! them (`signing_keys`): the private key sealed under the master key, the public key as the
//! JWK that `/.well-known/jwks.json` publishes until every token it signed has expired.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("signing_keys")
                    .if_not_exists()
                    // The key's RFC 7638 thumbprint: the `kid` of the tokens it signs.
                    .col(text("kid").primary_key())
                    .col(text("algorithm"))
                    .col(text("public_jwk"))
                    // PKCS #8, sealed (XChaCha20-Poly1305) under a key derived from the master
                    // key and bound to the kid.
                    .col(text("private_key_sealed"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("retired_at"))
                    // Retired keys stay published until every token they signed has expired.
                    .col(big_integer_null("publish_until"))
                    .to_owned(),
            )
            .await?;
        // Each step is skipped when done: SQLite runs a migration step by step.
        if !manager.has_column("sites", "access_token_format").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("sites")
                        .add_column(text("access_token_format").default("opaque"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    /// Sites go back to opaque tokens; JWTs already issued stop being accepted by Latchkey
    /// (the older code does not know them), which fails closed.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("sites", "access_token_format").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("sites")
                        .drop_column("access_token_format")
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table("signing_keys").if_exists().to_owned())
            .await
    }
}
