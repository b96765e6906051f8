//! The Deleted view (issue 20 item 5): the selected site's deleted API clients and users,
//! each restorable until its retention period ends, or removed for good at once.

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A deleted API client, as the Deleted view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedClientRow {
    /// Internal id (the restore and purge forms send it).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Consumer Key.
    pub client_id: String,
    /// Owner's username.
    pub owner: String,
    /// Deleted together with its owner (restore the owner to restore it).
    pub with_owner: bool,
    /// When it was deleted.
    pub deleted: String,
    /// When it will be purged.
    pub purge_on: String,
    /// Whole days until then (at least 0).
    pub purge_in_days: i64,
}

/// A deleted user, as the Deleted view lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedUserRow {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Names of the clients deleted with them.
    pub clients: Vec<String>,
    /// When they were deleted.
    pub deleted: String,
    /// When they will be purged.
    pub purge_on: String,
    /// Whole days until then (at least 0).
    pub purge_in_days: i64,
}

/// Everything the Deleted view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedItems {
    /// The selected site.
    pub site_name: String,
    /// How long deleted items stay restorable.
    pub retention_days: i64,
    /// Deleted clients, newest deletion first.
    pub clients: Vec<DeletedClientRow>,
    /// Deleted users, newest deletion first.
    pub users: Vec<DeletedUserRow>,
}

/// A signed-in administrator: the deleted clients and users of the selected site.
#[server(endpoint = "list_deleted")]
pub async fn list_deleted() -> Result<DeletedItems, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{
        ctx,
        services::{clients, users},
    };
    let admin = ctx::require_admin().await?;
    let acting = admin.acting();
    let db = &admin.state.db;
    let now = admin.state.clock.now().unix();
    let settings = &admin.state.settings;
    let purge = |deleted_at: Option<i64>| {
        let at = settings.purge_at(deleted_at.unwrap_or(now));
        (
            Timestamp(deleted_at.unwrap_or(now)).format_utc(),
            Timestamp(at).format_utc(),
            ((at - now).max(0) + 86_399) / 86_400,
        )
    };
    let clients = clients::deleted_on_site(db, &acting, admin.site.id)
        .await?
        .into_iter()
        .map(|row| {
            let (deleted, purge_on, purge_in_days) = purge(row.client.deleted_at);
            DeletedClientRow {
                id: row.client.id,
                name: row.client.name,
                client_id: row.client.client_id,
                owner: row.owner,
                with_owner: row.client.deleted_with_owner || row.owner_deleted,
                deleted,
                purge_on,
                purge_in_days,
            }
        })
        .collect();
    let users = users::deleted_on_site(db, &acting, admin.site.id)
        .await?
        .into_iter()
        .map(|row| {
            let (deleted, purge_on, purge_in_days) = purge(row.user.deleted_at);
            DeletedUserRow {
                id: row.user.id,
                username: row.user.username,
                email: row.user.email,
                clients: row.clients,
                deleted,
                purge_on,
                purge_in_days,
            }
        })
        .collect();
    Ok(DeletedItems {
        site_name: admin.site.name.clone(),
        retention_days: settings.deleted_retention_days(),
        clients,
        users,
    })
}

/// An administrator of the client's site: brings a deleted client back; opens its page.
#[server(endpoint = "restore_client")]
pub async fn restore_client(csrf: String, client_uuid: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    clients::restore(&admin.service(), client_uuid).await?;
    leptos_axum::redirect(&format!("/clients/{client_uuid}"));
    Ok(())
}

/// An administrator of the client's site: removes a deleted client for good.
#[server(endpoint = "purge_client")]
pub async fn purge_client(
    csrf: String,
    client_uuid: Uuid,
    #[server(default)] confirm: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    require_confirmation(confirm)?;
    clients::purge(&admin.service(), client_uuid).await?;
    Ok(())
}

/// An administrator of every site of the user: brings a deleted user back, with the clients
/// deleted with them; opens their page.
#[server(endpoint = "restore_user")]
pub async fn restore_user(csrf: String, user_id: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    users::restore(&admin.service(), user_id).await?;
    leptos_axum::redirect(&format!("/administrators/{user_id}"));
    Ok(())
}

/// An administrator of every site of the user: removes a deleted user for good.
#[server(endpoint = "purge_user")]
pub async fn purge_user(
    csrf: String,
    user_id: Uuid,
    #[server(default)] confirm: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::users};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    require_confirmation(confirm)?;
    users::purge(&admin.service(), user_id).await?;
    Ok(())
}

/// "Delete now" cannot be undone: the box saying so must be ticked.
#[cfg(feature = "ssr")]
fn require_confirmation(confirm: Option<String>) -> Result<(), ConsoleError> {
    if confirm.is_some() {
        Ok(())
    } else {
        Err(ConsoleError::invalid(
            "confirm",
            "Tick the box: deleting now cannot be undone.",
        ))
    }
}
