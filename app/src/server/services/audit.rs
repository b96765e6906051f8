//! The audit log: every administrator action and token event, append-only and tamper-evident.
//!
//! Events form one hash chain per site (`site:<uuid>`; events with no site use `global`):
//! `hash = HMAC-SHA-256(audit chain key, prev_hash "\n" canonical-json(event))`. The key is
//! derived from the operator's master key and never stored in the database, so someone who
//! can write the database but lacks the key cannot recompute a chain after editing it. The
//! head row (newest position and hash) carries a signature with the audit key, so rewinding it
//! alone is caught; rewinding it to a head copied earlier is caught by an anchor kept outside
//! the database ([`Anchor`], `latchkey audit head` and `audit verify --against`).
//!
//! Appending advances the chain head row first, which serialises writers of one chain (a row
//! lock on PostgreSQL, the write lock on SQLite) and makes a fork impossible (`(chain, seq)` is
//! also unique). This module offers no update or delete: the only way to change the log is to
//! append to it ([`rekey`], the one-time upgrade of chains written before links were keyed,
//! rewrites links only after checking them).

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{constant_time_eq, hex, hmac_sha256, sha256},
    db::{batch, execute_all},
    entities::{audit_chain_head as head, audit_checkpoint as checkpoint, audit_event as event},
    keys::Keys,
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
    /// An administrator set a new password for a user (their sessions ended).
    UserPasswordReset,
    /// An administrator changed their own password (their other sessions ended).
    OwnPasswordChanged,
    /// An administrator signed out of every session.
    SignedOutEverywhere,
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
    /// A chain written before links were keyed was checked and keyed (`latchkey audit rekey`).
    AuditRekeyed,
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
        Self::OwnPasswordChanged,
        Self::SignedOutEverywhere,
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
        Self::AuditRekeyed,
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
            Self::OwnPasswordChanged => "admin.password_changed",
            Self::SignedOutEverywhere => "admin.signed_out_everywhere",
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
            Self::AuditRekeyed => "audit.rekeyed",
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

/// The link hash: what `audit verify` recomputes, keyed with the audit chain key.
fn link_hash(keys: &Keys, prev_hash: &str, row: &event::Model) -> String {
    hex(&hmac_sha256(&keys.audit_chain, &link_input(prev_hash, row)))
}

/// The unkeyed link of chains written before links were keyed (SHA-256 of the same input):
/// only [`rekey`] and the verifier's hint use it.
fn legacy_link_hash(prev_hash: &str, row: &event::Model) -> String {
    hex(&sha256(&link_input(prev_hash, row)))
}

/// What a link hashes: the previous link and the event's canonical JSON.
fn link_input(prev_hash: &str, row: &event::Model) -> Vec<u8> {
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
    input.into_bytes()
}

/// What a signature of a chain position stands for: a retention checkpoint, a chain head, or
/// an anchor exported for safekeeping. Part of the signed text, so one cannot pass for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// The last event of a pruned stretch (`audit_checkpoints`).
    Checkpoint,
    /// The newest event of a chain (`audit_chain_heads`).
    Head,
    /// A head exported with `latchkey audit head`.
    Anchor,
}

/// The signature (audit key) of position `seq` of `chain` having link `hash`.
pub fn sign_position(keys: &Keys, what: Signed, chain: &str, seq: i64, hash: &str) -> String {
    let message = match what {
        // Checkpoints keep the text they were signed with before heads and anchors existed.
        Signed::Checkpoint => format!("{chain}|{seq}|{hash}"),
        Signed::Head => format!("head|{chain}|{seq}|{hash}"),
        Signed::Anchor => format!("anchor|{chain}|{seq}|{hash}"),
    };
    hex(&hmac_sha256(&keys.audit, message.as_bytes()))
}

/// True if `signature` is the audit key's signature of that position.
pub fn verify_position(
    keys: &Keys,
    what: Signed,
    chain: &str,
    seq: i64,
    hash: &str,
    signature: &str,
) -> bool {
    constant_time_eq(
        sign_position(keys, what, chain, seq, hash).as_bytes(),
        signature.as_bytes(),
    )
}

