//! What deleting a user takes with them (issue 20 item 5): shown before an administrator
//! confirms, and recorded with the deletion.

use super::account_rules::{active_admins, require_account_manager};
use crate::server::{
    ServiceError,
    entities::{client, site, site_membership as membership, token_family},
    services::access::Acting,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// What deleting a user takes with them, shown before the administrator confirms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletionImpact {
    /// Names of the sites affected: where they hold a role, own clients or gave grants.
    pub sites: Vec<String>,
    /// API clients they own: deleted with them (and restored with them), every token revoked.
    pub clients: Vec<String>,
    /// Grants they gave to clients (as API user) that are not revoked: revoked with them.
    pub grants: u64,
    /// Sites where they are the only active site administrator (deletion is refused then).
    pub last_admin_of: Vec<String>,
}

/// What deleting `user_id` would do.
pub async fn deletion_impact(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    user_id: Uuid,
) -> Result<DeletionImpact, ServiceError> {
    let (_, reach_ids) = require_account_manager(conn, acting, user_id).await?;
    impact_on(conn, user_id, &reach_ids).await
}

/// [`deletion_impact`] once the actor is known to manage the user, whose reach is
/// `reach_ids`.
pub(super) async fn impact_on(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    reach_ids: &[Uuid],
) -> Result<DeletionImpact, ServiceError> {
    let mut impact = DeletionImpact::default();
    let administered = administered_by(conn, user_id).await?;
    for &site_id in reach_ids {
        let Some(site) = site::Entity::find_by_id(site_id).one(conn).await? else {
            continue;
        };
        if administered.contains(&site_id)
            && active_admins(conn, site_id, Some(user_id)).await? == 0
        {
            impact.last_admin_of.push(site.name.clone());
        }
        impact.sites.push(site.name);
    }
    impact.clients = client::Entity::find()
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedAt.is_null())
        .order_by_asc(client::Column::NameKey)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    impact.grants = token_family::Entity::find()
        .filter(token_family::Column::UserId.eq(user_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .count(conn)
        .await?;
    Ok(impact)
}

/// The sites where `user_id` holds the site-administrator role.
pub(super) async fn administered_by(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    Ok(membership::Entity::find()
        .select_only()
        .column(membership::Column::SiteId)
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::IsSiteAdmin.eq(true))
        .into_tuple()
        .all(conn)
        .await?)
}
