//! Settings > Administrators: users of the selected site, adding them (with roles on several
//! sites), editing roles and accounts, disabling and deleting.

use super::SiteOption;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows per page of the Administrators table.
pub const USERS_PER_PAGE: u64 = 25;

/// One row of the Administrators table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Site administrator on the selected site.
    pub site_admin: bool,
    /// API User on the selected site.
    pub api_user: bool,
    /// False when disabled.
    pub active: bool,
    /// Last console sign-in (formatted), if any.
    pub last_sign_in: Option<String>,
}

/// A page of the Administrators table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    /// Rows.
    pub rows: Vec<UserRow>,
    /// Matching users on all pages.
    pub total: u64,
    /// This page (from 0).
    pub page: u64,
    /// Number of pages (at least 1).
    pub pages: u64,
    /// The selected site's name.
    pub site_name: String,
}

/// One site row of a roles form: hidden `site_id`, checkboxes `site_admin` and `api_user`.
/// Forms send these as `roles[0][site_id]`, `roles[0][site_admin]=on`, ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesInput {
    /// The site (empty for an "Add Site" row left unselected).
    #[serde(default)]
    pub site_id: String,
    /// Present when the Site administrator box is ticked.
    #[serde(default)]
    pub site_admin: Option<String>,
    /// Present when the API User box is ticked.
    #[serde(default)]
    pub api_user: Option<String>,
}

/// A user as the editing administrator sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// False when disabled.
    pub active: bool,
    /// Created (formatted).
    pub created: String,
    /// Last console sign-in (formatted).
    pub last_sign_in: Option<String>,
    /// Roles on each site the viewer administers.
    pub roles: Vec<SiteRolesRow>,
    /// The viewer may change email, password, status, or delete.
    pub can_manage_account: bool,
    /// The viewer is this user.
    pub is_self: bool,
    /// Setting a password needs the viewer's own password (not entered recently).
    pub needs_password: bool,
}

/// A user's roles on one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRolesRow {
    /// The site.
    pub site: SiteOption,
    /// Site administrator there.
    pub site_admin: bool,
    /// API User there.
    pub api_user: bool,
}

/// What deleting a user would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionPreview {
    /// The user.
    pub username: String,
    /// Sites they belong to.
    pub sites: Vec<String>,
    /// Sites they are the last active administrator of (deletion refused).
    pub last_admin_of: Vec<String>,
    /// API clients they own (deleted with them, tokens included).
    pub clients: Vec<String>,
    /// Unrevoked grants they gave as API user (revoked with them).
    pub grants: u64,
    /// How many days a deleted user stays restorable in the Deleted view.
    pub retention_days: i64,
}

/// A signed-in administrator: users of the selected site matching `q`, page `page` (from 0).
#[server(endpoint = "list_users")]
pub async fn list_users(q: String, page: u64) -> Result<UserPage, ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin().await?;
    let found = users::list_for_site(
        &admin.state.db,
        &admin.acting(),
        admin.site.id,
        &q,
        page,
        USERS_PER_PAGE,
    )
    .await?;
    let format = |at: Option<i64>| at.map(|at| crate::domain::Timestamp(at).format_utc());
    Ok(UserPage {
        rows: found
            .rows
            .into_iter()
            .map(|row| UserRow {
                id: row.user.id,
                active: row.user.is_active(),
                last_sign_in: format(row.user.last_sign_in_at),
                username: row.user.username,
                email: row.user.email,
                site_admin: row.roles.is_site_admin,
                api_user: row.roles.is_api_user,
            })
            .collect(),
        total: found.total,
        page,
        pages: found.total.div_ceil(USERS_PER_PAGE).max(1),
        site_name: admin.site.name.clone(),
    })
}

/// A signed-in administrator: adds a user with roles on the selected site (`roles[0]`) and,
/// through "Add Site", on more sites they administer. Making someone a site administrator
/// needs a recent password (`current_password`), like every action that yields a secret: a
/// stolen cookie must not mint an administrator whose password the thief chose.
#[server(endpoint = "create_user")]
pub async fn create_user(
    csrf: String,
    username: String,
    email: String,
    password: String,
    #[server(default)] roles: Vec<RolesInput>,
    #[server(default)] current_password: Option<String>,
) -> Result<Uuid, ConsoleError> {
    use crate::domain::{EmailAddress, NewPassword, Username};
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::users};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    let mut errors = FieldErrors::new();
    let parsed_username = errors.check("username", Username::parse(&username));
    let email = errors.check("email", EmailAddress::parse(&email));
    let password = errors.check("password", NewPassword::parse(&password, &username));
    let roles = errors.check("roles", parse_roles(&roles));
    let (username, email, password, roles) =
        errors.finish_with((parsed_username, email, password, roles))?;
    if roles.iter().any(|site| site.is_site_admin) {
        admin
            .require_recent_password(current_password.as_deref())
            .await?;
    }
    let new_user = users::NewUser {
        username,
        email,
        password,
        roles,
    };
    let user = users::create(&admin.service(), &admin.state.passwords, new_user).await?;
    leptos_axum::redirect(&format!("/administrators/{}", user.id));
    Ok(user.id)
}

