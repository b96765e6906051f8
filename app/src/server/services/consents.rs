//! Remembered consent (issue 21 item 4): what an API user granted a client at the prompt,
//! kept until their site's consent lifetime ends or they withdraw it, so a later authorization
//! of the same client within those scopes completes without asking again. A consent ends
//! when its lifetime does (the site's current lifetime, counted from when it was last given),
//! when the user withdraws or denies the client, loses the API User role on its site or is
//! disabled or deleted, when the client is disabled or deleted, or when the site stops
//! remembering (lifetime 0).

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    entities::{consent, site},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

/// The consent row of `user_id` for `client_uuid`, if any, live or not; `lock`: shared, so a
/// withdrawal waits for the transaction that relies on it (PostgreSQL).
async fn row(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    client_uuid: Uuid,
    lock: bool,
) -> Result<Option<consent::Model>, ServiceError> {
    let mut query = consent::Entity::find()
        .filter(consent::Column::UserId.eq(user_id))
        .filter(consent::Column::ClientUuid.eq(client_uuid));
    if lock {
        query = query.lock_shared();
    }
    Ok(query.one(conn).await?)
}

/// True if `consent` still counts on `site`: the site remembers consents, the consent has not
/// ended, and the site's *current* lifetime, counted from when it was last given, has not run
/// out (a shortened lifetime shortens consents given before).
pub fn is_live(consent: &consent::Model, site: &site::Model, now: Timestamp) -> bool {
    site.consent_lifetime > 0
        && consent.expires_at > now.unix()
        && consent.updated_at.saturating_add(site.consent_lifetime) > now.unix()
}

/// The scopes of a stored consent (unparseable text counts as nothing granted).
fn granted(consent: &consent::Model) -> ScopeSet {
    ScopeSet::parse(&consent.scope).unwrap_or_default()
}

/// True if `user_id` gave `client_uuid` (of `site`) a consent that is still live and covers
/// every scope of `scope` (a read for deciding whether to try; see [`covers_locked`]).
pub async fn covers(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    user_id: Uuid,
    client_uuid: Uuid,
    scope: &ScopeSet,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let consent = row(conn, user_id, client_uuid, false).await?;
    Ok(grants(consent, site, scope, now))
}

/// [`covers`] in the transaction that issues a code on the strength of it: the consent row is
/// locked (shared), so a withdrawal committing meanwhile waits, then voids that code too.
pub async fn covers_locked(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    user_id: Uuid,
    client_uuid: Uuid,
    scope: &ScopeSet,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let consent = row(conn, user_id, client_uuid, true).await?;
    Ok(grants(consent, site, scope, now))
}

/// True when `consent` is live and grants every scope of `scope`.
fn grants(
    consent: Option<consent::Model>,
    site: &site::Model,
    scope: &ScopeSet,
    now: Timestamp,
) -> bool {
    consent.is_some_and(|c| is_live(&c, site, now) && scope.is_subset(&granted(&c)))
}

/// Remembers that `user_id` granted `scope` to `client_uuid` of `site`, for the site's
/// consent lifetime from `now` (nothing when it is 0). A live consent is widened to the union
/// and renewed; two authorizations at once both land (one row per user and client).
pub async fn remember(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    user_id: Uuid,
    client_uuid: Uuid,
    scope: &ScopeSet,
    now: Timestamp,
) -> Result<(), ServiceError> {
    if site.consent_lifetime <= 0 {
        return Ok(());
    }
    let mut names: Vec<_> = scope.iter().cloned().collect();
    // Locked (PostgreSQL), so a concurrent widening waits and unites with this one. Two first
    // consents at once keep one scope set: narrower, never wider, than was granted.
    let existing = consent::Entity::find()
        .filter(consent::Column::UserId.eq(user_id))
        .filter(consent::Column::ClientUuid.eq(client_uuid))
        .lock_exclusive()
        .one(conn)
        .await?;
    match existing {
        Some(existing) if is_live(&existing, site, now) => {
            names.extend(granted(&existing).iter().cloned());
        }
        // An ended consent is not renewed: a new one starts (its own first time).
        Some(_) => {
            forget(conn, of_user_for_client(user_id, client_uuid)).await?;
        }
        None => {}
    }
    let union = ScopeSet::from_names(names).to_string();
    let expires_at = now.unix().saturating_add(site.consent_lifetime);
    consent::Entity::insert(consent::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        client_uuid: Set(client_uuid),
        site_id: Set(site.id),
        scope: Set(union),
        created_at: Set(now.unix()),
        updated_at: Set(now.unix()),
        expires_at: Set(expires_at),
    })
    .on_conflict(
        OnConflict::columns([consent::Column::UserId, consent::Column::ClientUuid])
            .update_columns([
                consent::Column::Scope,
                consent::Column::UpdatedAt,
                consent::Column::ExpiresAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The live consents of `user_id` (for their connected applications), by [`is_live`].
pub async fn live_of_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: Timestamp,
) -> Result<Vec<consent::Model>, ServiceError> {
    let rows = consent::Entity::find()
        .filter(consent::Column::UserId.eq(user_id))
        .filter(consent::Column::ExpiresAt.gt(now.unix()))
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(rows);
    }
    let sites: Vec<site::Model> = site::Entity::find()
        .filter(site::Column::Id.is_in(rows.iter().map(|c| c.site_id).collect::<Vec<_>>()))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|c| {
            sites
                .iter()
                .any(|site| site.id == c.site_id && is_live(c, site, now))
        })
        .collect())
}

/// Forgets the consents matching `which` (a user's withdrawal, a deleted client or user);
/// returns how many there were, live or not.
pub async fn forget(conn: &impl ConnectionTrait, which: Condition) -> Result<u64, ServiceError> {
    Ok(consent::Entity::delete_many()
        .filter(which)
        .exec(conn)
        .await?
        .rows_affected)
}

/// The consent `user_id` gave `client_uuid` (they withdraw it, or deny the client).
pub fn of_user_for_client(user_id: Uuid, client_uuid: Uuid) -> Condition {
    Condition::all()
        .add(consent::Column::UserId.eq(user_id))
        .add(consent::Column::ClientUuid.eq(client_uuid))
}

/// Every consent `user_id` gave (they are disabled).
pub fn of_user(user_id: Uuid) -> Condition {
    Condition::all().add(consent::Column::UserId.eq(user_id))
}

/// Every consent given `client_uuid` (it is disabled or deleted).
pub fn of_client(client_uuid: Uuid) -> Condition {
    Condition::all().add(consent::Column::ClientUuid.eq(client_uuid))
}

/// Every consent `user_id` gave on `site_id` (they lose the API User role there).
pub fn of_user_on_site(user_id: Uuid, site_id: Uuid) -> Condition {
    Condition::all()
        .add(consent::Column::UserId.eq(user_id))
        .add(consent::Column::SiteId.eq(site_id))
}

/// Every consent given on `site_id` (it stops remembering).
pub fn of_site(site_id: Uuid) -> Condition {
    Condition::all().add(consent::Column::SiteId.eq(site_id))
}
