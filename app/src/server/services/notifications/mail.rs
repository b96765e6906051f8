//! The e-mail outbox: who is told what by e-mail, and the messages, written in the caller's
//! transaction (the one recording the audit event) when the site has e-mail turned on. The
//! server's mail sender sends them through the operator's SMTP server.
//!
//! Who: the client's owner (for a machine client that belongs to its site, the site's
//! administrators) hears about their client's life and credentials; the site's
//! administrators hear what needs someone to act (expiring or leaked secrets, theft, stale
//! clients). Someone who is both gets one message.

use crate::domain::{Timestamp, display_excerpt};
use crate::server::{
    ServiceError,
    entities::{audit_event as event, client, mail_delivery as mail, site, site_membership, user},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter,
    QuerySelect, RelationTrait,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The event of "Send a test e-mail".
pub const TEST_EVENT: &str = "mail.test";

/// Who is e-mailed about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    /// The owner of the client the event is about.
    pub owner: bool,
    /// The site's active administrators.
    pub admins: bool,
}

/// Who is e-mailed about events of `action` (`None`: nobody; webhooks may still hear of it).
pub fn audience(action: &str) -> Option<Audience> {
    let owner_only = Audience {
        owner: true,
        admins: false,
    };
    let admins_only = Audience {
        owner: false,
        admins: true,
    };
    let everyone = Audience {
        owner: true,
        admins: true,
    };
    match action {
        "client.registered"
        | "client.approved"
        | "client.rejected"
        | "client.disabled"
        | "client.enabled"
        | "client.deleted"
        | "client.restored"
        | "client.secret_rotated" => Some(owner_only),
        "client.secret_expiring"
        | "client.secret_expired"
        | "client.credential_leaked"
        | "client.stale"
        | "oauth.code_reuse_detected"
        | "oauth.refresh_reuse_detected" => Some(everyone),
        "client.requested" => Some(admins_only),
        _ => None,
    }
}

/// Queues the e-mails about `rows` (audit rows of `site`, about to be stored, already
/// filtered to announced ones). Does nothing unless the site has e-mail turned on.
pub async fn announce(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    rows: &[&event::Model],
    now: Timestamp,
) -> Result<(), ServiceError> {
    if !site.email_notifications {
        return Ok(());
    }
    let mut admins: Option<Vec<(Uuid, String)>> = None;
    for row in rows {
        let Some(audience) = audience(&row.action) else {
            continue;
        };
        // Address → (why they receive it, who they are); the first reason wins: owner
        // before administrator.
        let mut recipients: BTreeMap<String, (&'static str, Uuid, bool)> = BTreeMap::new();
        let (mut to_admins, mut admins_why) = (audience.admins, "you administer this site");
        if audience.owner {
            match client_owner(conn, site.id, row).await? {
                ClientOwner::Person(Some((user_id, address))) => {
                    recipients.insert(address, ("you own this API client", user_id, false));
                }
                // A machine client that belongs to its site: its administrators stand in.
                ClientOwner::Site => {
                    to_admins = true;
                    admins_why = "this API client belongs to a site you administer";
                }
                ClientOwner::Person(None) | ClientOwner::NotAClient => {}
            }
        }
        if to_admins {
            if admins.is_none() {
                admins = Some(admin_addresses(conn, site.id).await?);
            }
            for (user_id, address) in admins.iter().flatten() {
                recipients
                    .entry(address.clone())
                    .or_insert((admins_why, *user_id, true));
            }
        }
        for (address, (why, user_id, as_admin)) in recipients {
            if is_alarm(&row.action)
                && told_recently(conn, site.id, &address, &row.action, now).await?
            {
                continue;
            }
            let message = Message {
                site_id: site.id,
                recipient: &address,
                user_id: Some(user_id),
                as_admin,
                event: &row.action,
                subject: &subject_of(site, &row.summary),
                body: &body_of(site, row, why),
            };
            queue(conn, message, now).await?;
        }
    }
    Ok(())
}

/// Alarms anyone who holds a client's credentials can raise again and again (replaying one
/// authorization code, say): each address hears of one at most once an hour per site; the
/// audit log and the alerts still count every one.
fn is_alarm(action: &str) -> bool {
    matches!(
        action,
        "oauth.code_reuse_detected" | "oauth.refresh_reuse_detected"
    )
}

/// Seconds within which an address is told of an alarm once.
const ALARM_QUIET_SECONDS: i64 = 3_600;

/// True if `address` was sent (or is about to be sent) `event` of `site_id` within
/// [`ALARM_QUIET_SECONDS`].
async fn told_recently(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    address: &str,
    event: &str,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    Ok(mail::Entity::find()
        .filter(mail::Column::SiteId.eq(site_id))
        .filter(mail::Column::Recipient.eq(address))
        .filter(mail::Column::Event.eq(event))
        .filter(mail::Column::CreatedAt.gt(now.unix() - ALARM_QUIET_SECONDS))
        .one(conn)
        .await?
        .is_some())
}

/// Queues the test message to `address` (the address of `user_id`).
pub async fn queue_test(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    user_id: Uuid,
    address: &str,
    requested_by: &str,
    now: Timestamp,
) -> Result<Uuid, ServiceError> {
    let summary = format!("Test e-mail sent by {requested_by}");
    let body = format!(
        "{summary}.\n\nSite: {}\n\nThe site \"{}\" sends its notifications by e-mail, and they \
         reach this address.\n",
        clean(&site.name),
        clean(&site.name)
    );
    let message = Message {
        site_id: site.id,
        recipient: address,
        user_id: Some(user_id),
        as_admin: true,
        event: TEST_EVENT,
        subject: &subject_of(site, &summary),
        body: &body,
    };
    queue(conn, message, now).await
}

/// The subject: the site and the event's sentence, one line, at most 150 characters.
fn subject_of(site: &site::Model, summary: &str) -> String {
    clean(&format!("{}: {summary}", site.name))
        .chars()
        .take(150)
        .collect()
}

/// The plain-text body: what happened, where, when, by whom, and why this address hears it.
fn body_of(site: &site::Model, row: &event::Model, why: &str) -> String {
    let mut body = format!(
        "{}\n\nSite: {}\nEvent: {}\nWhen: {}\nBy: {}\n",
        clean(&row.summary),
        clean(&site.name),
        row.action,
        Timestamp(row.occurred_at).format_rfc3339(),
        clean(&row.actor_label),
    );
    if row.target_kind.as_deref() == Some("client") {
        body.push_str(&format!(
            "API client: {} (Consumer Key {})\n",
            clean(row.target_label.as_deref().unwrap_or_default()),
            clean(row.target_id.as_deref().unwrap_or_default()),
        ));
    }
    body.push_str(&format!("\nYou receive this because {why}.\n"));
    body
}

/// `text` on one line: control, invisible and bidirectional characters dropped, line and
/// paragraph separators and other runs of white space folded to one space, so a name can
/// neither start a header nor fake a line of the message.
fn clean(text: &str) -> String {
    display_excerpt(text, 500).unwrap_or_default()
}

/// Who owns the client an event is about.
enum ClientOwner {
    /// An API user: their id and address, if they are active and have one.
    Person(Option<(Uuid, String)>),
    /// Nobody: a machine client that belongs to its site.
    Site,
    /// The event is not about a client of this site.
    NotAClient,
}

/// Who owns the client `row` is about, if it is one of `site_id`'s.
async fn client_owner(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    row: &event::Model,
) -> Result<ClientOwner, ServiceError> {
    if row.target_kind.as_deref() != Some("client") {
        return Ok(ClientOwner::NotAClient);
    }
    let Some(client_id) = row.target_id.as_deref() else {
        return Ok(ClientOwner::NotAClient);
    };
    let found = client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .filter(client::Column::SiteId.eq(site_id))
        .find_also_related(user::Entity)
        .one(conn)
        .await?;
    Ok(match found {
        None => ClientOwner::NotAClient,
        Some((client, _)) if client.owner_user_id.is_none() => ClientOwner::Site,
        Some((_, owner)) => ClientOwner::Person(
            owner
                .filter(|owner| owner.is_active() && !owner.email.trim().is_empty())
                .map(|owner| (owner.id, owner.email)),
        ),
    })
}

/// The site's active administrators (id and address).
async fn admin_addresses(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
) -> Result<Vec<(Uuid, String)>, ServiceError> {
    let addresses: Vec<(Uuid, String)> = site_membership::Entity::find()
        .join(JoinType::InnerJoin, site_membership::Relation::User.def())
        .filter(site_membership::Column::SiteId.eq(site_id))
        .filter(site_membership::Column::IsSiteAdmin.eq(true))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::DeletedAt.is_null())
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(addresses
        .into_iter()
        .filter(|(_, address)| !address.trim().is_empty())
        .collect())
}

