//! Slows down password guessing, per account and per client address, in the database so every
//! replica counts the same failures. Used by console sign-in and the authorization prompt.
//!
//! Within a 15-minute window, the first failures are free; past the limit each further failure
//! blocks the key for twice as long as the one before (30 s, 1 min, 2 min ... at most 15 min).
//! While blocked, even a correct password is refused, so guessing gains nothing.

use crate::domain::Timestamp;
use crate::server::{ServiceError, entities::sign_in_throttle as throttle};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed in a window before blocking starts.
    pub free_failures: i32,
    /// Window length (seconds).
    pub window: i64,
    /// First block (seconds); doubles per further failure.
    pub first_block: i64,
    /// Longest block (seconds).
    pub max_block: i64,
}

/// Per account: a handful of typos, then exponential back-off.
pub const ACCOUNT: Policy = Policy {
    free_failures: 5,
    window: 15 * 60,
    first_block: 30,
    max_block: 15 * 60,
};

/// Per client address: room for a shared office NAT, still far from brute force.
pub const ADDRESS: Policy = Policy {
    free_failures: 20,
    window: 15 * 60,
    first_block: 30,
    max_block: 15 * 60,
};

/// The throttle key of an account (by username key).
pub fn account_key(username_key: &str) -> String {
    format!("account:{username_key}")
}

/// The throttle key of a client address.
pub fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// `Err(Throttled)` if any of `keys` is blocked at `now`.
pub async fn check(
    conn: &impl ConnectionTrait,
    keys: &[String],
    now: Timestamp,
) -> Result<(), ServiceError> {
    let blocked_until = throttle::Entity::find()
        .filter(throttle::Column::Key.is_in(keys.iter().cloned()))
        .filter(throttle::Column::BlockedUntil.gt(now.unix()))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| row.blocked_until)
        .max();
    match blocked_until {
        Some(until) => Err(ServiceError::Throttled {
            retry_after_secs: Ord::max(u64::try_from(until - now.unix()).unwrap_or(1), 1),
        }),
        None => Ok(()),
    }
}

/// Counts one failure against `key` and blocks it when over `policy`.
pub async fn record_failure(
    conn: &impl ConnectionTrait,
    key: &str,
    policy: Policy,
    now: Timestamp,
) -> Result<(), ServiceError> {
    // Atomic increment inside the current window; otherwise start a new window.
    let bumped = throttle::Entity::update_many()
        .col_expr(
            throttle::Column::Failures,
            ExprTrait::add(Expr::col(throttle::Column::Failures), 1),
        )
        .filter(throttle::Column::Key.eq(key))
        .filter(throttle::Column::WindowStartedAt.gt(now.unix() - policy.window))
        .exec(conn)
        .await?;
    if bumped.rows_affected == 0 {
        throttle::Entity::insert(throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(1),
            window_started_at: Set(now.unix()),
            blocked_until: Set(0),
        })
        .on_conflict(
            OnConflict::column(throttle::Column::Key)
                .update_columns([
                    throttle::Column::Failures,
                    throttle::Column::WindowStartedAt,
                    throttle::Column::BlockedUntil,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    }
    let Some(row) = throttle::Entity::find_by_id(key.to_owned())
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    let over = row.failures - policy.free_failures;
    if over > 0 {
        let doublings = Ord::min(over - 1, 20);
        let block = Ord::min(
            policy.first_block.saturating_mul(1_i64 << doublings),
            policy.max_block,
        );
        throttle::Entity::update_many()
            .col_expr(
                throttle::Column::BlockedUntil,
                Expr::value(now.unix() + block),
            )
            .filter(throttle::Column::Key.eq(key))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Forgets failures of `key` (after a successful sign-in to that account).
pub async fn reset(conn: &impl ConnectionTrait, key: &str) -> Result<(), ServiceError> {
    throttle::Entity::delete_by_id(key.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes counters whose window and block are both over (housekeeping).
pub async fn purge(conn: &impl ConnectionTrait, now: Timestamp) -> Result<u64, ServiceError> {
    let window = Ord::max(ACCOUNT.window, ADDRESS.window);
    Ok(throttle::Entity::delete_many()
        .filter(throttle::Column::BlockedUntil.lte(now.unix()))
        .filter(throttle::Column::WindowStartedAt.lte(now.unix() - window))
        .exec(conn)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::testing::TestDatabases;

    #[tokio::test]
    async fn blocks_after_free_failures_with_doubling_and_resets() {
        for db in TestDatabases::all().await {
            let key = account_key("alice");
            let keys = [key.clone()];
            let t0 = Timestamp(10_000);
            for _ in 0..ACCOUNT.free_failures {
                check(&db.conn, &keys, t0).await.unwrap();
                record_failure(&db.conn, &key, ACCOUNT, t0).await.unwrap();
            }
            check(&db.conn, &keys, t0)
                .await
                .expect("five failures are free");
            record_failure(&db.conn, &key, ACCOUNT, t0).await.unwrap();
            let Err(ServiceError::Throttled { retry_after_secs }) =
                check(&db.conn, &keys, t0).await
            else {
                panic!("sixth failure blocks ({})", db.name);
            };
            assert_eq!(retry_after_secs, 30);
            record_failure(&db.conn, &key, ACCOUNT, t0).await.unwrap();
            let Err(ServiceError::Throttled { retry_after_secs }) =
                check(&db.conn, &keys, t0).await
            else {
                panic!("still blocked");
            };
            assert_eq!(retry_after_secs, 60, "block doubles");
            check(&db.conn, &keys, t0.plus_seconds(61))
                .await
                .expect("block expires");

            // Other keys are unaffected; reset clears the account.
            check(&db.conn, &[address_key("10.0.0.1")], t0)
                .await
                .unwrap();
            reset(&db.conn, &key).await.unwrap();
            check(&db.conn, &keys, t0).await.unwrap();

            // A new window starts from one.
            record_failure(&db.conn, &key, ACCOUNT, t0).await.unwrap();
            record_failure(&db.conn, &key, ACCOUNT, t0.plus_seconds(ACCOUNT.window + 1))
                .await
                .unwrap();
            let row = throttle::Entity::find_by_id(key.clone())
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.failures, 1, "{}", db.name);
            db.cleanup().await;
        }
    }
}
