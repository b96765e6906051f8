//! Stale clients (issue 20 item 6): a live client unused for the operator's stale period
//! (`--stale-client-days`) is announced once (`client.stale`, to the site's webhooks and, by
//! e-mail, to its owner and administrators), and again only after it has been used since.
//! A credential nobody uses is one nobody would miss if it leaked: the notice asks whether to
//! delete it.
//!
//! Every replica runs it: each notice is claimed by a conditional update of the client's
//! `stale_announced_at` in the transaction that records it, so it goes out once.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::client,
    keys::Keys,
    services::audit::{self, Action, Actor, NewEvent, Target},
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

/// Most clients announced per pass: after an upgrade (or a long quiet spell) the notices
/// come in batches, one pass every few minutes, not all at once.
const PER_PASS: u64 = 100;

/// The approved clients stale at `cutoff` (unused since, or never used and created — and
/// approved — before it) and not announced since their last use.
fn stale_condition(cutoff: i64) -> Condition {
    Condition::all()
        .add(client::Column::DeletedAt.is_null())
        .add(client::Column::DisabledAt.is_null())
        .add(client::Column::Review.eq(crate::domain::Review::Approved.as_str()))
        .add(client::Column::CreatedAt.lte(cutoff))
        // A request approved lately is not stale for having waited.
        .add(
            Condition::any()
                .add(client::Column::ReviewedAt.is_null())
                .add(client::Column::ReviewedAt.lte(cutoff)),
        )
        .add(
            Condition::any()
                .add(client::Column::LastUsedAt.lte(cutoff))
                .add(client::Column::LastUsedAt.is_null()),
        )
        .add(
            Condition::any()
                .add(client::Column::StaleAnnouncedAt.is_null())
                .add(
                    Expr::col(client::Column::StaleAnnouncedAt)
                        .lt(Expr::col(client::Column::LastUsedAt)),
                ),
        )
}

/// Announces each client that became stale (unused for `stale_after` seconds) by `now`;
/// returns how many.
pub async fn announce_stale(
    db: &DatabaseConnection,
    keys: &Keys,
    stale_after: i64,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let cutoff = now.unix() - stale_after;
    let stale = client::Entity::find()
        .filter(stale_condition(cutoff))
        .order_by_asc(client::Column::Id)
        .limit(PER_PASS)
        .all(db)
        .await?;
    let days = stale_after / 86_400;
    let mut announced = 0;
    for found in stale {
        let txn = begin_write(db).await?;
        let claimed = client::Entity::update_many()
            .col_expr(client::Column::StaleAnnouncedAt, Expr::value(now.unix()))
            .filter(client::Column::Id.eq(found.id))
            .filter(stale_condition(cutoff))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            continue;
        }
        let since = match found.last_used_at {
            Some(at) => format!("since {}", Timestamp(at).format_date()),
            None => "since it was registered".to_owned(),
        };
        audit::record(
            &txn,
            keys,
            NewEvent::new(
                Some(found.site_id),
                Action::ClientStale,
                Actor::scheduled(),
                format!(
                    "API client \"{}\" has not been used {since} ({days} days or more); \
                     delete it if nobody needs it",
                    found.name
                ),
            )
            .target(Target::client(&found))
            .details(json!({
                "last_used_at": found.last_used_at.map(|at| Timestamp(at).format_rfc3339()),
                "stale_after_days": days,
            })),
            now,
        )
        .await?;
        txn.commit().await?;
        announced += 1;
    }
    Ok(announced)
}
