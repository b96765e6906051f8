//! Connecting to the database, and starting write transactions the same way on both backends.

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, TransactionOptions,
    TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use std::time::Duration;

/// How long a SQLite connection waits for the write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool for `url` (`sqlite://path?mode=rwc` or `postgres://...`). SQLite gets WAL
/// journaling (readers never block the writer), `synchronous=NORMAL` (durable at each WAL
/// checkpoint, the recommended pairing with WAL), a busy timeout and enforced foreign keys.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Database::connect(options).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later can fail with
/// "database is locked" when another writer got in between, and no busy timeout helps then.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// How many database connections are open, idle, and allowed (for the metrics endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUsage {
    /// Connections open (idle or in use).
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The pool's limit.
    pub max: u32,
}

/// The current use of `db`'s connection pool.
pub fn pool_usage(db: &DatabaseConnection) -> PoolUsage {
    fn usage<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolUsage {
        PoolUsage {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => usage(db.get_sqlite_connection_pool()),
        sea_orm::DbBackend::Postgres => usage(db.get_postgres_connection_pool()),
        _ => PoolUsage::default(),
    }
}
