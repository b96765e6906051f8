//! The audit log: every administrator action and token event, append-only and tamper-evident.
//!
//! Events form one hash chain per site (`site:<uuid>`; events with no site use `global`):
//! `hash = SHA-256(prev_hash "\n" canonical-json(event))`. Appending advances the chain head
//! row first, which serialises writers of one chain (a row lock on PostgreSQL, the write lock
//! on SQLite) and makes a fork impossible (`(chain, seq)` is also unique). This module offers
//! no update or delete: the only way to change the log is to append to it.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{hex, sha256},
    db::{batch, execute_all},
    entities::{audit_chain_head as head, audit_event as event},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;
use uuid::Uuid;

/// The `prev_hash` of the first event of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. The string form is stored and filtered on; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The first site and administrator were created on first run.
    SetupCompleted,
    /// An administrator signed in to the console.
    SignedIn,
    /// A console sign-in failed (wrong password, disabled, not an administrator, throttled).
    SignInFailed,
    /// An administrator signed out.
    SignedOut,
    /// A site was created.
    SiteCreated,
    /// A site was renamed.
    SiteRenamed,
    /// A user was created.
    UserCreated,
    /// A user's email address changed.
    UserEmailChanged,
    /// A user's roles on a site changed (granted, changed or removed).
    UserRolesChanged,
    /// An administrator set a new password for a user.
    UserPasswordReset,
    /// A user was disabled.
    UserDisabled,
    /// A disabled user was enabled again.
    UserEnabled,
    /// A user was deleted.
    UserDeleted,
    /// An administrator confirmed their password (for an action needing a recent sign-in).
    Reauthenticated,
    /// A scope was added to a site's catalogue.
    ScopeAdded,
    /// A scope was removed from a site's catalogue.
    ScopeRemoved,
    /// An API client was registered.
    ClientRegistered,
    /// The Terms of Use were accepted for a client.
    TermsAccepted,
    /// A client's name, description, redirect URI, scopes or PKCE setting changed.
    ClientUpdated,
    /// A client was disabled.
    ClientDisabled,
    /// A client was enabled again.
    ClientEnabled,
    /// A client was deleted.
    ClientDeleted,
    /// A client secret was revealed to an administrator.
    SecretRevealed,
    /// A client's secret was regenerated.
    SecretRotated,
    /// An old client secret was retired.
    SecretRetired,
    /// Tokens were revoked by an administrator (one grant, or all of a client's).
    TokensRevoked,
    /// An API user authorized a client: an authorization code was issued.
    CodeIssued,
    /// An API user (or someone at the prompt) denied an authorization request.
    AuthorizationDenied,
    /// Wrong credentials, or an account that may not authorize, at the authorization prompt.
    AuthorizationFailed,
    /// Tokens were issued for an authorization code.
    TokenIssued,
    /// A refresh token was exchanged for new tokens.
    TokenRefreshed,
    /// A client revoked one of its tokens (RFC 7009).
    TokenRevoked,
    /// An authorization code was presented again: its tokens were revoked.
    CodeReuseDetected,
    /// A used refresh token was presented again (possible theft): the grant was revoked.
    RefreshReuseDetected,
    /// Client authentication failed (counted, logged at most once a minute per client).
    ClientAuthFailed,
    /// An administrator acknowledged a security alert.
    AlertAcknowledged,
    /// Old audit events were pruned (a signed checkpoint keeps the chain verifiable).
    AuditPruned,
    /// An administrator exported the Audit Log as CSV.
    AuditExported,
}

impl Action {
    /// Every action, for filters and documentation.
    pub const ALL: &'static [Action] = &[
        Self::SetupCompleted,
        Self::SignedIn,
        Self::SignInFailed,
        Self::SignedOut,
        Self::SiteCreated,
        Self::SiteRenamed,
        Self::UserCreated,
        Self::UserEmailChanged,
        Self::UserRolesChanged,
        Self::UserPasswordReset,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::UserDeleted,
        Self::Reauthenticated,
        Self::ScopeAdded,
        Self::ScopeRemoved,
        Self::ClientRegistered,
        Self::TermsAccepted,
        Self::ClientUpdated,
        Self::ClientDisabled,
        Self::ClientEnabled,
        Self::ClientDeleted,
        Self::SecretRevealed,
        Self::SecretRotated,
        Self::SecretRetired,
        Self::TokensRevoked,
        Self::CodeIssued,
        Self::AuthorizationDenied,
        Self::AuthorizationFailed,
        Self::TokenIssued,
        Self::TokenRefreshed,
        Self::TokenRevoked,
        Self::CodeReuseDetected,
        Self::RefreshReuseDetected,
        Self::ClientAuthFailed,
        Self::AlertAcknowledged,
        Self::AuditPruned,
        Self::AuditExported,
    ];
}