/// Appends `new` to its chain. Call inside the transaction that makes the change it
/// describes, so both commit or neither does. Returns the event id.
pub async fn record(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    new: NewEvent,
    now: Timestamp,
) -> Result<i64, ServiceError> {
    let chain = chain_key(new.site_id);
    let (seq, prev_hash) = advance_head(conn, &chain).await?;
    let row = linked_row(keys, &chain, seq, new.site_id, new, now, prev_hash);
    let hash = row.hash.clone();
    let inserted = event::Entity::insert(to_active(row)).exec(conn).await?;
    conn.execute_raw(move_head(
        conn.get_database_backend(),
        keys,
        &chain,
        seq,
        hash,
    ))
    .await?;
    Ok(inserted.last_insert_id)
}

/// The statement that records `hash` at `seq` as the head of `chain`, signed.
fn move_head(
    backend: sea_orm::DbBackend,
    keys: &Keys,
    chain: &str,
    seq: i64,
    hash: String,
) -> Statement {
    let signature = sign_position(keys, Signed::Head, chain, seq, &hash);
    head::Entity::update_many()
        .col_expr(head::Column::Hash, Expr::value(hash))
        .col_expr(head::Column::Signature, Expr::value(signature))
        .filter(head::Column::Chain.eq(chain))
        .build(backend)
}

/// Appends many events of one chain at once: one head update and bulk inserts. For seeding
/// and for batched token events; the result is the same chain `record` would have built.
pub async fn record_batch(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    site_id: Option<Uuid>,
    events: Vec<(NewEvent, Timestamp)>,
) -> Result<(), ServiceError> {
    let writes = link_batch(conn, keys, site_id, events).await?;
    execute_all(conn, writes).await?;
    Ok(())
}

/// The first half of [`record_batch`]: reserves the events' places in their chain (the head
/// row is updated and locked now) and returns the statements that store them and move the
/// head's hash, for the caller to run in the same transaction, alone or with its own writes
/// (see [`execute_all`]).
pub async fn link_batch(
    conn: &impl ConnectionTrait,
    keys: &Keys,
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
            keys,
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
    writes.push(move_head(
        backend,
        keys,
        &chain,
        first_seq + count - 1,
        prev_hash,
    ));
    Ok(writes)
}

/// The stored row of `new` as link `seq` of `chain`, hashed onto `prev_hash`.
fn linked_row(
    keys: &Keys,
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
    row.hash = link_hash(keys, &row.prev_hash, &row);
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
            signature: Set(None),
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
/// events were pruned) with the audit chain key and reports the first link that does not
/// match (an edited, deleted or inserted event, a forged checkpoint), then checks that the
/// chain ends exactly at its signed head, reading in bounded pages.
pub async fn verify_chain(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
) -> Result<ChainReport, ServiceError> {
    verify_links(conn, keys, chain, LinkFormat::Keyed).await
}

/// How the links of a chain are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkFormat {
    /// HMAC with the audit chain key (every chain written by this version).
    Keyed,
    /// A chain being upgraded (see [`rekey`]): unkeyed SHA-256 links written before links
    /// were keyed, then only keyed ones (events appended since the upgrade).
    Upgrading,
}

