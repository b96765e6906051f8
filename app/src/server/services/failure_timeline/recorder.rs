//! Refusals counted in memory until the next flush: identical failures (same client, reason,
//! explanation and address) become one row with a count, so a client retrying in a loop costs
//! one row per flush, not one per request.

use crate::domain::{FailureReason, Timestamp, display_excerpt};
use crate::server::{
    ServiceError,
    db::{batch, begin_write},
    entities::{client, client_failure},
    protocol::OAuthError,
};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use uuid::Uuid;

use super::store;

/// Distinct failures held between two flushes at most; more are counted as dropped (and
/// logged), so a flood of varied refusals cannot grow memory without bound.
const PENDING_CAPACITY: usize = 2_000;
/// Distinct addresses held per client between two flushes; refusals from further addresses
/// are counted together, under [`SEVERAL_ADDRESSES`].
const PER_CLIENT_ADDRESSES: usize = 8;
/// The address shown for refusals counted together past [`PER_CLIENT_ADDRESSES`].
pub const SEVERAL_ADDRESSES: &str = "(several addresses)";
/// A flushed failure adds to a row of the same client, reason and address that began at most
/// this long before (seconds), instead of starting a new one: a client failing in a loop is
/// one row an hour, not one per flush, so the kept rows span days, and a row's count stays
/// within its hour (the 7-day counts add whole rows).
const MERGE_WINDOW: i64 = 3_600;
/// Longest explanation kept (characters).
const DETAIL_CHARS: usize = 300;

/// One refused request of a known client.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The client's row id.
    pub client_uuid: Uuid,
    /// Its site.
    pub site_id: Uuid,
    /// The real reason.
    pub reason: FailureReason,
    /// The RFC error code the client was sent.
    pub error_code: &'static str,
    /// The explanation (cleaned and shortened when recorded).
    pub detail: String,
    /// Where the request came from.
    pub address: Option<String>,
}

impl Failure {
    /// The failure `error` stands for, of client `client_uuid` of `site_id`.
    pub fn of(
        error: &OAuthError,
        client_uuid: Uuid,
        site_id: Uuid,
        address: Option<String>,
    ) -> Self {
        Self {
            client_uuid,
            site_id,
            reason: error.reason(),
            error_code: error.code.as_str(),
            detail: error.detail().to_owned(),
            address,
        }
    }
}

/// What makes two refusals "the same": the client, the reason and the address. The
/// explanation is not part of it (the latest is kept), so text a caller controls — a scope it
/// asked for, a server error's reference — cannot make every request a row of its own.
type Key = (Uuid, FailureReason, Option<String>);

#[derive(Debug)]
struct Tally {
    site_id: Uuid,
    error_code: &'static str,
    detail: String,
    first_at: i64,
    last_at: i64,
    count: i64,
}

#[derive(Debug, Default)]
struct Pending {
    failures: BTreeMap<Key, Tally>,
    /// Distinct addresses pending per client (at most [`PER_CLIENT_ADDRESSES`]).
    per_client: HashMap<Uuid, HashSet<Option<String>>>,
    dropped: u64,
}

/// Refusals of known clients not yet written (see the module comment).
#[derive(Debug, Default)]
pub struct FailureRecorder {
    pending: Mutex<Pending>,
    /// One flush at a time in this process (the background one and a details page's).
    flushing: tokio::sync::Mutex<()>,
}

