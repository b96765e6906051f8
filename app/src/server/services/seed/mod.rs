//! Demo and benchmark data (`latchkey seed`): API users, thousands of clients and a long audit
//! log, written in bulk but with the same entities, credential formats, secret storage and
//! hash-chained audit events as real use, so what it produces behaves like real data.

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    crypto::{
        secret_box,
        tokens::{self, Secret, TokenKind},
    },
    db::begin_write,
    entities::{
        client, client_scope, client_secret, site_membership as membership, terms_acceptance, user,
    },
    services::{
        access::Acting,
        audit::{self, Action, Actor, ActorKind, NewEvent, Target, TargetKind},
        secrets, sites,
    },
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

pub mod fixtures;
pub mod plan;

pub use plan::{SeedPlan, SeededClient};

/// What was created.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The site.
    pub site_id: Uuid,
    /// Usernames of the API users.
    pub api_users: Vec<String>,
    /// The clients created by this run.
    pub clients: Vec<SeededClient>,
    /// Codes and token pairs minted for those clients (minted last, so they are fresh).
    pub fixtures: fixtures::Fixtures,
}

const BATCH: usize = 500;

/// After a bulk load PostgreSQL still describes the tables as they were until autovacuum gets
/// round to them: its statistics say empty (the filtered Audit Log page took 372 ms instead of
/// 0.4 ms at 1,000,000 events) and no visibility map lets it answer from an index alone (the
/// API Clients list sorted 10,000 rows for a deep page: 11 ms instead of 1.5 ms). SQLite plans
/// from its indexes alone.
async fn refresh_planner_statistics(db: &sea_orm::DatabaseConnection) -> Result<(), ServiceError> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
    }
    Ok(())
}

/// Creates the data of `plan` in batches (each its own transaction, so a running server keeps
/// serving meanwhile).
pub async fn seed(state: &AppState, plan: &SeedPlan) -> Result<SeedReport, ServiceError> {
    let operator = Acting::operator();
    let now = state.clock.now();
    let site = match sites::find_by_name(&state.db, plan.site.as_str()).await? {
        Some(site) => site,
        None => sites::create(&state.db, &state.keys, &operator, &plan.site, now).await?,
    };
    let api_users = seed_users(state, site.id, plan, now).await?;
    let clients = seed_clients(state, site.id, &api_users, plan.clients, now).await?;
    seed_audit(state, site.id, plan.audit_events, now).await?;
    let user_ids: Vec<Uuid> = api_users.iter().map(|(id, _)| *id).collect();
    let fixtures = fixtures::mint(
        state,
        site.id,
        &clients,
        &user_ids,
        plan.codes,
        plan.token_pairs,
    )
    .await?;
    refresh_planner_statistics(&state.db).await?;
    Ok(SeedReport {
        site_id: site.id,
        api_users: api_users.into_iter().map(|(_, name)| name).collect(),
        clients,
        fixtures,
    })
}

