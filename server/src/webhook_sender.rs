//! Sends the webhook outbox over HTTP: claims due deliveries (`app`'s `dispatch` decides what
//! is due, signs and settles), POSTs each with a timeout and without following redirects, and
//! records the answer. Runs in every replica; claims keep them from sending one attempt twice.

use app::domain::is_public;
use app::server::{
    AppState,
    services::notifications::dispatch::{self, Outcome},
};
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

/// How often the outbox is looked at.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// The longest one attempt may take, connecting included (well under
/// `dispatch::CLAIM_SECONDS`).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The client deliveries go out with: HTTPS with the usual roots, no redirects (a redirect is
/// an answer, not a delivery), no cookies, no proxy from the environment; and, unless
/// `allow_private`, a resolver that refuses names resolving to non-public addresses (checked
/// at each connection, so a name cannot be re-pointed between the check and the request).
pub fn http_client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// Resolves names to their public addresses only (see `app::domain::is_public`).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A webhook's host has no public address.
#[derive(Debug)]
struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host has no public address")
    }
}

impl std::error::Error for NotPublic {}

/// A URL whose host is an IP address outside the public internet (the resolver never sees
/// those).
fn literal_not_public(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|url| url.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}

/// Most attempts one pass makes (the next pass, [`INTERVAL`] later, goes on).
const PER_PASS: usize = 50;

/// Sends the deliveries due now, each claimed right before its attempt; returns how many
/// attempts were made.
pub async fn send_due(
    state: &AppState,
    http: &reqwest::Client,
) -> Result<usize, app::server::ServiceError> {
    let mut attempts = 0;
    while attempts < PER_PASS {
        let Some(delivery) =
            dispatch::claim_next(&state.db, &state.keys, state.clock.now()).await?
        else {
            break;
        };
        attempts += 1;
        let sent_at = state.clock.now();
        if !state.settings.webhooks_allow_private && literal_not_public(&delivery.url) {
            let refused = Outcome::Failed("refused: not a public address".into());
            dispatch::settle(&state.db, &delivery, refused, state.clock.now()).await?;
            continue;
        }
        let outcome = match http
            .post(&delivery.url)
            .header("Content-Type", "application/json")
            .header("Latchkey-Event", &delivery.event)
            .header("Latchkey-Delivery", delivery.delivery_id.to_string())
            .header("Latchkey-Signature", delivery.signature(sent_at))
            .body(delivery.body.clone())
            .send()
            .await
        {
            Ok(response) => Outcome::Answered(response.status().as_u16()),
            Err(error) => Outcome::Failed(failure_words(&error)),
        };
        if let Outcome::Failed(why) = &outcome {
            tracing::info!(delivery = %delivery.delivery_id, why, "webhook attempt failed");
        }
        dispatch::settle(&state.db, &delivery, outcome, state.clock.now()).await?;
    }
    Ok(attempts)
}

/// A failed attempt in a few words (no URL: it is shown next to the endpoint already).
fn failure_words(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if cause.is::<NotPublic>() {
            return "refused: not a public address".into();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

/// Sends the outbox every [`INTERVAL`] for the life of the process.
pub async fn run(state: AppState) {
    let http = match http_client(state.settings.webhooks_allow_private) {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "webhooks are off: no HTTP client");
            return;
        }
    };
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = send_due(&state, &http).await {
            tracing::warn!(%error, "sending webhooks failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::{Name, Resolve};
    use std::str::FromStr;

    #[tokio::test]
    async fn names_of_private_addresses_do_not_resolve() {
        let refused = PublicOnly
            .resolve(Name::from_str("localhost").unwrap())
            .await;
        let error = refused.err().expect("localhost is refused");
        assert!(error.is::<NotPublic>(), "{error}");
    }

    #[test]
    fn ip_literals_outside_the_public_internet_are_caught() {
        assert!(literal_not_public("https://127.0.0.1:8443/hook"));
        assert!(literal_not_public("https://[fd00::1]/hook"));
        assert!(literal_not_public("https://169.254.169.254/latest"));
        assert!(!literal_not_public("https://93.184.216.34/hook"));
        assert!(!literal_not_public("https://hooks.example.com/hook"));
    }
}
