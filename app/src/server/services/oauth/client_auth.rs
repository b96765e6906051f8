//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3.1, §3.2.1): Consumer Key and Consumer Secret, checked in constant time through the
//! secrets module. Failures are `invalid_client`, counted, and written to the audit log at most
//! once a minute per client (a burst becomes one event with its count).

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    cache::RegisteredClient,
    db::begin_write,
    entities::client,
    protocol::{ClientCredentials, OAuthError},
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        clients,
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
            let caller = Caller::new(address, user_agent);
            state.usage.secret_used(client.id, slot, caller, now);
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
