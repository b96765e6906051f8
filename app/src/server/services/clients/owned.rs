//! What an API user sees of the clients they own on their `/account` page: every live client
//! (approved, pending or rejected), its site, and its current secret's expiry — never a secret.

use crate::server::{
    ServiceError,
    entities::{client, site},
    services::secrets,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use uuid::Uuid;

/// One client of the owner's list.
#[derive(Debug, Clone)]
pub struct OwnedClient {
    /// The client.
    pub client: client::Model,
    /// Its site's name.
    pub site_name: String,
    /// When its current secret expires, if it does.
    pub secret_expires_at: Option<i64>,
}

/// The clients `user_id` owns (not deleted), newest first: their own list, no other reader.
pub async fn own_clients(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<OwnedClient>, ServiceError> {
    let clients = client::Entity::find()
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedAt.is_null())
        .order_by_desc(client::Column::CreatedAt)
        .order_by_desc(client::Column::Id)
        .all(conn)
        .await?;
    let site_ids: Vec<Uuid> = clients.iter().map(|c| c.site_id).collect();
    let sites: HashMap<Uuid, String> = site::Entity::find()
        .filter(site::Column::Id.is_in(site_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|site| (site.id, site.name))
        .collect();
    let mut slots = secrets::slots_of(conn, clients.iter().map(|c| c.id)).await?;
    Ok(clients
        .into_iter()
        .map(|client| OwnedClient {
            site_name: sites.get(&client.site_id).cloned().unwrap_or_default(),
            secret_expires_at: slots
                .remove(&client.id)
                .and_then(|slots| secrets::current_expiry(&slots)),
            client,
        })
        .collect())
}
