//! The token endpoint's batch worker (group commit for RFC 6749 §4.1.3 and §6).
//!
//! Each code exchange or refresh writes: a code or refresh token consumed, a grant and a token
//! pair inserted, an audit event appended. One request per transaction, the single writer
//! spends its time on round trips (on SQLite each is two thread hand-offs) and the token
//! endpoint tops out at a few hundred requests per second. Here one worker per process takes
//! every request waiting, judges each by its grant's rules (`code_rules`, `refresh_rules`) in
//! arrival order, and settles them all in one transaction of a few multi-row statements
//! (`reads`, `writes`). The rules never call back into the worker.
//!
//! Single use holds as before: within a batch the first request for a code or refresh token
//! wins and later ones are reuse (the grant is revoked, tokens issued earlier in the same batch
//! included); against other processes, the consuming `UPDATE … RETURNING` says which rows this
//! batch really consumed, and a row another process consumed first counts as reuse.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    Clock, ServiceError,
    db::{batch, begin_write, execute_all},
    entities::{authorization_code, client, token_family},
    keys::Keys,
    protocol::OAuthError,
    services::{
        audit::{self, NewEvent},
        oauth::{
            issue::{self, MintedPair},
            usage::UsageRecorder,
        },
        token_families,
    },
    settings::Settings,
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::request::{GrantRequest, Outcome, Verdict};
use super::step_timer::StepTimer;
use super::{code_rules, reads, refresh_rules, writes};

/// Requests settled in one transaction at most.
const MAX_BATCH: usize = 256;
/// Requests waiting for the workers at most (then callers wait to enqueue).
const QUEUE: usize = 4_096;

type Job = (GrantRequest, oneshot::Sender<Outcome>);

/// What the worker needs of the application (not the application state itself, which holds
/// the writer: the worker ends when the last state is dropped).
#[derive(Debug)]
pub struct WorkerContext {
    /// The database.
    pub db: DatabaseConnection,
    /// Lifetimes of what is issued.
    pub settings: Arc<Settings>,
    /// The audit chain's keys.
    pub keys: Arc<Keys>,
    /// Source of "now" for each batch.
    pub clock: Clock,
    /// Where issued tokens are counted.
    pub usage: Arc<UsageRecorder>,
}

/// The queue in front of this process's grant worker; the worker starts with the first
/// request.
#[derive(Debug)]
pub struct GrantWriter {
    queue: mpsc::Sender<Job>,
    idle: Mutex<Option<(WorkerContext, mpsc::Receiver<Job>)>>,
}

impl GrantWriter {
    /// A writer whose worker (started on first use) works with `context`.
    pub fn new(context: WorkerContext) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        Self {
            queue,
            idle: Mutex::new(Some((context, receiver))),
        }
    }

    /// Settles `request` with whatever else is waiting, and returns its outcome.
    pub async fn submit(&self, request: GrantRequest) -> Outcome {
        self.start();
        let (reply, outcome) = oneshot::channel();
        let stopped = || OAuthError::from(ServiceError::Unexpected("grant worker stopped".into()));
        self.queue
            .send((request, reply))
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    fn start(&self) {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((context, receiver)) = idle {
            // One worker: measured against two and four on PostgreSQL, larger batches win
            // (SQLite has a single writer anyway).
            tokio::spawn(run(context, receiver));
        }
    }
}

