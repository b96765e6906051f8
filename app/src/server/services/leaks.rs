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
        admin_tokens,
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

impl Act {
    /// What was done, for the audit event and the alert.
    fn words(&self) -> &'static str {
        match self {
            Self::Quarantine(_) => "the secret was quarantined",
            Self::RevokeGrant(_) => "its grant was revoked",
            Self::RevokeAccessToken(_) => "the token was revoked",
            Self::DropCode(_) => "the code was discarded",
        }
    }
}

impl LeakStatus {
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

impl LeakFinding {
    /// The answer's entry for this candidate, as `POST /oauth/leaks` and `latchkey leak
    /// report` print it: `{"status", "type", "client_id"}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({"status": self.status.as_str(), "type": self.kind, "client_id": self.client_id})
    }
}

/// Who reported, for the audit log: a label (`github (content)`, `operator`, a scanner's
/// name), the request's address, and whether the report's origin is established (signed by a
/// configured key, or the operator's command), which decides how much a leaked access token
/// takes down with it.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    /// Which scanner or person.
    pub label: String,
    /// The reporting request's address.
    pub address: Option<String>,
    /// Signed, or from the command line.
    pub trusted: bool,
}

/// One reported string and where it was found (a URL), if said.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// The string.
    pub token: String,
    /// Where it was found.
    pub url: Option<String>,
    /// What kind of place, as the scanner says (GitHub: `content`, `commit`, …).
    pub source: Option<String>,
}

const KINDS: [(TokenKind, &str); 5] = [
    (TokenKind::ClientSecret, "client_secret"),
    (TokenKind::AccessToken, "access_token"),
    (TokenKind::RefreshToken, "refresh_token"),
    (TokenKind::AuthorizationCode, "authorization_code"),
    (TokenKind::ClientId, "client_id"),
];

/// What a live credential's report changes, decided from a read.
#[derive(Debug, Clone)]
enum Act {
    /// Retire this secret slot, marked quarantined.
    Quarantine(Uuid),
    /// Revoke this grant.
    RevokeGrant(Uuid),
    /// Revoke only this access token (its digest).
    RevokeAccessToken(String),
    /// Delete this unused code (its digest), so it can never be exchanged.
    DropCode(String),
}

/// Handles every candidate of a report. Each is looked up on the read pool first; only a live
/// credential takes a write transaction (its own: one candidate's failure does not undo
/// another's quarantine), so a report of made-up strings — whose checksums anyone can compute —
/// never queues on the database's writer.
pub async fn report(
    db: &DatabaseConnection,
    keys: &Keys,
    candidates: &[Candidate],
    reporter: &Reporter,
    now: Timestamp,
) -> Result<Vec<LeakFinding>, ServiceError> {
    let mut findings = Vec::with_capacity(candidates.len());
    for candidate in candidates.iter().take(MAX_CANDIDATES) {
        findings.push(one(db, keys, candidate, reporter, now).await?);
    }
    Ok(findings)
}

async fn one(
    db: &DatabaseConnection,
    keys: &Keys,
    candidate: &Candidate,
    reporter: &Reporter,
    now: Timestamp,
) -> Result<LeakFinding, ServiceError> {
    let token = candidate.token.trim();
    if tokens::is_well_formed(TokenKind::AdminToken, token) {
        let reporter_actor = Actor::anonymous(
            &format!("leak report: {}", reporter.label),
            reporter.address.clone(),
        );
        let status =
            match admin_tokens::revoke_reported(db, keys, token, reporter_actor, now).await? {
                None => LeakStatus::Unknown,
                Some(true) => LeakStatus::Revoked,
                Some(false) => LeakStatus::Inactive,
            };
        return Ok(LeakFinding {
            status,
            kind: Some("admin_token"),
            client_id: None,
        });
    }
    let Some((kind, name)) = KINDS
        .into_iter()
        .find(|(kind, _)| tokens::is_well_formed(*kind, token))
    else {
        return Ok(LeakFinding {
            status: LeakStatus::Malformed,
            kind: None,
            client_id: None,
        });
    };
    let (found, act) = look_up(db, keys, kind, token, reporter.trusted, now).await?;
    let Some(client) = found else {
        return Ok(LeakFinding {
            status: LeakStatus::Unknown,
            kind: Some(name),
            client_id: None,
        });
    };
    let status = match act {
        None => LeakStatus::Inactive,
        Some(act) => {
            let txn = begin_write(db).await?;
            let done = if matches!(act, Act::Quarantine(_)) {
                LeakStatus::Quarantined
            } else {
                LeakStatus::Revoked
            };
            if perform(&txn, &act, now).await? {
                record(&txn, keys, &client, name, &act, reporter, candidate, now).await?;
                txn.commit().await?;
                done
            } else {
                // A parallel report (or a rotation, a revocation) got there first.
                txn.rollback().await?;
                LeakStatus::Inactive
            }
        }
    };
    Ok(LeakFinding {
        status,
        kind: Some(name),
        client_id: Some(client.client_id),
    })
}

