//! What `latchkey seed` is asked to create, and what it reports of each client: a leaf that
//! the seeding and the load-test fixtures share.

use app::domain::{NewPassword, SiteName};
use app::server::crypto::tokens::Secret;
use uuid::Uuid;

/// What to create.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// The site (created if missing).
    pub site: SiteName,
    /// API users `seed-user-0001`...
    pub api_users: usize,
    /// Clients, owned round-robin by the API users.
    pub clients: usize,
    /// Extra audit events, spread over the last 90 days.
    pub audit_events: usize,
    /// The password of every seeded API user.
    pub password: NewPassword,
    /// Unused authorization codes to mint for this run's clients (load tests).
    pub codes: usize,
    /// Token pairs to obtain for this run's clients (load tests).
    pub token_pairs: usize,
}

/// A seeded client and its credentials.
#[derive(Debug, Clone)]
pub struct SeededClient {
    /// Internal id.
    pub id: Uuid,
    /// Consumer Key.
    pub client_id: String,
    /// Consumer Secret.
    pub secret: Secret,
    /// Redirect URI.
    pub redirect_uri: String,
    /// Owner's username.
    pub owner: String,
}
