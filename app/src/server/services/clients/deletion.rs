//! Deleting a client with undo (issue 20 item 5). Deleting revokes every token at once and
//! refuses the client's credentials (it is no longer active), but keeps the row, its secrets,
//! scopes and history in the Deleted view until the retention period ends: restoring brings
//! it back as it was (its tokens stay revoked). Purging — when the period ends, or "Delete
//! now" — removes it for good.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{authorization_code, client, user},
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
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// Moves a client to the Deleted view: every grant and token revoked, its credentials refused.
/// Returns the deleted client.
pub async fn delete(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
) -> Result<client::Model, ServiceError> {
    delete_if(cx, client_uuid, None).await
}

/// [`delete`] if the client's [`super::revision`] is still `expected` (checked under the
/// row's lock in the deletion's transaction); `None` deletes unconditionally.
pub async fn delete_if(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    expected: Option<&str>,
) -> Result<client::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    lock_rows(&txn, client_uuid).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    // `lock_rows` holds the client's row: its revision cannot change before the write.
    if expected.is_some() {
        let scopes = super::client_scopes(&txn, current.id).await?;
        super::revision::expect(&current, &scopes, expected)?;
    }
    let usage = token_families::client_usage(&txn, current.id, now).await?;
    let revoked =
        token_families::revoke_all_for_client(&txn, current.id, "client deleted", now).await?;
    // Its unused codes go too: none may start a grant after an undo.
    authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::ClientUuid.eq(current.id))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    // Remembered consents too: a restored client asks its users again.
    consents::forget(&txn, consents::of_client(current.id)).await?;
    let mut update = current.into_active_model();
    update.deleted_at = Set(Some(now.unix()));
    update.deleted_with_owner = Set(false);
    update.updated_at = Set(now.unix());
    let deleted = update.update(&txn).await?;
    let purge_at = settings.purge_at(now.unix());
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(deleted.site_id),
            Action::ClientDeleted,
            acting.actor(),
            format!(
                "API client \"{}\" deleted; {} grant(s) and {} access token(s) revoked; \
                 restorable until it is purged in {} day(s)",
                deleted.name,
                usage.active_families,
                usage.active_access_tokens,
                settings.deleted_retention_days()
            ),
        )
        .target(Target::client(&deleted))
        .details(json!({
            "client_id": deleted.client_id,
            "grants_revoked": revoked,
            "access_tokens_revoked": usage.active_access_tokens,
            "purge_at": purge_at,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(deleted)
}

/// Brings a deleted client back from the Deleted view. Its tokens stay revoked; its secrets
/// work again (unless expired meanwhile). Refused while its owner is deleted: restoring the
/// owner restores the clients deleted with them.
pub async fn restore(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
) -> Result<client::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let owner = lock_rows(&txn, client_uuid).await?;
    let current = acting.require_deleted_client(&txn, client_uuid).await?;
    // A machine client that belongs to its site has no owner to wait for.
    if let Some(owner) = owner.filter(user::Model::is_deleted) {
        return Err(ServiceError::Conflict(format!(
            "Its owner \"{}\" is deleted too: restore them first (that restores this client \
             with them).",
            owner.username
        )));
    }
    // Whatever a grant in flight at the deletion managed to write stays revoked.
    token_families::revoke_all_for_client(&txn, current.id, "client deleted", now).await?;
    let mut update = current.into_active_model();
    update.deleted_at = Set(None);
    update.deleted_with_owner = Set(false);
    update.updated_at = Set(now.unix());
    let restored = update.update(&txn).await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(restored.site_id),
            Action::ClientRestored,
            acting.actor(),
            format!("API client \"{}\" restored", restored.name),
        )
        .target(Target::client(&restored))
        .details(json!({"client_id": restored.client_id})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(restored)
}

/// "Delete now": removes a deleted client for good, before its retention period ends.
pub async fn purge(cx: &ServiceContext<'_>, client_uuid: Uuid) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    lock_rows(&txn, client_uuid).await?;
    let current = acting.require_deleted_client(&txn, client_uuid).await?;
    if !remove(&txn, keys, acting, &current, "deleted now", now).await? {
        return Err(ServiceError::NotFound);
    }
    txn.commit().await?;
    Ok(())
}

/// Locks what deleting, restoring or purging a client changes, in the one order every writer
/// takes: its grants (as the token endpoint), its owner's row (as a user's deletion, which
/// deletes the clients they own), then the client's row, so each of these reads the client as
/// the last writer left it. Returns the owner (`None`: no such client, or a machine client
/// that belongs to its site).
async fn lock_rows(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<Option<user::Model>, ServiceError> {
    token_families::lock_client_families(conn, client_uuid).await?;
    let owner_id = client::Entity::find_by_id(client_uuid)
        .select_only()
        .column(client::Column::OwnerUserId)
        .into_tuple::<Option<Uuid>>()
        .one(conn)
        .await?
        .flatten();
    let owner = match owner_id {
        Some(owner_id) => {
            user::Entity::find_by_id(owner_id)
                .lock_exclusive()
                .one(conn)
                .await?
        }
        None => None,
    };
    client::Entity::find_by_id(client_uuid)
        .lock_exclusive()
        .one(conn)
        .await?;
    Ok(owner)
}

/// Deletes the row if it is still deleted (its secrets, scopes, grants and tokens go with
/// it) and audits it; false when there was nothing to purge.
async fn remove(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    current: &client::Model,
    why: &str,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let removed = client::Entity::delete_many()
        .filter(client::Column::Id.eq(current.id))
        .filter(client::Column::DeletedAt.is_not_null())
        .exec(conn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Ok(false);
    }
    audit::record(
        conn,
        keys,
        NewEvent::new(
            Some(current.site_id),
            Action::ClientPurged,
            acting.actor(),
            format!("Deleted API client \"{}\" purged ({why})", current.name),
        )
        .target(Target::client(current))
        .details(json!({
            "client_id": current.client_id,
            "deleted_at": current.deleted_at,
        })),
        now,
    )
    .await?;
    Ok(true)
}

/// Purges the clients deleted at or before `cutoff` (the housekeeping loop, with the
/// retention period behind now), each in its own transaction; returns how many. Clients
/// deleted with their owner go when the owner is purged.
pub async fn purge_expired(
    db: &DatabaseConnection,
    keys: &Keys,
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let due: Vec<Uuid> = client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::DeletedAt.lte(cutoff.unix()))
        .filter(client::Column::DeletedWithOwner.eq(false))
        .order_by_asc(client::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let acting = Acting::operator();
    let mut purged = 0;
    for id in due {
        let txn = begin_write(db).await?;
        lock_rows(&txn, id).await?;
        // Read again under the locks: a restore may have come first.
        let Some(current) = client::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|c| c.deleted_at.is_some_and(|at| at <= cutoff.unix()))
        else {
            continue;
        };
        if remove(&txn, keys, &acting, &current, "retention period over", now).await? {
            purged += 1;
        }
        txn.commit().await?;
    }
    Ok(purged)
}

/// One row of the Deleted view's clients.
#[derive(Debug, Clone)]
pub struct DeletedClient {
    /// The client.
    pub client: client::Model,
    /// Its owner's username.
    pub owner: String,
    /// Its owner is deleted too (restoring the owner restores it).
    pub owner_deleted: bool,
}

/// The deleted clients of `site_id`, newest deletion first. The actor must administer it.
pub async fn deleted_on_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<DeletedClient>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let rows = client::Entity::find()
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client::Column::DeletedAt.is_not_null())
        .order_by_desc(client::Column::DeletedAt)
        .order_by_asc(client::Column::NameKey)
        .find_also_related(user::Entity)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(client, owner)| DeletedClient {
            owner: owner
                .as_ref()
                .map(|o| o.username.clone())
                .unwrap_or_else(|| crate::domain::SITE_OWNED.to_owned()),
            owner_deleted: owner.is_some_and(|o| o.is_deleted()),
            client,
        })
        .collect())
}