/// The client `token` belongs to (`None`: not this server's) and what its report changes
/// (`None`: nothing, it no longer works or is public).
async fn look_up(
    db: &DatabaseConnection,
    keys: &Keys,
    kind: TokenKind,
    token: &str,
    trusted: bool,
    now: Timestamp,
) -> Result<(Option<client::Model>, Option<Act>), ServiceError> {
    let (client_uuid, act) = match kind {
        TokenKind::ClientSecret => {
            let Some(slot) = client_secret::Entity::find()
                .filter(client_secret::Column::Verifier.eq(secrets::verifier(keys, token)))
                .one(db)
                .await?
            else {
                return Ok((None, None));
            };
            let act = slot
                .is_valid_at(now.unix())
                .then_some(Act::Quarantine(slot.id));
            (slot.client_uuid, act)
        }
        TokenKind::AccessToken => {
            let digest = tokens::digest(token);
            let Some(row) = access_token::Entity::find_by_id(digest.clone())
                .one(db)
                .await?
            else {
                return Ok((None, None));
            };
            let live = row.revoked_at.is_none() && row.expires_at > now.unix();
            // Resource servers, proxies and logs see access tokens: an unproven report takes
            // down only the token, a signed or operator's report the whole grant.
            let act = if trusted {
                Act::RevokeGrant(row.family_id)
            } else {
                Act::RevokeAccessToken(digest)
            };
            let act = live.then_some(act);
            (row.client_uuid, act)
        }
        TokenKind::RefreshToken => {
            let Some(row) = refresh_token::Entity::find_by_id(tokens::digest(token))
                .one(db)
                .await?
            else {
                return Ok((None, None));
            };
            // Whoever holds a live refresh token can already have the grant revoked (by
            // using it twice), so a report of one revokes the grant.
            let live =
                row.revoked_at.is_none() && row.used_at.is_none() && row.expires_at > now.unix();
            (
                row.client_uuid,
                live.then_some(Act::RevokeGrant(row.family_id)),
            )
        }
        TokenKind::AuthorizationCode => {
            let Some(code) = authorization_code::Entity::find_by_id(tokens::digest(token))
                .one(db)
                .await?
            else {
                return Ok((None, None));
            };
            let live = code.consumed_at.is_none() && code.expires_at > now.unix();
            (
                code.client_uuid,
                live.then_some(Act::DropCode(code.code_hash)),
            )
        }
        // Not in `KINDS`: an admin token belongs to no client (`one` revokes it directly).
        TokenKind::AdminToken => return Ok((None, None)),
        TokenKind::ClientId => {
            let client = client::Entity::find()
                .filter(client::Column::ClientId.eq(token))
                .one(db)
                .await?;
            return Ok((client, None));
        }
    };
    let client = client::Entity::find_by_id(client_uuid).one(db).await?;
    Ok((client, act))
}

/// Makes the change; false when it was already made (every update is conditional).
async fn perform(
    txn: &sea_orm::DatabaseTransaction,
    act: &Act,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let changed = match act {
        Act::Quarantine(slot_id) => {
            client_secret::Entity::update_many()
                .col_expr(client_secret::Column::RetiredAt, Expr::value(now.unix()))
                .col_expr(
                    client_secret::Column::QuarantinedAt,
                    Expr::value(now.unix()),
                )
                .filter(client_secret::Column::Id.eq(*slot_id))
                .filter(client_secret::Column::RetiredAt.is_null())
                .exec(txn)
                .await?
                .rows_affected
        }
        Act::RevokeGrant(family_id) => u64::from(
            token_families::revoke_family(txn, *family_id, "reported as leaked", now).await?,
        ),
        Act::RevokeAccessToken(digest) => {
            access_token::Entity::update_many()
                .col_expr(access_token::Column::RevokedAt, Expr::value(now.unix()))
                .filter(access_token::Column::TokenHash.eq(digest))
                .filter(access_token::Column::RevokedAt.is_null())
                .exec(txn)
                .await?
                .rows_affected
        }
        // Deleted, not spent: its client's later exchange then reads as an unknown code, not
        // as the reuse of a stolen one.
        Act::DropCode(digest) => {
            authorization_code::Entity::delete_many()
                .filter(authorization_code::Column::CodeHash.eq(digest))
                .filter(authorization_code::Column::ConsumedAt.is_null())
                .exec(txn)
                .await?
                .rows_affected
        }
    };
    Ok(changed > 0)
}

/// The audit event and the console alert of a quarantine or revocation.
#[allow(clippy::too_many_arguments)]
async fn record(
    txn: &sea_orm::DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    kind: &str,
    act: &Act,
    reporter: &Reporter,
    candidate: &Candidate,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let label = match &candidate.source {
        Some(source) => format!("{} ({source})", reporter.label),
        None => reporter.label.clone(),
    };
    let label = crate::domain::display_excerpt(&label, 64).unwrap_or_default();
    let url = candidate
        .url
        .as_deref()
        .and_then(|url| crate::domain::display_excerpt(url, 300));
    let done = act.words();
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
        .details(json!({"kind": kind, "done": done, "reporter": label, "trusted": reporter.trusted, "url": url})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        client.site_id,
        // Its own kind for a quarantine: an open alert about a revoked token of the same
        // client must not hide that the client lost a secret.
        if matches!(act, Act::Quarantine(_)) {
            AlertKind::SecretQuarantined
        } else {
            AlertKind::CredentialLeaked
        },
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
