//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3.1, §3.2.1): Consumer Key and Consumer Secret, checked in constant time through the
//! secrets module. Failures are `invalid_client`, counted, and written to the audit log at most
//! once a minute per client (a burst becomes one event with its count).

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::{client, client_secret},
    oauth::{ClientCredentials, OAuthError},
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        clients, secrets,
    },
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How often a failing client's attempts are written to the audit log.
const FAILURE_LOG_INTERVAL: i64 = 60;
/// Failures within one interval that raise an alert.
const BURST: u64 = 10;

#[derive(Debug, Clone, Copy)]
struct Tally {
    last_logged: i64,
    unlogged: u64,
    window_start: i64,
    in_window: u64,
}

/// What to do about one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Verdict {
    /// Write an audit event covering this many attempts.
    log: Option<u64>,
    /// This failure completes a burst: raise an alert.
    burst: bool,
}

/// Keys (clients, or addresses naming unknown clients) tracked at most; when full, keys quiet
/// for a whole interval are forgotten first, and failures of new keys past the limit share one.
const FAILURE_LOG_CAPACITY: usize = 10_000;

/// The key shared by failures beyond [`FAILURE_LOG_CAPACITY`].
const FAILURE_LOG_OVERFLOW: &str = "unknown:(many)";

/// Failed client authentications not yet written to the audit log, per client (or per
/// address for unknown clients): bounded, so a flood of made-up Consumer Keys from many
/// addresses cannot grow it without limit.
#[derive(Debug, Default)]
pub struct FailureLog(Mutex<HashMap<String, Tally>>);

impl FailureLog {
    /// Counts a failure of `key`.
    fn count(&self, key: &str, now: Timestamp) -> Verdict {
        let Ok(mut map) = self.0.lock() else {
            return Verdict::default();
        };
        let now = now.unix();
        if !map.contains_key(key) && map.len() >= FAILURE_LOG_CAPACITY {
            map.retain(|_, tally| {
                now - tally.window_start < FAILURE_LOG_INTERVAL || tally.unlogged > 0
            });
        }
        let key = if map.contains_key(key) || map.len() < FAILURE_LOG_CAPACITY {
            key
        } else {
            FAILURE_LOG_OVERFLOW
        };
        let tally = map.entry(key.to_owned()).or_insert(Tally {
            last_logged: now - FAILURE_LOG_INTERVAL,
            unlogged: 0,
            window_start: now,
            in_window: 0,
        });
        if now - tally.window_start >= FAILURE_LOG_INTERVAL {
            tally.window_start = now;
            tally.in_window = 0;
        }
        tally.in_window += 1;
        tally.unlogged += 1;
        let log = (now - tally.last_logged >= FAILURE_LOG_INTERVAL).then(|| {
            tally.last_logged = now;
            std::mem::take(&mut tally.unlogged)
        });
        Verdict {
            log,
            burst: tally.in_window == BURST,
        }
    }
}

/// A registered client with every secret slot it has: what client authentication checks, as
/// kept in the credential cache (which slots are valid is decided at each use, since grace
/// periods end with time).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The client.
    pub client: client::Model,
    /// All of its secret slots.
    pub slots: Vec<client_secret::Model>,
}

