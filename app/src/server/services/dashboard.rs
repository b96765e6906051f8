//! Numbers for the dashboard of one site.

use crate::domain::{Timestamp, secret_lifetime::EXPIRY_NOTICE_DAYS};
use crate::server::{
    ServiceError,
    entities::{
        access_token, alert, audit_event as event, client, client_secret,
        site_membership as membership, user,
    },
    services::{access::Acting, alerts, secrets, usage_charts},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use uuid::Uuid;

/// How many recent events the dashboard lists.
const RECENT_EVENTS: u64 = 10;

/// How many expiring secrets the dashboard lists (the API Clients tab filters them all).
const EXPIRING_LISTED: u64 = 20;

/// Counts and recent activity of a site.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Site administrators.
    pub administrators: u64,
    /// API users.
    pub api_users: u64,
    /// Newest audit events, newest first.
    pub recent_events: Vec<event::Model>,
    /// API clients.
    pub clients: u64,
    /// Unexpired, unrevoked access tokens.
    pub active_tokens: u64,
    /// Tokens issued per day, last 30 days.
    pub tokens_per_day: Vec<usage_charts::DailyCount>,
    /// Unacknowledged security alerts.
    pub alerts: Vec<alert::Model>,
    /// Current secrets expiring within the notice period (or expired), soonest first, each
    /// with its client.
    pub expiring_secrets: Vec<(client::Model, client_secret::Model)>,
}

/// The dashboard numbers of `site_id`, which the actor must administer.
pub async fn summary(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    now: Timestamp,
) -> Result<Summary, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    // Deleted users keep their memberships (to be restored with them) but count nowhere.
    let members = || {
        membership::Entity::find()
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(membership::Column::SiteId.eq(site_id))
            .filter(user::Column::DeletedAt.is_null())
    };
    Ok(Summary {
        administrators: members()
            .filter(membership::Column::IsSiteAdmin.eq(true))
            .count(conn)
            .await?,
        api_users: members()
            .filter(membership::Column::IsApiUser.eq(true))
            .count(conn)
            .await?,
        recent_events: event::Entity::find()
            .filter(event::Column::SiteId.eq(site_id))
            .order_by_desc(event::Column::Id)
            .limit(RECENT_EVENTS)
            .all(conn)
            .await?,
        clients: client::Entity::find()
            .filter(client::Column::SiteId.eq(site_id))
            .filter(client::Column::DeletedAt.is_null())
            .count(conn)
            .await?,
        active_tokens: access_token::Entity::find()
            .filter(access_token::Column::SiteId.eq(site_id))
            .filter(access_token::Column::ExpiresAt.gt(now.unix()))
            .filter(access_token::Column::RevokedAt.is_null())
            .count(conn)
            .await?,
        tokens_per_day: usage_charts::site_daily(conn, site_id, 30, now).await?,
        alerts: alerts::open(conn, acting, site_id).await?,
        expiring_secrets: secrets::expiring_on_site(
            conn,
            site_id,
            now,
            EXPIRY_NOTICE_DAYS,
            EXPIRING_LISTED,
        )
        .await?,
    })
}