async fn verify_links(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
    format: LinkFormat,
) -> Result<ChainReport, ServiceError> {
    const PAGE: u64 = 1_000;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut checked = 0_u64;
    let mut keyed_seen = format == LinkFormat::Keyed;
    let broken = |seq: i64, event_id: i64, events: u64, reason: String| ChainReport {
        chain: chain.to_owned(),
        events,
        broken: Some(BrokenLink {
            chain: chain.to_owned(),
            seq,
            event_id,
            reason,
        }),
    };
    if let Some(checkpoint) = latest_checkpoint(conn, chain).await? {
        if !verify_position(
            keys,
            Signed::Checkpoint,
            chain,
            checkpoint.seq,
            &checkpoint.hash,
            &checkpoint.signature,
        ) {
            return Ok(broken(
                checkpoint.seq,
                0,
                0,
                "the retention checkpoint's signature is not valid".into(),
            ));
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
            if row.seq != expected_seq {
                return Ok(broken(
                    row.seq,
                    row.id,
                    checked,
                    format!("expected event #{expected_seq}, found #{}", row.seq),
                ));
            }
            if row.prev_hash != prev_hash {
                return Ok(broken(
                    row.seq,
                    row.id,
                    checked,
                    "does not link to the previous event".into(),
                ));
            }
            let linked = if link_hash(keys, &prev_hash, &row) == row.hash {
                keyed_seen = true;
                true
            } else {
                !keyed_seen && legacy_link_hash(&prev_hash, &row) == row.hash
            };
            if !linked {
                let reason = if format == LinkFormat::Keyed
                    && legacy_link_hash(&prev_hash, &row) == row.hash
                {
                    "written before audit chains were keyed: run `latchkey audit rekey` once \
                     (it checks the old links, then keys them)"
                        .to_owned()
                } else {
                    "content does not match its hash (edited, or linked without the audit key)"
                        .to_owned()
                };
                return Ok(broken(row.seq, row.id, checked, reason));
            }
            prev_hash = row.hash;
            expected_seq += 1;
            checked += 1;
        }
        if (len as u64) < PAGE {
            break;
        }
    }
    let last_seq = expected_seq - 1;
    let head = head::Entity::find_by_id(chain.to_owned()).one(conn).await?;
    let problem = match head {
        None => Some("the chain has no head".to_owned()),
        Some(head) if head.seq != last_seq || head.hash != prev_hash => Some(format!(
            "the chain head records {} events but {last_seq} were found (events deleted, or \
             the head rewound)",
            head.seq
        )),
        Some(head) => match &head.signature {
            Some(signature)
                if verify_position(keys, Signed::Head, chain, head.seq, &head.hash, signature) =>
            {
                None
            }
            // A head last moved before heads were signed, on a chain being upgraded.
            None if format == LinkFormat::Upgrading => None,
            _ => Some("the chain head's signature is not valid".to_owned()),
        },
    };
    Ok(match problem {
        Some(reason) => broken(expected_seq, 0, checked, reason),
        None => ChainReport {
            chain: chain.to_owned(),
            events: checked,
            broken: None,
        },
    })
}

async fn latest_checkpoint(
    conn: &impl ConnectionTrait,
    chain: &str,
) -> Result<Option<checkpoint::Model>, ServiceError> {
    Ok(checkpoint::Entity::find()
        .filter(checkpoint::Column::Chain.eq(chain))
        .order_by_desc(checkpoint::Column::Seq)
        .one(conn)
        .await?)
}

/// Keys a chain written before links were keyed: checks every old (unkeyed) link and the head
/// first, refusing a chain that does not verify, then recomputes each link with the audit
/// chain key and signs the head, in one transaction, and records that it did. The operator
/// runs it once after upgrading (`latchkey audit rekey`); a keyed chain is left alone.
/// Returns how many events were re-linked.
pub async fn rekey(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    chain: &str,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    if verify_links(conn, keys, chain, LinkFormat::Keyed)
        .await?
        .broken
        .is_none()
    {
        return Ok(0);
    }
    // Lock the head first, as every writer of this chain does.
    advance_head_by(conn, chain, 0).await?;
    let upgrading = verify_links(conn, keys, chain, LinkFormat::Upgrading).await?;
    if let Some(broken) = upgrading.broken {
        return Err(ServiceError::Conflict(format!(
            "chain {chain} does not verify even allowing unkeyed links before the upgrade, at \
             #{}: {}; it was not rekeyed",
            broken.seq, broken.reason
        )));
    }
    let mut prev_hash = match latest_checkpoint(conn, chain).await? {
        Some(checkpoint) => checkpoint.hash,
        None => GENESIS_HASH.to_owned(),
    };
    let mut last_seq = 0;
    let mut relinked = 0_u64;
    let rows = event::Entity::find()
        .filter(event::Column::Chain.eq(chain))
        .order_by_asc(event::Column::Seq)
        .all(conn)
        .await?;
    for mut row in rows {
        row.prev_hash = prev_hash;
        row.hash = link_hash(keys, &row.prev_hash, &row);
        event::Entity::update_many()
            .col_expr(event::Column::PrevHash, Expr::value(row.prev_hash.clone()))
            .col_expr(event::Column::Hash, Expr::value(row.hash.clone()))
            .filter(event::Column::Id.eq(row.id))
            .exec(conn)
            .await?;
        prev_hash = row.hash;
        last_seq = row.seq;
        relinked += 1;
    }
    conn.execute_raw(move_head(
        conn.get_database_backend(),
        keys,
        chain,
        last_seq,
        prev_hash,
    ))
    .await?;
    let site_id = chain
        .strip_prefix("site:")
        .and_then(|id| id.parse::<Uuid>().ok());
    record(
        conn,
        keys,
        NewEvent::new(
            site_id,
            Action::AuditRekeyed,
            Actor::operator(None),
            format!("{relinked} audit event(s) re-linked with the audit key after their unkeyed links verified"),
        )
        .details(json!({"relinked": relinked})),
        now,
    )
    .await?;
    Ok(relinked)
}

