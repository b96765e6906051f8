//! Each site's scope catalogue (RFC 6749 3.3): what its clients may be registered for.
//! Every site starts with `profile`.

use crate::domain::{ScopeName, ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{client, client_scope, site_scope},
    services::{
        audit::{self, Action, NewEvent, Target},
        context::ServiceContext,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, sea_query::OnConflict,
};
use uuid::Uuid;

/// Description of the default scope.
pub const PROFILE_DESCRIPTION: &str = "Read the API user's profile (username, email, site)";

/// Gives a new site its default catalogue (inside the caller's transaction).
pub async fn insert_defaults(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    now: Timestamp,
) -> Result<(), ServiceError> {
    site_scope::Entity::insert(site_scope::ActiveModel {
        site_id: Set(site_id),
        name: Set(ScopeName::PROFILE.into()),
        description: Set(PROFILE_DESCRIPTION.into()),
        created_at: Set(now.unix()),
    })
    .on_conflict(
        OnConflict::columns([site_scope::Column::SiteId, site_scope::Column::Name])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The catalogue of `site_id`, by name.
pub async fn catalogue(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
) -> Result<Vec<site_scope::Model>, ServiceError> {
    Ok(site_scope::Entity::find()
        .filter(site_scope::Column::SiteId.eq(site_id))
        .order_by_asc(site_scope::Column::Name)
        .all(conn)
        .await?)
}

/// The catalogue as a set.
pub async fn catalogue_set(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
) -> Result<ScopeSet, ServiceError> {
    let names = catalogue(conn, site_id)
        .await?
        .into_iter()
        .filter_map(|scope| ScopeName::parse(&scope.name).ok());
    Ok(ScopeSet::from_names(names))
}

/// Adds a scope to the catalogue of a site the actor administers.
pub async fn add(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    name: &ScopeName,
    description: &str,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let description = description.trim();
    if description.is_empty()
        || description.chars().count() > 200
        || description.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid(
            "description",
            "Describe the scope in 1 to 200 characters.",
        ));
    }
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let exists = site_scope::Entity::find_by_id((site_id, name.as_str().to_owned()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(ServiceError::invalid(
            "name",
            "This site already has that scope.",
        ));
    }
    site_scope::ActiveModel {
        site_id: Set(site_id),
        name: Set(name.as_str().to_owned()),
        description: Set(description.to_owned()),
        created_at: Set(now.unix()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(site_id),
            Action::ScopeAdded,
            acting.actor(),
            format!("Scope \"{name}\" added to \"{}\"", site.name),
        )
        .target(Target::scope(name.as_str()))
        .details(serde_json::json!({"description": description})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a scope no client uses from a site's catalogue.
pub async fn remove(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    name: &str,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let scope = site_scope::Entity::find_by_id((site_id, name.to_owned()))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let users = client_scope::Entity::find()
        .join(JoinType::InnerJoin, client_scope::Relation::Client.def())
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client_scope::Column::Scope.eq(name))
        .count(&txn)
        .await?;
    if users > 0 {
        return Err(ServiceError::Conflict(format!(
            "Scope \"{name}\" is used by {users} client(s); remove it from them first."
        )));
    }
    site_scope::Entity::delete_by_id((site_id, scope.name.clone()))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(site_id),
            Action::ScopeRemoved,
            acting.actor(),
            format!("Scope \"{name}\" removed from \"{}\"", site.name),
        )
        .target(Target::scope(name)),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
