//! Sends the webhook outbox over HTTP: claims due deliveries (`app`'s `dispatch` decides what
//! is due, signs and settles), POSTs each with a timeout and without following redirects, and
//! records the answer. Runs in every replica; claims keep them from sending one attempt twice.

use app::server::{
    AppState,
    services::notifications::dispatch::{self, Outcome},
};
use std::time::Duration;

/// How often the outbox is looked at.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// The longest one attempt may take (well under `dispatch::CLAIM_SECONDS`).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The client deliveries go out with: HTTPS with the usual roots, no redirects (a redirect is
/// an answer, not a delivery), no cookies.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends every delivery due now; returns how many attempts were made.
pub async fn send_due(
    state: &AppState,
    http: &reqwest::Client,
) -> Result<usize, app::server::ServiceError> {
    let now = state.clock.now();
    let claimed = dispatch::claim_due(&state.db, &state.keys, now).await?;
    let attempts = claimed.len();
    for delivery in claimed {
        let sent_at = state.clock.now();
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
        dispatch::settle(&state.db, delivery.delivery_id, outcome, state.clock.now()).await?;
    }
    Ok(attempts)
}

/// A failed attempt in a few words (no URL: it is shown next to the endpoint already).
fn failure_words(error: &reqwest::Error) -> String {
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
    let http = match http_client() {
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
