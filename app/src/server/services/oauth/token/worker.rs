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

use crate::domain::Timestamp;
use crate::server::{
    Clock, ServiceError,
    db::{batch, begin_write, execute_all},
    entities::token_family,
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
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::batch_check::{Reuse, Source, check_all, consume};
use super::request::{GrantRequest, Outcome};
use super::step_timer::StepTimer;
use super::{client_rules, code_rules, reads, refresh_rules, writes};

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

    // The user must still be an active API user of the grant's site (a client acting for
    // itself has none).
    let users =
        reads::users_who_may_authorize(&txn, pending.iter().filter_map(|p| p.user_id).collect())
            .await?;
    steps.mark("users");
    let mut issuing = Vec::with_capacity(pending.len());
    for p in pending {
        let Some(user_id) = p.user_id else {
            issuing.push((p, None));
            continue;
        };
        match users.get(&(p.site_id, user_id)) {
            Some(user) => issuing.push((p, Some(user.clone()))),
            None => {
                let error = match &p.source {
                    Source::Code(_) | Source::Client => code_rules::user_lost_error(),
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
            Source::Client => {
                let family = token_family::Model {
                    id: Uuid::now_v7(),
                    client_uuid: p.client.id,
                    user_id: None,
                    site_id: p.site_id,
                    scope: p.scope.to_string(),
                    code_hash: None,
                    created_at: now.unix(),
                    revoked_at: None,
                    revoked_reason: None,
                    resource: p.audience.clone(),
                    dpop_jkt: p.dpop_jkt.clone(),
                };
                new_families.push(family.clone());
                minted.push((
                    family.id,
                    issue::mint_access_only(
                        &context.settings,
                        &family,
                        &p.scope,
                        p.audience.as_deref(),
                        p.dpop_jkt.as_deref(),
                        now,
                    )?,
                ));
                continue;
            }
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
                    // What the user authorized; each token may be narrowed within it.
                    resource: code.resource.clone(),
                    // A proof at the exchange binds the grant: its refreshes need the key.
                    dpop_jkt: p.dpop_jkt.clone(),
                };
                new_families.push(family.clone());
                family
            }
            Source::Refresh { family, .. } => family.clone(),
        };
        minted.push((
            family.id,
            issue::mint(
                &context.settings,
                &family,
                &p.scope,
                p.audience.as_deref(),
                p.dpop_jkt.as_deref(),
                now,
            )?,
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
            Reuse::Nothing => continue,
        };
        outcomes[index] = Some(Err(error));
    }

    // One audit event per grant that got tokens, appended per site chain.
    // By site id: chain heads are locked in the same order by every writer of several chains.
    let mut events: BTreeMap<Uuid, Vec<(NewEvent, Timestamp)>> = BTreeMap::new();
    let mut issued_to = Vec::with_capacity(issuing.len());
    for ((p, user), (family_id, pair)) in issuing.into_iter().zip(minted) {
        let event = match (&p.source, &user) {
            (Source::Code(_), Some(user)) => {
                code_rules::issued_event(&p.client, user, family_id, &p.scope, p.address)
            }
            (Source::Refresh { family, .. }, Some(user)) => {
                refresh_rules::refreshed_event(&p.client, user, family, &p.scope, p.address)
            }
            (Source::Client, None) => {
                client_rules::issued_event(&p.client, family_id, &p.scope, p.address)
            }
            // A user's grant always has its user here (checked above); a client's never.
            (Source::Code(_) | Source::Refresh { .. }, None) | (Source::Client, Some(_)) => {
                return Err(ServiceError::Unexpected(
                    "a grant and the user it acts for do not match".into(),
                ));
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

#[cfg(test)]
mod tests {
    use super::super::request::{ExchangeRequest, RefreshRequest};
    use super::*;
    use crate::server::AppState;
    use crate::server::entities::client;
    use crate::server::{
        crypto::tokens::Secret,
        crypto::tokens::{self, TokenKind},
        services::oauth::{
            access_tokens::{self, Lookup},
            issue::IssuedTokens,
            token,
        },
        test_fixtures,
        testing::TestDatabases,
    };

    /// A site with one API user and one client (registered as the console does), two unused
    /// codes and one token pair.
    async fn one_client_with_codes(state: &AppState) -> (client::Model, [Secret; 2], IssuedTokens) {
        let (site, user, client) = test_fixtures::site_user_and_client(state, "Batch").await;
        let mut codes = Vec::new();
        for _ in 0..3 {
            codes.push(test_fixtures::code_for(state, &site, &user, &client).await);
        }
        let third = codes.pop().unwrap();
        let pair = token::exchange(
            state,
            &client,
            third.expose(),
            Some(&client.redirect_uri),
            None,
            None,
            Default::default(),
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
            let state = test_fixtures::state(&db.conn);
            let (client, codes, pair) = one_client_with_codes(&state).await;
            let redirect_uri = client.redirect_uri.clone();
            let exchange = |code: &str, redirect_uri: &str| {
                GrantRequest::Exchange(ExchangeRequest {
                    client: client.clone(),
                    code_hash: tokens::digest(code),
                    redirect_uri: redirect_uri.to_owned(),
                    code_verifier: None,
                    resource: None,
                    address: None,
                    dpop_jkt: None,
                })
            };
            let refresh = |token: &str| {
                GrantRequest::Refresh(RefreshRequest {
                    client: client.clone(),
                    token_hash: tokens::digest(token),
                    scope: None,
                    resource: None,
                    address: None,
                    dpop_jkt: None,
                })
            };
            let unknown = tokens::generate(TokenKind::AuthorizationCode).unwrap();
            let requests = [
                exchange(codes[0].expose(), &redirect_uri),
                exchange(codes[0].expose(), &redirect_uri),
                exchange(codes[1].expose(), "https://elsewhere.example.com/cb"),
                refresh(pair.refresh_token.as_ref().unwrap().expose()),
                refresh(pair.refresh_token.as_ref().unwrap().expose()),
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