/// One message to queue.
struct Message<'a> {
    site_id: Uuid,
    recipient: &'a str,
    user_id: Option<Uuid>,
    as_admin: bool,
    event: &'a str,
    subject: &'a str,
    body: &'a str,
}

/// Inserts one message, due now.
async fn queue(
    conn: &impl ConnectionTrait,
    message: Message<'_>,
    now: Timestamp,
) -> Result<Uuid, ServiceError> {
    let id = Uuid::now_v7();
    mail::Entity::insert(mail::ActiveModel {
        id: Set(id),
        site_id: Set(message.site_id),
        recipient: Set(message.recipient.to_owned()),
        user_id: Set(message.user_id),
        as_admin: Set(message.as_admin),
        event: Set(message.event.to_owned()),
        subject: Set(message.subject.to_owned()),
        body: Set(message.body.to_owned()),
        created_at: Set(now.unix()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now.unix())),
        last_attempt_at: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_hear_of_their_clients_and_administrators_of_what_needs_action() {
        let rotated = audience("client.secret_rotated").unwrap();
        assert!(rotated.owner && !rotated.admins);
        let leaked = audience("client.credential_leaked").unwrap();
        assert!(leaked.owner && leaked.admins);
        assert!(audience("client.secret_expiring").unwrap().admins);
        assert_eq!(audience("admin.signed_in"), None);
        assert_eq!(audience("client.purged"), None);
    }

    #[test]
    fn a_name_cannot_fake_a_line() {
        assert_eq!(
            clean("App\u{2028}Password reset: evil.example"),
            "App Password reset: evil.example"
        );
        assert_eq!(clean("Re\u{202E}kcaB\u{0085}x"), "RekcaBx");
    }

    #[test]
    fn a_name_cannot_break_the_subject_line() {
        let site = site::Model {
            id: Uuid::nil(),
            name: "Acme\r\nBcc: victim@example.com".into(),
            name_key: "acme".into(),
            created_at: 0,
            updated_at: 0,
            secret_lifetime: None,
            email_notifications: true,
            consent_lifetime: 0,
            access_token_format: "opaque".into(),
        };
        let subject = subject_of(&site, &"x".repeat(400));
        assert!(!subject.contains('\n') && !subject.contains('\r'));
        assert_eq!(subject.chars().count(), 150);
    }
}
