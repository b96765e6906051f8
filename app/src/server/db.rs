//! Connecting to the database, and starting write transactions the same way on both backends.

pub mod batch;
#[cfg(test)]
mod migration_tests;

use crate::server::{cache, entities::credential_epoch};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, QueryFilter, QueryResult,
    SqlxSqliteConnector, Statement, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait},
    sqlx::{
        postgres::PgConnectOptions,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    },
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// WAL pages after which the SQLite writer checkpoints in its own commit. Under a steady write
/// load this is what lets the WAL start over from its beginning (only a checkpoint that copies
/// every frame, with no frame added meanwhile, does), so it still runs every few hundred
/// milliseconds at full token load; the background checkpoint (every
/// [`SQLITE_CHECKPOINT_INTERVAL`]) has copied most frames by then, which keeps this one short.
const SQLITE_WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// How often the server copies the SQLite WAL back into the database file (see
/// [`checkpoint`]), beside the writer, so the writer's own checkpoints find little left to copy.
/// Measured on W1 (`make bench`'s code exchange, BENCH.md), against once a second: p99 27–35 ms
/// instead of 53–71, and throughput no lower. An idle server's checkpoint finds nothing to do.
pub const SQLITE_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// The size the WAL file is cut back to after a checkpoint emptied it (bytes).
const SQLITE_JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// How long a SQLite connection waits for the write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL's cost of a random page read relative to a sequential one, for Latchkey's
/// sessions. The default (4) models spinning disks; with it the planner answers a filtered
/// Audit Log page ("newest 50 where action = …") by walking the primary key backwards, because
/// the heap is in id order, instead of the `(site_id, action, id)` index. When the newest
/// events do not match (a burst of token events), that walk reads every one of them: 26,000
/// rows and 16–92 ms, against 0.2 ms through the filter's index. 1.1 is the usual value for
/// SSDs and for data that fits in memory.
const POSTGRES_RANDOM_PAGE_COST: &str = "1.1";

/// Opens a pool for `url` (`sqlite://path?mode=rwc` or `postgres://...`). SQLite gets WAL
/// journaling (readers never block the writer), `synchronous=NORMAL` (durable at each WAL
/// checkpoint, the recommended pairing with WAL), a busy timeout and enforced foreign keys;
/// PostgreSQL sessions get [`POSTGRES_RANDOM_PAGE_COST`].
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
                // Statement journals of multi-row statements stay in memory, not temp files.
                .pragma("temp_store", "memory")
                .pragma("journal_size_limit", SQLITE_JOURNAL_SIZE_LIMIT.to_string())
        })
        .map_sqlx_postgres_opts(|opts: PgConnectOptions| {
            opts.options([("random_page_cost", POSTGRES_RANDOM_PAGE_COST)])
        });
    Database::connect(options).await
}

/// Bind parameters one SQLite query may carry at most (SQLite's own limit is 32,766).
const SQLITE_MAX_PARAMETERS: usize = 30_000;

/// Runs `statements` in order, in the caller's transaction, when nothing reads their results
/// (inserts, updates without `RETURNING`).
///
/// On SQLite each statement is a round trip to the connection's thread, two thread hand-offs
/// that the group-commit worker pays in series; here they travel together as one
/// multi-statement query (as many as fit in [`SQLITE_MAX_PARAMETERS`]), and sqlx binds the
/// parameters of each statement in turn. PostgreSQL's extended protocol takes one statement
/// per message, so there they run one after another.
pub async fn execute_all(
    conn: &impl ConnectionTrait,
    statements: Vec<Statement>,
) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Sqlite {
        for statement in statements {
            conn.execute_raw(statement).await?;
        }
        return Ok(());
    }
    let mut sql = String::new();
    let mut values = Vec::new();
    for statement in statements {
        let parameters = statement.values.map(|v| v.0).unwrap_or_default();
        if !sql.is_empty() && values.len() + parameters.len() > SQLITE_MAX_PARAMETERS {
            let full = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
            conn.execute_raw(full).await?;
            (sql, values) = (String::new(), Vec::new());
        }
        sql.push_str(&statement.sql);
        sql.push_str(";\n");
        values.extend(parameters);
    }
    if !sql.is_empty() {
        let full = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
        conn.execute_raw(full).await?;
    }
    Ok(())
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

/// How this process writes to one SQLite file: a fair turn, and one connection that does all
/// the writing. A pooled connection finds its page cache invalidated by every write another
/// connection made and re-reads each page it touches (the largest cost of the token endpoint in
/// profiles); the one writer connection keeps its cache warm.
struct SqliteWriter {
    turn: Arc<Semaphore>,
    conn: DatabaseConnection,
}

