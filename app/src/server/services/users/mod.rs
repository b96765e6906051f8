//! Users (administrators and API users) and their roles per site.
//!
//! Rules, enforced here and nowhere else:
//! - an administrator sees and changes memberships only on sites they administer;
//! - account-wide changes (email, password, disable, delete) need an administrator of *every*
//!   site the user has anything on (see [`reach`]): a role, an API client they own, or a grant
//!   they gave. So no site's administrator can reach into another site, even one that removed
//!   the user's role but still has their clients;
//! - a user cannot be removed from a site where they still own API clients (assign the
//!   clients to another API user first), so ownership never leaves a site's reach;
//! - no site is ever left without an active site administrator, and nobody removes their own
//!   last administrator right, disables or deletes themselves;
//! - a deleted user is in the Deleted view only (see `deletion`): no list, count or check of
//!   active users sees them.

mod account_rules;
mod deletion;
mod deletion_impact;

pub use crate::domain::SiteRoles;
use crate::domain::{EmailAddress, NewPassword, Timestamp, Username};
use crate::server::{
    ServiceError,
    crypto::passwords::PasswordHasher,
    db::begin_write,
    entities::{site, site_membership as membership, user},
    keys::Keys,
    services::{
        access::Acting,
        admin_tokens,
        audit::{self, Action, NewEvent, Target},
        consents,
        context::ServiceContext,
    },
};
pub use account_rules::{UserView, reach, site_ids, view};
use account_rules::{ensure_sites_keep_an_admin, lock_sites, lock_user, require_account_manager};
pub use deletion::{DeletedUser, delete, deleted_on_site, purge, purge_expired, restore};
pub use deletion_impact::{DeletionImpact, deletion_impact};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

const USERNAME_TAKEN: &str = "This username is already taken.";

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name (unique without regard to case).
    pub username: Username,
    /// Contact address.
    pub email: EmailAddress,
    /// Initial password (already checked against the policy).
    pub password: NewPassword,
    /// Roles per site; at least one site.
    pub roles: Vec<SiteRoles>,
}

/// The username of `user_id`: `None` when there is no user (a machine client's owner, a
/// client credentials grant) or the row is gone.
pub async fn username_of(
    conn: &impl ConnectionTrait,
    user_id: Option<Uuid>,
) -> Result<Option<String>, ServiceError> {
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    Ok(user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .map(|user| user.username))
}

/// Finds a user by username, without regard to case.
pub async fn find_by_username(
    conn: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, ServiceError> {
    // Control characters are in no username; a NUL byte would reach PostgreSQL as an error
    // rather than as "no such user".
    if username.chars().any(char::is_control) {
        return Ok(None);
    }
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username.trim().to_ascii_lowercase()))
        .one(conn)
        .await?)
}

/// Creates a user with roles on one or more sites. The actor must administer every one of
/// those sites. The password is hashed before the transaction so the write lock is never held
/// during argon2.
pub async fn create(
    cx: &ServiceContext<'_>,
    hasher: &PasswordHasher,
    new: NewUser,
) -> Result<user::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    if new.roles.iter().all(SiteRoles::is_empty) {
        return Err(ServiceError::invalid(
            "roles",
            "Give the user at least one role: Site administrator or API User.",
        ));
    }
    for roles in &new.roles {
        acting.require_site_admin(db, roles.site_id).await?;
    }
    match find_by_username(db, new.username.as_str()).await? {
        Some(holder) if holder.is_deleted() => {
            return Err(ServiceError::invalid(
                "username",
                "This username belongs to a deleted user: restore them, or delete them now, \
                 in the Deleted view.",
            ));
        }
        Some(_) => return Err(ServiceError::invalid("username", USERNAME_TAKEN)),
        None => {}
    }
    let password_hash = hasher.hash(&new.password).await?;
    let txn = begin_write(db).await?;
    let created = insert(&txn, keys, acting, &new, password_hash, now).await?;
    txn.commit().await?;
    Ok(created)
}