async fn run(context: WorkerContext, mut queue: mpsc::Receiver<Job>) {
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

impl Reuse {
    /// The reuse of what `source` presented, by request `index`.
    fn of(index: usize, client: client::Model, source: Source, address: Option<String>) -> Self {
        match source {
            Source::Code(code) => Self::Code {
                index,
                client,
                code,
                address,
            },
            Source::Refresh { family, .. } => Self::Refresh {
                index,
                client,
                family,
                address,
            },
        }
    }
}

struct Settled {
    outcomes: Vec<Outcome>,
    /// (client, site) of every grant that got tokens, for the usage counts.
    issued_to: Vec<(Uuid, Uuid)>,
}

async fn settle(
    context: &WorkerContext,
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
    let users =
        reads::users_who_may_authorize(&txn, pending.iter().map(|p| p.user_id).collect()).await?;
    steps.mark("users");
    let mut issuing = Vec::with_capacity(pending.len());
    for p in pending {
        match users.get(&(p.site_id, p.user_id)) {
            Some(user) => issuing.push((p, user.clone())),
            None => {
                let error = match &p.source {
                    Source::Code(_) => code_rules::user_lost_error(),
                    Source::Refresh { family, .. } => {
                        token_families::revoke_family(
                            &txn,
                            family.id,
                            "user can no longer authorize",
                            now,
                        )
                        .await?;
                        revoked_any = true;
                        refresh_rules::user_lost_error()
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
                let revoked = writes::revoke_after_code_reuse(
                    &txn,
                    &context.keys,
                    &client,
                    &code,
                    address,
                    now,
                )
                .await?;
                (index, code_rules::reused_error(revoked))
            }
            Reuse::Refresh {
                index,
                client,
                family,
                address,
            } => {
                writes::revoke_after_refresh_reuse(
                    &txn,
                    &context.keys,
                    &client,
                    &family,
                    address,
                    now,
                )
                .await?;
                (index, refresh_rules::reused_error())
            }
        };
        outcomes[index] = Some(Err(error));
    }

    // One audit event per grant that got tokens, appended per site chain.
    // By site id: chain heads are locked in the same order by every writer of several chains.
    let mut events: BTreeMap<Uuid, Vec<(NewEvent, Timestamp)>> = BTreeMap::new();
    let mut issued_to = Vec::with_capacity(issuing.len());
    for ((p, user), (family_id, pair)) in issuing.into_iter().zip(minted) {
        let event = match &p.source {
            Source::Code(_) => {
                code_rules::issued_event(&p.client, &user, family_id, &p.scope, p.address)
            }
            Source::Refresh { family, .. } => {
                refresh_rules::refreshed_event(&p.client, &user, family, &p.scope, p.address)
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

/// Judges every request in arrival order against the rows it presents; fills `outcomes` for
/// the refused ones and returns the rest, and the reuses found.
async fn check_all(
    txn: &sea_orm::DatabaseTransaction,
    requests: &[GrantRequest],
    outcomes: &mut [Option<Outcome>],
    settings: &Settings,
    now: Timestamp,
) -> Result<(Vec<Pending>, Vec<Reuse>), ServiceError> {
    let presented = reads::presented(txn, requests).await?;
    let registered =
        reads::active_client_scopes(txn, requests.iter().map(|r| r.client().id)).await?;

    let mut pending = Vec::new();
    let mut reuses = Vec::new();
    let mut consumed_here: HashSet<&str> = HashSet::new();
    for (index, request) in requests.iter().enumerate() {
        let allowed = registered.get(&request.client().id);
        // The verdict, the digest that would be consumed, and what it was presented for.
        let (verdict, digest, source) = match request {
            GrantRequest::Exchange(request) => {
                let code = presented.codes.get(&request.code_hash);
                let spent_here = consumed_here.contains(request.code_hash.as_str());
                (
                    code_rules::judge(request, code, spent_here, allowed, now)?,
                    request.code_hash.as_str(),
                    code.map(|code| Source::Code(code.clone())),
                )
            }
            GrantRequest::Refresh(request) => {
                let row = presented.refresh_tokens.get(&request.token_hash);
                let family = row.and_then(|row| presented.families.get(&row.family_id));
                let spent_here = consumed_here.contains(request.token_hash.as_str());
                (
                    refresh_rules::judge(request, row, family, spent_here, allowed, settings, now)?,
                    request.token_hash.as_str(),
                    family.map(|family| Source::Refresh {
                        token_hash: request.token_hash.clone(),
                        family: family.clone(),
                    }),
                )
            }
        };
        let (client, address) = (request.client().clone(), request.address().clone());
        match verdict {
            Verdict::Refuse(error) => outcomes[index] = Some(Err(error)),
            Verdict::Reused => {
                let source = source.ok_or_else(unjudged)?;
                reuses.push(Reuse::of(index, client, source, address));
            }
            Verdict::Issue {
                user_id,
                site_id,
                scope,
            } => {
                consumed_here.insert(digest);
                pending.push(Pending {
                    index,
                    client,
                    user_id,
                    site_id,
                    scope,
                    address,
                    source: source.ok_or_else(unjudged)?,
                });
            }
        }
    }
    Ok((pending, reuses))
}

/// A rule answered `Issue` or `Reused` without the row it judges (a bug, never a client's
/// doing).
fn unjudged() -> ServiceError {
    ServiceError::Unexpected("a grant rule judged a row that was not there".into())
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
    let consumed = writes::consume(txn, code_hashes, token_hashes, now).await?;
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
        reuses.push(Reuse::of(p.index, p.client, p.source, p.address));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::super::request::{ExchangeRequest, RefreshRequest};
    use super::*;
    use crate::domain::{
        ClientDescription, ClientName, EmailAddress, RedirectUri, ScopeSet, SiteRoles, Username,
    };
    use crate::domain::{NewPassword, SiteName};
    use crate::server::AppState;
    use crate::server::{
        crypto::tokens::Secret,
        crypto::tokens::{self, TokenKind},
        services::{
            access::Acting,
            clients::{self, Registration},
            context::ServiceContext,
            oauth::{
                access_tokens::{self, Lookup},
                authorize::{AuthorizationRequest, issue_code},
                issue::IssuedTokens,
                token,
            },
            sites,
            users::{self, NewUser},
        },
        testing::TestDatabases,
    };
    use sea_orm::TransactionTrait;

    /// A site with one API user and one client (registered as the console does), two unused
    /// codes and one token pair.
    async fn one_client_with_codes(state: &AppState) -> (client::Model, [Secret; 2], IssuedTokens) {
        let operator = Acting::operator();
        let now = state.clock.now();
        let name = SiteName::parse("Batch").unwrap();
        let cx = ServiceContext::new(state, &operator);
        let site = sites::create(&cx, &name).await.unwrap();
        let new = NewUser {
            username: Username::parse("batch-user").unwrap(),
            email: EmailAddress::parse("batch-user@example.com").unwrap(),
            password: NewPassword::parse("a sturdy passphrase", "batch-user").unwrap(),
            roles: vec![SiteRoles {
                site_id: site.id,
                is_site_admin: false,
                is_api_user: true,
            }],
        };
        let hash = state.passwords.hash(&new.password).await.unwrap();
        let txn = state.db.begin().await.unwrap();
        let user = users::insert(&txn, &state.keys, &operator, &new, hash, now)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let registration = Registration {
            name: ClientName::parse("Batch client").unwrap(),
            description: ClientDescription::parse("Exchanges codes in batches").unwrap(),
            redirect_uri: RedirectUri::parse("https://batch.example.com/callback", false).unwrap(),
            scopes: ScopeSet::default(),
            owner_user_id: user.id,
            require_pkce: false,
            terms_accepted: true,
            secret_lifetime: crate::domain::secret_lifetime::LifetimeChoice::SiteDefault,
        };
        let (client, _secret) = clients::register(&cx, site.id, registration).await.unwrap();
        let request = AuthorizationRequest {
            client: client.clone(),
            site,
            redirect_uri: client.redirect_uri.clone(),
            scope: ScopeSet::parse("profile").unwrap(),
            state: None,
            code_challenge: None,
            prompt: Default::default(),
        };
        let mut codes = Vec::new();
        for _ in 0..3 {
            let txn = state.db.begin().await.unwrap();
            codes.push(
                issue_code(&txn, state, &request, &user, None, now)
                    .await
                    .unwrap(),
            );
            txn.commit().await.unwrap();
        }
        let third = codes.pop().unwrap();
        let pair = token::exchange(
            state,
            &client,
            third.expose(),
            Some(&client.redirect_uri),
            None,
            None,
        )
        .await
        .unwrap();
        let [first, second] = <[Secret; 2]>::try_from(codes).unwrap();
        (client, [first, second], pair)
    }

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
            let (client, codes, pair) = one_client_with_codes(&state).await;
            let redirect_uri = client.redirect_uri.clone();
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
            let unknown = tokens::generate(TokenKind::AuthorizationCode).unwrap();
            let requests = [
                exchange(codes[0].expose(), &redirect_uri),
                exchange(codes[0].expose(), &redirect_uri),
                exchange(codes[1].expose(), "https://elsewhere.example.com/cb"),
                refresh(pair.refresh_token.expose()),
                refresh(pair.refresh_token.expose()),
                exchange(&unknown, &redirect_uri),
            ];
            let context = WorkerContext {
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
            let again = [exchange(codes[1].expose(), &redirect_uri)];
            let settled = settle(&context, &again, now).await.unwrap();
            assert_eq!(description(&settled.outcomes[0]), "(tokens issued)");
            db.cleanup().await;
        }
    }
}
