//! Deleting a user with undo (issue 20 item 5). Deleting ends their sessions, revokes every
//! grant they gave and every grant of the clients they own, and moves them (and those clients)
//! to the Deleted view: they can sign in nowhere and authorize nothing, and no list counts
//! them, but their row, memberships and clients stay until the retention period ends.
//! Restoring gives all of it back (tokens stay revoked); purging removes it for good.

use super::account_rules::{
    ensure_sites_keep_an_admin, lock_sites, lock_user, reach, require_account_manager,
    require_deleted_account_manager,
};
use super::deletion_impact::{administered_by, impact_on};
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{
        authorization_code, client, consent, site_membership as membership, token_family, user,
    },
    keys::Keys,
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target},
        consents,
        context::ServiceContext,
        token_families,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, IntoActiveModel, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

/// Every grant deleting or purging `user_id` touches (theirs, and those of the clients they
/// own), sorted, locked in the order the token endpoint takes them. First step of a
/// transaction, before the user's row.
async fn lock_grants_of(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    let owned: Vec<Uuid> = client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::OwnerUserId.eq(user_id))
        .into_tuple()
        .all(conn)
        .await?;
    let mut families: Vec<Uuid> = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(
            Condition::any()
                .add(token_family::Column::UserId.eq(user_id))
                .add(token_family::Column::ClientUuid.is_in(owned)),
        )
        .into_tuple()
        .all(conn)
        .await?;
    families.sort();
    token_families::lock_families(conn, &families).await?;
    Ok(families)
}

