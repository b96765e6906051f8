//! A signed-in person's own account — an administrator in the console, an API user at
//! `/account`: changing their password (the current one first) and signing out of every
//! session. Apart from `users` (accounts administered by others) since it
//! needs the sign-in's password confirmation, which itself reads `users`.

use crate::domain::{NewPassword, Timestamp};
use crate::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::user,
    keys::Keys,
    services::{
        access::{Acting, Principal},
        admin_tokens,
        audit::{self, Action, NewEvent, Target},
        sign_in::{self, Door},
        users,
    },
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

/// A signed-in administrator changes their own password: the current one is checked first
/// (throttled and audited like sign-in, see `sign_in::confirm_password`), then every other
/// session of theirs ends. Returns the new session generation, which the caller's own session
/// adopts.
pub async fn change_own_password(
    state: &AppState,
    user: &user::Model,
    current_password: &str,
    raw_new_password: &str,
    address: Option<String>,
) -> Result<i64, ServiceError> {
    change_own_password_at(
        state,
        Door::Console,
        user,
        current_password,
        raw_new_password,
        address,
    )
    .await
}

/// [`change_own_password`] for someone signed in through `door` (the audit log names them as
/// that door's kind of actor).
pub async fn change_own_password_at(
    state: &AppState,
    door: Door,
    user: &user::Model,
    current_password: &str,
    raw_new_password: &str,
    address: Option<String>,
) -> Result<i64, ServiceError> {
    let new_password = NewPassword::parse(raw_new_password, &user.username)
        .map_err(|problem| ServiceError::invalid("password", problem.to_string()))?;
    sign_in::confirm_password_at(state, door, user, current_password, address.clone())
        .await
        .map_err(|error| match error {
            ServiceError::BadCredentials => {
                ServiceError::invalid("current_password", "Incorrect password.")
            }
            other => other,
        })?;
    let now = state.clock.now();
    let hash = state.passwords.hash(&new_password).await?;
    let txn = begin_write(&state.db).await?;
    // Locked, and still as it was when the password was confirmed: a reset by another
    // administrator (or a sign-out everywhere) that committed meanwhile wins, instead of being
    // overwritten by a session it was meant to end.
    let current = user::Entity::find_by_id(user.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if current.password_hash != user.password_hash
        || current.session_generation != user.session_generation
    {
        return Err(ServiceError::Conflict(
            "Your account changed meanwhile (password reset or sessions ended): sign in again."
                .into(),
        ));
    }
    let sites = users::site_ids(&txn, user.id).await?;
    let (generation, tokens_revoked) =
        users::store_password(&txn, current.clone(), hash, now).await?;
    audit::record_on_sites(
        &txn,
        &state.keys,
        sites,
        NewEvent::new(
            None,
            door.password_changed(),
            door.actor(user, address),
            format!(
                "{} changed their password; their other sessions were ended",
                current.username
            ),
        )
        .target(Target::user(&current))
        .details(json!({
            "session_generation": generation,
            "admin_tokens_revoked": tokens_revoked,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(generation)
}

/// Ends every console session of the acting administrator, this one included ("sign out
/// everywhere").
pub async fn end_own_sessions(
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    now: Timestamp,
) -> Result<(), ServiceError> {
    // A person signed in, never a token acting for them.
    let Principal::Admin { user_id, .. } = acting.principal else {
        return Err(ServiceError::Forbidden);
    };
    let txn = begin_write(db).await?;
    let current = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let generation = current.session_generation + 1;
    user::Entity::update_many()
        .col_expr(
            user::Column::SessionGeneration,
            Expr::col(user::Column::SessionGeneration).add(1),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    // Whoever had a session may have made a token with it: those go too.
    let tokens_revoked = admin_tokens::revoke_all_of_user(&txn, user_id, now).await?;
    audit::record_on_sites(
        &txn,
        keys,
        users::site_ids(&txn, user_id).await?,
        NewEvent::new(
            None,
            Action::SignedOutEverywhere,
            acting.actor(),
            format!("{} signed out of every session", current.username),
        )
        .target(Target::user(&current))
        .details(json!({
            "session_generation": generation,
            "admin_tokens_revoked": tokens_revoked,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
