//! Console sign-in: throttled, constant-work password check, audited either way.
//!
//! Only an active user who administers at least one site may sign in to the console. Every
//! refusal looks the same from outside ("incorrect username or password"); the audit log
//! records the real reason.

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::user,
    services::{
        access::administered_sites,
        audit::{self, Action, Actor, NewEvent, Target},
        event_limiter::record_limited,
        throttle,
        users::find_by_username,
    },
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel};
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
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Disabled => "disabled",
            Self::NotAnAdministrator => "not_an_administrator",
        }
    }
}

/// Checks an administrator's credentials. On success records the sign-in and returns the
/// user; the caller then starts a fresh session. The attempt is counted by the throttle before
/// the password is checked (see `throttle`), so parallel guesses get no further than
/// sequential ones; failures are audited within the cap of `event_limiter`.
pub async fn sign_in_admin(
    state: &AppState,
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
        Some(user) if administered_sites(&state.db, user.id).await?.is_empty() => {
            Some(Refusal::NotAnAdministrator)
        }
        Some(_) => None,
    };

    let txn = begin_write(&state.db).await?;
    let result = match (user, refusal) {
        (Some(user), None) => match attempt.succeeded(&txn, now).await {
            Ok(()) => {
                let mut update = user.into_active_model();
                update.last_sign_in_at = Set(Some(now.unix()));
                let user = update.update(&txn).await?;
                for site in administered_sites(&txn, user.id).await? {
                    audit::record(
                        &txn,
                        &state.keys,
                        NewEvent::new(
                            Some(site.id),
                            Action::SignedIn,
                            Actor::admin(user.id, &user.username, address.clone()),
                            format!("{} signed in", user.username),
                        )
                        .target(Target::user(&user)),
                        now,
                    )
                    .await?;
                }
                Ok(user)
            }
            Err(throttled) => {
                audit_failure(
                    state,
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
            audit_failure(state, &txn, user.as_ref(), username, &address, reason, now).await?;
            Err(ServiceError::BadCredentials)
        }
    };
    txn.commit_neutral().await?;
    result
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
async fn audit_failure(
    state: &AppState,
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
            Action::SignInFailed,
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
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    let actor = acting.actor();
    for site in administered_sites(&txn, user_id).await? {
        audit::record(
            &txn,
            &state.keys,
            NewEvent::new(
                Some(site.id),
                Action::SignedOut,
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
    let actor = Actor::admin(user.id, &user.username, address);
    let outcome = if ok {
        attempt.succeeded(&txn, now).await
    } else {
        Err(ServiceError::BadCredentials)
    };
    for site in administered_sites(&txn, user.id).await? {
        let (action, summary) = if outcome.is_ok() {
            (
                Action::Reauthenticated,
                format!("{} confirmed their password", user.username),
            )
        } else {
            (
                Action::SignInFailed,
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