async fn seed_users(
    state: &AppState,
    site_id: Uuid,
    plan: &SeedPlan,
    now: Timestamp,
) -> Result<Vec<(Uuid, String)>, ServiceError> {
    // One argon2 hash shared by all seeded users: they share the password anyway.
    let hash = state.passwords.hash(&plan.password).await?;
    let mut users = Vec::with_capacity(plan.api_users);
    for chunk_start in (0..plan.api_users).step_by(BATCH) {
        let txn = begin_write(&state.db).await?;
        let mut events = Vec::new();
        for i in chunk_start..(chunk_start + BATCH).min(plan.api_users) {
            let username = format!("seed-user-{:04}", i + 1);
            let existing = user::Entity::find()
                .filter(user::Column::UsernameKey.eq(&username))
                .one(&txn)
                .await?;
            let id = match existing {
                Some(existing) => existing.id,
                None => {
                    let id = Uuid::now_v7();
                    user::Entity::insert(user::ActiveModel {
                        id: Set(id),
                        username: Set(username.clone()),
                        username_key: Set(username.clone()),
                        email: Set(format!("{username}@example.com")),
                        password_hash: Set(hash.clone()),
                        created_at: Set(now.unix()),
                        updated_at: Set(now.unix()),
                        password_changed_at: Set(now.unix()),
                        last_sign_in_at: Set(None),
                        disabled_at: Set(None),
                        session_generation: Set(0),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                    events.push((
                        NewEvent::new(
                            Some(site_id),
                            Action::UserCreated,
                            Actor::operator(None),
                            format!("User \"{username}\" created (API user)"),
                        )
                        .target(Target::new(
                            TargetKind::User,
                            id,
                            &username,
                        )),
                        now,
                    ));
                    id
                }
            };
            membership::Entity::insert(membership::ActiveModel {
                site_id: Set(site_id),
                user_id: Set(id),
                is_site_admin: Set(false),
                is_api_user: Set(true),
                created_at: Set(now.unix()),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    membership::Column::SiteId,
                    membership::Column::UserId,
                ])
                .update_column(membership::Column::IsApiUser)
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            users.push((id, username));
        }
        audit::record_batch(&txn, &state.keys, Some(site_id), events).await?;
        txn.commit().await?;
    }
    Ok(users)
}

async fn seed_clients(
    state: &AppState,
    site_id: Uuid,
    owners: &[(Uuid, String)],
    count: usize,
    now: Timestamp,
) -> Result<Vec<SeededClient>, ServiceError> {
    if owners.is_empty() || count == 0 {
        return Ok(Vec::new());
    }
    let policy = state.settings.secret_policy;
    let mut created = Vec::with_capacity(count);
    for chunk_start in (0..count).step_by(BATCH) {
        let txn = begin_write(&state.db).await?;
        let (mut clients, mut scopes, mut slots, mut terms, mut events) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for n in chunk_start..(chunk_start + BATCH).min(count) {
            let (owner_id, owner_name) = &owners[n % owners.len()];
            let id = Uuid::now_v7();
            let client_id = tokens::generate(TokenKind::ClientId)?;
            let secret = Secret::new(tokens::generate(TokenKind::ClientSecret)?);
            let name = format!("Seeded client {:05}", n + 1);
            let redirect_uri = format!("https://client-{}.example.com/callback", n + 1);
            // Spread registrations over 90 days; a third never used, the rest recently.
            let created_at = now.unix() - (n as i64 % 90) * 86_400 - 3_600;
            let last_used_at = (n % 3 != 0).then_some(now.unix() - (n as i64 % 7) * 86_400);
            clients.push(client::ActiveModel {
                id: Set(id),
                site_id: Set(site_id),
                client_id: Set(client_id.clone()),
                name: Set(name.clone()),
                name_key: Set(name.to_lowercase()),
                description: Set(format!("Seeded for load tests ({owner_name})")),
                redirect_uri: Set(redirect_uri.clone()),
                owner_user_id: Set(*owner_id),
                require_pkce: Set(false),
                disabled_at: Set(None),
                created_by_user_id: Set(None),
                created_by_label: Set("operator".into()),
                created_at: Set(created_at),
                updated_at: Set(created_at),
                last_used_at: Set(last_used_at),
                terms_version: Set(state.settings.terms.version.clone()),
            });
            scopes.push(client_scope::ActiveModel {
                client_uuid: Set(id),
                scope: Set("profile".into()),
            });
            slots.push(client_secret::ActiveModel {
                id: Set(Uuid::now_v7()),
                client_uuid: Set(id),
                verifier: Set(secrets::verifier(&state.keys, secret.expose())),
                ciphertext: Set(match policy {
                    crate::server::state::SecretPolicy::Reveal => Some(secret_box::seal(
                        &state.keys.secret_encryption,
                        secret.expose().as_bytes(),
                        client_id.as_bytes(),
                    )?),
                    crate::server::state::SecretPolicy::ShowOnce => None,
                }),
                hint: Set(secret.hint()),
                created_at: Set(created_at),
                created_by_label: Set("operator".into()),
                expires_at: Set(None),
                retired_at: Set(None),
                last_used_at: Set(last_used_at),
                use_count: Set(0),
            });
            terms.push(terms_acceptance::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                client_uuid: Set(id),
                terms_version: Set(state.settings.terms.version.clone()),
                accepted_by_user_id: Set(None),
                accepted_by_label: Set("operator".into()),
                accepted_at: Set(created_at),
                accepted_from: Set(None),
            });
            let target = Target::new(TargetKind::Client, &client_id, &name);
            events.push((
                NewEvent::new(Some(site_id), Action::ClientRegistered, Actor::operator(None), format!("API client \"{name}\" registered for {owner_name}"))
                    .target(target.clone())
                    .details(json!({"client_id": client_id, "owner": owner_name, "redirect_uri": redirect_uri})),
                Timestamp(created_at),
            ));
            events.push((
                NewEvent::new(
                    Some(site_id),
                    Action::TermsAccepted,
                    Actor::operator(None),
                    format!("operator accepted the Terms of Use for \"{name}\""),
                )
                .target(target),
                Timestamp(created_at),
            ));
            created.push(SeededClient {
                id,
                client_id,
                secret,
                redirect_uri,
                owner: owner_name.clone(),
            });
        }
        client::Entity::insert_many(clients)
            .exec_without_returning(&txn)
            .await?;
        client_scope::Entity::insert_many(scopes)
            .exec_without_returning(&txn)
            .await?;
        client_secret::Entity::insert_many(slots)
            .exec_without_returning(&txn)
            .await?;
        terms_acceptance::Entity::insert_many(terms)
            .exec_without_returning(&txn)
            .await?;
        audit::record_batch(&txn, &state.keys, Some(site_id), events).await?;
        txn.commit().await?;
    }
    Ok(created)
}

async fn seed_audit(
    state: &AppState,
    site_id: Uuid,
    count: usize,
    now: Timestamp,
) -> Result<(), ServiceError> {
    const ACTIONS: [Action; 6] = [
        Action::SignedIn,
        Action::ClientUpdated,
        Action::SecretRevealed,
        Action::SecretRotated,
        Action::UserRolesChanged,
        Action::SignInFailed,
    ];
    let span = 90 * 86_400_i64;
    let total = i64::try_from(count).unwrap_or(i64::MAX).max(1);
    for chunk_start in (0..count).step_by(5_000) {
        let txn = begin_write(&state.db).await?;
        let events = (chunk_start..(chunk_start + 5_000).min(count))
            .map(|n| {
                let action = ACTIONS[n % ACTIONS.len()];
                let at = Timestamp(now.unix() - span + (n as i64) * span / total);
                let actor = Actor {
                    kind: ActorKind::Admin,
                    id: None,
                    label: format!("seed-admin-{}", n % 5),
                    address: Some(format!("198.51.100.{}", n % 250)),
                };
                let event = NewEvent::new(
                    Some(site_id),
                    action,
                    actor,
                    format!("Seeded event #{} ({})", n + 1, action.as_str()),
                )
                .target(Target::new(
                    TargetKind::Client,
                    format!("seeded-{}", n % 1_000),
                    format!("Seeded client {:05}", n % 1_000 + 1),
                ));
                (event, at)
            })
            .collect();
        audit::record_batch(&txn, &state.keys, Some(site_id), events).await?;
        txn.commit().await?;
    }
    Ok(())
}
