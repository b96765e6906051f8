//! E-mail notifications and reminders (issue 20 items 1 and 6): a site may send its
//! notifications by e-mail too (off until an administrator turns it on); an outbox of messages
//! written in the transaction of the change they announce, sent through the operator's SMTP
//! server with retries, kept as the mail log; and what has been announced already, so each
//! expiry reminder and each "stale client" notice goes out once however many replicas look.
//! Each message names the user it is for, so it is not sent once they are disabled, deleted
//! or purged.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sites")
                    .add_column(boolean("email_notifications").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("client_secrets")
                    .add_column(integer_null("reminded_days"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .add_column(big_integer_null("stale_announced_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mail_deliveries")
                    .col(uuid("id").primary_key())
                    .col(uuid("site_id"))
                    .col(text("recipient"))
                    .col(uuid_null("user_id"))
                    .col(boolean("as_admin").default(false))
                    .col(text("event"))
                    .col(text("subject"))
                    .col(text("body"))
                    .col(big_integer("created_at"))
                    .col(integer("attempts").default(0))
                    .col(big_integer_null("next_attempt_at"))
                    .col(big_integer_null("last_attempt_at"))
                    .col(text_null("last_error"))
                    .col(big_integer_null("sent_at"))
                    .col(big_integer_null("failed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_deliveries_site")
                            .from("mail_deliveries", "site_id")
                            .to("sites", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Secrets that expired before reminders existed are old news: no "expired" notice for
        // them when the server first runs this version.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        manager
            .exec_stmt(
                Query::update()
                    .table("client_secrets")
                    .value("reminded_days", 0)
                    .and_where(Expr::col("valid_until").lte(now))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_mail_deliveries_due", &["next_attempt_at"][..]),
            ("idx_mail_deliveries_site", &["site_id", "created_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("mail_deliveries");
            for col in cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mail_deliveries").to_owned())
            .await?;
        for (table, column) in [
            ("clients", "stale_announced_at"),
            ("client_secrets", "reminded_days"),
            ("sites", "email_notifications"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
