//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3.1, §3.2.1): Consumer Key and Consumer Secret, checked in constant time through the
//! secrets module. Failures are `invalid_client`, counted, and written to the audit log at most
//! once a minute per client (a burst becomes one event with its count).

use crate::domain::{FailureReason, Timestamp, ago_words};
use crate::server::{
    AppState, ServiceError,
    cache::RegisteredClient,
    db::begin_write,
    entities::{client, client_secret},
    protocol::{ClientCredentials, OAuthError},
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        clients,
        failure_timeline::Failure,
        oauth::{failure_log::BURST, usage::Caller},
        secrets,
    },
};
use serde_json::json;
use std::sync::Arc;

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
/// its valid slots. `user_agent` (the raw header) is kept, cleaned, as evidence of the slot's
/// last use.
pub async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
    address: Option<String>,
    user_agent: Option<&str>,
) -> Result<client::Model, OAuthError> {
    let now = state.clock.now();
    let registered = registered_client(state, &credentials.client_id).await?;
    let Some(secret) = credentials.client_secret.as_deref() else {
        let error = OAuthError::invalid_client("client_secret is required")
            .because(FailureReason::MissingSecret);
        on_timeline(
            state,
            registered.as_ref().map(|r| &r.client),
            &error,
            &address,
        );
        fail(
            state,
            registered.as_ref().map(|r| &r.client),
            &credentials.client_id,
            "no client_secret",
            address,
            now,
        )
        .await?;
        return Err(error);
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
    // Compared with every slot, valid or not (one keyed hash, as for an unknown client): a
    // match with a slot no longer accepted says why it failed.
    let matched = secrets::verify(&state.keys, secret, &registered.slots)
        .and_then(|id| registered.slots.iter().find(|slot| slot.id == id));
    match matched {
        Some(slot) if slot.is_valid_at(now.unix()) && !client.is_active() => {
            let error = OAuthError::invalid_client("client is disabled")
                .because(FailureReason::ClientDisabled);
            on_timeline(state, Some(client), &error, &address);
            fail(
                state,
                Some(client),
                &client.client_id,
                "client disabled",
                address,
                now,
            )
            .await?;
            Err(error)
        }
        Some(slot) if slot.is_valid_at(now.unix()) => {
            let caller = Caller::new(address, user_agent);
            state.usage.secret_used(client.id, slot.id, caller, now);
            Ok(client.clone())
        }
        _ => {
            let error = OAuthError::invalid_client("client authentication failed");
            let error = match matched {
                Some(slot) => error.because_of(
                    FailureReason::SecretNoLongerValid,
                    no_longer_valid(slot, now),
                ),
                None => error.because_of(
                    FailureReason::WrongSecret,
                    "the client_secret matches none of the client's secrets",
                ),
            };
            on_timeline(state, Some(client), &error, &address);
            fail(
                state,
                Some(client),
                &client.client_id,
                "wrong client_secret",
                address,
                now,
            )
            .await?;
            Err(error)
        }
    }
}

/// Hands a refusal of a known client to its failure timeline.
fn on_timeline(
    state: &AppState,
    client: Option<&client::Model>,
    error: &OAuthError,
    address: &Option<String>,
) {
    if let Some(client) = client {
        let failure = Failure::of(error, client.id, client.site_id, address.clone());
        state.failure_timeline.record(failure, state.clock.now());
    }
}

/// Why `slot`, a secret the client had, is no longer accepted: quarantined after a leak
/// report, expired, retired, or replaced and its grace period over.
fn no_longer_valid(slot: &client_secret::Model, now: Timestamp) -> String {
    let hint = &slot.hint;
    let ago = |at: i64| ago_words(now.unix() - at);
    if let Some(at) = slot.quarantined_at {
        return format!(
            "the client_secret ({hint}) was quarantined {} after it was reported leaked",
            ago(at)
        );
    }
    if let Some(end) = slot.expired_at(now.unix()) {
        return format!("the client_secret ({hint}) expired {}", ago(end));
    }
    match (slot.retired_at, slot.expires_at) {
        (Some(at), _) => format!(
            "the client_secret is the old one ({hint}), retired {}",
            ago(at)
        ),
        (None, Some(end)) => format!(
            "the client_secret is the old one ({hint}), whose grace period ended {}",
            ago(end)
        ),
        (None, None) => format!("the client_secret ({hint}) is no longer accepted"),
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
