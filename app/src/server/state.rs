//! `AppState`: what every request handler, server function and CLI command works with.

use crate::server::{
    Clock,
    cache::Caches,
    crypto::passwords::PasswordHasher,
    keys::Keys,
    services::failure_timeline::FailureRecorder,
    services::oauth::{
        failure_log::FailureLog,
        token::{GrantWriter, WorkerContext},
        usage::UsageRecorder,
    },
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

pub use crate::server::settings::{SecretPolicy, Settings, TermsOfUse};

/// Shared state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database (SQLite file or PostgreSQL pool).
    pub db: DatabaseConnection,
    /// Operator settings.
    pub settings: Arc<Settings>,
    /// Purpose-bound keys derived from the operator's master key.
    pub keys: Arc<Keys>,
    /// Source of "now".
    pub clock: Clock,
    /// argon2id hashing with bounded concurrency.
    pub passwords: PasswordHasher,
    /// The first-run setup token, while no administrator exists.
    pub setup_token: Arc<crate::server::services::setup_token::SetupToken>,
    /// Client and secret usage counted in memory, flushed periodically.
    pub usage: Arc<UsageRecorder>,
    /// Failed client authentications waiting to be logged.
    pub client_failures: Arc<FailureLog>,
    /// Refusals of known clients waiting to be written to their failure timelines.
    pub failure_timeline: Arc<FailureRecorder>,
    /// The cap on audit events caused by people not yet identified.
    pub anonymous_events: Arc<crate::server::services::event_limiter::EventLimiter>,
    /// Validated credentials of the token server's hot paths.
    pub caches: Arc<Caches>,
    /// Settles token requests in batches (group commit).
    pub grants: Arc<GrantWriter>,
}

impl AppState {
    /// Assembles the state from its parts (the master key is turned into purpose keys here).
    pub fn new(
        db: DatabaseConnection,
        settings: Settings,
        master_key: &[u8; 32],
        clock: Clock,
        setup_token: Option<String>,
    ) -> Result<Self, crate::server::ServiceError> {
        // argon2 on half the cores (at least one): a sign-in flood then leaves the other half
        // to the token server, and holds 19 MiB per hashing thread.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let caches = Arc::new(Caches::new(&db));
        let settings = Arc::new(settings);
        let keys = Arc::new(Keys::derive(master_key));
        let usage = Arc::new(UsageRecorder::default());
        let grants = Arc::new(GrantWriter::new(WorkerContext {
            db: db.clone(),
            settings: Arc::clone(&settings),
            keys: Arc::clone(&keys),
            clock: clock.clone(),
            usage: Arc::clone(&usage),
        }));
        Ok(Self {
            db,
            settings,
            keys,
            clock,
            passwords: PasswordHasher::new((cores / 2).max(1))?,
            setup_token: Arc::new(crate::server::services::setup_token::SetupToken::new(
                setup_token,
            )?),
            usage,
            client_failures: Arc::default(),
            failure_timeline: Arc::default(),
            anonymous_events: Arc::default(),
            caches,
            grants,
        })
    }
}
