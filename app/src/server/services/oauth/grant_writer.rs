//! Group commit for the token endpoint's two grants (RFC 6749 §4.1.3 and §6).
//!
//! Each code exchange or refresh writes: a code or refresh token consumed, a grant and a token
//! pair inserted, an audit event appended. One request per transaction, the single writer
//! spends its time on round trips (on SQLite each is two thread hand-offs) and the token
//! endpoint tops out at a few hundred requests per second. Here one worker per process takes
//! every request waiting, checks each exactly as the grant modules say, in arrival order, and
//! settles them all in one transaction of a few multi-row statements.
//!
//! Single use holds as before: within a batch the first request for a code or refresh token
//! wins and later ones are reuse (the grant is revoked, tokens issued earlier in the same batch
//! included); against other processes, the consuming `UPDATE … RETURNING` says which rows this
//! batch really consumed, and a row another process consumed first counts as reuse.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, Clock, ServiceError,
    db::{batch, begin_write, execute_all},
    entities::{
        authorization_code, client, client_scope, refresh_token, site_membership as membership,
        token_family, user,
    },
    keys::Keys,
    oauth::OAuthError,
    services::{
        audit::{self, NewEvent},
        grants,
        oauth::{
            code_grant, issue,
            issue::{IssuedTokens, MintedPair},
            refresh_grant,
            usage::UsageRecorder,
        },
    },
    state::Settings,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::{Expr, ExprTrait},
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Requests settled in one transaction at most.
const MAX_BATCH: usize = 256;
/// Requests waiting for the workers at most (then callers wait to enqueue).
const QUEUE: usize = 4_096;

/// `grant_type=authorization_code`, after the checks that need no database.
#[derive(Debug, Clone)]
pub struct ExchangeRequest {
    /// The authenticated client.
    pub client: client::Model,
    /// Digest of the presented code.
    pub code_hash: String,
    /// The `redirect_uri` parameter.
    pub redirect_uri: String,
    /// The `code_verifier` parameter, if sent.
    pub code_verifier: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
}

/// `grant_type=refresh_token`, after the checks that need no database.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    /// The authenticated client.
    pub client: client::Model,
    /// Digest of the presented refresh token.
    pub token_hash: String,
    /// The `scope` parameter, if sent (a narrower scope).
    pub scope: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
}

/// A token request for the worker.
#[derive(Debug, Clone)]
pub enum GrantRequest {
    /// Exchange an authorization code.
    Exchange(ExchangeRequest),
    /// Use a refresh token.
    Refresh(RefreshRequest),
}

type Outcome = Result<IssuedTokens, OAuthError>;
type Job = (GrantRequest, oneshot::Sender<Outcome>);

/// What the worker needs of the application state (not the state itself, which holds the
/// writer: the worker ends when the last state is dropped).
struct Context {
    db: DatabaseConnection,
    settings: Arc<Settings>,
    keys: Arc<Keys>,
    clock: Clock,
    usage: Arc<UsageRecorder>,
}

/// The queue in front of this process's grant worker; the worker starts with the first
/// request.
#[derive(Debug)]
pub struct GrantWriter {
    queue: mpsc::Sender<Job>,
    idle: Mutex<Option<mpsc::Receiver<Job>>>,
}

impl Default for GrantWriter {
    fn default() -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        Self {
            queue,
            idle: Mutex::new(Some(receiver)),
        }
    }
}