/// Inserts the user, memberships and audit events using `conn` (the caller's transaction).
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    new: &NewUser,
    password_hash: String,
    now: Timestamp,
) -> Result<user::Model, ServiceError> {
    let mut sites = Vec::with_capacity(new.roles.len());
    for roles in new.roles.iter().filter(|r| !r.is_empty()) {
        sites.push((roles, acting.require_site_admin(conn, roles.site_id).await?));
    }
    let created = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(new.username.as_str().to_owned()),
        username_key: Set(new.username.key()),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(password_hash),
        created_at: Set(now.unix()),
        updated_at: Set(now.unix()),
        password_changed_at: Set(now.unix()),
        last_sign_in_at: Set(None),
        disabled_at: Set(None),
        session_generation: Set(0),
        deleted_at: Set(None),
    }
    .insert(conn)
    .await
    .map_err(|error| {
        let error = ServiceError::from(error);
        if error.is_unique_violation() {
            ServiceError::invalid("username", USERNAME_TAKEN)
        } else {
            error
        }
    })?;
    for (roles, site) in sites {
        membership::ActiveModel {
            site_id: Set(roles.site_id),
            user_id: Set(created.id),
            is_site_admin: Set(roles.is_site_admin),
            is_api_user: Set(roles.is_api_user),
            created_at: Set(now.unix()),
        }
        .insert(conn)
        .await?;
        audit::record(
            conn,
            keys,
            NewEvent::new(
                Some(site.id),
                Action::UserCreated,
                acting.actor(),
                format!(
                    "User \"{}\" created ({})",
                    created.username,
                    role_words(roles.is_site_admin, roles.is_api_user)
                ),
            )
            .target(Target::user(&created))
            .details(json!({
                "email": created.email,
                "site_administrator": roles.is_site_admin,
                "api_user": roles.is_api_user,
            })),
            now,
        )
        .await?;
    }
    Ok(created)
}

/// "site administrator, API user" — the roles in words, for summaries.
pub fn role_words(is_site_admin: bool, is_api_user: bool) -> String {
    match (is_site_admin, is_api_user) {
        (true, true) => "site administrator, API user".into(),
        (true, false) => "site administrator".into(),
        (false, true) => "API user".into(),
        (false, false) => "no roles".into(),
    }
}

/// True when `roles` would make `user_id` a site administrator somewhere they are not one
/// now (granting administration needs a recent password, see `api::users`).
pub async fn grants_site_admin(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    roles: &[SiteRoles],
) -> Result<bool, ServiceError> {
    let administered: BTreeSet<Uuid> =
        crate::server::services::access::administered_sites(conn, user_id)
            .await?
            .into_iter()
            .map(|site| site.id)
            .collect();
    Ok(roles
        .iter()
        .any(|site| site.is_site_admin && !administered.contains(&site.site_id)))
}

/// One row of the Administrators page.
#[derive(Debug, Clone)]
pub struct SiteUser {
    /// The user.
    pub user: user::Model,
    /// Their roles on the listed site.
    pub roles: membership::Model,
}

/// A page of users of one site, by username.
#[derive(Debug, Clone)]
pub struct SiteUserPage {
    /// The users on this page.
    pub rows: Vec<SiteUser>,
    /// Users matching the search, on all pages.
    pub total: u64,
}

/// Users of `site_id` whose username or email contains `search` (any case), `per_page` at a
/// time. The actor must administer the site.
pub async fn list_for_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    search: &str,
    page: u64,
    per_page: u64,
) -> Result<SiteUserPage, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let mut query = membership::Entity::find()
        .filter(membership::Column::SiteId.eq(site_id))
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(user::Column::DeletedAt.is_null());
    let needle = search.trim().to_lowercase();
    if !needle.is_empty() {
        let pattern = format!("%{}%", escape_like(&needle));
        query = query.filter(
            Condition::any()
                .add(ExprTrait::like(
                    Expr::col((user::Entity, user::Column::UsernameKey)),
                    LikeExpr::new(pattern.clone()).escape('\\'),
                ))
                .add(ExprTrait::like(
                    Func::lower(Expr::col((user::Entity, user::Column::Email))),
                    LikeExpr::new(pattern).escape('\\'),
                )),
        );
    }
    let total = query.clone().count(conn).await?;
    let rows = query
        .select_also(user::Entity)
        .order_by_asc(user::Column::UsernameKey)
        .offset(page.saturating_mul(per_page))
        .limit(per_page)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|(roles, user)| user.map(|user| SiteUser { user, roles }))
        .collect();
    Ok(SiteUserPage { rows, total })
}