impl FailureRecorder {
    /// Counts `failure`, which happened at `now`.
    pub fn record(&self, failure: Failure, now: Timestamp) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        let pending = &mut *pending;
        let detail = display_excerpt(&failure.detail, DETAIL_CHARS).unwrap_or_default();
        let addresses = pending.per_client.entry(failure.client_uuid).or_default();
        // Past its share of addresses, a client's refusals from further ones are counted
        // together: a flood from many addresses stays a few rows.
        let address =
            if addresses.contains(&failure.address) || addresses.len() < PER_CLIENT_ADDRESSES {
                addresses.insert(failure.address.clone());
                failure.address
            } else {
                Some(SEVERAL_ADDRESSES.to_owned())
            };
        let key = (failure.client_uuid, failure.reason, address);
        if let Some(tally) = pending.failures.get_mut(&key) {
            tally.count += 1;
            tally.first_at = tally.first_at.min(now.unix());
            if now.unix() >= tally.last_at {
                tally.last_at = now.unix();
                tally.detail = detail;
                tally.error_code = failure.error_code;
            }
            return;
        }
        if pending.failures.len() >= PENDING_CAPACITY {
            pending.dropped += 1;
            return;
        }
        pending.failures.insert(
            key,
            Tally {
                site_id: failure.site_id,
                error_code: failure.error_code,
                detail,
                first_at: now.unix(),
                last_at: now.unix(),
                count: 1,
            },
        );
    }

    /// Counts `error` if it names the client it is about (see [`OAuthError::about_client`]):
    /// the refusals of endpoints that do not authenticate the client.
    pub fn record_attributed(&self, error: &OAuthError, address: Option<String>, now: Timestamp) {
        if let Some((client_uuid, site_id)) = error.diagnosis.as_ref().and_then(|d| d.client) {
            self.record(Failure::of(error, client_uuid, site_id, address), now);
        }
    }

    /// Writes and clears what was counted: each pending failure adds to the newest row of the
    /// same client, reason and address seen within [`MERGE_WINDOW`], or becomes a new row; then
    /// each client written for is trimmed to [`store::KEPT_PER_CLIENT`] rows. Failures of
    /// clients deleted meanwhile are dropped (the clients are locked against deletion until
    /// the write commits).
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<(), ServiceError> {
        let _one_at_a_time = self.flushing.lock().await;
        let pending = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        if pending.dropped > 0 {
            tracing::warn!(
                dropped = pending.dropped,
                "client failures beyond the recorder's capacity were not recorded"
            );
        }
        if pending.failures.is_empty() {
            return Ok(());
        }
        let txn = begin_write(db).await?;
        let backend = txn.get_database_backend();
        let clients: BTreeSet<Uuid> = pending.failures.keys().map(|key| key.0).collect();
        let existing: BTreeSet<Uuid> = client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .filter(batch::is_in(
                backend,
                client::Column::Id,
                clients.iter().copied(),
            ))
            // Locked (in id order, as every writer of several clients takes them): no deletion
            // meanwhile, and other replicas' flushes for the same clients wait their turn.
            .order_by_asc(client::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let since = pending
            .failures
            .values()
            .map(|t| t.first_at)
            .min()
            .unwrap_or(0)
            - MERGE_WINDOW;
        let recent = store::recent_rows(&txn, &existing, since).await?;
        let mut inserts = Vec::new();
        for ((client_uuid, reason, address), tally) in pending.failures {
            if !existing.contains(&client_uuid) {
                continue;
            }
            let merge_into = recent
                .get(&(client_uuid, reason.as_str().to_owned(), address.clone()))
                .filter(|row| row.first_at >= tally.first_at - MERGE_WINDOW);
            match merge_into {
                Some(row) => {
                    store::add_to(
                        &txn,
                        row,
                        &tally.detail,
                        tally.error_code,
                        tally.count,
                        tally.last_at,
                    )
                    .await?
                }
                None => inserts.push(client_failure::ActiveModel {
                    id: sea_orm::ActiveValue::NotSet,
                    client_uuid: Set(client_uuid),
                    site_id: Set(tally.site_id),
                    first_at: Set(tally.first_at),
                    last_at: Set(tally.last_at),
                    count: Set(tally.count),
                    reason: Set(reason.as_str().to_owned()),
                    error_code: Set(tally.error_code.to_owned()),
                    detail: Set(tally.detail),
                    address: Set(address),
                }),
            }
        }
        for chunk in inserts.chunks(200) {
            client_failure::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for client_uuid in existing {
            store::trim(&txn, client_uuid).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(client_uuid: Uuid, address: &str) -> Failure {
        Failure {
            client_uuid,
            site_id: Uuid::nil(),
            reason: FailureReason::WrongSecret,
            error_code: "invalid_client",
            detail: "wrong\u{202e} secret".into(),
            address: Some(address.into()),
        }
    }

    #[test]
    fn identical_failures_coalesce_whatever_their_text_and_floods_stay_bounded() {
        let recorder = FailureRecorder::default();
        let client = Uuid::now_v7();
        for (at, text) in [
            (5, "scope \"a\""),
            (3, "scope \"b\""),
            (9, "wrong\u{202e} secret"),
        ] {
            let mut one = failure(client, "192.0.2.1");
            one.detail = text.into();
            recorder.record(one, Timestamp(at));
        }
        {
            let pending = recorder.pending.lock().unwrap();
            assert_eq!(
                pending.failures.len(),
                1,
                "the caller's text is not part of the key"
            );
            let tally = pending.failures.values().next().unwrap();
            assert_eq!((tally.count, tally.first_at, tally.last_at), (3, 3, 9));
            assert_eq!(
                tally.detail, "wrong secret",
                "the latest, bidi controls cleaned"
            );
        }
        // One client from a thousand addresses: its share of rows, the rest counted together.
        for n in 0..1_000 {
            recorder.record(failure(client, &format!("198.51.100.{n}")), Timestamp(1));
        }
        {
            let pending = recorder.pending.lock().unwrap();
            assert_eq!(pending.failures.len(), PER_CLIENT_ADDRESSES + 1);
            let several = Some(SEVERAL_ADDRESSES.to_owned());
            let together = &pending.failures[&(client, FailureReason::WrongSecret, several)];
            assert_eq!(together.count, 1_000 - (PER_CLIENT_ADDRESSES as i64 - 1));
        }
        // Many clients: the global bound, the rest dropped and counted.
        for _ in 0..PENDING_CAPACITY + 10 {
            recorder.record(failure(Uuid::now_v7(), "192.0.2.9"), Timestamp(1));
        }
        let pending = recorder.pending.lock().unwrap();
        assert_eq!(pending.failures.len(), PENDING_CAPACITY);
        assert_eq!(pending.dropped, 10 + PER_CLIENT_ADDRESSES as u64 + 1);
    }
}