impl Action {
    /// The stored name, `noun.verb_past`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SetupCompleted => "setup.completed",
            Self::SignedIn => "admin.signed_in",
            Self::SignInFailed => "admin.sign_in_failed",
            Self::SignedOut => "admin.signed_out",
            Self::SiteCreated => "site.created",
            Self::SiteRenamed => "site.renamed",
            Self::UserCreated => "user.created",
            Self::UserEmailChanged => "user.email_changed",
            Self::UserRolesChanged => "user.roles_changed",
            Self::UserPasswordReset => "user.password_reset",
            Self::UserDisabled => "user.disabled",
            Self::UserEnabled => "user.enabled",
            Self::UserDeleted => "user.deleted",
            Self::Reauthenticated => "admin.reauthenticated",
            Self::ScopeAdded => "scope.added",
            Self::ScopeRemoved => "scope.removed",
            Self::ClientRegistered => "client.registered",
            Self::TermsAccepted => "client.terms_accepted",
            Self::ClientUpdated => "client.updated",
            Self::ClientDisabled => "client.disabled",
            Self::ClientEnabled => "client.enabled",
            Self::ClientDeleted => "client.deleted",
            Self::SecretRevealed => "client.secret_revealed",
            Self::SecretRotated => "client.secret_rotated",
            Self::SecretRetired => "client.secret_retired",
            Self::TokensRevoked => "token.revoked_by_admin",
            Self::CodeIssued => "oauth.code_issued",
            Self::AuthorizationDenied => "oauth.authorization_denied",
            Self::AuthorizationFailed => "oauth.authorization_failed",
            Self::TokenIssued => "oauth.token_issued",
            Self::TokenRefreshed => "oauth.token_refreshed",
            Self::TokenRevoked => "oauth.token_revoked",
            Self::CodeReuseDetected => "oauth.code_reuse_detected",
            Self::RefreshReuseDetected => "oauth.refresh_reuse_detected",
            Self::ClientAuthFailed => "oauth.client_auth_failed",
            Self::AlertAcknowledged => "alert.acknowledged",
            Self::AuditPruned => "audit.pruned",
            Self::AuditExported => "audit.exported",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `admin`, `user`, `client`, `operator` or `anonymous`.
    pub kind: &'static str,
    /// Stable id (user uuid, client_id), if any.
    pub id: Option<String>,
    /// What people read: username, client name, "latchkey CLI".
    pub label: String,
    /// The network address the request came from, if any.
    pub address: Option<String>,
}

impl Actor {
    /// An administrator acting in the console.
    pub fn admin(user_id: Uuid, username: &str, address: Option<String>) -> Self {
        Self {
            kind: "admin",
            id: Some(user_id.to_string()),
            label: username.to_owned(),
            address,
        }
    }

    /// The operator: the command line, or the first-run setup page (which has an address).
    pub fn operator(address: Option<String>) -> Self {
        Self {
            kind: "operator",
            id: None,
            label: "operator".to_owned(),
            address,
        }
    }

    /// An API user acting at the authorization prompt.
    pub fn api_user(user_id: Uuid, username: &str, address: Option<String>) -> Self {
        Self {
            kind: "user",
            id: Some(user_id.to_string()),
            label: username.to_owned(),
            address,
        }
    }

    /// An API client acting at the token, revocation or introspection endpoint.
    pub fn client(client_id: &str, name: &str, address: Option<String>) -> Self {
        Self {
            kind: "client",
            id: Some(client_id.to_owned()),
            label: name.to_owned(),
            address,
        }
    }