impl GrantWriter {
    /// Settles `request` with whatever else is waiting, and returns its outcome.
    pub async fn submit(&self, state: &AppState, request: GrantRequest) -> Outcome {
        self.start(state);
        let (reply, outcome) = oneshot::channel();
        let stopped = || OAuthError::from(ServiceError::Unexpected("grant worker stopped".into()));
        self.queue
            .send((request, reply))
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    fn start(&self, state: &AppState) {
        let receiver = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(receiver) = receiver {
            let context = Context {
                db: state.db.clone(),
                settings: Arc::clone(&state.settings),
                keys: Arc::clone(&state.keys),
                clock: state.clock.clone(),
                usage: Arc::clone(&state.usage),
            };
            // One worker: measured against two and four on PostgreSQL, larger batches win
            // (SQLite has a single writer anyway).
            tokio::spawn(run(context, receiver));
        }
    }
}

async fn run(context: Context, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (requests, replies): (Vec<GrantRequest>, Vec<_>) = batch.into_iter().unzip();
        let now = context.clock.now();
        let started = std::time::Instant::now();
        // A settled batch logs its step timings itself ("token batch steps").
        let settled = settle(&context, &requests, now).await;
        let outcomes = match settled {
            Ok(settled) => {
                for (client_uuid, site_id) in settled.issued_to {
                    context.usage.token_issued(client_uuid, site_id, now);
                }
                settled.outcomes
            }
            Err(error) => {
                tracing::debug!(
                    requests = requests.len(),
                    micros = started.elapsed().as_micros(),
                    "token batch failed"
                );
                let error = OAuthError::from(error);
                requests.iter().map(|_| Err(error.clone())).collect()
            }
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The caller may have gone (client disconnected); the grant stands regardless.
            let _ = reply.send(outcome);
        }
    }
}

/// Where one batch's time goes, step by step, for the debug log: the worker is the token
/// endpoint's bottleneck under load, so its steps are what to look at first.
struct StepTimer {
    last: std::time::Instant,
    steps: Vec<(&'static str, std::time::Duration)>,
}

impl StepTimer {
    fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            steps: Vec::with_capacity(8),
        }
    }

    /// Ends step `name` (it began where the previous one ended).
    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.steps.push((name, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for StepTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, took) in &self.steps {
            write!(f, "{name}={}us ", took.as_micros())?;
        }
        Ok(())
    }
}

/// A request that passed its checks and will get tokens once its code or refresh token is
/// consumed.
struct Pending {
    index: usize,
    client: client::Model,
    user_id: Uuid,
    site_id: Uuid,
    scope: ScopeSet,
    address: Option<String>,
    source: Source,
}

enum Source {
    /// A new grant from this authorization code.
    Code(authorization_code::Model),
    /// The next pair of this grant, from this refresh token.
    Refresh {
        token_hash: String,
        family: token_family::Model,
    },
}

/// Presented again: revoke what it was used for.
enum Reuse {
    Code {
        index: usize,
        client: client::Model,
        code: authorization_code::Model,
        address: Option<String>,
    },
    Refresh {
        index: usize,
        client: client::Model,
        family: token_family::Model,
        address: Option<String>,
    },
}

struct Settled {
    outcomes: Vec<Outcome>,
    /// (client, site) of every grant that got tokens, for the usage counts.
    issued_to: Vec<(Uuid, Uuid)>,
}