/// The client whose Consumer Key is `client_id`, from the credential cache or the database.
async fn registered_client(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Arc<RegisteredClient>>, ServiceError> {
    let cache = &state.caches.clients;
    if let Some(found) = cache.get(&client_id.to_owned()) {
        return Ok(Some(found));
    }
    let generation = cache.generation();
    let Some(client) = clients::find_by_client_id(&state.db, client_id).await? else {
        return Ok(None);
    };
    let slots = secrets::slots(&state.db, client.id).await?;
    let found = Arc::new(RegisteredClient { client, slots });
    cache.insert(client_id.to_owned(), generation, Arc::clone(&found));
    Ok(Some(found))
}

/// Authenticates a confidential client; the client is active and the secret matches one of
/// its valid slots.
pub async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
    address: Option<String>,
) -> Result<client::Model, OAuthError> {
    let now = state.clock.now();
    let registered = registered_client(state, &credentials.client_id).await?;
    let Some(secret) = credentials.client_secret.as_deref() else {
        fail(
            state,
            registered.as_ref().map(|r| &r.client),
            &credentials.client_id,
            "no client_secret",
            address,
            now,
        )
        .await?;
        return Err(OAuthError::invalid_client("client_secret is required"));
    };
    let Some(registered) = registered else {
        // Same work as for a real client, so timing does not tell which Consumer Keys exist.
        let _ = secrets::verify(&state.keys, secret, &[]);
        fail(
            state,
            None,
            &credentials.client_id,
            "unknown client",
            address,
            now,
        )
        .await?;
        return Err(OAuthError::invalid_client("client authentication failed"));
    };
    let client = &registered.client;
    let slots = secrets::accepted_at(&registered.slots, now);
    let matched = secrets::verify(&state.keys, secret, &slots);
    match matched {
        Some(_) if !client.is_active() => {
            fail(
                state,
                Some(client),
                &client.client_id,
                "client disabled",
                address,
                now,
            )
            .await?;
            Err(OAuthError::invalid_client("client is disabled"))
        }
        Some(slot) => {
            state.usage.secret_used(client.id, slot, now);
            Ok(client.clone())
        }
        None => {
            fail(
                state,
                Some(client),
                &client.client_id,
                "wrong client_secret",
                address,
                now,
            )
            .await?;
            Err(OAuthError::invalid_client("client authentication failed"))
        }
    }
}

async fn fail(
    state: &AppState,
    client: Option<&client::Model>,
    claimed_id: &str,
    reason: &str,
    address: Option<String>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let key = match client {
        Some(client) => client.client_id.clone(),
        None => format!("unknown:{}", address.as_deref().unwrap_or("-")),
    };
    let verdict = state.client_failures.count(&key, now);
    if verdict.burst
        && let Some(client) = client
    {
        let txn = begin_write(&state.db).await?;
        alerts::raise(
            &txn,
            client.site_id,
            AlertKind::InvalidClientBurst,
            AlertSubject {
                client_id: Some(client.client_id.clone()),
                client_name: Some(client.name.clone()),
                username: None,
                address: address.clone(),
            },
            format!(
                "{BURST} failed authentications of \"{}\" within a minute (last from {}): a leaked Consumer Key, or a misconfigured deployment.",
                client.name,
                address.as_deref().unwrap_or("unknown address")
            ),
            now,
        )
        .await?;
        txn.commit_neutral().await?;
    }
    let Some(count) = verdict.log else {
        return Ok(());
    };
    let claimed: String = claimed_id
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let (site_id, actor, target, summary) = match client {
        Some(client) => (
            Some(client.site_id),
            Actor::client(&client.client_id, &client.name, address),
            Some(Target::client(client)),
            format!(
                "Client authentication failed for \"{}\" ({reason}; {count} attempt(s))",
                client.name
            ),
        ),
        None => (
            None,
            Actor::anonymous(&claimed, address),
            None,
            format!("Client authentication failed for unknown client ({count} attempt(s))"),
        ),
    };
    let mut event = NewEvent::new(site_id, Action::ClientAuthFailed, actor, summary)
        .details(json!({"reason": reason, "attempts": count}));
    event.target = target;
    let txn = begin_write(&state.db).await?;
    audit::record(&txn, &state.keys, event, now).await?;
    txn.commit_neutral().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_logged_once_a_minute_with_their_count_and_raise_one_alert() {
        let log = FailureLog::default();
        assert_eq!(
            log.count("c", Timestamp(1_000)).log,
            Some(1),
            "first failure logged"
        );
        let mut bursts = 0;
        for t in 1_001..1_030 {
            let verdict = log.count("c", Timestamp(t));
            assert_eq!(verdict.log, None);
            bursts += u32::from(verdict.burst);
        }
        assert_eq!(bursts, 1, "the tenth failure in a minute is a burst, once");
        assert_eq!(log.count("c", Timestamp(1_060)).log, Some(30));
        assert_eq!(
            log.count("other", Timestamp(1_060)).log,
            Some(1),
            "per client"
        );
    }

    #[test]
    fn made_up_clients_from_many_addresses_never_grow_the_log_past_its_capacity() {
        let log = FailureLog::default();
        for n in 0..(FAILURE_LOG_CAPACITY * 2) {
            log.count(
                &format!("unknown:10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                Timestamp(5_000),
            );
        }
        let len = log.0.lock().unwrap().len();
        assert!(len <= FAILURE_LOG_CAPACITY + 1, "{len}");
    }
}
