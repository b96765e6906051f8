//! Who may change a user's account, and the rules every account-wide change keeps: the
//! actor administers every site of the user's [`reach`]; rows are locked in one order (grants,
//! the user, the sites); no site is left without an active site administrator. Shared by the
//! account changes in `users` and by deletion and restore in `users::deletion`.

use crate::domain::SiteRoles;
use crate::server::{
    ServiceError,
    entities::{site, site_membership as membership, user},
    services::access::Acting,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect,
    RelationTrait, sea_query::Expr,
};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The ids of every site where `user_id` holds any role.
pub async fn site_ids(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.site_id)
        .collect())
}

/// Every site where `user_id` has anything an account-wide change would touch: a role, an API
/// client they own, or a grant they gave (live or not: deleting the user deletes its history).
/// An account-wide change needs an administrator of all of them, and is audited on each.
pub async fn reach(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<Uuid>, ServiceError> {
    use crate::server::entities::{client, token_family};
    let mut sites: BTreeSet<Uuid> = site_ids(conn, user_id).await?.into_iter().collect();
    let owned: Vec<Uuid> = client::Entity::find()
        .select_only()
        .column(client::Column::SiteId)
        .filter(client::Column::OwnerUserId.eq(user_id))
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    let granted: Vec<Uuid> = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::SiteId)
        .filter(token_family::Column::UserId.eq(user_id))
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    sites.extend(owned);
    sites.extend(granted);
    Ok(sites.into_iter().collect())
}

/// A user as one administrator may see and edit them.
#[derive(Debug, Clone)]
pub struct UserView {
    /// The user.
    pub user: user::Model,
    /// Every site the viewer administers, with the user's roles there (empty roles: no access).
    pub roles: Vec<(site::Model, SiteRoles)>,
    /// The viewer administers every site the user belongs to, so may change the account.
    pub can_manage_account: bool,
    /// The viewer is looking at themselves.
    pub is_self: bool,
}

/// The user `user_id` as seen by the actor, who must administer a site the user belongs to.
/// A deleted user is not found here (see [`require_deleted_account_manager`]).
pub async fn view(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    user_id: Uuid,
) -> Result<UserView, ServiceError> {
    let user = user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .filter(|user| !user.is_deleted())
        .ok_or(ServiceError::NotFound)?;
    view_of(conn, acting, user).await
}

/// [`view`] of a user already loaded.
async fn view_of(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    user: user::Model,
) -> Result<UserView, ServiceError> {
    let user_id = user.id;
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    let viewer_sites = acting.administered_sites(conn).await?;
    let administered: BTreeSet<Uuid> = viewer_sites.iter().map(|s| s.id).collect();
    if !memberships
        .iter()
        .any(|m| administered.contains(&m.site_id))
    {
        return Err(ServiceError::NotFound);
    }
    let reach = reach(conn, user_id).await?;
    let roles = viewer_sites
        .into_iter()
        .map(|site| {
            let held = memberships.iter().find(|m| m.site_id == site.id);
            let roles = SiteRoles {
                site_id: site.id,
                is_site_admin: held.is_some_and(|m| m.is_site_admin),
                is_api_user: held.is_some_and(|m| m.is_api_user),
            };
            (site, roles)
        })
        .collect();
    Ok(UserView {
        can_manage_account: reach.iter().all(|site| administered.contains(site)),
        is_self: acting.admin_id() == Some(user_id),
        user,
        roles,
    })
}

/// Loads the user for an account-wide change: the actor must administer every site of the
/// user's [`reach`]. Returns the user and those sites (where the change is audited).
pub(super) async fn require_account_manager(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    user_id: Uuid,
) -> Result<(user::Model, Vec<Uuid>), ServiceError> {
    let view = view(conn, acting, user_id).await?;
    managed(conn, view).await
}

/// The user of `view` and their reach, if the viewer administers all of it.
async fn managed(
    conn: &impl ConnectionTrait,
    view: UserView,
) -> Result<(user::Model, Vec<Uuid>), ServiceError> {
    if !view.can_manage_account {
        return Err(ServiceError::Conflict(
            "This user also belongs to, owns API clients on, or authorized clients of sites you \
             do not administer; ask an administrator of every one of their sites."
                .into(),
        ));
    }
    let sites = reach(conn, view.user.id).await?;
    Ok((view.user, sites))
}

/// [`require_account_manager`] for a deleted user (to restore or purge them): the same rule,
/// since restoring gives them back everything they had on every site of their reach.
pub(super) async fn require_deleted_account_manager(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    user_id: Uuid,
) -> Result<(user::Model, Vec<Uuid>), ServiceError> {
    let user = user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .filter(user::Model::is_deleted)
        .ok_or(ServiceError::NotFound)?;
    let view = view_of(conn, acting, user).await?;
    managed(conn, view).await
}

/// Takes a write lock on the user's row (PostgreSQL; SQLite holds the database write lock)
/// before their reach is computed, so a role granted meanwhile on another site waits for the
/// change that judged the reach instead of slipping past it. After any grants (as the token
/// endpoint, whose new grants refer to the user), before [`lock_sites`].
pub(super) async fn lock_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<(), ServiceError> {
    user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(conn)
        .await?;
    Ok(())
}

/// Takes a write lock on the sites' rows (PostgreSQL row locks; SQLite already holds the
/// database write lock), so concurrent role changes on one site run one after the other and
/// the last-administrator check below cannot be raced.
pub(super) async fn lock_sites(
    conn: &impl ConnectionTrait,
    site_ids: &[Uuid],
) -> Result<(), ServiceError> {
    if site_ids.is_empty() {
        return Ok(());
    }
    site::Entity::update_many()
        .col_expr(site::Column::UpdatedAt, Expr::col(site::Column::UpdatedAt))
        .filter(site::Column::Id.is_in(site_ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Active (not disabled, not deleted) site administrators of `site_id`, not counting `except`.
pub(super) async fn active_admins(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    except: Option<Uuid>,
) -> Result<u64, ServiceError> {
    let mut query = membership::Entity::find()
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(membership::Column::SiteId.eq(site_id))
        .filter(membership::Column::IsSiteAdmin.eq(true))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::DeletedAt.is_null());
    if let Some(except) = except {
        query = query.filter(membership::Column::UserId.ne(except));
    }
    Ok(query.count(conn).await?)
}

/// Refuses the change (the caller's transaction is then dropped, rolling it back) if any of
/// `site_ids` is left without an active site administrator.
pub(super) async fn ensure_sites_keep_an_admin(
    conn: &impl ConnectionTrait,
    site_ids: &[Uuid],
) -> Result<(), ServiceError> {
    for site_id in site_ids {
        if active_admins(conn, *site_id, None).await? == 0 {
            let name = site::Entity::find_by_id(*site_id)
                .one(conn)
                .await?
                .map_or_else(|| "this site".to_owned(), |s| format!("\"{}\"", s.name));
            return Err(ServiceError::Conflict(format!(
                "Site {name} would be left without an active site administrator. \
                 Make someone else a site administrator first."
            )));
        }
    }
    Ok(())
}
