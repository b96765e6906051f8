//! Leak response (issue 20 item 4): someone — a secret scanner, GitHub's secret-scanning
//! partner program, an operator — reports strings found where they should not be. Each
//! candidate's shape (prefix, length, checksum) is checked before any lookup; a live client
//! secret is quarantined at once (its slot retired; a client's other slot keeps working), a
//! live token or code has its grant revoked, and each is audited and raises a console alert.
//! The answer never repeats the candidate.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::{access_token, authorization_code, client, client_secret, refresh_token},
    keys::Keys,
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        secrets, token_families,
    },
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

/// Candidates one report may carry at most.
pub const MAX_CANDIDATES: usize = 100;

/// What became of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakStatus {
    /// A live client secret: its slot is retired now.
    Quarantined,
    /// A live token or code: its grant is revoked now.
    Revoked,
    /// A real credential of this server that no longer works (or a Consumer Key, which is
    /// public): nothing to do.
    Inactive,
    /// Well formed, but not issued by this server (or purged since).
    Unknown,
    /// Not the shape of any Latchkey credential (prefix, length, alphabet or checksum).
    Malformed,
}

impl LeakStatus {
    /// `done` if this report changed something; otherwise the credential was already dead
    /// (or a parallel report got there first).
    fn acted(changed: bool, done: Self) -> Self {
        if changed { done } else { Self::Inactive }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quarantined => "quarantined",
            Self::Revoked => "revoked",
            Self::Inactive => "inactive",
            Self::Unknown => "unknown",
            Self::Malformed => "malformed",
        }
    }
}

/// The answer about one candidate (never the candidate itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakFinding {
    /// What became of it.
    pub status: LeakStatus,
    /// The kind of credential it has the shape of (`client_secret`, `access_token`, …).
    pub kind: Option<&'static str>,
    /// The Consumer Key of the client it belongs to, when it is this server's (public).
    pub client_id: Option<String>,
}

/// Who reported, for the audit log: a label (`github`, `operator`, a scanner's name) and where
/// the finding was (a URL), and the request's address.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    /// Which scanner or person.
    pub label: String,
    /// Where the candidate was found, if said.
    pub url: Option<String>,
    /// The reporting request's address.
    pub address: Option<String>,
}

const KINDS: [(TokenKind, &str); 5] = [
    (TokenKind::ClientSecret, "client_secret"),
    (TokenKind::AccessToken, "access_token"),
    (TokenKind::RefreshToken, "refresh_token"),
    (TokenKind::AuthorizationCode, "authorization_code"),
    (TokenKind::ClientId, "client_id"),
];

/// Handles every candidate of a report, each in its own transaction (one candidate's failure
/// to be found does not undo another's quarantine).
pub async fn report(
    db: &DatabaseConnection,
    keys: &Keys,
    candidates: &[String],
    reporter: &Reporter,
    now: Timestamp,
) -> Result<Vec<LeakFinding>, ServiceError> {
    let mut findings = Vec::with_capacity(candidates.len());
    for candidate in candidates.iter().take(MAX_CANDIDATES) {
        findings.push(one(db, keys, candidate.trim(), reporter, now).await?);
    }
    Ok(findings)
}