/// Reads the rows of a roles form (unselected "Add Site" rows are skipped).
pub fn parse_roles(
    rows: &[RolesInput],
) -> Result<Vec<crate::domain::SiteRoles>, crate::domain::Invalid> {
    crate::domain::SiteRoles::parse_rows(rows.iter().map(|row| {
        (
            row.site_id.as_str(),
            row.site_admin.is_some(),
            row.api_user.is_some(),
        )
    }))
}

/// A signed-in administrator of one of the user's sites: the user and their roles.
#[server(endpoint = "get_user")]
pub async fn get_user(user_id: Uuid) -> Result<UserDetail, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin().await?;
    let view = users::view(&admin.state.db, &admin.acting(), user_id).await?;
    Ok(UserDetail {
        id: view.user.id,
        active: view.user.is_active(),
        created: Timestamp(view.user.created_at).format_utc(),
        last_sign_in: view
            .user
            .last_sign_in_at
            .map(|at| Timestamp(at).format_utc()),
        username: view.user.username,
        email: view.user.email,
        roles: view
            .roles
            .into_iter()
            .map(|(site, roles)| SiteRolesRow {
                site: SiteOption {
                    id: site.id,
                    name: site.name,
                },
                site_admin: roles.is_site_admin,
                api_user: roles.is_api_user,
            })
            .collect(),
        can_manage_account: view.can_manage_account,
        is_self: view.is_self,
        needs_password: !admin.recently_authenticated(),
    })
}

/// An administrator of every site of the user: changes their email address.
#[server(endpoint = "update_user_email")]
pub async fn update_user_email(
    csrf: String,
    user_id: Uuid,
    email: String,
) -> Result<(), ConsoleError> {
    use crate::domain::EmailAddress;
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let email =
        EmailAddress::parse(&email).map_err(|e| ConsoleError::invalid("email", e.to_string()))?;
    users::change_email(&admin.service(), user_id, &email).await?;
    Ok(())
}

/// An administrator of the listed sites: sets the user's roles there (no boxes ticked removes
/// the user from that site). Granting site administration the user does not hold yet needs a
/// recent password (`current_password`), as creating an administrator does.
#[server(endpoint = "update_user_roles")]
pub async fn update_user_roles(
    csrf: String,
    user_id: Uuid,
    #[server(default)] roles: Vec<RolesInput>,
    #[server(default)] current_password: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::users};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    let roles = parse_roles(&roles).map_err(|e| ConsoleError::invalid("roles", e.to_string()))?;
    if users::grants_site_admin(&admin.state.db, user_id, &roles).await? {
        admin
            .require_recent_password(current_password.as_deref())
            .await?;
    }
    users::set_roles(&admin.service(), user_id, &roles).await?;
    Ok(())
}

/// An administrator of every site of the user, with a recent password: sets a new password
/// for them, which ends their sessions. For their own account an administrator gives the
/// current password (`current_password`) every time, and their other sessions end.
#[server(endpoint = "reset_user_password")]
pub async fn reset_user_password(
    csrf: String,
    user_id: Uuid,
    password: String,
    #[server(default)] current_password: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{
        console_session::CURRENT_PASSWORD_FIELD,
        ctx,
        services::{account, users},
    };
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    if user_id == admin.user.id {
        let current = current_password.unwrap_or_default();
        if current.is_empty() {
            return Err(ConsoleError::invalid(
                CURRENT_PASSWORD_FIELD,
                "Enter your current password.",
            ));
        }
        let generation = account::change_own_password(
            &admin.state,
            &admin.user,
            &current,
            &password,
            admin.address.clone(),
        )
        .await?;
        return admin.adopt_generation(generation).await;
    }
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    users::reset_password(&admin.service(), &admin.state.passwords, user_id, &password).await?;
    Ok(())
}

/// An administrator of every site of the user: disables (`disabled=true`) or enables them.
#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(
    csrf: String,
    user_id: Uuid,
    disabled: bool,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    users::set_disabled(&admin.service(), user_id, disabled).await?;
    Ok(())
}

/// An administrator of every site of the user: what deleting them would do.
#[server(endpoint = "preview_user_deletion")]
pub async fn preview_user_deletion(user_id: Uuid) -> Result<DeletionPreview, ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin().await?;
    let acting = admin.acting();
    let view = users::view(&admin.state.db, &acting, user_id).await?;
    let impact = users::deletion_impact(&admin.state.db, &acting, user_id).await?;
    Ok(DeletionPreview {
        retention_days: admin.state.settings.deleted_retention_days(),
        username: view.user.username,
        sites: impact.sites,
        last_admin_of: impact.last_admin_of,
        clients: impact.clients,
        grants: impact.grants,
    })
}

/// An administrator of every site of the user: moves them (and the clients they own) to the
/// Deleted view; the Deleted view then offers to undo it.
#[server(endpoint = "delete_user")]
pub async fn delete_user(csrf: String, user_id: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    users::delete(&admin.service(), user_id).await?;
    leptos_axum::redirect(&format!("/deleted?undo={user_id}"));
    Ok(())
}
