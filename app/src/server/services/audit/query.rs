//! Reading the audit log: filtered, keyset-paginated queries, fast at millions of events
//! (every filter has an index that starts with the site and ends with the id).

use crate::domain::Timestamp;
use crate::server::{ServiceError, entities::audit_event as event, services::access::Acting};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use uuid::Uuid;

/// Filters of the Audit Log page (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who did it (exact label: username, client name, `operator`).
    pub actor: Option<String>,
    /// A client (Consumer Key) that acted or was acted upon.
    pub client: Option<String>,
    /// The action's stored name.
    pub action: Option<String>,
    /// From this moment (inclusive).
    pub from: Option<Timestamp>,
    /// Until this moment (exclusive).
    pub until: Option<Timestamp>,
}

/// Which page: newest first, older than `before`, or newer than `after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cursor {
    /// The newest events.
    #[default]
    Newest,
    /// Events older than this id.
    Before(i64),
    /// Events newer than this id.
    After(i64),
}

/// A page of events, newest first, with cursors to the neighbouring pages.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The events.
    pub rows: Vec<event::Model>,
    /// Cursor for older events, if there are any.
    pub older: Option<i64>,
    /// Cursor for newer events, if there are any.
    pub newer: Option<i64>,
}

fn condition(site_id: Uuid, filter: &AuditFilter) -> Condition {
    let mut condition = Condition::all().add(event::Column::SiteId.eq(site_id));
    if let Some(actor) = &filter.actor {
        condition = condition.add(event::Column::ActorLabel.eq(actor.as_str()));
    }
    if let Some(client) = &filter.client {
        condition = condition.add(
            Condition::any()
                .add(event::Column::ActorId.eq(client.as_str()))
                .add(event::Column::TargetId.eq(client.as_str())),
        );
    }
    if let Some(action) = &filter.action {
        condition = condition.add(event::Column::Action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        condition = condition.add(event::Column::OccurredAt.gte(from.unix()));
    }
    if let Some(until) = filter.until {
        condition = condition.add(event::Column::OccurredAt.lt(until.unix()));
    }
    condition
}

/// The query that finds the first event matching `base` beyond a page's edge, walking away
/// from the edge: [`Cursor::Before`] the page's oldest id, or [`Cursor::After`] its newest.
/// Without the order PostgreSQL may answer "any one event with id > n" with a sequential scan
/// from the start of the table, reading every older event first (80–280 ms at a million).
fn neighbour_query(base: Condition, edge: Cursor) -> Select<event::Entity> {
    page_query(base, edge, 1)
        .select_only()
        .column(event::Column::Id)
}

async fn exists(
    conn: &impl ConnectionTrait,
    base: Condition,
    edge: Cursor,
) -> Result<bool, ServiceError> {
    Ok(neighbour_query(base, edge)
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .is_some())
}

/// The query for one page: the newest `per_page` events matching `base` (older than the cursor
/// for [`Cursor::Before`]), or for [`Cursor::After`] the oldest `per_page` newer than it, in
/// ascending order.
fn page_query(base: Condition, cursor: Cursor, per_page: u64) -> Select<event::Entity> {
    let query = event::Entity::find();
    let query = match cursor {
        Cursor::Newest => query.filter(base).order_by_desc(event::Column::Id),
        Cursor::Before(id) => query
            .filter(base.add(event::Column::Id.lt(id)))
            .order_by_desc(event::Column::Id),
        Cursor::After(id) => query
            .filter(base.add(event::Column::Id.gt(id)))
            .order_by_asc(event::Column::Id),
    };
    query.limit(per_page)
}

/// One page of a site's events that the actor administers.
pub async fn search(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    filter: &AuditFilter,
    cursor: Cursor,
    per_page: u64,
) -> Result<AuditPage, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let base = condition(site_id, filter);
    let mut rows = page_query(base.clone(), cursor, per_page).all(conn).await?;
    if matches!(cursor, Cursor::After(_)) {
        rows.reverse();
    }
    rows.truncate(per_page as usize);
    let (newest, oldest) = (rows.first().map(|e| e.id), rows.last().map(|e| e.id));
    let older = match oldest {
        Some(id) if exists(conn, base.clone(), Cursor::Before(id)).await? => Some(id),
        _ => None,
    };
    // Nothing is newer than the newest page; asking would walk every newer non-matching event.
    let newer = match newest {
        Some(id) if cursor != Cursor::Newest && exists(conn, base, Cursor::After(id)).await? => {
            Some(id)
        }
        _ => None,
    };
    Ok(AuditPage { rows, older, newer })
}

