//! `mail_deliveries`: the outbox and log of notification e-mails — one message to one
//! address, written with the change it announces, then sent through the operator's SMTP server,
//! retried with backoff, and kept.

use sea_orm::entity::prelude::*;

/// A row of `mail_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub site_id: Uuid,
    /// The address it goes to.
    pub recipient: String,
    /// The user it is for (`None`: an address of no user); a message for a user no longer
    /// active is not sent.
    pub user_id: Option<Uuid>,
    /// The user receives it as one of the site's administrators: withdrawn if they no longer
    /// are one when it is sent.
    pub as_admin: bool,
    /// The event type (an audit action, or `mail.test`).
    pub event: String,
    /// The subject line, without the "[Latchkey]" prefix the sender adds.
    pub subject: String,
    /// The plain-text body, without the footer the sender adds.
    pub body: String,
    pub created_at: i64,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (or, while one is in flight, when its claim lapses);
    /// `None` once sent or given up.
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// Why the last attempt failed, if it did: the SMTP server's answer in a few words.
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    /// Set when the attempts ran out, or the server refused the address for good.
    pub failed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
