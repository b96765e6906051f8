//! `AppState`: what every request handler, server function and CLI command works with.

use crate::server::{
    Clock,
    cache::{self, GenerationCache},
    crypto::passwords::PasswordHasher,
    keys::Keys,
    services::oauth::{access_tokens::AccessTokenFacts, client_auth::RegisteredClient},
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// How client secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretPolicy {
    /// Encrypted at rest; administrators may reveal them (re-authenticated, audited).
    Reveal,
    /// Only a keyed hash is kept: the secret is shown once, at creation or rotation.
    ShowOnce,
}

/// The Terms of Use every client registration accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsOfUse {
    /// Version label; a change asks administrators to accept again.
    pub version: String,
    /// The text shown on the Terms of Use page (plain text, paragraphs separated by blank
    /// lines).
    pub text: String,
}

impl Default for TermsOfUse {
    fn default() -> Self {
        Self {
            version: "2026-11-01".into(),
            text: include_str!("default_terms.txt").into(),
        }
    }
}

/// Operator settings the domain needs (the CLI/config layer builds this from flags and env).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL, also the OAuth issuer (no trailing slash).
    pub public_url: String,
    /// Mark cookies `Secure` (served over https, directly or behind a trusted proxy).
    pub secure_cookies: bool,
    /// Console sessions end after this much inactivity (seconds).
    pub session_idle_timeout: i64,
    /// Console sessions end this long after sign-in, active or not (seconds).
    pub session_absolute_timeout: i64,
    /// Revealing a secret needs a password entered within this many seconds.
    pub reauth_window: i64,
    /// Accept `http://` redirect URIs to loopback hosts (development, native apps).
    pub allow_loopback_redirects: bool,
    /// Reveal (encrypted) or show-once (hashed only) client secrets.
    pub secret_policy: SecretPolicy,
    /// The current Terms of Use.
    pub terms: TermsOfUse,
    /// Access token lifetime (seconds).
    pub access_token_ttl: i64,
    /// Refresh token lifetime (seconds): each refresh token expires this long after it was
    /// issued, so a grant used at least this often stays alive (the idle limit).
    pub refresh_token_ttl: i64,
    /// The longest a grant lives however often it is refreshed (seconds from the code's
    /// exchange): after it, the user must authorize again.
    pub refresh_token_absolute_ttl: i64,
    /// Authorization code lifetime (seconds, at most 600).
    pub code_ttl: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            secure_cookies: false,
            session_idle_timeout: 30 * 60,
            session_absolute_timeout: 12 * 60 * 60,
            reauth_window: 5 * 60,
            allow_loopback_redirects: false,
            secret_policy: SecretPolicy::Reveal,
            terms: TermsOfUse::default(),
            access_token_ttl: 30 * 60,
            refresh_token_ttl: 30 * 24 * 60 * 60,
            refresh_token_absolute_ttl: 90 * 24 * 60 * 60,
            code_ttl: 5 * 60,
        }
    }
}

/// The credential caches of the token server's hot paths (see `server::cache` for the rules
/// that keep them correct).
#[derive(Debug)]
pub struct Caches {
    /// Consumer Key → the client and its secret slots (client authentication).
    pub clients: GenerationCache<String, RegisteredClient>,
    /// Access-token digest → what the token stands for (`/api/v1/me`, introspection).
    pub access_tokens: GenerationCache<String, AccessTokenFacts>,
}

impl Caches {
    /// Entries kept at most, per cache: a few megabytes at this size.
    const CAPACITY: usize = 20_000;

    /// Empty caches of the credentials kept in `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        let generation = cache::credentials_generation(db);
        Self {
            clients: GenerationCache::new(generation, Self::CAPACITY),
            access_tokens: GenerationCache::new(generation, Self::CAPACITY),
        }
    }
}

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
    pub setup_token: Arc<crate::server::services::setup::SetupToken>,
    /// Client and secret usage counted in memory, flushed periodically.
    pub usage: Arc<crate::server::services::oauth::usage::UsageRecorder>,
    /// Failed client authentications waiting to be logged.
    pub client_failures: Arc<crate::server::services::oauth::client_auth::FailureLog>,
    /// The cap on audit events caused by people not yet identified.
    pub anonymous_events: Arc<crate::server::services::event_limiter::EventLimiter>,
    /// Validated credentials of the token server's hot paths.
    pub caches: Arc<Caches>,
    /// Settles token requests in batches (group commit).
    pub grants: Arc<crate::server::services::oauth::grant_writer::GrantWriter>,
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
        Ok(Self {
            db,
            settings: Arc::new(settings),
            keys: Arc::new(Keys::derive(master_key)),
            clock,
            passwords: PasswordHasher::new((cores / 2).max(1))?,
            setup_token: Arc::new(crate::server::services::setup::SetupToken::new(
                setup_token,
            )?),
            usage: Arc::default(),
            client_failures: Arc::default(),
            anonymous_events: Arc::default(),
            caches,
            grants: Arc::default(),
        })
    }
}