/// Moves a user to the Deleted view with the clients they own: sessions ended, every grant
/// (theirs and their clients') revoked. Refused for oneself and for a site's last active
/// administrator.
pub async fn delete(cx: &ServiceContext<'_>, user_id: Uuid) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    if acting.admin_id() == Some(user_id) {
        return Err(ServiceError::Conflict(
            "You cannot delete your own account.".into(),
        ));
    }
    let txn = begin_write(db).await?;
    // Grants first, then the user's row, so the reach judged below is the one deleted (a role
    // granted meanwhile waits, see `lock_user`), then the sites.
    let families = lock_grants_of(&txn, user_id).await?;
    lock_user(&txn, user_id).await?;
    let (current, sites) = require_account_manager(&txn, acting, user_id).await?;
    let impact = impact_on(&txn, user_id, &sites).await?;
    lock_sites(&txn, &sites).await?;
    let revoked = token_families::revoke_families(&txn, families, "user deleted", now).await?;
    // Unused codes (theirs, and their clients'): none may start a grant after an undo.
    let owned = client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::OwnerUserId.eq(user_id))
        .into_query();
    authorization_code::Entity::delete_many()
        .filter(
            Condition::any()
                .add(authorization_code::Column::UserId.eq(user_id))
                .add(authorization_code::Column::ClientUuid.in_subquery(owned.clone())),
        )
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    // And every remembered consent (theirs, and their clients'): an undo asks again.
    consents::forget(
        &txn,
        Condition::any()
            .add(consents::of_user(user_id))
            .add(consent::Column::ClientUuid.in_subquery(owned)),
    )
    .await?;
    let going = client::Entity::find()
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedAt.is_null())
        .all(&txn)
        .await?;
    client::Entity::update_many()
        .col_expr(client::Column::DeletedAt, Expr::value(now.unix()))
        .col_expr(client::Column::DeletedWithOwner, Expr::value(true))
        .col_expr(client::Column::UpdatedAt, Expr::value(now.unix()))
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    let generation = current.session_generation;
    let mut update = current.clone().into_active_model();
    update.deleted_at = Set(Some(now.unix()));
    // Every session of theirs ends (the console checks the generation on each request).
    update.session_generation = Set(generation + 1);
    update.updated_at = Set(now.unix());
    update.update(&txn).await?;
    // Their admin API tokens end too; a restore does not bring them back.
    crate::server::services::admin_tokens::revoke_all_of_user(&txn, user_id, now).await?;
    // Only where they were an administrator: a site that never had one (made by the CLI)
    // does not stop the deletion of an API user.
    ensure_sites_keep_an_admin(&txn, &administered_by(&txn, user_id).await?).await?;
    audit::record_on_sites(
        &txn,
        keys,
        sites.iter().copied(),
        NewEvent::new(
            None,
            Action::UserDeleted,
            acting.actor(),
            format!(
                "User \"{}\" deleted with {} API client(s); {} grant(s) revoked; restorable \
                 until purged in {} day(s)",
                current.username,
                impact.clients.len(),
                revoked,
                settings.deleted_retention_days()
            ),
        )
        .target(Target::user(&current))
        .details(json!({
            "email": current.email,
            "clients_deleted": impact.clients,
            "grants_revoked": revoked,
            "purge_at": settings.purge_at(now.unix()),
        })),
        now,
    )
    .await?;
    record_with_owner(
        &txn,
        keys,
        acting,
        &going,
        Action::ClientDeleted,
        &current,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// One event per client deleted or restored with its owner, on the client's site: what a
/// webhook or mail subscriber to `client.deleted` / `client.restored` learns of it.
async fn record_with_owner(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    clients: &[client::Model],
    action: Action,
    owner: &user::Model,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let verb = if action == Action::ClientRestored {
        "restored"
    } else {
        "deleted"
    };
    for client in clients {
        audit::record(
            conn,
            keys,
            NewEvent::new(
                Some(client.site_id),
                action,
                acting.actor(),
                format!(
                    "API client \"{}\" {verb} with its owner \"{}\"",
                    client.name, owner.username
                ),
            )
            .target(Target::client(client))
            .details(json!({"with_owner": owner.username})),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Brings a deleted user back with their roles and the clients deleted with them. Their
/// sessions and tokens stay ended: they sign in again and clients ask for authorization again.
pub async fn restore(cx: &ServiceContext<'_>, user_id: Uuid) -> Result<user::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let families = lock_grants_of(&txn, user_id).await?;
    lock_user(&txn, user_id).await?;
    let (current, sites) = require_deleted_account_manager(&txn, acting, user_id).await?;
    // Whatever a grant in flight at the deletion managed to write stays revoked.
    token_families::revoke_families(&txn, families, "user deleted", now).await?;
    let returning = client::Entity::find()
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedWithOwner.eq(true))
        .all(&txn)
        .await?;
    let restored_clients = client::Entity::update_many()
        .col_expr(client::Column::DeletedAt, Expr::value(Option::<i64>::None))
        .col_expr(client::Column::DeletedWithOwner, Expr::value(false))
        .col_expr(client::Column::UpdatedAt, Expr::value(now.unix()))
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedWithOwner.eq(true))
        .exec(&txn)
        .await?
        .rows_affected;
    let mut update = current.into_active_model();
    update.deleted_at = Set(None);
    update.updated_at = Set(now.unix());
    let restored = update.update(&txn).await?;
    audit::record_on_sites(
        &txn,
        keys,
        sites.iter().copied(),
        NewEvent::new(
            None,
            Action::UserRestored,
            acting.actor(),
            format!(
                "User \"{}\" restored with {restored_clients} API client(s)",
                restored.username
            ),
        )
        .target(Target::user(&restored))
        .details(json!({"clients_restored": restored_clients})),
        now,
    )
    .await?;
    record_with_owner(
        &txn,
        keys,
        acting,
        &returning,
        Action::ClientRestored,
        &restored,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(restored)
}

/// "Delete now": removes a deleted user for good, with the clients they own.
pub async fn purge(cx: &ServiceContext<'_>, user_id: Uuid) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    lock_grants_of(&txn, user_id).await?;
    lock_user(&txn, user_id).await?;
    let (current, sites) = require_deleted_account_manager(&txn, acting, user_id).await?;
    lock_sites(&txn, &sites).await?;
    if !remove(&txn, keys, acting, &current, &sites, "deleted now", now).await? {
        return Err(ServiceError::NotFound);
    }
    txn.commit().await?;
    Ok(())
}

/// Deletes the user's row, if still deleted, with their memberships and clients (whose grants
/// and tokens go with them) and audits it on `sites`; false when there was nothing to purge.
async fn remove(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    current: &user::Model,
    sites: &[Uuid],
    why: &str,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let clients: Vec<String> = client::Entity::find()
        .select_only()
        .column(client::Column::ClientId)
        .filter(client::Column::OwnerUserId.eq(current.id))
        .into_tuple()
        .all(conn)
        .await?;
    // Callers hold the user's row lock (`lock_user`): still deleted now means still deleted
    // at commit.
    let still_deleted = user::Entity::find_by_id(current.id)
        .one(conn)
        .await?
        .is_some_and(|user| user.is_deleted());
    if !still_deleted {
        return Ok(false);
    }
    membership::Entity::delete_many()
        .filter(membership::Column::UserId.eq(current.id))
        .exec(conn)
        .await?;
    crate::server::services::notifications::mail_dispatch::forget_user(conn, current.id).await?;
    user::Entity::delete_by_id(current.id).exec(conn).await?;
    audit::record_on_sites(
        conn,
        keys,
        sites.iter().copied(),
        NewEvent::new(
            None,
            Action::UserPurged,
            acting.actor(),
            format!(
                "Deleted user \"{}\" purged with {} API client(s) ({why})",
                current.username,
                clients.len()
            ),
        )
        .target(Target::user(current))
        .details(json!({"deleted_at": current.deleted_at, "clients_purged": clients})),
        now,
    )
    .await?;
    Ok(true)
}

/// Purges the users deleted at or before `cutoff` (the housekeeping loop), each in its own
/// transaction; returns how many.
pub async fn purge_expired(
    db: &DatabaseConnection,
    keys: &Keys,
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let due: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::DeletedAt.lte(cutoff.unix()))
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let acting = Acting::operator();
    let mut purged = 0;
    for user_id in due {
        let txn = begin_write(db).await?;
        lock_grants_of(&txn, user_id).await?;
        lock_user(&txn, user_id).await?;
        // Read again under the lock: a restore may have come first.
        let Some(current) = user::Entity::find_by_id(user_id)
            .one(&txn)
            .await?
            .filter(|u| u.deleted_at.is_some_and(|at| at <= cutoff.unix()))
        else {
            continue;
        };
        let sites = reach(&txn, user_id).await?;
        lock_sites(&txn, &sites).await?;
        if remove(
            &txn,
            keys,
            &acting,
            &current,
            &sites,
            "retention period over",
            now,
        )
        .await?
        {
            purged += 1;
        }
        txn.commit().await?;
    }
    Ok(purged)
}

/// One row of the Deleted view's users.
#[derive(Debug, Clone)]
pub struct DeletedUser {
    /// The user.
    pub user: user::Model,
    /// Names of this site's clients deleted with them (restored with them).
    pub clients: Vec<String>,
}

/// The deleted users with a role on `site_id`, newest deletion first. The actor must
/// administer it.
pub async fn deleted_on_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<DeletedUser>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let users = user::Entity::find()
        .join(JoinType::InnerJoin, user::Relation::Membership.def())
        .filter(membership::Column::SiteId.eq(site_id))
        .filter(user::Column::DeletedAt.is_not_null())
        .order_by_desc(user::Column::DeletedAt)
        .order_by_asc(user::Column::UsernameKey)
        .all(conn)
        .await?;
    // One query for the clients of them all, not one per user.
    let owned: Vec<(Uuid, String)> = client::Entity::find()
        .select_only()
        .column(client::Column::OwnerUserId)
        .column(client::Column::Name)
        .filter(client::Column::OwnerUserId.is_in(users.iter().map(|user| user.id)))
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client::Column::DeletedWithOwner.eq(true))
        .order_by_asc(client::Column::NameKey)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(users
        .into_iter()
        .map(|user| {
            let clients = owned
                .iter()
                .filter(|(owner, _)| *owner == user.id)
                .map(|(_, name)| name.clone())
                .collect();
            DeletedUser { user, clients }
        })
        .collect())
}
