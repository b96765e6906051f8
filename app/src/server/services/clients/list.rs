//! The API Clients list: search, sort, "not used for N days", one page at a time.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{client, client_secret, user},
    services::{access::Acting, secrets, users::escape_like},
};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use uuid::Uuid;

/// Columns the API Clients list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ClientSort {
    /// Name, A to Z.
    Name,
    /// Owner's username.
    Owner,
    /// Registration time.
    Created,
    /// Last token activity.
    LastUsed,
    /// Active first, then disabled.
    Status,
}

/// A query of the API Clients list.
#[derive(Debug, Clone)]
pub struct ClientQuery {
    /// Matches name (any case), or exactly the Consumer Key.
    pub search: String,
    /// Sort column.
    pub sort: ClientSort,
    /// Descending order.
    pub descending: bool,
    /// Page, from 0.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
    /// Only clients not used for at least this many days (never-used ones included).
    pub unused_for_days: Option<i64>,
    /// Only clients whose current secret expires within this many days (or has expired).
    pub expiring_within_days: Option<i64>,
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// The client.
    pub client: client::Model,
    /// Owner's username; `None` for a machine client that belongs to its site.
    pub owner: Option<String>,
}

/// A page of the list.
#[derive(Debug, Clone)]
pub struct ClientPage {
    /// Rows.
    pub rows: Vec<ClientRow>,
    /// Matches on all pages.
    pub total: u64,
}

/// The API Clients of a site the actor administers: one indexed query for the page (the
/// owner, if any, comes from a join, not a query per row) and one count.
pub async fn list(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    query: &ClientQuery,
    now: Timestamp,
) -> Result<ClientPage, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let filtered = client::Entity::find().filter(list_filter(site_id, query, now));
    // The owner only names and sorts rows, so the count needs no join.
    let total = filtered.clone().count(conn).await?;
    let order = if query.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let sort_column = match query.sort {
        ClientSort::Name => Expr::col((client::Entity, client::Column::NameKey)),
        ClientSort::Owner => Expr::col((user::Entity, user::Column::UsernameKey)),
        ClientSort::Created => Expr::col((client::Entity, client::Column::CreatedAt)),
        ClientSort::LastUsed => Expr::col((client::Entity, client::Column::LastUsedAt)),
        ClientSort::Status => Expr::col((client::Entity, client::Column::DisabledAt)),
    };
    let ordered = |select: sea_orm::Select<client::Entity>| {
        let select = if query.sort == ClientSort::Owner {
            // Machine clients have no owner: kept, sorted among themselves.
            select.join(JoinType::LeftJoin, client::Relation::Owner.def())
        } else {
            select
        };
        select
            .order_by(sort_column.clone(), order.clone())
            .order_by(client::Column::Id, order.clone())
    };
    // The page's ids first, walking the (site, sort key, id) index; only those rows are
    // then joined to their owners, so a deep page does not look up every skipped owner.
    let page_ids = ordered(filtered)
        .select_only()
        .column(client::Column::Id)
        .offset(query.page.saturating_mul(query.per_page))
        .limit(query.per_page)
        .into_query();
    let mut page = client::Entity::find().filter(client::Column::Id.in_subquery(page_ids));
    if query.sort != ClientSort::Owner {
        page = page.join(JoinType::LeftJoin, client::Relation::Owner.def());
    }
    let rows = ordered(page)
        .select_also(user::Entity)
        .all(conn)
        .await?
        .into_iter()
        .map(|(client, owner)| ClientRow {
            client,
            owner: owner.map(|o| o.username),
        })
        .collect();
    Ok(ClientPage { rows, total })
}

/// The conditions of the API Clients list: the site, the search text, "not used for N days".
fn list_filter(site_id: Uuid, query: &ClientQuery, now: Timestamp) -> Condition {
    let mut condition = Condition::all()
        .add(client::Column::SiteId.eq(site_id))
        .add(client::Column::DeletedAt.is_null());
    let search = query.search.trim();
    if !search.is_empty() {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        condition = condition.add(
            Condition::any()
                .add(ExprTrait::like(
                    Expr::col((client::Entity, client::Column::NameKey)),
                    LikeExpr::new(pattern).escape('\\'),
                ))
                .add(client::Column::ClientId.eq(search)),
        );
    }
    if let Some(days) = query.unused_for_days {
        let cutoff = now.unix() - Ord::max(days, 0) * 86_400;
        condition = condition.add(
            Condition::any()
                .add(client::Column::LastUsedAt.lte(cutoff))
                .add(
                    client::Column::LastUsedAt
                        .is_null()
                        .and(client::Column::CreatedAt.lte(cutoff)),
                ),
        );
    }
    if let Some(days) = query.expiring_within_days {
        let expiring = client_secret::Entity::find()
            .select_only()
            .column(client_secret::Column::ClientUuid)
            .filter(secrets::expiring_condition(now, days))
            .into_query();
        condition = condition.add(client::Column::Id.in_subquery(expiring));
    }
    condition
}
