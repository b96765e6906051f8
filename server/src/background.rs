//! Periodic housekeeping: notice credential changes made by other processes, checkpoint the
//! SQLite write-ahead log, write batched usage counts, purge expired sessions, throttle
//! counters, codes and tokens, deleted clients and users past their retention period, and
//! (when the operator sets a retention) old audit events.

use app::server::{
    AppState, cache, db,
    services::{self, audit, event_limiter, failure_timeline, oauth::purge, throttle},
    session_store::DbSessionStore,
};
use std::time::Duration;

/// How often batched usage counts ("last used", secret use counts, tokens per day) are written.
const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// How often counts of anonymous events left out of the audit log are recorded.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);
/// How often expired data is purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(300);

/// How often audit retention runs.
const AUDIT_RETENTION_INTERVAL: Duration = Duration::from_secs(86_400);

/// Starts the housekeeping loops for the life of the process. `audit_retention_days`: prune
/// audit events older than that many days (daily, starting now). `mailer`: the operator's SMTP
/// server, when e-mail is configured. `audit_stream`: where to write the audit stream (and a
/// stream file's size limit), when configured.
pub fn spawn(
    state: AppState,
    audit_retention_days: Option<i64>,
    mailer: Option<crate::mail_sender::Mailer>,
    audit_stream: Option<(crate::audit_stream::AuditStreamTarget, u64)>,
) {
    if let Some((target, max_file_bytes)) = audit_stream {
        tokio::spawn(crate::audit_stream::run(
            state.clone(),
            target,
            max_file_bytes,
        ));
    }
    // Drops cached credentials when another process (a replica, the CLI) changed any.
    tokio::spawn(cache::watch_epoch(state.db.clone()));
    tokio::spawn(crate::webhook_sender::run(state.clone()));
    if let Some(mailer) = mailer {
        tokio::spawn(crate::mail_sender::run(state.clone(), mailer));
    }
    let checkpoint_db = state.db.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(db::SQLITE_CHECKPOINT_INTERVAL);
        // After a slow checkpoint (an fsync under load), wait a full interval, not catch up.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = db::checkpoint(&checkpoint_db).await {
                tracing::warn!(%error, "SQLite checkpoint failed");
            }
        }
    });
    if let Some(days) = audit_retention_days {
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(AUDIT_RETENTION_INTERVAL);
            loop {
                ticker.tick().await;
                let now = state.clock.now();
                let cutoff = now.plus_seconds(-days * 86_400);
                match audit::retention::prune_all(&state.db, &state.keys, cutoff, now).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, days, "audit retention pruned old events"),
                    Err(error) => tracing::warn!(%error, "audit retention failed"),
                }
                // Failure timelines follow the audit log's retention.
                if let Err(error) = failure_timeline::prune(&state.db, cutoff).await {
                    tracing::warn!(%error, "pruning failure timelines failed");
                }
            }
        });
    }
    // Counts of anonymous events left out of the audit log (see `event_limiter`).
    let summaries = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(SUMMARY_INTERVAL);
        loop {
            ticker.tick().await;
            let result = async {
                let txn = db::begin_write(&summaries.db).await?;
                event_limiter::record_summaries(
                    &txn,
                    &summaries.keys,
                    &summaries.anonymous_events,
                    summaries.clock.now(),
                )
                .await?;
                txn.commit_neutral().await?;
                Ok::<_, app::server::ServiceError>(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%error, "recording suppressed event counts failed");
            }
        }
    });
    let usage_state = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(USAGE_FLUSH_INTERVAL);
        loop {
            ticker.tick().await;
            if let Err(error) = usage_state.usage.flush(&usage_state.db).await {
                tracing::warn!(%error, "writing usage counts failed");
            }
            if let Err(error) = usage_state.failure_timeline.flush(&usage_state.db).await {
                tracing::warn!(%error, "writing failure timelines failed");
            }
        }
    });
    tokio::spawn(async move {
        let sessions = DbSessionStore::new(state.db.clone());
        let mut ticker = tokio::time::interval(PURGE_INTERVAL);
        loop {
            ticker.tick().await;
            match sessions.delete_expired().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "purged expired sessions"),
                Err(error) => tracing::warn!(%error, "session purge failed"),
            }
            let now = state.clock.now();
            if let Err(error) = throttle::purge(&state.db, now).await {
                tracing::warn!(%error, "throttle purge failed");
            }
            match purge::purge_expired(&state.db, now, state.settings.refresh_token_ttl).await {
                Ok(purged) if purged != purge::Purged::default() => {
                    tracing::info!(?purged, "purged expired codes and tokens")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "token purge failed"),
            }
            purge_deleted(&state, now).await;
            // Stored admin API answers (they may hold a new secret) end after their day.
            if let Err(error) =
                services::admin_tokens::idempotency::forget_expired(&state.db, now).await
            {
                tracing::warn!(%error, "pruning idempotency answers failed");
            }
            if let Err(error) =
                services::notifications::dispatch::prune_settled(&state.db, now).await
            {
                tracing::warn!(%error, "pruning the webhook delivery log failed");
            }
            if let Err(error) =
                services::notifications::mail_dispatch::prune_settled(&state.db, now).await
            {
                tracing::warn!(%error, "pruning the mail log failed");
            }
            announce_notices(&state, now).await;
        }
    });
}

/// Announces the expiry reminders and stale clients due now (each once, whichever replica
/// gets there first).
async fn announce_notices(state: &AppState, now: app::domain::Timestamp) {
    match services::secrets::reminders::announce_due(&state.db, &state.keys, now).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "announced secret expiry reminders"),
        Err(error) => tracing::warn!(%error, "announcing expiry reminders failed"),
    }
    if let Some(after) = state.settings.stale_client_after {
        match services::clients::announce_stale(&state.db, &state.keys, after, now).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "announced stale API clients"),
            Err(error) => tracing::warn!(%error, "announcing stale clients failed"),
        }
    }
}

/// Removes for good the clients and users deleted longer ago than the retention period
/// (each with its audit event). Every replica runs it; each removal re-reads its row under
/// the lock, so two replicas never purge one row twice.
async fn purge_deleted(state: &AppState, now: app::domain::Timestamp) {
    let cutoff = now.plus_seconds(-state.settings.deleted_retention);
    match services::clients::purge_expired(&state.db, &state.keys, cutoff, now).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "purged deleted API clients"),
        Err(error) => tracing::warn!(%error, "purging deleted API clients failed"),
    }
    match services::users::purge_expired(&state.db, &state.keys, cutoff, now).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "purged deleted users"),
        Err(error) => tracing::warn!(%error, "purging deleted users failed"),
    }
}
