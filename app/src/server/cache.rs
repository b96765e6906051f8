//! In-process caches of validated credentials, and the rules that keep them correct.
//!
//! The token server's hot paths (client authentication, `/api/v1/me`, introspection) would
//! otherwise pay several database round trips per request, and on SQLite each round trip is
//! two thread hand-offs: the bound on throughput in profiles. What may be cached, and when it
//! stops counting:
//!
//! - Only positive answers are cached ("this client exists with these secret slots", "this
//!   access token was live"). Checks that depend on time (token expiry, a secret's grace
//!   period) are made again on every use.
//! - Every write transaction drops the cached entries of its database when it commits
//!   (`db::WriteTxn::commit`),
//!   unless it declares that it only added credentials or bookkeeping
//!   (`WriteTxn::commit_neutral`). Forgetting the declaration costs cache hits, never
//!   correctness.
//! - An entry is stamped with the generation read *before* its database read: a write that
//!   commits meanwhile leaves the entry stale instead of letting pre-commit data survive.
//! - Other processes (replicas, the CLI) increment the `credential_epochs` counter in the same
//!   transaction as their change; [`watch_epoch`] polls it and drops the caches within
//!   [`EPOCH_POLL`].
//! - Entries also age out after [`MAX_AGE`], and each cache holds a bounded number of them.

use crate::server::{
    crypto::key_ring::KeyRing,
    entities::{client, client_secret, credential_epoch},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How often [`watch_epoch`] looks for changes made by other processes: the longest a
/// revocation made elsewhere can go unnoticed here.
pub const EPOCH_POLL: Duration = Duration::from_millis(250);

/// The longest an entry is trusted, whatever happens.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// A counter that moves whenever what a cache holds may have become invalid.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    /// The current value; read it *before* loading what you are about to cache.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Makes every entry loaded so far stale.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The generation of the credentials cached from `db`: one counter per database this process
/// talks to (servers in tests share a process, each with its own database). Found by the
/// database's identity (SQLite file, PostgreSQL host/port/database), so the write path can
/// signal it without knowing which caches exist; an extra bump only costs cache misses.
pub fn credentials_generation(db: &DatabaseConnection) -> &'static Generation {
    static GENERATIONS: OnceLock<Mutex<HashMap<String, &'static Generation>>> = OnceLock::new();
    let identity = database_identity(db);
    let mut generations = GENERATIONS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    generations
        .entry(identity)
        .or_insert_with(|| Box::leak(Box::default()))
}

/// Which database `db` is, whichever pool reaches it.
fn database_identity(db: &DatabaseConnection) -> String {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let options = db.get_sqlite_connection_pool().connect_options();
            format!("sqlite:{}", options.get_filename().display())
        }
        DbBackend::Postgres => {
            let options = db.get_postgres_connection_pool().connect_options();
            format!(
                "postgres://{}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or_default()
            )
        }
        other => format!("{other:?}"),
    }
}

struct Entry<V> {
    generation: u64,
    stored: Instant,
    value: Arc<V>,
}

/// A bounded map whose entries count only while the generation they were loaded in is current.
pub struct GenerationCache<K, V> {
    generation: &'static Generation,
    entries: Mutex<HashMap<K, Entry<V>>>,
    capacity: usize,
}

impl<K: Eq + Hash, V> GenerationCache<K, V> {
    /// A cache of at most `capacity` entries (when full, it starts over empty), invalidated by
    /// `generation`.
    pub fn new(generation: &'static Generation, capacity: usize) -> Self {
        Self {
            generation,
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The generation to stamp on what is loaded from now on: read it before the load.
    pub fn generation(&self) -> u64 {
        self.generation.current()
    }

    /// The value for `key`, if it was loaded in the current generation and is young enough.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let current = self.generation.current();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| e.generation == current && e.stored.elapsed() < MAX_AGE)
            .map(|e| Arc::clone(&e.value))
    }

    /// Keeps `value` for `key`; `loaded_in` is [`Self::generation`] read before loading it.
    pub fn insert(&self, key: K, loaded_in: u64, value: Arc<V>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation: loaded_in,
                stored: Instant::now(),
                value,
            },
        );
    }

    /// Forgets `key` (e.g. a token this process just saw change).
    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