async fn settle(
    context: &Context,
    requests: &[GrantRequest],
    now: Timestamp,
) -> Result<Settled, ServiceError> {
    let mut steps = StepTimer::start();
    let txn = begin_write(&context.db).await?;
    steps.mark("begin");
    let mut outcomes: Vec<Option<Outcome>> = requests.iter().map(|_| None).collect();
    let (pending, mut reuses) =
        check_all(&txn, requests, &mut outcomes, &context.settings, now).await?;
    steps.mark("read");
    let pending = consume(&txn, pending, &mut reuses, now).await?;
    steps.mark("consume");
    let mut revoked_any = !reuses.is_empty();

    // The user must still be an active API user of the grant's site.
    let users = users_who_may_authorize(&txn, &pending).await?;
    steps.mark("users");
    let mut issuing = Vec::with_capacity(pending.len());
    for p in pending {
        match users.get(&(p.site_id, p.user_id)) {
            Some(user) => issuing.push((p, user.clone())),
            None => {
                let error = match &p.source {
                    Source::Code(_) => code_grant::user_lost_error(),
                    Source::Refresh { family, .. } => {
                        grants::revoke_family(&txn, family.id, "user can no longer authorize", now)
                            .await?;
                        revoked_any = true;
                        refresh_grant::user_lost_error()
                    }
                };
                outcomes[p.index] = Some(Err(error));
            }
        }
    }

    // New grants for codes, then every token pair, in multi-row inserts.
    let mut new_families = Vec::new();
    let mut minted: Vec<(Uuid, MintedPair)> = Vec::with_capacity(issuing.len());
    for (p, _) in &issuing {
        let family = match &p.source {
            Source::Code(code) => {
                let family = token_family::Model {
                    id: Uuid::now_v7(),
                    client_uuid: p.client.id,
                    user_id: p.user_id,
                    site_id: p.site_id,
                    scope: code.scope.clone(),
                    code_hash: Some(code.code_hash.clone()),
                    created_at: now.unix(),
                    revoked_at: None,
                    revoked_reason: None,
                };
                new_families.push(family.clone());
                family
            }
            Source::Refresh { family, .. } => family.clone(),
        };
        minted.push((
            family.id,
            issue::mint(&context.settings, &family, &p.scope, now)?,
        ));
    }
    // The inserts go out together with the audit events' below (one round trip on SQLite).
    let backend = txn.get_database_backend();
    let mut writes = batch::insert_rows(
        backend,
        new_families
            .into_iter()
            .map(sea_orm::IntoActiveModel::into_active_model)
            .collect(),
    );
    let pairs: Vec<&MintedPair> = minted.iter().map(|(_, pair)| pair).collect();
    writes.extend(issue::insert_statements(backend, &pairs));

    // Reuse revokes grants, including any just issued above from the same code or token, so
    // those must be stored first.
    if !reuses.is_empty() {
        execute_all(&txn, std::mem::take(&mut writes)).await?;
    }
    for reuse in reuses {
        let (index, error) = match reuse {
            Reuse::Code {
                index,
                client,
                code,
                address,
            } => {
                let revoked = code_grant::revoke_after_reuse(
                    &txn,
                    &context.keys,
                    &client,
                    &code,
                    address,
                    now,
                )
                .await?;
                (index, code_grant::reused_error(revoked))
            }
            Reuse::Refresh {
                index,
                client,
                family,
                address,
            } => {
                refresh_grant::revoke_after_reuse(
                    &txn,
                    &context.keys,
                    &client,
                    &family,
                    address,
                    now,
                )
                .await?;
                (index, refresh_grant::reused_error())
            }
        };
        outcomes[index] = Some(Err(error));
    }

    // One audit event per grant that got tokens, appended per site chain.
    let mut events: HashMap<Uuid, Vec<(NewEvent, Timestamp)>> = HashMap::new();
    let mut issued_to = Vec::with_capacity(issuing.len());
    for ((p, user), (family_id, pair)) in issuing.into_iter().zip(minted) {
        let event = match &p.source {
            Source::Code(_) => {
                code_grant::issued_event(&p.client, &user, family_id, &p.scope, p.address)
            }
            Source::Refresh { family, .. } => {
                refresh_grant::refreshed_event(&p.client, &user, family, &p.scope, p.address)
            }
        };
        events.entry(p.site_id).or_default().push((event, now));
        issued_to.push((p.client.id, p.site_id));
        outcomes[p.index] = Some(Ok(pair.issued));
    }
    for (site_id, events) in events {
        writes.extend(audit::link_batch(&txn, &context.keys, Some(site_id), events).await?);
    }
    steps.mark("link");
    execute_all(&txn, writes).await?;
    steps.mark("write");
    if revoked_any {
        txn.commit().await?;
    } else {
        txn.commit_neutral().await?;
    }
    steps.mark("commit");
    tracing::debug!(requests = requests.len(), steps = %steps, "token batch steps");
    Ok(Settled {
        outcomes: outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    Err(OAuthError::from(ServiceError::Unexpected(
                        "a token request was left unsettled".into(),
                    )))
                })
            })
            .collect(),
        issued_to,
    })
}