/// A chain head exported for safekeeping outside the database (`latchkey audit head`): a later
/// `audit verify --against` proves the chain still reaches it, so deleting the newest events
/// and rewinding the head to an older copy is caught.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// The chain.
    pub chain: String,
    /// Its newest position when exported.
    pub seq: i64,
    /// The link at that position.
    pub hash: String,
    /// When exported (seconds since the epoch).
    pub at: i64,
    /// The audit key's signature of chain, seq and hash.
    pub signature: String,
}

/// The current head of every chain, signed, for the operator to keep elsewhere. Each chain is
/// verified first: an anchor of a broken chain would vouch for the break.
pub async fn export_anchors(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    now: Timestamp,
) -> Result<Vec<Anchor>, ServiceError> {
    let mut anchors = Vec::new();
    for chain in chains(conn).await? {
        let report = verify_chain(conn, keys, &chain).await?;
        if let Some(broken) = report.broken {
            return Err(ServiceError::Conflict(format!(
                "chain {chain} is broken at #{}: {}",
                broken.seq, broken.reason
            )));
        }
        let Some(head) = head::Entity::find_by_id(chain.clone()).one(conn).await? else {
            continue;
        };
        anchors.push(Anchor {
            signature: sign_position(keys, Signed::Anchor, &chain, head.seq, &head.hash),
            chain,
            seq: head.seq,
            hash: head.hash,
            at: now.unix(),
        });
    }
    Ok(anchors)
}

