//! Each site's resource servers (RFC 8707): the audiences its tokens may be narrowed to with
//! `resource` at the authorization and token endpoints. A request naming any other resource
//! gets `invalid_target`.

use crate::domain::{FailureReason, ResourceUri, Timestamp};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{access_token, authorization_code, site_resource, token_family},
    protocol::OAuthError,
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
        token_families,
    },
    settings::Settings,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
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
    .await
    .map_err(|error| {
        // Another administrator added it meanwhile.
        let error = ServiceError::from(error);
        if error.is_unique_violation() {
            ServiceError::invalid("uri", "This site already lists that resource server.")
        } else {
            error
        }
    })?;
    record(&txn, cx, &site, Action::ResourceAdded, uri.as_str(), 0, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a resource server from a site's list, and with it everything issued for it: the
/// grants authorized for it, the access tokens narrowed to it, and the unused codes asking for
/// it are revoked or deleted in the same transaction, so nothing keeps reaching an API the
/// site no longer lists. New requests naming it get `invalid_target`.
pub async fn remove(cx: &ServiceContext<'_>, site_id: Uuid, uri: &str) -> Result<(), ServiceError> {
    let ServiceContext {
        db, acting, now, ..
    } = *cx;
    if !well_formed(uri) {
        return Err(ServiceError::NotFound);
    }
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let removed = site_resource::Entity::delete_by_id((site_id, uri.to_owned()))
        .exec(&txn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Err(ServiceError::NotFound);
    }
    let grants = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(token_family::Column::SiteId.eq(site_id))
        .filter(token_family::Column::Resource.eq(uri))
        .filter(token_family::Column::RevokedAt.is_null())
        .into_tuple::<Uuid>()
        .all(&txn)
        .await?;
    let revoked =
        token_families::revoke_families(&txn, grants, "resource server removed", now).await?;
    access_token::Entity::update_many()
        .col_expr(access_token::Column::RevokedAt, Expr::value(now.unix()))
        .filter(access_token::Column::SiteId.eq(site_id))
        .filter(access_token::Column::Audience.eq(uri))
        .filter(access_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::SiteId.eq(site_id))
        .filter(authorization_code::Column::Resource.eq(uri))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    record(&txn, cx, &site, Action::ResourceRemoved, uri, revoked, now).await?;
    txn.commit().await?;
    Ok(())
}

/// The resource a request names (`raw`), if it names one: one of `site_id`'s resource servers,
/// exactly as listed; `invalid_target` for anything else, malformed values included (they are
/// refused before any lookup: a NUL byte would reach PostgreSQL otherwise). The one rule for
/// the authorization and token endpoints.
pub async fn requested(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    raw: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let Some(uri) = raw else {
        return Ok(None);
    };
    if well_formed(uri) && is_registered(conn, site_id, uri).await? {
        Ok(Some(uri.to_owned()))
    } else {
        Err(
            OAuthError::invalid_target("resource is not one of this site's resource servers")
                .because(FailureReason::ResourceNotAllowed),
        )
    }
}

/// Latchkey's own API as a resource server: `<public URL>/api/v1`. A site lists it to let
/// tokens be narrowed to it; `/api/v1/me` accepts those (with or without a trailing slash).
pub fn own_resource(settings: &Settings) -> String {
    format!("{}/api/v1", settings.public_url.trim_end_matches('/'))
}

/// True when `audience` names Latchkey's own API (a trailing slash aside).
pub fn is_own_resource(settings: &Settings, audience: &str) -> bool {
    audience.trim_end_matches('/') == own_resource(settings)
}

/// Could be a listed URI at all: ASCII without spaces or control characters, at most as long
/// as a listed one may be.
fn well_formed(uri: &str) -> bool {
    uri.len() <= ResourceUri::MAX
        && uri.is_ascii()
        && !uri.chars().any(|c| c.is_ascii_control() || c == ' ')
}

/// The audit event of an addition or removal (`revoked`: the grants a removal revoked).
async fn record(
    conn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    site: &crate::server::entities::site::Model,
    action: Action,
    uri: &str,
    revoked: u64,
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
        .details(serde_json::json!({"resource": uri, "grants_revoked": revoked})),
        now,
    )
    .await?;
    Ok(())
}