    /// Someone not (yet) identified, e.g. a failed sign-in; `claimed` is what they typed,
    /// cut to a safe length and stripped of control characters.
    pub fn anonymous(claimed: &str, address: Option<String>) -> Self {
        Self {
            kind: "anonymous",
            id: None,
            label: sanitize_label(claimed),
            address,
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `site`, `user`, `client`, `token`...
    pub kind: &'static str,
    /// Stable id.
    pub id: String,
    /// What people read.
    pub label: String,
}

impl Target {
    /// A target of `kind`.
    pub fn new(kind: &'static str, id: impl ToString, label: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.to_string(),
            label: label.into(),
        }
    }
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The site whose chain (and console views) it belongs to; `None` for the global chain.
    pub site_id: Option<Uuid>,
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to.
    pub target: Option<Target>,
    /// One readable sentence.
    pub summary: String,
    /// Structured facts (a JSON object). Never secrets or passwords.
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event with empty details and no target.
    pub fn new(
        site_id: Option<Uuid>,
        action: Action,
        actor: Actor,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            site_id,
            action,
            actor,
            target: None,
            summary: summary.into(),
            details: json!({}),
        }
    }

    /// Sets the target.
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the details object.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

fn sanitize_label(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The chain an event of `site_id` extends.
pub fn chain_key(site_id: Option<Uuid>) -> String {
    site_id.map_or_else(|| "global".to_owned(), |id| format!("site:{id}"))
}

/// The link hash: what `audit verify` recomputes.
fn link_hash(prev_hash: &str, row: &event::Model) -> String {
    let canonical = json!([
        row.chain,
        row.seq,
        row.site_id.map(|id| id.to_string()),
        row.occurred_at,
        row.action,
        row.actor_kind,
        row.actor_id,
        row.actor_label,
        row.target_kind,
        row.target_id,
        row.target_label,
        row.client_address,
        row.summary,
        row.details,
    ]);
    let mut input = String::with_capacity(prev_hash.len() + 256);
    input.push_str(prev_hash);
    input.push('\n');
    input.push_str(&canonical.to_string());
    hex(&sha256(input.as_bytes()))
}

/// Appends `new` to its chain. Call inside the transaction that makes the change it
/// describes, so both commit or neither does. Returns the event id.
pub async fn record(
    conn: &impl ConnectionTrait,
    new: NewEvent,
    now: Timestamp,
) -> Result<i64, ServiceError> {
    let chain = chain_key(new.site_id);
    let (seq, prev_hash) = advance_head(conn, &chain).await?;
    let row = linked_row(&chain, seq, new.site_id, new, now, prev_hash);
    let hash = row.hash.clone();
    let inserted = event::Entity::insert(to_active(row)).exec(conn).await?;
    head::Entity::update_many()
        .col_expr(head::Column::Hash, Expr::value(hash))
        .filter(head::Column::Chain.eq(chain))
        .exec(conn)
        .await?;
    Ok(inserted.last_insert_id)
}

/// Appends many events of one chain at once: one head update and bulk inserts. For seeding
/// and for batched token events; the result is the same chain `record` would have built.
pub async fn record_batch(
    conn: &impl ConnectionTrait,
    site_id: Option<Uuid>,
    events: Vec<(NewEvent, Timestamp)>,
) -> Result<(), ServiceError> {
    let writes = link_batch(conn, site_id, events).await?;
    execute_all(conn, writes).await?;
    Ok(())
}

/// The first half of [`record_batch`]: reserves the events' places in their chain (the head
/// row is updated and locked now) and returns the statements that store them and move the
/// head's hash, for the caller to run in the same transaction, alone or with its own writes
/// (see [`execute_all`]).
pub async fn link_batch(
    conn: &impl ConnectionTrait,
    site_id: Option<Uuid>,
    events: Vec<(NewEvent, Timestamp)>,
) -> Result<Vec<Statement>, ServiceError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let chain = chain_key(site_id);
    let count = i64::try_from(events.len())
        .map_err(|_| ServiceError::Unexpected("batch too large".into()))?;
    // Reserve `count` sequence numbers under the row lock.
    let (first_seq, mut prev_hash) = advance_head_by(conn, &chain, count).await?;
    let mut rows = Vec::with_capacity(events.len());
    for (offset, (new, at)) in events.into_iter().enumerate() {
        let row = linked_row(
            &chain,
            first_seq + offset as i64,
            site_id,
            new,
            at,
            prev_hash,
        );
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    let mut writes: Vec<Statement> = rows
        .chunks(500)
        .flat_map(|chunk| {
            batch::insert_rows(backend, chunk.iter().cloned().map(to_active).collect())
        })
        .collect();
    writes.push(
        head::Entity::update_many()
            .col_expr(head::Column::Hash, Expr::value(prev_hash))
            .filter(head::Column::Chain.eq(chain))
            .build(backend),
    );
    Ok(writes)
}

/// The stored row of `new` as link `seq` of `chain`, hashed onto `prev_hash`.
fn linked_row(
    chain: &str,
    seq: i64,
    site_id: Option<Uuid>,
    new: NewEvent,
    at: Timestamp,
    prev_hash: String,
) -> event::Model {
    let mut row = event::Model {
        id: 0,
        chain: chain.to_owned(),
        seq,
        site_id,
        occurred_at: at.unix(),
        action: new.action.as_str().to_owned(),
        actor_kind: new.actor.kind.to_owned(),
        actor_id: new.actor.id,
        actor_label: new.actor.label,
        target_kind: new.target.as_ref().map(|t| t.kind.to_owned()),
        target_id: new.target.as_ref().map(|t| t.id.clone()),
        target_label: new.target.map(|t| t.label),
        client_address: new.actor.address,
        summary: new.summary,
        details: new.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = link_hash(&row.prev_hash, &row);
    row
}

fn to_active(row: event::Model) -> event::ActiveModel {
    event::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        chain: Set(row.chain),
        seq: Set(row.seq),
        site_id: Set(row.site_id),
        occurred_at: Set(row.occurred_at),
        action: Set(row.action),
        actor_kind: Set(row.actor_kind),
        actor_id: Set(row.actor_id),
        actor_label: Set(row.actor_label),
        target_kind: Set(row.target_kind),
        target_id: Set(row.target_id),
        target_label: Set(row.target_label),
        client_address: Set(row.client_address),
        summary: Set(row.summary),
        details: Set(row.details),
        prev_hash: Set(row.prev_hash),
        hash: Set(row.hash),
    }
}

/// Takes the next sequence number of `chain` (creating the chain on first use) and returns it
/// with the hash of the previous link.
async fn advance_head(
    conn: &impl ConnectionTrait,
    chain: &str,
) -> Result<(i64, String), ServiceError> {
    advance_head_by(conn, chain, 1).await
}

/// Reserves `count` sequence numbers of `chain`; returns the first one and the hash of the
/// link before it. The `UPDATE` comes first so it holds the row lock until commit.
async fn advance_head_by(
    conn: &impl ConnectionTrait,
    chain: &str,
    count: i64,
) -> Result<(i64, String), ServiceError> {
    let bump = || {
        head::Entity::update_many()
            .col_expr(
                head::Column::Seq,
                ExprTrait::add(Expr::col(head::Column::Seq), count),
            )
            .filter(head::Column::Chain.eq(chain))
    };
    let mut bumped = bump().exec_with_returning(conn).await?;
    if bumped.is_empty() {
        head::Entity::insert(head::ActiveModel {
            chain: Set(chain.to_owned()),
            seq: Set(0),
            hash: Set(GENESIS_HASH.to_owned()),
        })
        .on_conflict(
            OnConflict::column(head::Column::Chain)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        bumped = bump().exec_with_returning(conn).await?;
    }
    let current = bumped
        .pop()
        .ok_or_else(|| ServiceError::Unexpected(format!("audit chain head {chain} vanished")))?;
    Ok((current.seq - count + 1, current.hash))
}

/// The first place a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The chain.
    pub chain: String,
    /// Sequence number of the first event that fails.
    pub seq: i64,
    /// Its row id.
    pub event_id: i64,
    /// What is wrong.
    pub reason: String,
}

/// Result of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The chain.
    pub chain: String,
    /// Events checked.
    pub events: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Every chain that has events.
pub async fn chains(conn: &impl ConnectionTrait) -> Result<Vec<String>, ServiceError> {
    Ok(head::Entity::find()
        .order_by_asc(head::Column::Chain)
        .all(conn)
        .await?
        .into_iter()
        .map(|head| head.chain)
        .collect())
}

/// Recomputes `chain` from its first event (or from its latest signed checkpoint, if old
/// events were pruned) and reports the first link that does not match (an edited, deleted or
/// inserted event, or a forged checkpoint), reading in bounded pages.
pub async fn verify_chain(
    conn: &impl ConnectionTrait,
    keys: &crate::server::keys::Keys,
    chain: &str,
) -> Result<ChainReport, ServiceError> {
    const PAGE: u64 = 1_000;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut checked = 0_u64;
    let checkpoint = crate::server::entities::audit_checkpoint::Entity::find()
        .filter(crate::server::entities::audit_checkpoint::Column::Chain.eq(chain))
        .order_by_desc(crate::server::entities::audit_checkpoint::Column::Seq)
        .one(conn)
        .await?;
    if let Some(checkpoint) = checkpoint {
        let expected = crate::server::services::audit_log::checkpoint_signature(
            keys,
            chain,
            checkpoint.seq,
            &checkpoint.hash,
        );
        if !crate::server::crypto::constant_time_eq(
            expected.as_bytes(),
            checkpoint.signature.as_bytes(),
        ) {
            return Ok(ChainReport {
                chain: chain.to_owned(),
                events: 0,
                broken: Some(BrokenLink {
                    chain: chain.to_owned(),
                    seq: checkpoint.seq,
                    event_id: 0,
                    reason: "the retention checkpoint's signature is not valid".into(),
                }),
            });
        }
        prev_hash = checkpoint.hash;
        expected_seq = checkpoint.seq + 1;
    }
    loop {
        let page = event::Entity::find()
            .filter(event::Column::Chain.eq(chain))
            .filter(event::Column::Seq.gte(expected_seq))
            .order_by_asc(event::Column::Seq)
            .limit(PAGE)
            .all(conn)
            .await?;
        let len = page.len();
        for row in page {
            let fail = |reason: String| ChainReport {
                chain: chain.to_owned(),
                events: checked,
                broken: Some(BrokenLink {
                    chain: chain.to_owned(),
                    seq: row.seq,
                    event_id: row.id,
                    reason,
                }),
            };
            if row.seq != expected_seq {
                return Ok(fail(format!(
                    "expected event #{expected_seq}, found #{}",
                    row.seq
                )));
            }
            if row.prev_hash != prev_hash {
                return Ok(fail("does not link to the previous event".into()));
            }
            if link_hash(&prev_hash, &row) != row.hash {
                return Ok(fail("content does not match its hash".into()));
            }
            prev_hash = row.hash;
            expected_seq += 1;
            checked += 1;
        }
        if (len as u64) < PAGE {
            break;
        }
    }
    let head = head::Entity::find_by_id(chain.to_owned()).one(conn).await?;
    let broken = match head {
        Some(head) if head.seq != expected_seq - 1 || head.hash != prev_hash => Some(BrokenLink {
            chain: chain.to_owned(),
            seq: expected_seq,
            event_id: 0,
            reason: format!(
                "the chain head records {} events but {} were found",
                head.seq,
                expected_seq - 1
            ),
        }),
        _ => None,
    };
    Ok(ChainReport {
        chain: chain.to_owned(),
        events: checked,
        broken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{db::begin_write, testing::TestDatabases};
    use sea_orm::{ActiveModelTrait, IntoActiveModel, TransactionTrait};

    fn test_keys() -> crate::server::keys::Keys {
        crate::server::keys::Keys::derive(&[5u8; 32])
    }

    fn event(site: Uuid, n: u32) -> NewEvent {
        NewEvent::new(
            Some(site),
            Action::SiteRenamed,
            Actor::operator(None),
            format!("rename {n}"),
        )
        .target(Target::new("site", site, format!("Site {n}")))
        .details(json!({"n": n, "note": "=cmd|' /C calc'!A0\n\"quoted\""}))
    }

    #[tokio::test]
    async fn chains_link_verify_and_detect_tampering_on_every_backend() {
        for db in TestDatabases::all().await {
            let site = Uuid::now_v7();
            for n in 0..5 {
                let txn = begin_write(&db.conn).await.unwrap();
                record(&txn, event(site, n), Timestamp(1_000 + i64::from(n)))
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
            }
            let other = Uuid::now_v7();
            let txn = db.conn.begin().await.unwrap();
            record(&txn, event(other, 9), Timestamp(2_000))
                .await
                .unwrap();
            txn.commit().await.unwrap();

            let chain = chain_key(Some(site));
            let report = verify_chain(&db.conn, &test_keys(), &chain).await.unwrap();
            assert_eq!(report.events, 5, "{}", db.name);
            assert_eq!(report.broken, None, "{}", db.name);
            assert_eq!(chains(&db.conn).await.unwrap().len(), 2);

            // Rewriting history breaks the chain exactly at the edited event.
            let third = event::Entity::find()
                .filter(event::Column::Chain.eq(&chain))
                .filter(event::Column::Seq.eq(3))
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            let mut edited = third.clone().into_active_model();
            edited.summary = Set("nothing to see here".into());
            edited.update(&db.conn).await.unwrap();
            let report = verify_chain(&db.conn, &test_keys(), &chain).await.unwrap();
            let broken = report.broken.expect("tampering detected");
            assert_eq!((broken.seq, broken.event_id), (3, third.id), "{}", db.name);

            // Deleting the newest event is caught by the head.
            let mut restored = third.into_active_model();
            restored.summary = Set("rename 2".into());
            restored.update(&db.conn).await.unwrap();
            assert_eq!(
                verify_chain(&db.conn, &test_keys(), &chain)
                    .await
                    .unwrap()
                    .broken,
                None
            );
            event::Entity::delete_many()
                .filter(event::Column::Chain.eq(&chain))
                .filter(event::Column::Seq.eq(5))
                .exec(&db.conn)
                .await
                .unwrap();
            assert!(
                verify_chain(&db.conn, &test_keys(), &chain)
                    .await
                    .unwrap()
                    .broken
                    .is_some()
            );
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn pruning_keeps_the_chain_verifiable_and_a_forged_checkpoint_is_caught() {
        use crate::server::services::audit_log;
        for db in TestDatabases::all().await {
            let site = Uuid::now_v7();
            let txn = begin_write(&db.conn).await.unwrap();
            let batch = (0..100)
                .map(|n| (event(site, n), Timestamp(1_000 + i64::from(n))))
                .collect();
            record_batch(&txn, Some(site), batch).await.unwrap();
            txn.commit().await.unwrap();
            let chain = chain_key(Some(site));
            let keys = test_keys();
            let pruned =
                audit_log::prune(&db.conn, &keys, &chain, Timestamp(1_050), Timestamp(9_000))
                    .await
                    .unwrap();
            assert_eq!(pruned, 50, "{}", db.name);
            let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
            assert_eq!(
                (report.events, report.broken),
                (51, None),
                "50 kept + the pruning event"
            );
            // A checkpoint signed with another key (a forger without the server key) fails.
            let other = crate::server::keys::Keys::derive(&[6u8; 32]);
            assert!(
                verify_chain(&db.conn, &other, &chain)
                    .await
                    .unwrap()
                    .broken
                    .is_some()
            );
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn batches_and_single_events_build_one_valid_chain() {
        for db in TestDatabases::all().await {
            let site = Uuid::now_v7();
            let txn = begin_write(&db.conn).await.unwrap();
            record(&txn, event(site, 0), Timestamp(10)).await.unwrap();
            let batch = (1..=700)
                .map(|n| (event(site, n), Timestamp(10 + i64::from(n))))
                .collect();
            record_batch(&txn, Some(site), batch).await.unwrap();
            record(&txn, event(site, 701), Timestamp(800))
                .await
                .unwrap();
            txn.commit().await.unwrap();
            let report = verify_chain(&db.conn, &test_keys(), &chain_key(Some(site)))
                .await
                .unwrap();
            assert_eq!((report.events, report.broken), (702, None), "{}", db.name);
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn concurrent_writers_never_fork_a_chain() {
        for db in TestDatabases::all().await {
            let site = Uuid::now_v7();
            let mut tasks = Vec::new();
            for n in 0..16 {
                let conn = db.conn.clone();
                tasks.push(tokio::spawn(async move {
                    let txn = begin_write(&conn).await.unwrap();
                    record(&txn, event(site, n), Timestamp(5_000))
                        .await
                        .unwrap();
                    txn.commit().await.unwrap();
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            let report = verify_chain(&db.conn, &test_keys(), &chain_key(Some(site)))
                .await
                .unwrap();
            assert_eq!((report.events, report.broken), (16, None), "{}", db.name);
            db.cleanup().await;
        }
    }

    #[test]
    fn every_action_is_listed_once_with_a_unique_name() {
        let names: std::collections::BTreeSet<&str> =
            Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(names.len(), 38, "a new action must be added to Action::ALL");
    }

    #[test]
    fn anonymous_labels_are_bounded_and_printable() {
        let actor = Actor::anonymous(&format!("evil\r\n{}", "x".repeat(500)), None);
        assert_eq!(actor.label.chars().count(), 64);
        assert!(!actor.label.contains('\n'));
    }
}
