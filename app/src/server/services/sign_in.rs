//! Sign-in at both doors — the console (administrators) and `/account` (API users): throttled,
//! constant-work password check, audited either way.
//!
//! Only an active user who administers at least one site may sign in to the console; only an
//! active API user who administers no site may sign in at `/account` (console administrators
//! keep the console). Every refusal looks the same from outside ("incorrect username or
//! password"); the audit log records the real reason.

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::user,
    services::{
        access::{administered_sites, api_user_sites},
        audit::{self, Action, Actor, NewEvent, Target},
        event_limiter::record_limited,
        throttle,
        users::find_by_username,
    },
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;

/// Longest password accepted for checking; longer input is refused without hashing it.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a sign-in was refused (audit only; the person sees one generic message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UnknownUser,
    WrongPassword,
    Disabled,
    NotAnAdministrator,
    NotAnApiUser,
    ConsoleAdministrator,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Disabled => "disabled",
            Self::NotAnAdministrator => "not_an_administrator",
            Self::NotAnApiUser => "not_an_api_user",
            Self::ConsoleAdministrator => "console_administrator",
        }
    }
}

/// What the audit log calls each step at one door.
#[derive(Debug, Clone, Copy)]
struct DoorActions {
    signed_in: Action,
    sign_in_failed: Action,
    signed_out: Action,
    reauthenticated: Action,
    password_changed: Action,
}

/// Where someone signs in: the door decides who may enter, how the audit log names them, and
/// which sites' logs record their sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The administration console.
    Console,
    /// `/account`, the API users' own place.
    Account,
}

impl Door {
    /// How the audit log names `user` coming through this door.
    pub fn actor(self, user: &user::Model, address: Option<String>) -> Actor {
        match self {
            Self::Console => Actor::admin(user.id, &user.username, address),
            Self::Account => Actor::api_user(user.id, &user.username, address),
        }
    }

    /// The sites whose audit logs record what `user_id` does through this door.
    pub async fn sites(
        self,
        conn: &impl ConnectionTrait,
        user_id: uuid::Uuid,
    ) -> Result<Vec<crate::server::entities::site::Model>, ServiceError> {
        match self {
            Self::Console => administered_sites(conn, user_id).await,
            Self::Account => api_user_sites(conn, user_id).await,
        }
    }

    /// The audit actions of this door.
    fn actions(self) -> DoorActions {
        match self {
            Self::Console => DoorActions {
                signed_in: Action::SignedIn,
                sign_in_failed: Action::SignInFailed,
                signed_out: Action::SignedOut,
                reauthenticated: Action::Reauthenticated,
                password_changed: Action::OwnPasswordChanged,
            },
            Self::Account => DoorActions {
                signed_in: Action::AccountSignedIn,
                sign_in_failed: Action::AccountSignInFailed,
                signed_out: Action::AccountSignedOut,
                reauthenticated: Action::AccountReauthenticated,
                password_changed: Action::AccountPasswordChanged,
            },
        }
    }

    /// The audit action of someone changing their own password at this door.
    pub fn password_changed(self) -> Action {
        self.actions().password_changed
    }

    /// True if `user` (active, password right) may come in through this door: the one rule,
    /// for sign-in and for every later request of their session.
    pub async fn admits(
        self,
        conn: &impl ConnectionTrait,
        user: &user::Model,
    ) -> Result<bool, ServiceError> {
        Ok(self.admitted_sites(conn, user).await?.is_some())
    }

    /// [`Door::admits`], with the door's sites for `user` when it admits them (one reading of
    /// those sites serves both).
    pub async fn admitted_sites(
        self,
        conn: &impl ConnectionTrait,
        user: &user::Model,
    ) -> Result<Option<Vec<crate::server::entities::site::Model>>, ServiceError> {
        let sites = self.sites(conn, user.id).await?;
        Ok(match self.refusal(conn, user, &sites).await? {
            None => Some(sites),
            Some(_) => None,
        })
    }

    /// Why `user` (active, password right) may not come in, if they may not; `door_sites`:
    /// their [`Door::sites`].
    async fn refusal(
        self,
        conn: &impl ConnectionTrait,
        user: &user::Model,
        door_sites: &[crate::server::entities::site::Model],
    ) -> Result<Option<Refusal>, ServiceError> {
        Ok(match self {
            Self::Console if door_sites.is_empty() => Some(Refusal::NotAnAdministrator),
            Self::Console => None,
            Self::Account if !administered_sites(conn, user.id).await?.is_empty() => {
                Some(Refusal::ConsoleAdministrator)
            }
            Self::Account if door_sites.is_empty() => Some(Refusal::NotAnApiUser),
            Self::Account => None,
        })
    }
}