/// Checks every request in arrival order against the rows it presents; fills `outcomes` for
/// the refused ones and returns the rest, and the reuses found.
async fn check_all(
    txn: &sea_orm::DatabaseTransaction,
    requests: &[GrantRequest],
    outcomes: &mut [Option<Outcome>],
    settings: &Settings,
    now: Timestamp,
) -> Result<(Vec<Pending>, Vec<Reuse>), ServiceError> {
    let backend = txn.get_database_backend();
    let code_hashes: Vec<String> = requests
        .iter()
        .filter_map(|r| match r {
            GrantRequest::Exchange(e) => Some(e.code_hash.clone()),
            GrantRequest::Refresh(_) => None,
        })
        .collect();
    let token_hashes: Vec<String> = requests
        .iter()
        .filter_map(|r| match r {
            GrantRequest::Refresh(e) => Some(e.token_hash.clone()),
            GrantRequest::Exchange(_) => None,
        })
        .collect();
    let codes: HashMap<String, authorization_code::Model> = if code_hashes.is_empty() {
        HashMap::new()
    } else {
        authorization_code::Entity::find()
            .filter(batch::is_in(
                backend,
                authorization_code::Column::CodeHash,
                code_hashes,
            ))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.code_hash.clone(), row))
            .collect()
    };
    let refresh_rows: HashMap<String, refresh_token::Model> = if token_hashes.is_empty() {
        HashMap::new()
    } else {
        refresh_token::Entity::find()
            .filter(batch::is_in(
                backend,
                refresh_token::Column::TokenHash,
                token_hashes,
            ))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.token_hash.clone(), row))
            .collect()
    };
    // Grants whose tokens may change lock their row first, in id order (refresh, reuse and
    // administrator revocation all do), so concurrent writers cannot deadlock.
    let family_ids: Vec<Uuid> = refresh_rows.values().map(|row| row.family_id).collect();
    let families: HashMap<Uuid, token_family::Model> = if family_ids.is_empty() {
        HashMap::new()
    } else {
        token_family::Entity::find()
            .filter(batch::is_in(backend, token_family::Column::Id, family_ids))
            .order_by_asc(token_family::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?
            .into_iter()
            .map(|family| (family.id, family))
            .collect()
    };

    // What each client may be issued now: it was authenticated before the batch, and may have
    // been disabled or lost scopes since.
    let registered = active_client_scopes(
        txn,
        requests.iter().map(|r| match r {
            GrantRequest::Exchange(e) => e.client.id,
            GrantRequest::Refresh(r) => r.client.id,
        }),
    )
    .await?;

    let mut pending = Vec::new();
    let mut reuses = Vec::new();
    let mut consumed_here: HashSet<&str> = HashSet::new();
    for (index, request) in requests.iter().enumerate() {
        match request {
            GrantRequest::Exchange(request) => {
                let Some(code) = codes.get(&request.code_hash) else {
                    outcomes[index] = Some(Err(code_grant::invalid()));
                    continue;
                };
                if code.client_uuid != request.client.id {
                    outcomes[index] = Some(Err(code_grant::other_client_error()));
                    continue;
                }
                if code.consumed_at.is_some() || consumed_here.contains(code.code_hash.as_str()) {
                    reuses.push(Reuse::Code {
                        index,
                        client: request.client.clone(),
                        code: code.clone(),
                        address: request.address.clone(),
                    });
                    continue;
                }
                if let Err(error) = code_grant::check_unused_code(code, request, now) {
                    outcomes[index] = Some(Err(error));
                    continue;
                }
                let Some(allowed) = registered.get(&request.client.id) else {
                    outcomes[index] = Some(Err(client_disabled_error()));
                    continue;
                };
                let scope = ScopeSet::parse(&code.scope)
                    .map_err(|e| ServiceError::Unexpected(e.to_string()))?
                    .intersection(allowed);
                if scope.is_empty() {
                    outcomes[index] = Some(Err(code_grant::scopes_withdrawn_error()));
                    continue;
                }
                consumed_here.insert(code.code_hash.as_str());
                pending.push(Pending {
                    index,
                    client: request.client.clone(),
                    user_id: code.user_id,
                    site_id: code.site_id,
                    scope,
                    address: request.address.clone(),
                    source: Source::Code(code.clone()),
                });
            }
            GrantRequest::Refresh(request) => {
                let Some(row) = refresh_rows.get(&request.token_hash) else {
                    outcomes[index] = Some(Err(refresh_grant::invalid()));
                    continue;
                };
                if row.client_uuid != request.client.id {
                    outcomes[index] = Some(Err(refresh_grant::other_client_error()));
                    continue;
                }
                let Some(family) = families.get(&row.family_id) else {
                    outcomes[index] = Some(Err(refresh_grant::invalid()));
                    continue;
                };
                if row.used_at.is_some() || consumed_here.contains(row.token_hash.as_str()) {
                    reuses.push(Reuse::Refresh {
                        index,
                        client: request.client.clone(),
                        family: family.clone(),
                        address: request.address.clone(),
                    });
                    continue;
                }
                let Some(allowed) = registered.get(&request.client.id) else {
                    outcomes[index] = Some(Err(client_disabled_error()));
                    continue;
                };
                let scope = match refresh_grant::check_unused_token(
                    row,
                    family,
                    request.scope.as_deref(),
                    allowed,
                    settings,
                    now,
                )? {
                    Ok(scope) => scope,
                    Err(error) => {
                        outcomes[index] = Some(Err(error));
                        continue;
                    }
                };
                consumed_here.insert(row.token_hash.as_str());
                pending.push(Pending {
                    index,
                    client: request.client.clone(),
                    user_id: family.user_id,
                    site_id: family.site_id,
                    scope,
                    address: request.address.clone(),
                    source: Source::Refresh {
                        token_hash: row.token_hash.clone(),
                        family: family.clone(),
                    },
                });
            }
        }
    }
    Ok((pending, reuses))
}

