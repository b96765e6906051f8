//! The checks registration and edits share: the owner is an active API user of the site,
//! the scopes are in its catalogue.

use crate::domain::ScopeSet;
use crate::server::{
    ServiceError,
    entities::{site_membership as membership, user},
    services::scopes,
};

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

/// Checks that `owner` is an active API user of `site_id`.
pub(super) async fn require_api_user(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    owner: Uuid,
) -> Result<user::Model, ServiceError> {
    let member = membership::Entity::find_by_id((site_id, owner))
        .one(conn)
        .await?;
    let user = user::Entity::find_by_id(owner).one(conn).await?;
    match (member, user) {
        (Some(m), Some(user)) if m.is_api_user && user.is_active() => Ok(user),
        _ => Err(ServiceError::invalid(
            "owner",
            "Choose an active API user of this site.",
        )),
    }
}

/// Checks requested scopes against the site's catalogue; an empty request means `profile`.
/// What a client asking for `requested` is registered with: those scopes, or `profile` when
/// it asks for none.
pub fn stored_scopes(requested: &ScopeSet) -> Result<ScopeSet, ServiceError> {
    if requested.is_empty() {
        ScopeSet::parse(crate::domain::ScopeName::PROFILE)
            .map_err(|e| ServiceError::caused("reading a stored scope", e))
    } else {
        Ok(requested.clone())
    }
}

pub(super) async fn allowed_scopes(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    requested: &ScopeSet,
) -> Result<ScopeSet, ServiceError> {
    let catalogue = scopes::catalogue_set(conn, site_id).await?;
    let requested = stored_scopes(requested)?;
    let missing = requested.missing_from(&catalogue);
    if !missing.is_empty() {
        return Err(ServiceError::invalid(
            "scopes",
            format!("Not in this site's catalogue: {}.", missing.join(", ")),
        ));
    }
    Ok(requested)
}