/// Checks that every chain still reaches the position `anchor` recorded: the event at that
/// position still has the anchored link (or was pruned behind a signed checkpoint at or past
/// it). `None` when it does; otherwise what is wrong. Run after [`verify_chain`], which checks
/// everything from there on.
pub async fn check_anchor(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    anchor: &Anchor,
) -> Result<Option<String>, ServiceError> {
    if !verify_position(
        keys,
        Signed::Anchor,
        &anchor.chain,
        anchor.seq,
        &anchor.hash,
        &anchor.signature,
    ) {
        return Ok(Some(
            "the anchor's signature is not valid (not made with this server's key)".into(),
        ));
    }
    let head = head::Entity::find_by_id(anchor.chain.clone())
        .one(conn)
        .await?;
    let Some(head) = head else {
        return Ok(Some("the chain is gone".into()));
    };
    if head.seq < anchor.seq {
        return Ok(Some(format!(
            "the chain ends at #{} but reached #{} when anchored: events were deleted and the \
             head rewound",
            head.seq, anchor.seq
        )));
    }
    let at_anchor = event::Entity::find()
        .filter(event::Column::Chain.eq(anchor.chain.as_str()))
        .filter(event::Column::Seq.eq(anchor.seq))
        .one(conn)
        .await?;
    match at_anchor {
        Some(row) if row.hash == anchor.hash => Ok(None),
        Some(_) => Ok(Some(format!(
            "event #{} no longer has the anchored link: the chain was rewritten",
            anchor.seq
        ))),
        None => match latest_checkpoint(conn, &anchor.chain).await? {
            Some(checkpoint) if checkpoint.seq >= anchor.seq => Ok(None),
            _ => Ok(Some(format!("event #{} is missing", anchor.seq))),
        },
    }
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
                record(
                    &txn,
                    &test_keys(),
                    event(site, n),
                    Timestamp(1_000 + i64::from(n)),
                )
                .await
                .unwrap();
                txn.commit().await.unwrap();
            }
            let other = Uuid::now_v7();
            let txn = db.conn.begin().await.unwrap();
            record(&txn, &test_keys(), event(other, 9), Timestamp(2_000))
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
            record_batch(&txn, &test_keys(), Some(site), batch)
                .await
                .unwrap();
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
            record(&txn, &test_keys(), event(site, 0), Timestamp(10))
                .await
                .unwrap();
            let batch = (1..=700)
                .map(|n| (event(site, n), Timestamp(10 + i64::from(n))))
                .collect();
            record_batch(&txn, &test_keys(), Some(site), batch)
                .await
                .unwrap();
            record(&txn, &test_keys(), event(site, 701), Timestamp(800))
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
                    record(&txn, &test_keys(), event(site, n), Timestamp(5_000))
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

    /// `n` events of one site's chain, appended one per transaction.
    async fn chain_of(conn: &sea_orm::DatabaseConnection, site: Uuid, n: u32) -> String {
        for i in 0..n {
            let txn = begin_write(conn).await.unwrap();
            record(
                &txn,
                &test_keys(),
                event(site, i),
                Timestamp(1_000 + i64::from(i)),
            )
            .await
            .unwrap();
            txn.commit().await.unwrap();
        }
        chain_key(Some(site))
    }

    #[tokio::test]
    async fn a_database_writer_without_the_key_cannot_rewrite_or_truncate_a_chain() {
        for db in TestDatabases::all().await {
            let keys = test_keys();
            let site = Uuid::now_v7();
            let chain = chain_of(&db.conn, site, 6).await;
            assert_eq!(
                verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
                None
            );
            let anchors = export_anchors(&db.conn, &keys, Timestamp(2_000))
                .await
                .unwrap();
            let anchor = anchors.iter().find(|a| a.chain == chain).unwrap().clone();
            let saved_head = head::Entity::find_by_id(chain.clone())
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();

            // 1. Edit an event and recompute every link after it, without the key (the old
            //    unkeyed formula): caught at the edited event.
            let rows = event::Entity::find()
                .filter(event::Column::Chain.eq(&chain))
                .order_by_asc(event::Column::Seq)
                .all(&db.conn)
                .await
                .unwrap();
            let mut prev = GENESIS_HASH.to_owned();
            for mut row in rows.clone() {
                if row.seq == 3 {
                    row.summary = "nothing happened".into();
                }
                row.prev_hash = prev.clone();
                row.hash = legacy_link_hash(&prev, &row);
                prev = row.hash.clone();
                let mut update = row.into_active_model();
                update.reset(event::Column::Summary);
                update.reset(event::Column::PrevHash);
                update.reset(event::Column::Hash);
                update.update(&db.conn).await.unwrap();
            }
            let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
            assert_eq!(report.broken.map(|b| b.seq), Some(1), "{}", db.name);
            // Put the real chain back.
            for row in rows {
                let mut update = row.into_active_model();
                update.reset(event::Column::Summary);
                update.reset(event::Column::PrevHash);
                update.reset(event::Column::Hash);
                update.update(&db.conn).await.unwrap();
            }
            assert_eq!(
                verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
                None
            );

            // 2. Delete the newest events and rewind the head to the last one left, as the
            //    review did: the head's signature no longer matches.
            chain_of(&db.conn, site, 2).await;
            let kept = event::Entity::find()
                .filter(event::Column::Chain.eq(&chain))
                .filter(event::Column::Seq.eq(6))
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            event::Entity::delete_many()
                .filter(event::Column::Chain.eq(&chain))
                .filter(event::Column::Seq.gt(6))
                .exec(&db.conn)
                .await
                .unwrap();
            head::Entity::update_many()
                .col_expr(head::Column::Seq, Expr::value(6))
                .col_expr(head::Column::Hash, Expr::value(kept.hash.clone()))
                .filter(head::Column::Chain.eq(&chain))
                .exec(&db.conn)
                .await
                .unwrap();
            let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
            assert!(
                report
                    .broken
                    .as_ref()
                    .is_some_and(|b| b.reason.contains("signature")),
                "{report:?} on {}",
                db.name
            );

            // 3. Rewind it to a head copied earlier, signature and all: the database alone
            //    cannot tell, an anchor kept elsewhere can.
            let mut replay = saved_head.clone().into_active_model();
            replay.reset(head::Column::Seq);
            replay.reset(head::Column::Hash);
            replay.reset(head::Column::Signature);
            replay.update(&db.conn).await.unwrap();
            assert_eq!(
                verify_chain(&db.conn, &keys, &chain).await.unwrap().broken,
                None
            );
            assert_eq!(check_anchor(&db.conn, &keys, &anchor).await.unwrap(), None);
            let later = export_anchors(&db.conn, &keys, Timestamp(3_000)).await;
            assert!(later.is_ok());
            // (An anchor taken after the two lost events would catch it: simulate one.)
            let lost = Anchor {
                seq: 8,
                hash: "f".repeat(64),
                signature: sign_position(&keys, Signed::Anchor, &chain, 8, &"f".repeat(64)),
                ..anchor.clone()
            };
            let problem = check_anchor(&db.conn, &keys, &lost).await.unwrap();
            assert!(
                problem.is_some_and(|p| p.contains("rewound")),
                "{}",
                db.name
            );
            // A forged anchor (no key) is refused as such.
            let forged = Anchor {
                signature: "0".repeat(64),
                ..anchor
            };
            let problem = check_anchor(&db.conn, &keys, &forged).await.unwrap();
            assert!(problem.is_some_and(|p| p.contains("signature")));
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn chains_written_before_links_were_keyed_are_rekeyed_once_after_a_check() {
        for db in TestDatabases::all().await {
            let keys = test_keys();
            let site = Uuid::now_v7();
            let chain = chain_of(&db.conn, site, 4).await;
            // Rewrite the links as an earlier version did: unkeyed, head unsigned.
            let rows = event::Entity::find()
                .filter(event::Column::Chain.eq(&chain))
                .order_by_asc(event::Column::Seq)
                .all(&db.conn)
                .await
                .unwrap();
            let mut prev = GENESIS_HASH.to_owned();
            for mut row in rows {
                row.prev_hash = prev.clone();
                row.hash = legacy_link_hash(&prev, &row);
                prev = row.hash.clone();
                let mut update = row.into_active_model();
                update.reset(event::Column::PrevHash);
                update.reset(event::Column::Hash);
                update.update(&db.conn).await.unwrap();
            }
            head::Entity::update_many()
                .col_expr(head::Column::Hash, Expr::value(prev))
                .col_expr(head::Column::Signature, Expr::value(Option::<String>::None))
                .filter(head::Column::Chain.eq(&chain))
                .exec(&db.conn)
                .await
                .unwrap();
            // Events appended after the upgrade are keyed on top of the old ones.
            chain_of(&db.conn, site, 1).await;
            let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
            assert!(
                report
                    .broken
                    .is_some_and(|b| b.reason.contains("audit rekey")),
                "{}",
                db.name
            );
            let txn = begin_write(&db.conn).await.unwrap();
            assert_eq!(
                rekey(&txn, &keys, &chain, Timestamp(9_000)).await.unwrap(),
                5
            );
            txn.commit().await.unwrap();
            let report = verify_chain(&db.conn, &keys, &chain).await.unwrap();
            assert_eq!((report.events, report.broken), (6, None), "{}", db.name);
            // Once keyed, there is nothing left to do.
            let txn = begin_write(&db.conn).await.unwrap();
            assert_eq!(
                rekey(&txn, &keys, &chain, Timestamp(9_001)).await.unwrap(),
                0
            );
            txn.commit().await.unwrap();
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn a_tampered_unkeyed_chain_is_not_rekeyed() {
        for db in TestDatabases::all().await {
            let keys = test_keys();
            let site = Uuid::now_v7();
            let chain = chain_of(&db.conn, site, 3).await;
            let second = event::Entity::find()
                .filter(event::Column::Chain.eq(&chain))
                .filter(event::Column::Seq.eq(2))
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            let mut edited = second.into_active_model();
            edited.summary = sea_orm::ActiveValue::Set("rewritten".into());
            edited.update(&db.conn).await.unwrap();
            let txn = begin_write(&db.conn).await.unwrap();
            assert!(matches!(
                rekey(&txn, &keys, &chain, Timestamp(9_000)).await,
                Err(ServiceError::Conflict(_))
            ));
            txn.rollback().await.unwrap();
            db.cleanup().await;
        }
    }

    #[test]
    fn every_action_is_listed_once_with_a_unique_name() {
        let names: std::collections::BTreeSet<&str> =
            Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(names.len(), 41, "a new action must be added to Action::ALL");
    }

    #[test]
    fn anonymous_labels_are_bounded_and_printable() {
        let actor = Actor::anonymous(&format!("evil\r\n{}", "x".repeat(500)), None);
        assert_eq!(actor.label.chars().count(), 64);
        assert!(!actor.label.contains('\n'));
    }
}