async fn one(
    db: &DatabaseConnection,
    keys: &Keys,
    candidate: &str,
    reporter: &Reporter,
    now: Timestamp,
) -> Result<LeakFinding, ServiceError> {
    let Some((kind, name)) = KINDS
        .into_iter()
        .find(|(kind, _)| tokens::is_well_formed(*kind, candidate))
    else {
        return Ok(LeakFinding {
            status: LeakStatus::Malformed,
            kind: None,
            client_id: None,
        });
    };
    let txn = begin_write(db).await?;
    let (status, client) = match kind {
        TokenKind::ClientSecret => quarantine_secret(&txn, keys, candidate, now).await?,
        TokenKind::AccessToken => {
            let row = access_token::Entity::find_by_id(tokens::digest(candidate))
                .one(&txn)
                .await?;
            let live = row
                .as_ref()
                .is_some_and(|t| t.revoked_at.is_none() && t.expires_at > now.unix());
            revoke_grant(
                &txn,
                row.map(|t| (t.client_uuid, Some(t.family_id))),
                live,
                now,
            )
            .await?
        }
        TokenKind::RefreshToken => {
            let row = refresh_token::Entity::find_by_id(tokens::digest(candidate))
                .one(&txn)
                .await?;
            let live = row.as_ref().is_some_and(|t| {
                t.revoked_at.is_none() && t.used_at.is_none() && t.expires_at > now.unix()
            });
            revoke_grant(
                &txn,
                row.map(|t| (t.client_uuid, Some(t.family_id))),
                live,
                now,
            )
            .await?
        }
        TokenKind::AuthorizationCode => spend_code(&txn, candidate, now).await?,
        TokenKind::ClientId => {
            let client = client::Entity::find()
                .filter(client::Column::ClientId.eq(candidate))
                .one(&txn)
                .await?;
            let status = if client.is_some() {
                LeakStatus::Inactive
            } else {
                LeakStatus::Unknown
            };
            (status, client)
        }
    };
    let acted = matches!(status, LeakStatus::Quarantined | LeakStatus::Revoked);
    if let (true, Some(client)) = (acted, &client) {
        record(&txn, keys, client, name, status, reporter, now).await?;
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    Ok(LeakFinding {
        status,
        kind: Some(name),
        client_id: client.map(|c| c.client_id),
    })
}

/// Retires the live slot whose verifier `candidate` matches, marking it quarantined.
async fn quarantine_secret(
    txn: &sea_orm::DatabaseTransaction,
    keys: &Keys,
    candidate: &str,
    now: Timestamp,
) -> Result<(LeakStatus, Option<client::Model>), ServiceError> {
    let Some(slot) = client_secret::Entity::find()
        .filter(client_secret::Column::Verifier.eq(secrets::verifier(keys, candidate)))
        .one(txn)
        .await?
    else {
        return Ok((LeakStatus::Unknown, None));
    };
    let client = client::Entity::find_by_id(slot.client_uuid)
        .one(txn)
        .await?;
    if !slot.is_valid_at(now.unix()) {
        return Ok((LeakStatus::Inactive, client));
    }
    // Conditional: of parallel reports of the same secret, one quarantines it (and audits).
    let retired = client_secret::Entity::update_many()
        .col_expr(client_secret::Column::RetiredAt, Expr::value(now.unix()))
        .col_expr(
            client_secret::Column::QuarantinedAt,
            Expr::value(now.unix()),
        )
        .filter(client_secret::Column::Id.eq(slot.id))
        .filter(client_secret::Column::RetiredAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    Ok((
        LeakStatus::acted(retired > 0, LeakStatus::Quarantined),
        client,
    ))
}

/// Revokes the grant of a live token (`found`: its client and grant).
async fn revoke_grant(
    txn: &sea_orm::DatabaseTransaction,
    found: Option<(Uuid, Option<Uuid>)>,
    live: bool,
    now: Timestamp,
) -> Result<(LeakStatus, Option<client::Model>), ServiceError> {
    let Some((client_uuid, family)) = found else {
        return Ok((LeakStatus::Unknown, None));
    };
    let client = client::Entity::find_by_id(client_uuid).one(txn).await?;
    let revoked = match (live, family) {
        (true, Some(family)) => {
            token_families::revoke_family(txn, family, "reported as leaked", now).await?
        }
        _ => false,
    };
    Ok((LeakStatus::acted(revoked, LeakStatus::Revoked), client))
}

/// Spends an unused code (so it can no longer be exchanged) and revokes any grant made from it.
async fn spend_code(
    txn: &sea_orm::DatabaseTransaction,
    candidate: &str,
    now: Timestamp,
) -> Result<(LeakStatus, Option<client::Model>), ServiceError> {
    let Some(code) = authorization_code::Entity::find_by_id(tokens::digest(candidate))
        .one(txn)
        .await?
    else {
        return Ok((LeakStatus::Unknown, None));
    };
    let client = client::Entity::find_by_id(code.client_uuid)
        .one(txn)
        .await?;
    if code.consumed_at.is_some() || code.expires_at <= now.unix() {
        return Ok((LeakStatus::Inactive, client));
    }
    let spent = authorization_code::Entity::update_many()
        .col_expr(
            authorization_code::Column::ConsumedAt,
            Expr::value(now.unix()),
        )
        .filter(authorization_code::Column::CodeHash.eq(&code.code_hash))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    Ok((LeakStatus::acted(spent > 0, LeakStatus::Revoked), client))
}

/// The audit event and the console alert of a quarantine or revocation.
async fn record(
    txn: &sea_orm::DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    kind: &str,
    status: LeakStatus,
    reporter: &Reporter,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let label = crate::domain::display_excerpt(&reporter.label, 64).unwrap_or_default();
    let url = reporter
        .url
        .as_deref()
        .and_then(|url| crate::domain::display_excerpt(url, 300));
    let done = match status {
        LeakStatus::Quarantined => "the secret was quarantined",
        _ => "its grant was revoked",
    };
    let found_at = url
        .as_deref()
        .map(|url| format!(" (found at {url})"))
        .unwrap_or_default();
    let summary = format!(
        "A {} of \"{}\" was reported leaked by {label}{found_at}: {done}",
        kind.replace('_', " "),
        client.name
    );
    audit::record(
        txn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::CredentialLeaked,
            Actor::anonymous(&format!("leak report: {label}"), reporter.address.clone()),
            summary.clone(),
        )
        .target(Target::client(client))
        .details(json!({"kind": kind, "status": status.as_str(), "reporter": label, "url": url})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        client.site_id,
        AlertKind::CredentialLeaked,
        AlertSubject {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            username: None,
            address: reporter.address.clone(),
        },
        format!("{summary}. Regenerate its secret if its only one was quarantined."),
        now,
    )
    .await
}
