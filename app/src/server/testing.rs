//! Fresh, migrated databases for tests: a SQLite file and a PostgreSQL database per call, so
//! every test runs on both backends against real engines and never sees another test's rows.
//!
//! PostgreSQL is reached at `LATCHKEY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); it is required, never silently skipped.

#![allow(clippy::expect_used, clippy::panic)]

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::path::PathBuf;

/// The maintenance database URL used to create and drop scratch PostgreSQL databases.
pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One scratch database with the full schema.
pub struct TestDb {
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    /// The URL the server would be started with.
    pub url: String,
    /// An open pool.
    pub conn: DatabaseConnection,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase(String),
}

/// Both backends, each fresh.
pub struct TestDatabases;

impl TestDatabases {
    /// A fresh SQLite file and a fresh PostgreSQL database, migrated.
    pub async fn all() -> Vec<TestDb> {
        vec![TestDb::sqlite().await, TestDb::postgres().await]
    }
}

impl TestDb {
    /// A migrated SQLite database in a new temporary directory.
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("latchkey.db").display());
        let conn = crate::server::db::connect(&url, 4)
            .await
            .expect("open sqlite");
        Migrator::up(&conn, None).await.expect("migrate sqlite");
        Self {
            name: "sqlite",
            url,
            conn,
            cleanup: Cleanup::SqliteDir(dir),
        }
    }

    /// A migrated PostgreSQL database with a unique name.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.unwrap_or_else(|error| {
            panic!("PostgreSQL is required for tests ({admin_url}): {error}")
        });
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        let conn = crate::server::db::connect(&url, 8)
            .await
            .expect("open postgres");
        Migrator::up(&conn, None).await.expect("migrate postgres");
        Self {
            name: "postgres",
            url,
            conn,
            cleanup: Cleanup::PostgresDatabase(name),
        }
    }

    /// Closes the pool and removes the database.
    pub async fn cleanup(self) {
        self.conn.close().await.ok();
        match self.cleanup {
            Cleanup::SqliteDir(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::PostgresDatabase(name) => {
                if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok();
                    admin.close().await.ok();
                }
            }
        }
    }
}
