//! "Last used" bookkeeping without a database write per request: successful client
//! authentications and issued tokens are counted in memory and written in one small
//! transaction every few seconds (and at shutdown). Each replica flushes its own counts as
//! increments, so replicas add up instead of overwriting each other.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{client, client_secret, usage_daily},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Ordered maps: the flush updates rows in id order (see [`UsageRecorder::flush`]).
#[derive(Debug, Default)]
struct Pending {
    client_last_used: BTreeMap<Uuid, i64>,
    secret_uses: BTreeMap<Uuid, SecretUses>,
    tokens_per_day: BTreeMap<(Uuid, i64), (Uuid, i64)>,
}

/// A slot's uses since the last flush, and the latest one's caller.
#[derive(Debug, Default)]
struct SecretUses {
    count: i64,
    last_at: i64,
    caller: Caller,
}

/// Who presented a secret: what an administrator weighs before retiring it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The client address.
    pub address: Option<String>,
    /// The `User-Agent`, cleaned for display (`domain::display_excerpt`).
    pub user_agent: Option<String>,
}

impl Caller {
    /// The caller of a request from `address` with the raw `User-Agent` header `user_agent`.
    pub fn new(address: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            address,
            user_agent: user_agent.and_then(|raw| crate::domain::display_excerpt(raw, 200)),
        }
    }
}

/// Counts uses in memory until the next [`UsageRecorder::flush`].
#[derive(Debug, Default)]
pub struct UsageRecorder(Mutex<Pending>);

impl UsageRecorder {
    fn with(&self, update: impl FnOnce(&mut Pending)) {
        if let Ok(mut pending) = self.0.lock() {
            update(&mut pending);
        }
    }

    /// `caller` authenticated as a client with the secret in slot `secret_id`.
    pub fn secret_used(&self, client_uuid: Uuid, secret_id: Uuid, caller: Caller, now: Timestamp) {
        self.with(|p| {
            p.client_last_used.insert(client_uuid, now.unix());
            let entry = p.secret_uses.entry(secret_id).or_default();
            entry.count += 1;
            if now.unix() >= entry.last_at {
                entry.last_at = now.unix();
                entry.caller = caller;
            }
        });
    }

    /// A client of `site_id` received an access token.
    pub fn token_issued(&self, client_uuid: Uuid, site_id: Uuid, now: Timestamp) {
        self.with(|p| {
            p.client_last_used.insert(client_uuid, now.unix());
            let day = now.unix().div_euclid(86_400);
            p.tokens_per_day
                .entry((client_uuid, day))
                .or_insert((site_id, 0))
                .1 += 1;
        });
    }

    /// Writes and clears what was counted. Clients deleted meanwhile are skipped. Rows are
    /// updated in id order (clients, then secrets), the order rotation and other replicas'
    /// flushes take them in, so concurrent writers on PostgreSQL never wait in a circle.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<(), ServiceError> {
        let pending = match self.0.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        if pending.client_last_used.is_empty() && pending.secret_uses.is_empty() {
            return Ok(());
        }
        let txn = begin_write(db).await?;
        for (client_uuid, at) in &pending.client_last_used {
            client::Entity::update_many()
                .col_expr(client::Column::LastUsedAt, Expr::value(*at))
                .filter(client::Column::Id.eq(*client_uuid))
                .filter(
                    client::Column::LastUsedAt
                        .is_null()
                        .or(client::Column::LastUsedAt.lt(*at)),
                )
                .exec(&txn)
                .await?;
        }
        for (secret_id, uses) in &pending.secret_uses {
            client_secret::Entity::update_many()
                .col_expr(
                    client_secret::Column::UseCount,
                    ExprTrait::add(Expr::col(client_secret::Column::UseCount), uses.count),
                )
                .filter(client_secret::Column::Id.eq(*secret_id))
                .exec(&txn)
                .await?;
            // The last use and its caller move only forward: another replica's (or an earlier)
            // flush of older uses must not show an older caller as the last one.
            client_secret::Entity::update_many()
                .col_expr(client_secret::Column::LastUsedAt, Expr::value(uses.last_at))
                .col_expr(
                    client_secret::Column::LastUsedFrom,
                    Expr::value(uses.caller.address.clone()),
                )
                .col_expr(
                    client_secret::Column::LastUserAgent,
                    Expr::value(uses.caller.user_agent.clone()),
                )
                .filter(client_secret::Column::Id.eq(*secret_id))
                .filter(
                    client_secret::Column::LastUsedAt
                        .is_null()
                        .or(client_secret::Column::LastUsedAt.lte(uses.last_at)),
                )
                .exec(&txn)
                .await?;
        }
        for ((client_uuid, day), (site_id, count)) in &pending.tokens_per_day {
            let still_there = client::Entity::find_by_id(*client_uuid)
                .one(&txn)
                .await?
                .is_some();
            if !still_there {
                continue;
            }
            usage_daily::Entity::insert(usage_daily::ActiveModel {
                client_uuid: Set(*client_uuid),
                day: Set(*day),
                site_id: Set(*site_id),
                tokens_issued: Set(*count),
            })
            .on_conflict(
                OnConflict::columns([usage_daily::Column::ClientUuid, usage_daily::Column::Day])
                    .value(
                        usage_daily::Column::TokensIssued,
                        ExprTrait::add(
                            Expr::col((usage_daily::Entity, usage_daily::Column::TokensIssued)),
                            *count,
                        ),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit_neutral().await?;
        Ok(())
    }
}
