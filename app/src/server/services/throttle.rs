//! Slows down password guessing, per account and per client address, in the database so every
//! replica counts the same attempts. Used by console sign-in, password confirmation and the
//! authorization prompt.
//!
//! Within a 15-minute window the first failures are free; past the limit each further attempt
//! blocks the key for twice as long as the one before (30 s, 1 min, 2 min ... at most 15 min).
//! While blocked, even a correct password is refused, so guessing gains nothing.
//!
//! Parallel requests must not walk through: every attempt is counted *before* its password is
//! checked, as a failure, in one short transaction ([`begin`]), and an attempt that finds its
//! key blocked is refused there without hashing anything. Counting is atomic (an upsert that
//! returns the new count), so of 60 simultaneous guesses as many are checked as of 60
//! sequential ones. A success then undoes its count ([`Attempt::succeeded`]) in the caller's
//! transaction, after checking again: if another attempt's failure blocked the key meanwhile,
//! the correct password is refused too, so a burst cannot hide its one right guess.
//!
//! Keys never hold what people typed: an account key is a digest of the username, and an
//! address key is the IPv4 address or the IPv6 /64 (one subscriber's usual allocation), so the
//! table stays small whatever is sent.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{hex, sha256},
    db::begin_write,
    entities::sign_in_throttle as throttle,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Policy {
    /// How long a key with `failures` counted in its window stays blocked (0: not at all).
    fn block_for(self, failures: i32) -> i64 {
        let over = failures - self.free_failures;
        if over <= 0 {
            return 0;
        }
        let doublings = Ord::min(over - 1, 20);
        Ord::min(
            self.first_block.saturating_mul(1_i64 << doublings),
            self.max_block,
        )
    }
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

/// The throttle key of an account: a digest of the (lower-cased) username, so any input,
/// however long, makes a key of the same size and the table never stores what was typed.
pub fn account_key(username_key: &str) -> String {
    let digest = hex(&sha256(username_key.as_bytes()));
    format!("account:{}", &digest[..32])
}

/// The throttle key of a client address: the IPv4 address, or the /64 network of an IPv6
/// address (an attacker holding a /64 cannot multiply their budget by rotating addresses).
/// Anything that is not an address counts as one shared "unknown" key.
pub fn address_key(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => format!("address:{ip}"),
        Ok(std::net::IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = ip.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => "address:unknown".to_owned(),
    }
}

/// The keys of one password check: the account's, and the address's when known.
pub fn keys_for(username_key: &str, address: Option<&str>) -> Vec<(String, Policy)> {
    let mut keys = vec![(account_key(username_key), ACCOUNT)];
    if let Some(address) = address {
        keys.push((address_key(address), ADDRESS));
    }
    keys
}

/// A password check that has been counted (as a failure, until it succeeds).
#[derive(Debug)]
#[must_use = "a successful check must undo its count with Attempt::succeeded"]
pub struct Attempt {
    /// Each key, its policy, and its count just after this attempt was added.
    counted: Vec<(String, Policy, i32)>,
}

/// Counts one attempt against every key, in its own transaction, before the password is
/// checked. Refused (`Throttled`, nothing counted) while any key is blocked.
pub async fn begin(
    db: &DatabaseConnection,
    keys: &[(String, Policy)],
    now: Timestamp,
) -> Result<Attempt, ServiceError> {
    let txn = begin_write(db).await?;
    let mut counted = Vec::with_capacity(keys.len());
    let mut blocked_until = None;
    for (key, policy) in keys {
        let row = bump(&txn, key, *policy, now).await?;
        if row.blocked_until > now.unix() {
            blocked_until = Ord::max(blocked_until, Some(row.blocked_until));
        }
        counted.push((key.clone(), *policy, row.failures));
    }
    if let Some(until) = blocked_until {
        // Dropping the transaction rolls the counts back: waiting out a block is not a failure.
        txn.rollback().await?;
        return Err(throttled(until, now));
    }
    for (key, policy, failures) in &counted {
        let block = policy.block_for(*failures);
        if block > 0 {
            throttle::Entity::update_many()
                .col_expr(
                    throttle::Column::BlockedUntil,
                    Expr::value(now.unix() + block),
                )
                .filter(throttle::Column::Key.eq(key.as_str()))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit_neutral().await?;
    Ok(Attempt { counted })
}

fn throttled(until: i64, now: Timestamp) -> ServiceError {
    ServiceError::Throttled {
        retry_after_secs: Ord::max(u64::try_from(until - now.unix()).unwrap_or(1), 1),
    }
}

/// Adds one to `key`'s count (starting a new window when the old one is over) and returns the
/// row as it is now; one statement, so concurrent attempts each see their own count.
async fn bump(
    conn: &impl ConnectionTrait,
    key: &str,
    policy: Policy,
    now: Timestamp,
) -> Result<throttle::Model, ServiceError> {
    let window_open = Expr::col((throttle::Entity, throttle::Column::WindowStartedAt))
        .gt(now.unix() - policy.window);
    let failures = Expr::case(
        window_open.clone(),
        Expr::col((throttle::Entity, throttle::Column::Failures)).add(1),
    )
    .finally(1);
    let window_started_at = Expr::case(
        window_open,
        Expr::col((throttle::Entity, throttle::Column::WindowStartedAt)),
    )
    .finally(now.unix());
    let row = throttle::Entity::insert(throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(1),
        window_started_at: Set(now.unix()),
        blocked_until: Set(0),
    })
    .on_conflict(
        OnConflict::column(throttle::Column::Key)
            .value(throttle::Column::Failures, failures)
            .value(throttle::Column::WindowStartedAt, window_started_at)
            .to_owned(),
    )
    .exec_with_returning(conn)
    .await?;
    Ok(row)
}

impl Attempt {
    /// The password was right: in the caller's transaction, checks the keys again and undoes
    /// this attempt's count (the account's failures are forgotten altogether, as after any
    /// successful sign-in). `Throttled` if another attempt's failure blocked a key while this
    /// one was being checked: then even the right password does not get in.
    pub async fn succeeded(
        self,
        conn: &impl ConnectionTrait,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let keys: Vec<String> = self.counted.iter().map(|(key, ..)| key.clone()).collect();
        let rows = throttle::Entity::find()
            .filter(throttle::Column::Key.is_in(keys))
            .all(conn)
            .await?;
        for (key, _, mine) in &self.counted {
            let blocked_by_others = rows.iter().any(|row| {
                &row.key == key && row.failures > *mine && row.blocked_until > now.unix()
            });
            if blocked_by_others {
                let until = rows
                    .iter()
                    .map(|row| row.blocked_until)
                    .max()
                    .unwrap_or_default();
                return Err(throttled(until, now));
            }
        }
        for (index, (key, ..)) in self.counted.iter().enumerate() {
            if index == 0 {
                throttle::Entity::delete_by_id(key.clone())
                    .exec(conn)
                    .await?;
            } else {
                throttle::Entity::update_many()
                    .col_expr(
                        throttle::Column::Failures,
                        Expr::col(throttle::Column::Failures).sub(1),
                    )
                    .filter(throttle::Column::Key.eq(key.as_str()))
                    .filter(throttle::Column::Failures.gt(0))
                    .exec(conn)
                    .await?;
            }
        }
        Ok(())
    }
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

    fn account() -> Vec<(String, Policy)> {
        vec![(account_key("alice"), ACCOUNT)]
    }

    fn retry_after(result: Result<Attempt, ServiceError>) -> Option<u64> {
        match result {
            Err(ServiceError::Throttled { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        }
    }

    #[tokio::test]
    async fn blocks_after_free_failures_with_doubling_and_resets() {
        for db in TestDatabases::all().await {
            let t0 = Timestamp(10_000);
            // Five failures are free, the sixth is checked and blocks the next 30 s.
            for _ in 0..=ACCOUNT.free_failures {
                let _failed = begin(&db.conn, &account(), t0).await.unwrap();
            }
            assert_eq!(
                retry_after(begin(&db.conn, &account(), t0).await),
                Some(30),
                "{}",
                db.name
            );
            // Waiting is not failing: the refused attempt did not count.
            let _failed = begin(&db.conn, &account(), t0.plus_seconds(31))
                .await
                .unwrap();
            assert_eq!(
                retry_after(begin(&db.conn, &account(), t0.plus_seconds(31)).await),
                Some(60),
                "block doubles"
            );
            // Other keys are unaffected; a success resets the account.
            let other = vec![(address_key("10.0.0.1"), ADDRESS)];
            let _ = begin(&db.conn, &other, t0).await.unwrap();
            let later = t0.plus_seconds(100);
            let attempt = begin(&db.conn, &account(), later).await.unwrap();
            attempt.succeeded(&db.conn, later).await.unwrap();
            let row = throttle::Entity::find_by_id(account_key("alice"))
                .one(&db.conn)
                .await
                .unwrap();
            assert_eq!(row, None, "a success forgets the account's failures");

            // A new window starts from one.
            let _ = begin(&db.conn, &account(), t0).await.unwrap();
            let next_window = t0.plus_seconds(ACCOUNT.window + 1);
            let _ = begin(&db.conn, &account(), next_window).await.unwrap();
            let row = throttle::Entity::find_by_id(account_key("alice"))
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.failures, 1, "{}", db.name);
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn parallel_attempts_get_no_more_checks_than_sequential_ones() {
        for db in TestDatabases::all().await {
            let now = Timestamp(50_000);
            let tasks: Vec<_> = (0..60)
                .map(|_| {
                    let conn = db.conn.clone();
                    tokio::spawn(async move { begin(&conn, &account(), now).await })
                })
                .collect();
            let mut allowed = Vec::new();
            for task in tasks {
                if let Ok(attempt) = task.await.unwrap() {
                    allowed.push(attempt);
                }
            }
            assert_eq!(
                allowed.len(),
                ACCOUNT.free_failures as usize + 1,
                "{}: 60 parallel guesses, as many checked as sequential ones",
                db.name
            );
            // The one right guess among them is refused: the others blocked the account.
            allowed.sort_by_key(|attempt| attempt.counted[0].2);
            let early = allowed.remove(0);
            assert!(matches!(
                early.succeeded(&db.conn, now).await,
                Err(ServiceError::Throttled { .. })
            ));
            db.cleanup().await;
        }
    }

    #[test]
    fn keys_are_bounded_and_never_hold_what_was_typed() {
        let long = "x".repeat(10_000);
        assert_eq!(account_key(&long).len(), account_key("a").len());
        assert!(!account_key("alice").contains("alice"));
        assert_eq!(address_key("203.0.113.9"), "address:203.0.113.9");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "one /64"
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:198.51.100.7"), "address:198.51.100.7");
        assert_eq!(address_key(&long), "address:unknown");
    }
}