/// The writer of the SQLite file behind `db`, created on first use.
fn sqlite_writer(db: &DatabaseConnection) -> Arc<SqliteWriter> {
    static WRITERS: OnceLock<Mutex<HashMap<PathBuf, Arc<SqliteWriter>>>> = OnceLock::new();
    let options = db.get_sqlite_connection_pool().connect_options();
    let mut writers = WRITERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(
        writers
            .entry(options.get_filename().to_path_buf())
            .or_insert_with(|| {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .acquire_timeout(SQLITE_BUSY_TIMEOUT)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .test_before_acquire(false)
                    .connect_lazy_with((*options).clone().pragma(
                        "wal_autocheckpoint",
                        SQLITE_WRITER_AUTOCHECKPOINT_PAGES.to_string(),
                    ));
                Arc::new(SqliteWriter {
                    turn: Arc::new(Semaphore::new(1)),
                    conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                })
            }),
    )
}

/// Begins a transaction that will write. On SQLite it first waits for this process's write
/// turn (see [`WriteTxn`]), runs on the file's one writer connection, and takes the write lock
/// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later can
/// fail with "database is locked" when another writer got in between, and no busy timeout
/// helps then.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let (turn, conn) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let writer = sqlite_writer(db);
            let turn = tokio::time::timeout(
                SQLITE_BUSY_TIMEOUT,
                Arc::clone(&writer.turn).acquire_owned(),
            )
            .await
            .map_err(|_| DbErr::Custom("timed out waiting for the SQLite write lock".into()))?
            .map_err(|_| DbErr::Custom("the SQLite write queue is closed".into()))?;
            (Some(turn), writer.conn.clone())
        }
        _ => (None, db.clone()),
    };
    let txn = conn
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

/// Copies the SQLite write-ahead log back into the database file without waiting for anyone
/// (`PASSIVE`), so the WAL is reused from its start instead of growing; run periodically by the
/// server. Nothing to do on PostgreSQL.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::testing::TestDatabases;
    use sea_orm::Value;

    /// An insert of `rows` numbered rows starting at `first`, two parameters per row.
    fn insert(backend: DbBackend, first: i64, rows: i64) -> Statement {
        let placeholders = vec!["(?, ?)"; rows as usize].join(", ");
        let placeholders = match backend {
            DbBackend::Postgres => {
                let mut n = 0;
                placeholders
                    .split('?')
                    .enumerate()
                    .map(|(i, part)| {
                        if i == 0 {
                            part.to_owned()
                        } else {
                            n += 1;
                            format!("${n}{part}")
                        }
                    })
                    .collect()
            }
            _ => placeholders,
        };
        let values: Vec<Value> = (first..first + rows)
            .flat_map(|n| [Value::from(n), Value::from(format!("row {n}"))])
            .collect();
        Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO batch_probe (n, label) VALUES {placeholders}"),
            values,
        )
    }

    /// Statements run in order with each one's own parameters, in one query or, past the
    /// parameter limit, in several.
    #[tokio::test]
    async fn execute_all_runs_every_statement_with_its_own_parameters() {
        for db in TestDatabases::all().await {
            let backend = db.conn.get_database_backend();
            db.conn
                .execute_unprepared("CREATE TABLE batch_probe (n BIGINT PRIMARY KEY, label TEXT)")
                .await
                .expect("create table");
            let txn = begin_write(&db.conn).await.expect("begin");
            let label = Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => "UPDATE batch_probe SET label = $1 WHERE n = $2",
                    _ => "UPDATE batch_probe SET label = ? WHERE n = ?",
                },
                [Value::from("updated"), Value::from(2_i64)],
            );
            // 1 + 3 rows, an update of a row inserted in the same call, then 12,000 and 9,000
            // rows: 42,000 parameters in all, more than one SQLite query may carry.
            let statements = vec![
                insert(backend, 1, 1),
                insert(backend, 2, 3),
                label,
                insert(backend, 10, 12_000),
                insert(backend, 20_000, 9_000),
            ];
            execute_all(&txn, statements).await.expect("execute_all");
            txn.commit_neutral().await.expect("commit");

            let count = db
                .conn
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT COUNT(*) AS n FROM batch_probe",
                ))
                .await
                .expect("count")
                .expect("a row")
                .try_get::<i64>("", "n")
                .expect("n");
            assert_eq!(count, 1 + 3 + 12_000 + 9_000, "{}", db.name);
            let labels: Vec<String> = db
                .conn
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT label FROM batch_probe WHERE n IN (1, 2, 4, 12009, 28999) ORDER BY n",
                ))
                .await
                .expect("labels")
                .iter()
                .map(|row| row.try_get::<String>("", "label").expect("label"))
                .collect();
            assert_eq!(
                labels,
                ["row 1", "updated", "row 4", "row 12009", "row 28999"],
                "{}",
                db.name
            );
            db.cleanup().await;
        }
    }
}
