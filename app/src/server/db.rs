//! Connecting to the database, and starting write transactions the same way on both backends.

use crate::server::{cache, entities::credential_epoch};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, QueryFilter, QueryResult,
    Statement, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait},
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// A write transaction (from [`begin_write`]). On SQLite it also holds this process's write
/// turn for the database file until it commits, rolls back or is dropped.
///
/// SQLite has one writer at a time. Without the turn, concurrent writers find the lock taken
/// and sleep in SQLite's busy handler (1, 2, 5, … up to 100 ms per retry), which wastes the
/// lock's idle time and gives second-long tail latencies under load. Queued on a fair
/// semaphore instead, each writer starts the moment the previous one finishes.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    credentials: &'static cache::Generation,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTxn {
    /// Commits the transaction (and gives up the write turn), then drops every cached
    /// credential: the change may have revoked a token, disabled a client or user, or rotated
    /// a secret. The `credential_epochs` counter moves in the same transaction, so other
    /// processes drop theirs too (see `server::cache`).
    pub async fn commit(self) -> Result<(), DbErr> {
        credential_epoch::Entity::update_many()
            .col_expr(
                credential_epoch::Column::Epoch,
                Expr::col(credential_epoch::Column::Epoch).add(1),
            )
            .filter(credential_epoch::Column::Id.eq(1))
            .exec(&self.txn)
            .await?;
        self.txn.commit().await?;
        self.credentials.bump();
        Ok(())
    }

    /// Commits a transaction that only *added* credentials or bookkeeping (tokens issued, a
    /// secret's use counted, an audit event, a sign-in time): nothing that was valid before
    /// became invalid, so cached credentials stay. Anything that revokes, disables, deletes
    /// or rotates must use [`WriteTxn::commit`].
    pub async fn commit_neutral(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls the transaction back (and gives up the write turn).
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// The write turn of each SQLite database file this process has open.
fn sqlite_write_turns(path: &Path) -> Arc<Semaphore> {
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<Semaphore>>>> = OnceLock::new();
    let mut turns = TURNS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(
        turns
            .entry(path.to_path_buf())
            .or_insert_with(|| Arc::new(Semaphore::new(1))),
    )
}

/// Begins a transaction that will write. On SQLite it first waits for this process's write
/// turn (see [`WriteTxn`]), then takes the write lock up front (`BEGIN IMMEDIATE`): a deferred
/// transaction that reads first and writes later can fail with "database is locked" when
/// another writer got in between, and no busy timeout helps then.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let turn = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let path = db.get_sqlite_connection_pool().connect_options();
            let turns = sqlite_write_turns(path.get_filename());
            let turn = tokio::time::timeout(SQLITE_BUSY_TIMEOUT, turns.acquire_owned())
                .await
                .map_err(|_| DbErr::Custom("timed out waiting for the SQLite write lock".into()))?
                .map_err(|_| DbErr::Custom("the SQLite write queue is closed".into()))?;
            Some(turn)
        }
        _ => None,
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn {
        txn,
        credentials: cache::credentials_generation(db),
        _turn: turn,
    })
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
