//! Secrets that expire (issue 20 item 1): which current secrets are "expiring" — one rule
//! for the Dashboard, the API Clients filter and the badges.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{client, client_secret},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The current secrets (not retired, not replaced) whose own expiry falls within
/// `within_days` of `now`, or has passed: the one definition of "expiring" that the Dashboard,
/// the API Clients filter and the badges share.
pub fn expiring_condition(now: Timestamp, within_days: i64) -> Condition {
    Condition::all()
        .add(client_secret::Column::RetiredAt.is_null())
        .add(client_secret::Column::ExpiresAt.is_null())
        .add(client_secret::Column::ValidUntil.lte(now.unix() + within_days * 86_400))
}

/// The site's expiring secrets (see [`expiring_condition`]), soonest first, at most `limit`,
/// each with its client.
pub async fn expiring_on_site(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    now: Timestamp,
    within_days: i64,
    limit: u64,
) -> Result<Vec<(client::Model, client_secret::Model)>, ServiceError> {
    let site_clients = client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client::Column::DeletedAt.is_null())
        .into_query();
    let slots = client_secret::Entity::find()
        .filter(expiring_condition(now, within_days))
        .filter(client_secret::Column::ClientUuid.in_subquery(site_clients))
        .order_by_asc(client_secret::Column::ValidUntil)
        .limit(limit)
        .all(conn)
        .await?;
    let clients: HashMap<Uuid, client::Model> = client::Entity::find()
        .filter(client::Column::Id.is_in(slots.iter().map(|slot| slot.client_uuid)))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(slots
        .into_iter()
        .filter_map(|slot| Some((clients.get(&slot.client_uuid)?.clone(), slot)))
        .collect())
}

/// When the current secret of each client in `slots` expires (its own lifetime; `None`: it
/// does not), from [`slots_of`]'s answer.
pub fn current_expiry(slots: &[client_secret::Model]) -> Option<i64> {
    slots
        .iter()
        .find(|slot| slot.retired_at.is_none() && slot.expires_at.is_none())
        .and_then(|slot| slot.valid_until)
}