impl<K, V> std::fmt::Debug for GenerationCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("GenerationCache")
            .field("entries", &len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Reads the cross-process invalidation counter.
pub async fn read_epoch(conn: &impl ConnectionTrait) -> Result<i64, sea_orm::DbErr> {
    Ok(credential_epoch::Entity::find_by_id(1)
        .one(conn)
        .await?
        .map_or(0, |row| row.epoch))
}

/// Polls the invalidation counter for the life of the process and drops the caches of `db`
/// when another process changed it (or when it cannot be read).
pub async fn watch_epoch(db: DatabaseConnection) {
    let generation = credentials_generation(&db);
    let mut seen = None;
    loop {
        match read_epoch(&db).await {
            Ok(epoch) if seen == Some(epoch) => {}
            Ok(epoch) => {
                generation.bump();
                seen = Some(epoch);
            }
            Err(error) => {
                generation.bump();
                seen = None;
                tracing::warn!(%error, "reading the credential epoch failed");
            }
        }
        tokio::time::sleep(EPOCH_POLL).await;
    }
}

/// A registered client with every secret slot it has: what client authentication checks, as
/// kept in the credential cache (which slots are valid is decided at each use, since grace
/// periods end with time).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The client.
    pub client: client::Model,
    /// All of its secret slots.
    pub slots: Vec<client_secret::Model>,
}

/// An access token that was live when it was read: not revoked, its grant not revoked, its
/// client active and registered for the grant that issued it, its user (if it acts for one)
/// active and still an API user of the site.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct AccessTokenFacts {
    /// The client the token was issued to (row id).
    pub client_uuid: Uuid,
    /// That client's Consumer Key.
    pub client_id: String,
    /// The API user the token speaks for; `None` for a client credentials token, which acts
    /// as the client itself.
    pub user_id: Option<Uuid>,
    /// Their username.
    pub username: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// The name of the client's site.
    pub site_name: String,
    /// Space-delimited scope: what the token was issued with, narrowed to the scopes its client
    /// is registered for now.
    pub scope: String,
    /// Issued at (seconds since the epoch).
    pub created_at: i64,
    /// Expires at (seconds since the epoch).
    pub expires_at: i64,
    /// The resource server it is for (RFC 8707), if narrowed to one.
    pub audience: Option<String>,
    /// The thumbprint of the DPoP key it is bound to (RFC 9449), if any.
    pub dpop_jkt: Option<String>,
}

/// The credential caches of the token server's hot paths (see `server::cache` for the rules
/// that keep them correct).
#[derive(Debug)]
pub struct Caches {
    /// Consumer Key → the client and its secret slots (client authentication).
    pub clients: GenerationCache<String, RegisteredClient>,
    /// Access-token digest → what the token stands for (`/api/v1/me`, introspection).
    pub access_tokens: GenerationCache<String, AccessTokenFacts>,
    /// The keys that sign and verify JWT access tokens (one entry; a rotation elsewhere
    /// commits a credential change, so this process reloads within [`EPOCH_POLL`]).
    pub key_ring: GenerationCache<(), KeyRing>,
    /// Site id → how its access tokens are issued.
    pub token_profiles: GenerationCache<Uuid, SiteTokenProfile>,
}

/// What the token endpoint needs of a client's site to issue its access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTokenProfile {
    /// The site's name (the JWT's `site` claim).
    pub name: String,
    /// Opaque or JWT.
    pub format: crate::domain::AccessTokenFormat,
}

impl Caches {
    /// Entries kept at most, per cache: a few megabytes at this size.
    const CAPACITY: usize = 20_000;

    /// Empty caches of the credentials kept in `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        let generation = credentials_generation(db);
        Self {
            clients: GenerationCache::new(generation, Self::CAPACITY),
            access_tokens: GenerationCache::new(generation, Self::CAPACITY),
            key_ring: GenerationCache::new(generation, 1),
            token_profiles: GenerationCache::new(generation, Self::CAPACITY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_generation() -> &'static Generation {
        Box::leak(Box::default())
    }

    #[test]
    fn entries_loaded_before_an_invalidation_no_longer_count() {
        let generation = own_generation();
        let cache = GenerationCache::new(generation, 10);
        let before = cache.generation();
        cache.insert("a", before, Arc::new(1));
        assert_eq!(cache.get(&"a").as_deref(), Some(&1));
        generation.bump();
        assert_eq!(cache.get(&"a"), None);
        // Loaded under the old generation but stored after the change: still stale.
        cache.insert("b", before, Arc::new(2));
        assert_eq!(cache.get(&"b"), None);
        cache.insert("c", cache.generation(), Arc::new(3));
        assert_eq!(cache.get(&"c").as_deref(), Some(&3));
        cache.remove(&"c");
        assert_eq!(cache.get(&"c"), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = GenerationCache::new(own_generation(), 2);
        let now = cache.generation();
        for key in 0..5 {
            cache.insert(key, now, Arc::new(key));
        }
        let kept = (0..5).filter(|k| cache.get(k).is_some()).count();
        assert!(kept <= 2, "{kept} entries kept");
        assert_eq!(cache.get(&4).as_deref(), Some(&4));
    }
}