/// Checks an administrator's credentials at the console's door (see [`sign_in`]).
pub async fn sign_in_admin(
    state: &AppState,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Result<user::Model, ServiceError> {
    sign_in(state, Door::Console, username, password, address).await
}

/// Checks credentials at `door`. On success records the sign-in and returns the user; the
/// caller then starts a fresh session. The attempt is counted by the throttle before the
/// password is checked (see `throttle`), so parallel guesses get no further than sequential
/// ones; failures are audited within the cap of `event_limiter`.
pub async fn sign_in(
    state: &AppState,
    door: Door,
    username: &str,
    password: &str,
    address: Option<String>,
) -> Result<user::Model, ServiceError> {
    let now = state.clock.now();
    let username_key = username.trim().to_ascii_lowercase();
    if !state.passwords.has_room() {
        return Err(ServiceError::Busy);
    }
    let keys = throttle::keys_for(&username_key, address.as_deref());
    let attempt = match throttle::begin(&state.db, &keys, now).await {
        Ok(attempt) => attempt,
        Err(throttled) => {
            let user = find_known(state, &username_key).await?;
            let txn = begin_write(&state.db).await?;
            audit_failure(
                state,
                door,
                &txn,
                user.as_ref(),
                username,
                &address,
                "throttled",
                now,
            )
            .await?;
            txn.commit_neutral().await?;
            return Err(throttled);
        }
    };

    let user = find_known(state, &username_key).await?;
    let password_ok = password.len() <= MAX_PASSWORD_BYTES
        && state
            .passwords
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;

    let refusal = match &user {
        None => Some(Refusal::UnknownUser),
        Some(_) if !password_ok => Some(Refusal::WrongPassword),
        Some(user) if !user.is_active() => Some(Refusal::Disabled),
        Some(user) => {
            let sites = door.sites(&state.db, user.id).await?;
            door.refusal(&state.db, user, &sites).await?
        }
    };

    let txn = begin_write(&state.db).await?;
    let result = match (user, refusal) {
        (Some(user), None) => match attempt.succeeded(&txn, now).await {
            Ok(()) => {
                let summary = match door {
                    Door::Console => format!("{} signed in", user.username),
                    Door::Account => {
                        format!("{} signed in to their account page", user.username)
                    }
                };
                record_signed_in(&txn, state, door, user, address.clone(), summary, now).await
            }
            Err(throttled) => {
                audit_failure(
                    state,
                    door,
                    &txn,
                    Some(&user),
                    username,
                    &address,
                    "throttled",
                    now,
                )
                .await?;
                Err(throttled)
            }
        },
        (user, refusal) => {
            let reason = refusal.unwrap_or(Refusal::UnknownUser).as_str();
            audit_failure(
                state,
                door,
                &txn,
                user.as_ref(),
                username,
                &address,
                reason,
                now,
            )
            .await?;
            Err(ServiceError::BadCredentials)
        }
    };
    txn.commit_neutral().await?;
    result
}

/// Records a sign-in through `door` that checked `user`'s password: their last sign-in time,
/// and `summary` in the audit log of each site the door speaks for. Returns the updated user.
async fn record_signed_in(
    conn: &impl ConnectionTrait,
    state: &AppState,
    door: Door,
    user: user::Model,
    address: Option<String>,
    summary: String,
    now: Timestamp,
) -> Result<user::Model, ServiceError> {
    let mut update = user.into_active_model();
    update.last_sign_in_at = Set(Some(now.unix()));
    let user = update.update(conn).await?;
    let actor = door.actor(&user, address);
    for site in door.sites(conn, user.id).await? {
        audit::record(
            conn,
            &state.keys,
            NewEvent::new(
                Some(site.id),
                door.actions().signed_in,
                actor.clone(),
                summary.clone(),
            )
            .target(Target::user(&user)),
            now,
        )
        .await?;
    }
    Ok(user)
}

/// The authorization prompt accepted `user`'s password (checked and throttled there): records
/// it as their sign-in at `/account`, the session the prompt then starts. `None`: `/account`
/// does not admit them (a console administrator, or no longer an API user), so no session.
pub async fn signed_in_at_prompt(
    state: &AppState,
    user: &user::Model,
    address: Option<String>,
) -> Result<Option<user::Model>, ServiceError> {
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    let current = crate::server::entities::user::Entity::find_by_id(user.id)
        .one(&txn)
        .await?
        .filter(|current| {
            current.is_active() && current.session_generation == user.session_generation
        });
    let Some(current) = current else {
        txn.commit_neutral().await?;
        return Ok(None);
    };
    if !Door::Account.admits(&txn, &current).await? {
        txn.commit_neutral().await?;
        return Ok(None);
    }
    let summary = format!(
        "{} signed in to their account page at the authorization prompt",
        current.username
    );
    let signed_in =
        record_signed_in(&txn, state, Door::Account, current, address, summary, now).await?;
    txn.commit_neutral().await?;
    Ok(Some(signed_in))
}

/// The user a sign-in names, if the name could be one (longer input is never looked up).
async fn find_known(
    state: &AppState,
    username_key: &str,
) -> Result<Option<user::Model>, ServiceError> {
    if username_key.len() > crate::domain::Username::MAX {
        return Ok(None);
    }
    find_by_username(&state.db, username_key).await
}

/// Records a failed sign-in: in each site of a known user (so their administrators see it),
/// otherwise in the global chain; within the cap on anonymous events.
#[allow(clippy::too_many_arguments)]
async fn audit_failure(
    state: &AppState,
    door: Door,
    conn: &impl ConnectionTrait,
    user: Option<&user::Model>,
    claimed_username: &str,
    address: &Option<String>,
    reason: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let actor = Actor::anonymous(claimed_username, address.clone());
    let event = |site_id| {
        NewEvent::new(
            site_id,
            door.actions().sign_in_failed,
            actor.clone(),
            format!("Failed sign-in as \"{}\"", actor.label),
        )
        .details(json!({ "reason": reason }))
    };
    let sites = match user {
        Some(user) => crate::server::services::users::site_ids(conn, user.id).await?,
        None => Vec::new(),
    };
    if sites.is_empty() {
        record_limited(conn, &state.keys, &state.anonymous_events, event(None), now).await?;
    }
    for site_id in sites {
        let target = user.map(Target::user);
        let mut site_event = event(Some(site_id));
        site_event.target = target;
        record_limited(conn, &state.keys, &state.anonymous_events, site_event, now).await?;
    }
    Ok(())
}

/// Records a sign-out in every site the administrator administers.
pub async fn record_sign_out(
    state: &AppState,
    acting: &crate::server::services::access::Acting,
    user_id: uuid::Uuid,
) -> Result<(), ServiceError> {
    record_sign_out_at(state, Door::Console, acting.actor(), user_id).await
}

/// Records a sign-out by `actor` through `door` in the sites that door's log covers.
pub async fn record_sign_out_at(
    state: &AppState,
    door: Door,
    actor: Actor,
    user_id: uuid::Uuid,
) -> Result<(), ServiceError> {
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    for site in door.sites(&txn, user_id).await? {
        audit::record(
            &txn,
            &state.keys,
            NewEvent::new(
                Some(site.id),
                door.actions().signed_out,
                actor.clone(),
                format!("{} signed out", actor.label),
            ),
            now,
        )
        .await?;
    }
    txn.commit_neutral().await?;
    Ok(())
}

/// Re-checks a signed-in administrator's password before an action that yields a secret or
/// changes a credential. Throttled (counted before the check, like sign-in) and audited.
pub async fn confirm_password(
    state: &AppState,
    user: &user::Model,
    password: &str,
    address: Option<String>,
) -> Result<(), ServiceError> {
    confirm_password_at(state, Door::Console, user, password, address).await
}

/// [`confirm_password`] for someone signed in through `door`.
pub async fn confirm_password_at(
    state: &AppState,
    door: Door,
    user: &user::Model,
    password: &str,
    address: Option<String>,
) -> Result<(), ServiceError> {
    let now = state.clock.now();
    if !state.passwords.has_room() {
        return Err(ServiceError::Busy);
    }
    let keys = throttle::keys_for(&user.username_key, None);
    let attempt = throttle::begin(&state.db, &keys, now).await?;
    let ok = password.len() <= MAX_PASSWORD_BYTES
        && state
            .passwords
            .verify(password, Some(&user.password_hash))
            .await?;
    let txn = begin_write(&state.db).await?;
    let actor = door.actor(user, address);
    let outcome = if ok {
        attempt.succeeded(&txn, now).await
    } else {
        Err(ServiceError::BadCredentials)
    };
    for site in door.sites(&txn, user.id).await? {
        let (action, summary) = if outcome.is_ok() {
            (
                door.actions().reauthenticated,
                format!("{} confirmed their password", user.username),
            )
        } else {
            (
                door.actions().sign_in_failed,
                format!(
                    "{} entered a wrong password to confirm an action",
                    user.username
                ),
            )
        };
        audit::record(
            &txn,
            &state.keys,
            NewEvent::new(Some(site.id), action, actor.clone(), summary),
            now,
        )
        .await?;
    }
    txn.commit_neutral().await?;
    outcome
}
