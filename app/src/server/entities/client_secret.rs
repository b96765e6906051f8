//! `client_secrets`: a client's secret slots (one, or two during a rotation grace period).

use sea_orm::entity::prelude::*;

/// A row of `client_secrets`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_uuid: Uuid,
    /// HMAC-SHA-256 of the secret under the verifier key (hex).
    pub verifier: String,
    /// The secret encrypted at rest (None under the show-once policy).
    pub ciphertext: Option<String>,
    /// Last four characters, to tell slots apart.
    pub hint: String,
    pub created_at: i64,
    pub created_by_label: String,
    /// End of the grace period of a replaced secret.
    pub expires_at: Option<i64>,
    /// The secret's own expiry (its site's lifetime, or the one chosen when it was made).
    pub valid_until: Option<i64>,
    /// Retired (no longer accepted) at.
    pub retired_at: Option<i64>,
    /// Reported as leaked and retired at once (`retired_at` is set too).
    pub quarantined_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub use_count: i64,
    /// The client address of the last successful use.
    pub last_used_from: Option<String>,
    /// The `User-Agent` of the last successful use (cleaned for display: at most 200
    /// characters and an ellipsis).
    pub last_user_agent: Option<String>,
    /// The last expiry reminder announced, in days before the expiry (30, 14, 7, 1; 0: the
    /// expiry itself), so each goes out once.
    pub reminded_days: Option<i32>,
}

impl Model {
    /// When this secret stops being accepted, whichever comes first: its own expiry or the end
    /// of its grace period (retirement aside).
    pub fn ends_at(&self) -> Option<i64> {
        match (self.expires_at, self.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When its own lifetime ended, if that is what stopped it (it ran out before any
    /// retirement, quarantine or end of a grace period) by `now`.
    pub fn expired_at(&self, now: i64) -> Option<i64> {
        let end = self.valid_until?;
        let first = end <= now
            && self.quarantined_at.is_none()
            && self.retired_at.is_none_or(|retired| end <= retired)
            && self.expires_at.is_none_or(|grace| end <= grace);
        first.then_some(end)
    }

    /// True if this secret is accepted at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.retired_at.is_none()
            && self.expires_at.is_none_or(|end| now < end)
            && self.valid_until.is_none_or(|end| now < end)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