/// Events older than `before` (newest first) of a site the actor administers: one batch of
/// the streamed CSV export.
pub async fn export_batch(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    filter: &AuditFilter,
    before: Option<i64>,
    size: u64,
) -> Result<Vec<event::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let mut condition = condition(site_id, filter);
    if let Some(before) = before {
        condition = condition.add(event::Column::Id.lt(before));
    }
    Ok(event::Entity::find()
        .filter(condition)
        .order_by_desc(event::Column::Id)
        .limit(size)
        .all(conn)
        .await?)
}

#[cfg(test)]
mod planner_tests {
    use super::*;
    use crate::server::testing::TestDb;
    use sea_orm::{DatabaseConnection, DbBackend, QueryTrait, Statement};

    /// Appends `count` events with ids after the existing ones: every sixth a secret rotation
    /// when `mixed`, else all token issues (a burst that matches no Audit Log filter).
    async fn append(conn: &DatabaseConnection, site: Uuid, from: i64, count: i64, mixed: bool) {
        let action = if mixed {
            "(ARRAY['user.signed_in','client.updated','client.secret_rotated',\
             'user.roles_changed','client.secret_revealed','user.sign_in_failed'])[n % 6 + 1]"
        } else {
            "'token.issued'"
        };
        let sql = format!(
            "INSERT INTO audit_events (chain, seq, site_id, occurred_at, action, actor_kind, \
             actor_label, summary, details, prev_hash, hash) \
             SELECT 'planner-test', n, '{site}', n, {action}, 'admin', 'admin-' || (n % 5), \
             'event', '{{}}', md5(n::text), md5(n::text) \
             FROM generate_series({from}, {}) AS n",
            from + count - 1
        );
        conn.execute_unprepared(&sql).await.expect("append events");
    }

    /// The plan PostgreSQL chooses for `query`, as `EXPLAIN` prints it.
    async fn plan(conn: &DatabaseConnection, query: Select<event::Entity>) -> String {
        let statement = query.build(DbBackend::Postgres);
        let explain = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN {}", statement.sql),
            statement.values.map(|values| values.0).unwrap_or_default(),
        );
        let lines = conn.query_all_raw(explain).await.expect("explain");
        lines
            .iter()
            .map(|line| line.try_get_by_index::<String>(0).expect("plan line"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A filtered Audit Log page must be read through the filter's index, even when the
    /// statistics are from before a burst of newer events that match no filter. With
    /// PostgreSQL's default page costs the planner walks the primary key backwards instead and
    /// reads the whole burst (see `db::POSTGRES_RANDOM_PAGE_COST`). And asking whether a page
    /// has newer neighbours must not scan the table from its oldest row. SQLite's planner picks
    /// the indexes on its own.
    #[tokio::test]
    async fn postgres_reads_pages_and_neighbours_through_indexes() {
        let db = TestDb::postgres().await;
        let site = Uuid::new_v4();
        append(&db.conn, site, 1, 30_000, true).await;
        db.conn
            .execute_unprepared("VACUUM ANALYZE audit_events")
            .await
            .expect("analyze");
        append(&db.conn, site, 30_001, 5_000, false).await;

        let filter = AuditFilter {
            action: Some("client.secret_rotated".to_owned()),
            ..AuditFilter::default()
        };
        let query = page_query(condition(site, &filter), Cursor::Newest, 51);
        let chosen = plan(&db.conn, query).await;
        // "Is there anything newer than the middle of the log?" must start from the middle.
        let unfiltered = condition(site, &AuditFilter::default());
        let newer = plan(&db.conn, neighbour_query(unfiltered, Cursor::After(15_000))).await;
        db.cleanup().await;
        assert!(
            chosen.contains("idx_audit_site_action"),
            "filtered page not read through idx_audit_site_action: {chosen}"
        );
        assert!(
            !newer.contains("Seq Scan"),
            "the neighbour query scans the table from its start: {newer}"
        );
    }
}