/// Up to `limit` users of `site_id` whose username sorts after `after` (any case), by
/// username: a cursor page for the admin API. The actor must administer the site.
pub async fn page_of_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<SiteUser>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let mut query = membership::Entity::find()
        .filter(membership::Column::SiteId.eq(site_id))
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(user::Column::DeletedAt.is_null());
    if let Some(after) = after {
        query = query.filter(user::Column::UsernameKey.gt(after.to_ascii_lowercase()));
    }
    Ok(query
        .select_also(user::Entity)
        .order_by_asc(user::Column::UsernameKey)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|(roles, user)| user.map(|user| SiteUser { user, roles }))
        .collect())
}

/// The active API users of `site_id` (who may own its clients), by username, in one query.
/// The actor must administer the site.
pub async fn api_users_of_site(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<user::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(user::Entity::find()
        .join(JoinType::InnerJoin, user::Relation::Membership.def())
        .filter(membership::Column::SiteId.eq(site_id))
        .filter(membership::Column::IsApiUser.eq(true))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::DeletedAt.is_null())
        .order_by_asc(user::Column::UsernameKey)
        .all(conn)
        .await?)
}

/// Escapes `%`, `_` and `\` so user input is matched literally by `LIKE ... ESCAPE '\'`.
pub fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Changes the user's email address (account-wide).
pub async fn change_email(
    cx: &ServiceContext<'_>,
    user_id: Uuid,
    email: &EmailAddress,
) -> Result<user::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let (current, sites) = require_account_manager(&txn, acting, user_id).await?;
    if current.email == email.as_str() {
        return Ok(current);
    }
    let old = current.email.clone();
    let mut update = current.into_active_model();
    update.email = Set(email.as_str().to_owned());
    update.updated_at = Set(now.unix());
    let updated = update.update(&txn).await?;
    audit::record_on_sites(
        &txn,
        keys,
        sites,
        NewEvent::new(
            None,
            Action::UserEmailChanged,
            acting.actor(),
            format!("Email of \"{}\" changed", updated.username),
        )
        .target(Target::user(&updated))
        .details(json!({"from": old, "to": updated.email})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Sets the user's roles on sites the actor administers; empty roles remove the user from
/// that site. Sites not mentioned are left alone.
pub async fn set_roles(
    cx: &ServiceContext<'_>,
    user_id: Uuid,
    changes: &[SiteRoles],
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    lock_user(&txn, user_id).await?;
    let view = view(&txn, acting, user_id).await?;
    let touched: Vec<Uuid> = changes.iter().map(|c| c.site_id).collect();
    lock_sites(&txn, &touched).await?;
    let mut losing_an_admin = Vec::new();
    for change in changes {
        let site = acting.require_site_admin(&txn, change.site_id).await?;
        let before = view
            .roles
            .iter()
            .find(|(s, _)| s.id == change.site_id)
            .map(|(_, roles)| *roles)
            .unwrap_or(SiteRoles {
                site_id: change.site_id,
                is_site_admin: false,
                is_api_user: false,
            });
        if before.is_site_admin == change.is_site_admin && before.is_api_user == change.is_api_user
        {
            continue;
        }
        let existing = membership::Entity::find_by_id((change.site_id, user_id))
            .one(&txn)
            .await?;
        match (existing, change.is_empty()) {
            (Some(row), true) => {
                refuse_if_owner(&txn, &site, user_id).await?;
                row.into_active_model().delete(&txn).await?;
            }
            (Some(row), false) => {
                let mut update = row.into_active_model();
                update.is_site_admin = Set(change.is_site_admin);
                update.is_api_user = Set(change.is_api_user);
                update.update(&txn).await?;
            }
            (None, true) => continue,
            (None, false) => {
                membership::ActiveModel {
                    site_id: Set(change.site_id),
                    user_id: Set(user_id),
                    is_site_admin: Set(change.is_site_admin),
                    is_api_user: Set(change.is_api_user),
                    created_at: Set(now.unix()),
                }
                .insert(&txn)
                .await?;
            }
        }
        // Losing the API User role ends the consents they gave on the site: given it back,
        // they are asked again.
        if before.is_api_user && !change.is_api_user {
            consents::forget(&txn, consents::of_user_on_site(user_id, site.id)).await?;
        }
        // Only a site where this user loses the administrator role can lose its last one: a
        // site an operator made without administrators may still get its API users.
        if before.is_site_admin && !change.is_site_admin {
            losing_an_admin.push(site.id);
        }
        audit::record(
            &txn,
            keys,
            NewEvent::new(
                Some(site.id),
                Action::UserRolesChanged,
                acting.actor(),
                format!(
                    "Roles of \"{}\" on \"{}\": {} → {}",
                    view.user.username,
                    site.name,
                    role_words(before.is_site_admin, before.is_api_user),
                    role_words(change.is_site_admin, change.is_api_user)
                ),
            )
            .target(Target::user(&view.user))
            .details(json!({
                "site_administrator": {"from": before.is_site_admin, "to": change.is_site_admin},
                "api_user": {"from": before.is_api_user, "to": change.is_api_user},
            })),
            now,
        )
        .await?;
    }
    if view.is_self
        && crate::server::services::access::administered_sites(&txn, user_id)
            .await?
            .is_empty()
    {
        return Err(ServiceError::Conflict(
            "You cannot remove your own last site-administrator right.".into(),
        ));
    }
    ensure_sites_keep_an_admin(&txn, &losing_an_admin).await?;
    if site_ids(&txn, user_id).await?.is_empty() {
        return Err(ServiceError::Conflict(
            "A user must keep at least one site. To remove them everywhere, delete the user."
                .into(),
        ));
    }
    txn.commit().await?;
    Ok(())
}

/// Refuses to take `user_id` off `site` while they own API clients there: the clients would be
/// left with an owner no administrator of the site can see (and another site's administrator
/// could then delete them with the user).
async fn refuse_if_owner(
    conn: &impl ConnectionTrait,
    site: &site::Model,
    user_id: Uuid,
) -> Result<(), ServiceError> {
    use crate::server::entities::client;
    let owned = client::Entity::find()
        .filter(client::Column::SiteId.eq(site.id))
        .filter(client::Column::OwnerUserId.eq(user_id))
        .count(conn)
        .await?;
    if owned > 0 {
        return Err(ServiceError::Conflict(format!(
            "This user owns {owned} API client(s) on \"{}\": assign them to another API user \
             (Edit settings on each client) before removing the user from the site.",
            site.name
        )));
    }
    Ok(())
}

/// Sets a new password chosen by an administrator for another user (account-wide), and ends
/// every session of that user. The password is checked against the policy with the user's
/// real username, and hashed before the transaction. Administrators change their own password
/// with [`change_own_password`], which needs the current one.
pub async fn reset_password(
    cx: &ServiceContext<'_>,
    hasher: &PasswordHasher,
    user_id: Uuid,
    raw_password: &str,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    if acting.admin_id() == Some(user_id) {
        return Err(ServiceError::Conflict(
            "Change your own password with your current password.".into(),
        ));
    }
    let (target, _) = require_account_manager(db, acting, user_id).await?;
    let password = NewPassword::parse(raw_password, &target.username)
        .map_err(|problem| ServiceError::invalid("password", problem.to_string()))?;
    let hash = hasher.hash(&password).await?;
    let txn = begin_write(db).await?;
    let (current, sites) = require_account_manager(&txn, acting, user_id).await?;
    let (generation, tokens_revoked) = store_password(&txn, current.clone(), hash, now).await?;
    audit::record_on_sites(
        &txn,
        keys,
        sites,
        NewEvent::new(
            None,
            Action::UserPasswordReset,
            acting.actor(),
            format!(
                "Password of \"{}\" reset; their sessions were ended",
                current.username
            ),
        )
        .target(Target::user(&current))
        .details(json!({
            "sessions_ended": true,
            "session_generation": generation,
            "admin_tokens_revoked": tokens_revoked,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Stores a new password hash and moves the user's session generation on, which ends every
/// session started before, and revokes their admin API tokens: a new password is how an
/// account is taken back, and what the old one could make goes with it. Returns the new
/// generation and how many tokens were revoked.
pub(crate) async fn store_password(
    conn: &impl ConnectionTrait,
    user: user::Model,
    hash: String,
    now: Timestamp,
) -> Result<(i64, u64), ServiceError> {
    let tokens_revoked = admin_tokens::revoke_all_of_user(conn, user.id, now).await?;
    let generation = user.session_generation + 1;
    let mut update = user.into_active_model();
    update.password_hash = Set(hash);
    update.password_changed_at = Set(now.unix());
    update.updated_at = Set(now.unix());
    update.session_generation = Set(generation);
    update.update(conn).await?;
    Ok((generation, tokens_revoked))
}

/// Disables (they can sign in nowhere and authorize nothing) or re-enables a user.
pub async fn set_disabled(
    cx: &ServiceContext<'_>,
    user_id: Uuid,
    disabled: bool,
) -> Result<user::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let (current, sites) = require_account_manager(&txn, acting, user_id).await?;
    if disabled && acting.admin_id() == Some(user_id) {
        return Err(ServiceError::Conflict(
            "You cannot disable your own account.".into(),
        ));
    }
    if current.disabled_at.is_some() == disabled {
        return Ok(current);
    }
    lock_sites(&txn, &sites).await?;
    let mut update = current.into_active_model();
    update.disabled_at = Set(disabled.then_some(now.unix()));
    update.updated_at = Set(now.unix());
    let updated = update.update(&txn).await?;
    if disabled {
        ensure_sites_keep_an_admin(&txn, &sites).await?;
        // Re-enabled, they are asked again.
        consents::forget(&txn, consents::of_user(user_id)).await?;
    }
    audit::record_on_sites(
        &txn,
        keys,
        sites.iter().copied(),
        NewEvent::new(
            None,
            if disabled {
                Action::UserDisabled
            } else {
                Action::UserEnabled
            },
            acting.actor(),
            format!(
                "User \"{}\" {}",
                updated.username,
                if disabled { "disabled" } else { "enabled" }
            ),
        )
        .target(Target::user(&updated)),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SiteName;
    use crate::server::{services::sites, testing::TestDatabases};
    use sea_orm::DatabaseConnection;

    fn test_keys() -> Keys {
        Keys::derive(&[3; 32])
    }

    /// A context for `acting` at `now` (keys and settings live as long as the test process).
    fn cx<'a>(
        db: &'a DatabaseConnection,
        acting: &'a Acting,
        now: Timestamp,
    ) -> ServiceContext<'a> {
        ServiceContext {
            db,
            keys: Box::leak(Box::new(test_keys())),
            settings: Box::leak(Box::default()),
            acting,
            now,
        }
    }

    struct World {
        acme: site::Model,
        globex: site::Model,
        root: user::Model,
        hasher: PasswordHasher,
    }

    fn new_user(name: &str, roles: Vec<SiteRoles>) -> NewUser {
        NewUser {
            username: Username::parse(name).unwrap(),
            email: EmailAddress::parse(&format!("{name}@example.com")).unwrap(),
            password: NewPassword::parse("a long enough phrase", name).unwrap(),
            roles,
        }
    }

    fn admin_of(site: &site::Model) -> SiteRoles {
        SiteRoles {
            site_id: site.id,
            is_site_admin: true,
            is_api_user: false,
        }
    }

    fn api_user_of(site: &site::Model) -> SiteRoles {
        SiteRoles {
            site_id: site.id,
            is_site_admin: false,
            is_api_user: true,
        }
    }

    async fn world(db: &DatabaseConnection) -> World {
        let now = Timestamp(1_000);
        let op = Acting::operator();
        let acme = sites::create(&cx(db, &op, now), &SiteName::parse("Acme").unwrap())
            .await
            .unwrap();
        let globex = sites::create(&cx(db, &op, now), &SiteName::parse("Globex").unwrap())
            .await
            .unwrap();
        let hasher = PasswordHasher::new(2).unwrap();
        let root = create(
            &cx(db, &op, now),
            &hasher,
            new_user("root", vec![admin_of(&acme), admin_of(&globex)]),
        )
        .await
        .unwrap();
        World {
            acme,
            globex,
            root,
            hasher,
        }
    }

    fn as_admin(user: &user::Model) -> Acting {
        Acting::admin(user.id, &user.username, None)
    }

    #[tokio::test]
    async fn administrators_never_reach_sites_they_do_not_administer() {
        for db in TestDatabases::all().await {
            let w = world(&db.conn).await;
            let now = Timestamp(2_000);
            let acme_admin = create(
                &cx(&db.conn, &Acting::operator(), now),
                &w.hasher,
                new_user("acme-admin", vec![admin_of(&w.acme)]),
            )
            .await
            .unwrap();
            let globex_user = create(
                &cx(&db.conn, &Acting::operator(), now),
                &w.hasher,
                new_user("globex-user", vec![api_user_of(&w.globex)]),
            )
            .await
            .unwrap();
            let acme = as_admin(&acme_admin);

            // Cannot list, view or create users on Globex.
            assert!(matches!(
                list_for_site(&db.conn, &acme, w.globex.id, "", 0, 10).await,
                Err(ServiceError::NotFound)
            ));
            assert!(matches!(
                view(&db.conn, &acme, globex_user.id).await,
                Err(ServiceError::NotFound)
            ));
            let sneaky = new_user("sneaky", vec![admin_of(&w.acme), api_user_of(&w.globex)]);
            assert!(matches!(
                create(&cx(&db.conn, &acme, now), &w.hasher, sneaky).await,
                Err(ServiceError::NotFound)
            ));
            assert!(
                find_by_username(&db.conn, "sneaky")
                    .await
                    .unwrap()
                    .is_none(),
                "nothing half-created"
            );
            // Cannot grant roles on Globex, even to a user they can see.
            let grant = [SiteRoles {
                site_id: w.globex.id,
                is_site_admin: true,
                is_api_user: false,
            }];
            assert!(
                set_roles(&cx(&db.conn, &acme, now), acme_admin.id, &grant)
                    .await
                    .is_err()
            );
            // Cannot change the account of someone who also belongs to Globex.
            set_roles(
                &cx(&db.conn, &Acting::operator(), now),
                globex_user.id,
                &[api_user_of(&w.acme)],
            )
            .await
            .unwrap();
            let view_of = view(&db.conn, &acme, globex_user.id).await.unwrap();
            assert!(!view_of.can_manage_account);
            assert_eq!(
                view_of.roles.len(),
                1,
                "only Acme is shown to an Acme administrator"
            );
            let email = EmailAddress::parse("new@example.com").unwrap();
            assert!(matches!(
                change_email(&cx(&db.conn, &acme, now), globex_user.id, &email).await,
                Err(ServiceError::Conflict(_))
            ));
            assert!(matches!(
                set_disabled(&cx(&db.conn, &acme, now), globex_user.id, true).await,
                Err(ServiceError::Conflict(_))
            ));
            assert!(matches!(
                delete(&cx(&db.conn, &acme, now), globex_user.id).await,
                Err(ServiceError::Conflict(_))
            ));
            // The root administrator of both sites can.
            change_email(
                &cx(&db.conn, &as_admin(&w.root), now),
                globex_user.id,
                &email,
            )
            .await
            .unwrap();
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn no_site_loses_its_last_administrator() {
        for db in TestDatabases::all().await {
            let w = world(&db.conn).await;
            let now = Timestamp(2_000);
            let root = as_admin(&w.root);
            // Root is the only administrator of Acme: may not drop their own right...
            let demote = [SiteRoles {
                site_id: w.acme.id,
                is_site_admin: false,
                is_api_user: true,
            }];
            let error = set_roles(&cx(&db.conn, &root, now), w.root.id, &demote)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ServiceError::Conflict(m) if m.contains("without an active site administrator")),
                "{error:?}"
            );
            // ...and a second administrator cannot disable or delete root either.
            let second = create(
                &cx(&db.conn, &root, now),
                &w.hasher,
                new_user("second", vec![admin_of(&w.acme), admin_of(&w.globex)]),
            )
            .await
            .unwrap();
            let second_acting = as_admin(&second);
            // Now root can step down on Acme; second remains.
            set_roles(&cx(&db.conn, &root, now), w.root.id, &demote)
                .await
                .unwrap();
            // Second cannot disable themselves, nor delete themselves.
            assert!(
                set_disabled(&cx(&db.conn, &second_acting, now), second.id, true)
                    .await
                    .is_err()
            );
            assert!(
                delete(&cx(&db.conn, &second_acting, now), second.id)
                    .await
                    .is_err()
            );
            // Root (admin of Globex only now) cannot remove their own last admin right.
            let step_down = [SiteRoles {
                site_id: w.globex.id,
                is_site_admin: false,
                is_api_user: false,
            }];
            let error = set_roles(&cx(&db.conn, &root, now), w.root.id, &step_down)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ServiceError::Conflict(m) if m.contains("last site-administrator right")),
                "{error:?}"
            );
            // Disabling second would leave Acme without an active administrator.
            let error = set_disabled(&cx(&db.conn, &root, now), second.id, true).await;
            assert!(error.is_err(), "root does not administer Acme any more");
            let impact = deletion_impact(&db.conn, &second_acting, w.root.id)
                .await
                .unwrap();
            assert_eq!(impact.last_admin_of, Vec::<String>::new());
            let impact = deletion_impact(&db.conn, &as_admin(&w.root), second.id).await;
            assert!(
                impact.is_err(),
                "second belongs to Acme which root no longer administers"
            );
            // Roles unchanged by the refused attempts.
            let acme_admins = list_for_site(&db.conn, &Acting::operator(), w.acme.id, "", 0, 10)
                .await
                .unwrap();
            assert!(
                acme_admins
                    .rows
                    .iter()
                    .any(|r| r.user.id == second.id && r.roles.is_site_admin)
            );
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn search_and_pagination_of_site_users() {
        for db in TestDatabases::all().await {
            let w = world(&db.conn).await;
            let op = Acting::operator();
            for i in 0..7 {
                create(
                    &cx(&db.conn, &op, Timestamp(3_000)),
                    &w.hasher,
                    new_user(&format!("api-{i}"), vec![api_user_of(&w.acme)]),
                )
                .await
                .unwrap();
            }
            let page = list_for_site(&db.conn, &op, w.acme.id, "", 1, 3)
                .await
                .unwrap();
            assert_eq!(page.total, 8, "{}", db.name);
            assert_eq!(
                page.rows
                    .iter()
                    .map(|r| r.user.username.as_str())
                    .collect::<Vec<_>>(),
                ["api-3", "api-4", "api-5"]
            );
            let found = list_for_site(&db.conn, &op, w.acme.id, "API-5", 0, 10)
                .await
                .unwrap();
            assert_eq!(found.total, 1);
            let by_email = list_for_site(&db.conn, &op, w.acme.id, "ROOT@EXAMPLE", 0, 10)
                .await
                .unwrap();
            assert_eq!(by_email.total, 1);
            // LIKE wildcards typed by the user are literal.
            let wildcard = list_for_site(&db.conn, &op, w.acme.id, "%", 0, 10)
                .await
                .unwrap();
            assert_eq!(wildcard.total, 0);
            let underscore = list_for_site(&db.conn, &op, w.acme.id, "api_", 0, 10)
                .await
                .unwrap();
            assert_eq!(underscore.total, 0);
            db.cleanup().await;
        }
    }
}
