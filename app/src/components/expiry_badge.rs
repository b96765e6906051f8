//! Badges: "Expires in N days" for a secret with a lifetime (on the API Clients tab, the
//! client's page and the Dashboard; a warning within the notice period, an alarm once expired),
//! and a client's status.

use crate::domain::{ClientStatus, secret_lifetime::EXPIRY_NOTICE_DAYS};
use leptos::prelude::*;

/// The badge for a secret `days` whole days from its expiry (0: expired); nothing for `None`.
#[component]
pub fn ExpiryBadge(
    /// Days left (rounded up).
    days: Option<i64>,
) -> impl IntoView {
    days.map(|days| {
        let (class, text) = match days {
            0 => ("badge disabled", "Secret expired".to_owned()),
            1 => ("badge soon", "Expires in 1 day".to_owned()),
            d if d <= EXPIRY_NOTICE_DAYS => ("badge soon", format!("Expires in {d} days")),
            d => ("badge", format!("Expires in {d} days")),
        };
        view! { <span class=class data-testid="expiry-badge">{text}</span> }
    })
}

/// The badge of a client's status (`active`, `disabled`, `pending`, `rejected`; see
/// `domain::ClientStatus`).
#[component]
pub fn StatusBadge(
    /// The status word.
    #[prop(into)]
    status: String,
) -> impl IntoView {
    let status = ClientStatus::from_word(&status).unwrap_or(ClientStatus::Disabled);
    let class = match status {
        ClientStatus::Active => "badge active",
        ClientStatus::Pending => "badge soon",
        ClientStatus::Disabled | ClientStatus::Rejected => "badge disabled",
    };
    let text = status.label();
    view! { <span class=class data-testid="client-status">{text}</span> }
}
