//! Each site's resource servers (RFC 8707): the audiences its tokens may be narrowed to with
//! `resource` at the authorization and token endpoints. A request naming any other resource
//! gets `invalid_target`.

use crate::domain::{ResourceUri, Timestamp};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::site_resource,
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

/// Most resource servers one site lists.
pub const MAX_PER_SITE: u64 = 100;

/// The resource servers of `site_id`, by URI.
pub async fn list(conn: &impl ConnectionTrait, site_id: Uuid) -> Result<Vec<String>, ServiceError> {
    Ok(site_resource::Entity::find()
        .filter(site_resource::Column::SiteId.eq(site_id))
        .order_by_asc(site_resource::Column::Uri)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| row.uri)
        .collect())
}

/// True when `uri` is, exactly as written, one of `site_id`'s resource servers.
pub async fn is_registered(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    uri: &str,
) -> Result<bool, ServiceError> {
    Ok(site_resource::Entity::find_by_id((site_id, uri.to_owned()))
        .one(conn)
        .await?
        .is_some())
}

/// Adds a resource server to a site the actor administers.
pub async fn add(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    uri: &ResourceUri,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db, acting, now, ..
    } = *cx;
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    if is_registered(&txn, site_id, uri.as_str()).await? {
        return Err(ServiceError::invalid(
            "uri",
            "This site already lists that resource server.",
        ));
    }
    let listed = site_resource::Entity::find()
        .filter(site_resource::Column::SiteId.eq(site_id))
        .count(&txn)
        .await?;
    if listed >= MAX_PER_SITE {
        return Err(ServiceError::invalid(
            "uri",
            format!("A site lists at most {MAX_PER_SITE} resource servers."),
        ));
    }
    site_resource::ActiveModel {
        site_id: Set(site_id),
        uri: Set(uri.as_str().to_owned()),
        created_at: Set(now.unix()),
    }
    .insert(&txn)
    .await?;
    record(&txn, cx, &site, Action::ResourceAdded, uri.as_str(), now).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a resource server from a site's list. Tokens already narrowed to it keep their
/// audience until they expire; new requests naming it get `invalid_target`.
pub async fn remove(cx: &ServiceContext<'_>, site_id: Uuid, uri: &str) -> Result<(), ServiceError> {
    let ServiceContext {
        db, acting, now, ..
    } = *cx;
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let removed = site_resource::Entity::delete_by_id((site_id, uri.to_owned()))
        .exec(&txn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Err(ServiceError::NotFound);
    }
    record(&txn, cx, &site, Action::ResourceRemoved, uri, now).await?;
    txn.commit().await?;
    Ok(())
}

/// The audit event of an addition or removal.
async fn record(
    conn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    site: &crate::server::entities::site::Model,
    action: Action,
    uri: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let verb = if action == Action::ResourceAdded {
        "added to"
    } else {
        "removed from"
    };
    audit::record(
        conn,
        cx.keys,
        NewEvent::new(
            Some(site.id),
            action,
            cx.acting.actor(),
            format!("Resource server {uri} {verb} \"{}\"", site.name),
        )
        .target(Target::site(site))
        .details(serde_json::json!({"resource": uri})),
        now,
    )
    .await?;
    Ok(())
}
