//! Demo and benchmark data (`latchkey seed`): API users, thousands of clients and a long audit
//! log. Users are created by `users::insert` and clients built by
//! `clients::rows::registration_rows`, the functions the console uses — only written in bulk
//! (hundreds of clients per statement) — so what it produces is real data. A module of the
//! server crate, not of the production services.

use app::domain::{
    ClientDescription, ClientName, EmailAddress, RedirectUri, Review, ScopeName, ScopeSet,
    SiteRoles, Timestamp, Username,
};
use app::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::{
        client, client_scope, client_secret, site_membership as membership, terms_acceptance, user,
    },
    services::{
        access::Acting,
        audit::{self, Action, Actor, ActorKind, NewEvent, Target, TargetKind},
        clients::{self, CheckedRegistration},
        context::ServiceContext,
        sites,
        users::{self, NewUser},
    },
};
use sea_orm::{ActiveValue::Set, EntityTrait};
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
        None => sites::create(&ServiceContext::new(state, &operator), &plan.site).await?,
    };
    let api_users = seed_users(state, site.id, plan, now).await?;
    let clients = seed_clients(state, site.id, &api_users, plan.clients, now).await?;
    seed_audit(state, site.id, plan.audit_events, now).await?;
    let user_ids: Vec<Uuid> = api_users.iter().map(|user| user.id).collect();
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
        api_users: api_users.into_iter().map(|user| user.username).collect(),
        clients,
        fixtures,
    })
}

/// The API users `seed-user-0001`...: created by `users::insert` (the function behind the
/// console's Add User), [`BATCH`] per transaction; an existing one that is not yet an API user
/// of the site gets the role through `users::set_roles`, keeping any other role it holds.
async fn seed_users(
    state: &AppState,
    site_id: Uuid,
    plan: &SeedPlan,
    now: Timestamp,
) -> Result<Vec<user::Model>, ServiceError> {
    let operator = Acting::operator();
    // One argon2 hash shared by all seeded users: they share the password anyway.
    let hash = state.passwords.hash(&plan.password).await?;
    let mut users = Vec::with_capacity(plan.api_users);
    let mut needs_role = Vec::new();
    for chunk_start in (0..plan.api_users).step_by(BATCH) {
        let txn = begin_write(&state.db).await?;
        for i in chunk_start..(chunk_start + BATCH).min(plan.api_users) {
            let username = format!("seed-user-{:04}", i + 1);
            let user = match users::find_by_username(&txn, &username).await? {
                Some(existing) if existing.is_deleted() => {
                    return Err(ServiceError::Conflict(format!(
                        "{username} is in the Deleted view: restore or purge it before seeding"
                    )));
                }
                Some(existing) => {
                    let member = membership::Entity::find_by_id((site_id, existing.id))
                        .one(&txn)
                        .await?;
                    if !member.as_ref().is_some_and(|m| m.is_api_user) {
                        let roles = SiteRoles {
                            site_id,
                            is_site_admin: member.is_some_and(|m| m.is_site_admin),
                            is_api_user: true,
                        };
                        needs_role.push((existing.id, roles));
                    }
                    existing
                }
                None => {
                    let new = NewUser {
                        username: Username::parse(&username).map_err(invalid_fixture)?,
                        email: EmailAddress::parse(&format!("{username}@example.com"))
                            .map_err(invalid_fixture)?,
                        password: plan.password.clone(),
                        roles: vec![SiteRoles {
                            site_id,
                            is_site_admin: false,
                            is_api_user: true,
                        }],
                    };
                    users::insert(&txn, &state.keys, &operator, &new, hash.clone(), now).await?
                }
            };
            users.push(user);
        }
        txn.commit().await?;
    }
    // Role changes take their own transaction (and their own locks), after the inserts.
    let cx = ServiceContext::new(state, &operator);
    for (user_id, roles) in needs_role {
        users::set_roles(&cx, user_id, &[roles]).await?;
    }
    Ok(users)
}

fn invalid_fixture(error: app::domain::Invalid) -> ServiceError {
    ServiceError::caused("a seeded value", error)
}

async fn seed_clients(
    state: &AppState,
    site_id: Uuid,
    owners: &[user::Model],
    count: usize,
    now: Timestamp,
) -> Result<Vec<SeededClient>, ServiceError> {
    if owners.is_empty() || count == 0 {
        return Ok(Vec::new());
    }
    let operator = Acting::operator();
    let scopes = ScopeSet::parse(ScopeName::PROFILE).map_err(invalid_fixture)?;
    let mut created = Vec::with_capacity(count);
    for chunk_start in (0..count).step_by(BATCH) {
        let txn = begin_write(&state.db).await?;
        let (mut clients, mut scope_rows, mut slots, mut terms, mut events) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for n in chunk_start..(chunk_start + BATCH).min(count) {
            let owner = &owners[n % owners.len()];
            let owner_name = &owner.username;
            let name = ClientName::parse(&format!("Seeded client {:05}", n + 1))
                .map_err(invalid_fixture)?;
            let description =
                ClientDescription::parse(&format!("Seeded for load tests ({owner_name})"))
                    .map_err(invalid_fixture)?;
            let redirect_uri = RedirectUri::parse(
                &format!("https://client-{}.example.com/callback", n + 1),
                false,
            )
            .map_err(invalid_fixture)?;
            // Spread registrations over 90 days; a third never used, the rest recently.
            let created_at = Timestamp(now.unix() - (n as i64 % 90) * 86_400 - 3_600);
            let last_used_at = (n % 3 != 0).then_some(now.unix() - (n as i64 % 7) * 86_400);
            let mut rows = clients::rows::registration_rows(
                &state.keys,
                state.settings.secret_policy,
                &clients::rows::Author::of(&operator),
                CheckedRegistration {
                    site_id,
                    name: &name,
                    description: &description,
                    redirect_uri: &redirect_uri,
                    owner: Some(owner),
                    grant_types: app::domain::GrantTypes::AUTHORIZATION_CODE,
                    scopes: &scopes,
                    // Load-test fixtures: their secrets never expire.
                    secret_lifetime: None,
                    require_pkce: false,
                    require_dpop: false,
                    terms_version: &state.settings.terms.version,
                    review: Review::Approved,
                },
                created_at,
            )?;
            rows.client.last_used_at = Set(last_used_at);
            rows.slot.last_used_at = Set(last_used_at);
            let id = *rows.client.id.as_ref();
            let client_id = rows.client.client_id.as_ref().clone();
            created.push(SeededClient {
                id,
                client_id,
                secret: rows.secret,
                redirect_uri: redirect_uri.as_str().to_owned(),
                owner: owner_name.clone(),
            });
            clients.push(rows.client);
            scope_rows.extend(rows.scopes);
            slots.push(rows.slot);
            terms.push(rows.terms);
            events.extend(rows.events.into_iter().map(|event| (event, created_at)));
        }
        client::Entity::insert_many(clients)
            .exec_without_returning(&txn)
            .await?;
        client_scope::Entity::insert_many(scope_rows)
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
