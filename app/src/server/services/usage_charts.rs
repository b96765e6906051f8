//! Tokens issued per day, for the dashboard chart (per site) and the client page (per client):
//! read from the `usage_daily` counters the token server flushes in batches.

use crate::domain::Timestamp;
use crate::server::{ServiceError, entities::usage_daily};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One bar: a day (days since the epoch) and its count.
pub type DailyCount = (i64, i64);

fn last_days(
    rows: impl IntoIterator<Item = (i64, i64)>,
    days: i64,
    now: Timestamp,
) -> Vec<DailyCount> {
    let today = now.day();
    let mut totals: BTreeMap<i64, i64> = (today - days + 1..=today).map(|day| (day, 0)).collect();
    for (day, count) in rows {
        if let Some(total) = totals.get_mut(&day) {
            *total += count;
        }
    }
    totals.into_iter().collect()
}

/// Tokens issued per day on `site_id` over the last `days` days (oldest first, zeros filled).
pub async fn site_daily(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    days: i64,
    now: Timestamp,
) -> Result<Vec<DailyCount>, ServiceError> {
    daily(conn, usage_daily::Column::SiteId.eq(site_id), days, now).await
}

/// Tokens issued per day to `client_uuid` over the last `days` days.
pub async fn client_daily(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    days: i64,
    now: Timestamp,
) -> Result<Vec<DailyCount>, ServiceError> {
    daily(
        conn,
        usage_daily::Column::ClientUuid.eq(client_uuid),
        days,
        now,
    )
    .await
}

async fn daily(
    conn: &impl ConnectionTrait,
    whose: sea_orm::sea_query::SimpleExpr,
    days: i64,
    now: Timestamp,
) -> Result<Vec<DailyCount>, ServiceError> {
    let rows = usage_daily::Entity::find()
        .filter(whose)
        .filter(usage_daily::Column::Day.gt(now.day() - days))
        .all(conn)
        .await?;
    Ok(last_days(
        rows.into_iter().map(|r| (r.day, r.tokens_issued)),
        days,
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_missing_days_with_zero_and_ignores_old_rows() {
        let now = Timestamp(10 * 86_400 + 5);
        let bars = last_days([(10, 3), (8, 2), (8, 1), (2, 99)], 3, now);
        assert_eq!(bars, vec![(8, 3), (9, 0), (10, 3)]);
    }
}
