//! Refusals counted in memory until the next flush: identical failures (same client, reason,
//! explanation and address) become one row with a count, so a client retrying in a loop costs
//! one row per flush, not one per request.

use crate::domain::{FailureReason, Timestamp, display_excerpt};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{client, client_failure},
    protocol::OAuthError,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use uuid::Uuid;

use super::store;

/// Distinct failures held between two flushes at most; more are counted as dropped (and
/// logged), so a flood of varied refusals cannot grow memory without bound.
const PENDING_CAPACITY: usize = 2_000;
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

type Key = (Uuid, FailureReason, String, Option<String>);

#[derive(Debug)]
struct Tally {
    site_id: Uuid,
    error_code: &'static str,
    first_at: i64,
    last_at: i64,
    count: i64,
}

#[derive(Debug, Default)]
struct Pending {
    failures: BTreeMap<Key, Tally>,
    dropped: u64,
}

/// Refusals of known clients not yet written (see the module comment).
#[derive(Debug, Default)]
pub struct FailureRecorder(Mutex<Pending>);

impl FailureRecorder {
    /// Counts `failure`, which happened at `now`.
    pub fn record(&self, failure: Failure, now: Timestamp) {
        let Ok(mut pending) = self.0.lock() else {
            return;
        };
        let detail = display_excerpt(&failure.detail, DETAIL_CHARS).unwrap_or_default();
        let key = (failure.client_uuid, failure.reason, detail, failure.address);
        if let Some(tally) = pending.failures.get_mut(&key) {
            tally.count += 1;
            tally.first_at = tally.first_at.min(now.unix());
            tally.last_at = tally.last_at.max(now.unix());
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

    /// Writes and clears what was counted, then trims each client it wrote for to
    /// [`store::KEPT_PER_CLIENT`] rows. Failures of clients deleted meanwhile are dropped.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<(), ServiceError> {
        let pending = match self.0.lock() {
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
        let clients: BTreeSet<Uuid> = pending.failures.keys().map(|key| key.0).collect();
        let existing: BTreeSet<Uuid> = client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .filter(client::Column::Id.is_in(clients))
            .into_tuple::<Uuid>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let rows: Vec<client_failure::ActiveModel> = pending
            .failures
            .into_iter()
            .filter(|((client_uuid, ..), _)| existing.contains(client_uuid))
            .map(
                |((client_uuid, reason, detail, address), tally)| client_failure::ActiveModel {
                    id: sea_orm::ActiveValue::NotSet,
                    client_uuid: Set(client_uuid),
                    site_id: Set(tally.site_id),
                    first_at: Set(tally.first_at),
                    last_at: Set(tally.last_at),
                    count: Set(tally.count),
                    reason: Set(reason.as_str().to_owned()),
                    error_code: Set(tally.error_code.to_owned()),
                    detail: Set(detail),
                    address: Set(address),
                },
            )
            .collect();
        for chunk in rows.chunks(200) {
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
    fn identical_failures_coalesce_and_capacity_holds() {
        let recorder = FailureRecorder::default();
        let client = Uuid::now_v7();
        for at in [5, 3, 9] {
            recorder.record(failure(client, "192.0.2.1"), Timestamp(at));
        }
        {
            let pending = recorder.0.lock().unwrap();
            assert_eq!(pending.failures.len(), 1);
            let ((_, _, detail, _), tally) = pending.failures.iter().next().unwrap();
            assert_eq!((tally.count, tally.first_at, tally.last_at), (3, 3, 9));
            assert!(!detail.contains('\u{202e}'), "bidi controls are cleaned");
        }
        for n in 0..PENDING_CAPACITY + 10 {
            recorder.record(failure(client, &format!("198.51.100.{n}")), Timestamp(1));
        }
        let pending = recorder.0.lock().unwrap();
        assert_eq!(pending.failures.len(), PENDING_CAPACITY);
        assert_eq!(pending.dropped, 11);
    }
}