/// The client was disabled after it authenticated (between the request and its batch).
fn client_disabled_error() -> OAuthError {
    OAuthError::invalid_client("client is disabled")
}

/// The scopes each of `client_ids` is registered for, for the clients that are active (a
/// disabled client is missing from the map), in one query.
async fn active_client_scopes(
    txn: &sea_orm::DatabaseTransaction,
    client_ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, ScopeSet>, ServiceError> {
    let ids: HashSet<Uuid> = client_ids.collect();
    let rows: Vec<(Uuid, String)> = client_scope::Entity::find()
        .select_only()
        .column(client_scope::Column::ClientUuid)
        .column(client_scope::Column::Scope)
        .join(JoinType::InnerJoin, client_scope::Relation::Client.def())
        .filter(batch::is_in(
            txn.get_database_backend(),
            client_scope::Column::ClientUuid,
            ids,
        ))
        .filter(client::Column::DisabledAt.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    let mut scopes: HashMap<Uuid, Vec<crate::domain::ScopeName>> = HashMap::new();
    for (client_uuid, scope) in rows {
        if let Ok(name) = crate::domain::ScopeName::parse(&scope) {
            scopes.entry(client_uuid).or_default().push(name);
        }
    }
    Ok(scopes
        .into_iter()
        .map(|(id, names)| (id, ScopeSet::from_names(names)))
        .collect())
}

/// Marks the codes and refresh tokens of `pending` consumed. One that another process
/// consumed since it was read becomes a reuse; returns the rest.
async fn consume(
    txn: &sea_orm::DatabaseTransaction,
    pending: Vec<Pending>,
    reuses: &mut Vec<Reuse>,
    now: Timestamp,
) -> Result<Vec<Pending>, ServiceError> {
    let code_hashes: Vec<String> = pending
        .iter()
        .filter_map(|p| match &p.source {
            Source::Code(code) => Some(code.code_hash.clone()),
            Source::Refresh { .. } => None,
        })
        .collect();
    let token_hashes: Vec<String> = pending
        .iter()
        .filter_map(|p| match &p.source {
            Source::Refresh { token_hash, .. } => Some(token_hash.clone()),
            Source::Code(_) => None,
        })
        .collect();
    let backend = txn.get_database_backend();
    let mut consumed: HashSet<String> = HashSet::new();
    if !code_hashes.is_empty() {
        consumed.extend(
            authorization_code::Entity::update_many()
                .col_expr(
                    authorization_code::Column::ConsumedAt,
                    Expr::value(now.unix()),
                )
                .filter(batch::is_in(
                    backend,
                    authorization_code::Column::CodeHash,
                    code_hashes,
                ))
                .filter(authorization_code::Column::ConsumedAt.is_null())
                .exec_with_returning(txn)
                .await?
                .into_iter()
                .map(|row| row.code_hash),
        );
    }
    if !token_hashes.is_empty() {
        consumed.extend(
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::value(now.unix()))
                .filter(batch::is_in(
                    backend,
                    refresh_token::Column::TokenHash,
                    token_hashes,
                ))
                .filter(refresh_token::Column::UsedAt.is_null())
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec_with_returning(txn)
                .await?
                .into_iter()
                .map(|row| row.token_hash),
        );
    }
    let mut kept = Vec::with_capacity(pending.len());
    for p in pending {
        let hash = match &p.source {
            Source::Code(code) => &code.code_hash,
            Source::Refresh { token_hash, .. } => token_hash,
        };
        if consumed.contains(hash) {
            kept.push(p);
            continue;
        }
        reuses.push(match p.source {
            Source::Code(code) => Reuse::Code {
                index: p.index,
                client: p.client,
                code,
                address: p.address,
            },
            Source::Refresh { family, .. } => Reuse::Refresh {
                index: p.index,
                client: p.client,
                family,
                address: p.address,
            },
        });
    }
    Ok(kept)
}

/// An active user with the API User permission on a site.
#[derive(Debug, FromQueryResult)]
struct ApiUser {
    api_site_id: Uuid,
    #[sea_orm(nested)]
    user: user::Model,
}

/// The users of `pending` who are active API users of the site in question, by (site, user),
/// in one query.
async fn users_who_may_authorize(
    txn: &sea_orm::DatabaseTransaction,
    pending: &[Pending],
) -> Result<HashMap<(Uuid, Uuid), user::Model>, ServiceError> {
    if pending.is_empty() {
        return Ok(HashMap::new());
    }
    let user_ids: HashSet<Uuid> = pending.iter().map(|p| p.user_id).collect();
    Ok(user::Entity::find()
        .column_as(
            Expr::col((membership::Entity, membership::Column::SiteId)),
            "api_site_id",
        )
        .join(
            JoinType::InnerJoin,
            user::Entity::belongs_to(membership::Entity)
                .from(user::Column::Id)
                .to(membership::Column::UserId)
                .into(),
        )
        .filter(batch::is_in(
            txn.get_database_backend(),
            user::Column::Id,
            user_ids,
        ))
        .filter(user::Column::DisabledAt.is_null())
        .filter(Expr::col((membership::Entity, membership::Column::IsApiUser)).eq(true))
        .into_model::<ApiUser>()
        .all(txn)
        .await?
        .into_iter()
        .map(|row| ((row.api_site_id, row.user.id), row.user))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NewPassword, SiteName};
    use crate::server::{
        crypto::tokens::{self, TokenKind},
        services::{
            oauth::access_tokens::{self, Lookup},
            seed::{self, SeedPlan},
        },
        testing::TestDatabases,
    };

    fn description(outcome: &Outcome) -> &str {
        outcome
            .as_ref()
            .err()
            .map_or("(tokens issued)", |e| &e.description)
    }

    #[tokio::test]
    async fn one_batch_settles_every_request_in_arrival_order() {
        for db in TestDatabases::all().await {
            let state = AppState::new(
                db.conn.clone(),
                Settings::default(),
                &[7; 32],
                Clock::manual(Timestamp(1_900_000_000)),
                None,
            )
            .unwrap();
            let report = seed::seed(
                &state,
                &SeedPlan {
                    site: SiteName::parse("Batch").unwrap(),
                    api_users: 1,
                    clients: 1,
                    audit_events: 0,
                    password: NewPassword::parse("a sturdy passphrase", "seed-user-0001").unwrap(),
                    codes: 2,
                    token_pairs: 1,
                },
            )
            .await
            .unwrap();
            let seeded = &report.clients[0];
            let client = client::Entity::find_by_id(seeded.id)
                .one(&state.db)
                .await
                .unwrap()
                .unwrap();
            let exchange = |code: &str, redirect_uri: &str| {
                GrantRequest::Exchange(ExchangeRequest {
                    client: client.clone(),
                    code_hash: tokens::digest(code),
                    redirect_uri: redirect_uri.to_owned(),
                    code_verifier: None,
                    address: None,
                })
            };
            let refresh = |token: &str| {
                GrantRequest::Refresh(RefreshRequest {
                    client: client.clone(),
                    token_hash: tokens::digest(token),
                    scope: None,
                    address: None,
                })
            };
            let codes = &report.fixtures.codes;
            let pair = &report.fixtures.token_pairs[0].value;
            let unknown = tokens::generate(TokenKind::AuthorizationCode).unwrap();
            let requests = [
                exchange(codes[0].value.expose(), &seeded.redirect_uri),
                exchange(codes[0].value.expose(), &seeded.redirect_uri),
                exchange(codes[1].value.expose(), "https://elsewhere.example.com/cb"),
                refresh(pair.refresh_token.expose()),
                refresh(pair.refresh_token.expose()),
                exchange(&unknown, &seeded.redirect_uri),
            ];
            let context = Context {
                db: state.db.clone(),
                settings: Arc::clone(&state.settings),
                keys: Arc::clone(&state.keys),
                clock: state.clock.clone(),
                usage: Arc::clone(&state.usage),
            };
            let now = state.clock.now();
            let settled = settle(&context, &requests, now).await.unwrap();
            let got: Vec<&str> = settled.outcomes.iter().map(description).collect();
            assert_eq!(
                got,
                [
                    "(tokens issued)",
                    "the authorization code was already used; 1 grant(s) issued from it were revoked",
                    "redirect_uri does not match the authorization request",
                    "(tokens issued)",
                    "the refresh token was already used; the grant has been revoked",
                    "the authorization code is invalid, expired or already used",
                ],
                "{}",
                db.name
            );
            // Each reuse revoked the grant, tokens issued earlier in the same batch included.
            for winner in [0, 3] {
                let Ok(issued) = &settled.outcomes[winner] else {
                    unreachable!()
                };
                let digest = tokens::digest(issued.access_token.expose());
                assert_eq!(
                    access_tokens::look_up(&state, &digest, now).await.unwrap(),
                    Lookup::Revoked,
                    "request {winner} on {}",
                    db.name
                );
            }
            // A wrong redirect URI did not spend the code: the right one still works, once.
            let again = [exchange(codes[1].value.expose(), &seeded.redirect_uri)];
            let settled = settle(&context, &again, now).await.unwrap();
            assert_eq!(description(&settled.outcomes[0]), "(tokens issued)");
            db.cleanup().await;
        }
    }
}
