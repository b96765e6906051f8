//! The machine-clients migration rebuilds three SQLite tables that other tables point at
//! (`clients`, `token_families`, `access_tokens`). A rebuild done carelessly (a `DROP TABLE`
//! with foreign keys on) would cascade into every child table and silently delete secrets,
//! scopes, grants and tokens. Here a database full of them goes down and up again, on both
//! backends, and nothing is lost.

use crate::server::{AppState, services::oauth::token, test_fixtures, testing::TestDatabases};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

const TABLES: [&str; 9] = [
    "clients",
    "client_secrets",
    "client_scopes",
    "terms_acceptances",
    "authorization_codes",
    "token_families",
    "access_tokens",
    "refresh_tokens",
    "audit_events",
];

async fn counts(conn: &DatabaseConnection) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        counts.push(row.try_get::<i64>("", "n").unwrap());
    }
    counts
}

/// A site, an API user, a client with its secret, scopes and terms, and two grants with tokens.
async fn fill(state: &AppState) {
    let (site, user, client) = test_fixtures::site_user_and_client(state, "Rebuilt").await;
    for _ in 0..2 {
        let code = test_fixtures::code_for(state, &site, &user, &client).await;
        token::exchange(
            state,
            &client,
            code.expose(),
            Some(&client.redirect_uri),
            None,
            None,
            Default::default(),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_machine_clients_migration_keeps_every_row_going_down_and_up() {
    for db in TestDatabases::all().await {
        let state = test_fixtures::state(&db.conn);
        fill(&state).await;
        let before = counts(&db.conn).await;
        assert!(before.iter().all(|n| *n > 0), "{before:?} on {}", db.name);
        // Back before the machine clients migration (and the ones after it).
        let after = Migrator::migrations()
            .iter()
            .rev()
            .take_while(|m| m.name() != "m20261204_000022_client_credentials")
            .count();
        let steps = u32::try_from(after + 1).unwrap();
        Migrator::down(&db.conn, Some(steps)).await.unwrap();
        assert_eq!(counts(&db.conn).await, before, "down on {}", db.name);
        // An earlier run that stopped after its first step (SQLite commits step by step):
        // the next run goes on from there.
        db.conn
            .execute_unprepared(
                "ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'authorization_code'",
            )
            .await
            .unwrap();
        Migrator::up(&db.conn, None).await.unwrap();
        assert_eq!(counts(&db.conn).await, before, "up on {}", db.name);
        if db.name == "sqlite" {
            let broken = db
                .conn
                .query_all_raw(Statement::from_string(
                    db.conn.get_database_backend(),
                    "PRAGMA foreign_key_check",
                ))
                .await
                .unwrap();
            assert!(broken.is_empty(), "{} broken foreign keys", broken.len());
            // Every connection of the pool (4 here, all held at once) still enforces foreign
            // keys after the rebuild.
            let mut held = Vec::new();
            for _ in 0..4 {
                let txn = db.conn.begin().await.unwrap();
                let on = txn
                    .query_one_raw(Statement::from_string(
                        db.conn.get_database_backend(),
                        "PRAGMA foreign_keys",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(on.try_get_by_index::<i64>(0).unwrap(), 1);
                held.push(txn);
            }
        }
        db.cleanup().await;
    }
}
