//! Server functions, one file per feature, and the wasm-safe data they exchange with the
//! browser. Each body: who is asking (session), parse the input into domain types, call a
//! service. No SQL here.

pub mod account;
pub mod admin_tokens;
pub mod audit;
pub mod clients;
pub mod dashboard;
pub mod deleted;
pub mod mail;
#[cfg(all(test, feature = "ssr"))]
mod properties;
pub mod session;
pub mod sites;
pub mod terms;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A site in menus and switchers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteOption {
    /// Site id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
}

/// One bar of a "tokens issued per day" chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyBar {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Tokens issued that day.
    pub count: i64,
}

/// Chart bars from the services' `(day number, count)` pairs.
#[cfg(feature = "ssr")]
pub(crate) fn daily_bars(counts: Vec<(i64, i64)>) -> Vec<DailyBar> {
    counts
        .into_iter()
        .map(|(day, count)| DailyBar {
            day: crate::domain::Timestamp(day * 86_400).format_date(),
            count,
        })
        .collect()
}
