//! Machine clients (issue 19 item 1): a client is registered for the authorization code grant,
//! the client credentials grant (RFC 6749 §4.4), or both (`clients.grant_types`, the grant
//! names space-separated, in a fixed order). A client-credentials-only client may belong to its
//! site rather than to an API user (`clients.owner_user_id` becomes nullable), and its tokens act
//! for the client itself: `token_families.user_id` and `access_tokens.user_id` become nullable
//! (refresh tokens, which only the authorization code grant issues, keep theirs).
//!
//! PostgreSQL drops the `NOT NULL` in place. SQLite cannot, so the table is rebuilt the way
//! SQLite's manual prescribes ("Making Other Kinds Of Table Schema Changes"): on one connection
//! with foreign keys off (a `DROP TABLE` with them on would cascade into every child table),
//! in one transaction, checked with `PRAGMA foreign_key_check` before it commits.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, sqlx},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns that lose their `NOT NULL`.
const NULLABLE: [(&str, &str); 3] = [
    ("clients", "owner_user_id"),
    ("token_families", "user_id"),
    ("access_tokens", "user_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Each step is skipped when already done: on SQLite the steps commit one by one (a
    /// migration there runs outside a transaction), so one that failed half-way runs again.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("clients", "grant_types").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .add_column(text("grant_types").default("authorization_code"))
                        .to_owned(),
                )
                .await?;
        }
        set_not_null(manager, false).await?;
        Ok(())
    }

    /// Drops `grant_types` and restores the `NOT NULL`s, refusing while a machine client or
    /// one of its tokens is left (the older code could not read them).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for (table, column) in NULLABLE {
            let found = conn
                .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                    manager.get_database_backend(),
                    format!(
                        "SELECT 1 AS found FROM \"{table}\" WHERE \"{column}\" IS NULL LIMIT 1"
                    ),
                ))
                .await?;
            if found.is_some() {
                return Err(DbErr::Migration(format!(
                    "{table} has rows without {column} (machine clients or their tokens): \
                     delete them before migrating down"
                )));
            }
        }
        if manager.has_column("clients", "grant_types").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .drop_column("grant_types")
                        .to_owned(),
                )
                .await?;
        }
        set_not_null(manager, true).await?;
        Ok(())
    }
}

/// Gives the [`NULLABLE`] columns (`not_null`) or takes away their `NOT NULL`.
async fn set_not_null(manager: &SchemaManager<'_>, not_null: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Sqlite {
        let pool = sqlite_pool(manager)?;
        for table in ["clients", "token_families", "access_tokens"] {
            let columns: Vec<&str> = NULLABLE
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, column)| *column)
                .collect();
            sqlite_set_not_null(pool, table, &columns, not_null).await?;
        }
        return Ok(());
    }
    let change = if not_null { "SET" } else { "DROP" };
    for (table, column) in NULLABLE {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ALTER COLUMN \"{column}\" {change} NOT NULL"
            ))
            .await?;
    }
    Ok(())
}

/// The SQLite pool behind the migration's connection (SQLite migrations run outside a
/// transaction, so the rebuild can pin one connection of its own).
fn sqlite_pool<'a>(manager: &'a SchemaManager) -> Result<&'a sqlx::SqlitePool, DbErr> {
    match manager.get_connection() {
        sea_orm_migration::sea_orm::DatabaseExecutor::Connection(conn) => {
            Ok(conn.get_sqlite_connection_pool())
        }
        _ => Err(DbErr::Migration(
            "rebuilding a SQLite table needs the pool, not a transaction".into(),
        )),
    }
}

/// Rebuilds SQLite `table` with (`not_null`) or without the `NOT NULL` of `columns`, keeping
/// its rows, indexes and the foreign keys of other tables that point at it.
async fn sqlite_set_not_null(
    pool: &sqlx::SqlitePool,
    table: &str,
    columns: &[&str],
    not_null: bool,
) -> Result<(), DbErr> {
    let mut conn = pool.acquire().await.map_err(sqlx_error)?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await
        .map_err(sqlx_error)?;
    let rebuilt = rebuild(&mut conn, table, columns, not_null).await;
    if rebuilt.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    // Whatever happened, the connection goes back to the pool enforcing foreign keys.
    let restored = sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await
        .map_err(sqlx_error);
    if restored.is_err() {
        // Never hand the pool a connection that ignores foreign keys.
        conn.detach();
    }
    rebuilt.and(restored.map(|_| ()))
}

async fn rebuild(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    columns: &[&str],
    not_null: bool,
) -> Result<(), DbErr> {
    use sqlx::Row;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(sqlx_error)?;
    let create: String =
        sqlx::query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_one(&mut *conn)
            .await
            .map_err(sqlx_error)?
            .get(0);
    let indexes: Vec<String> = sqlx::query(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlx_error)?
    .into_iter()
    .map(|row| row.get(0))
    .collect();
    let scratch = format!("{table}_rebuilt");
    let (mut create_new, changed) = with_not_null(&create, columns, not_null)?;
    if !changed {
        // Done by an earlier run.
        sqlx::query("COMMIT")
            .execute(&mut *conn)
            .await
            .map_err(sqlx_error)?;
        return Ok(());
    }
    // Rows elsewhere may break foreign keys already (SQLite lets them in while foreign keys
    // are off): the rebuild must only add none.
    let broken_before = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_error)?
        .len();
    let head = format!("CREATE TABLE \"{table}\"");
    if !create_new.starts_with(&head) {
        return Err(DbErr::Migration(format!(
            "unexpected definition of {table}: {create}"
        )));
    }
    create_new.replace_range(..head.len(), &format!("CREATE TABLE \"{scratch}\""));
    for statement in [
        create_new,
        format!("INSERT INTO \"{scratch}\" SELECT * FROM \"{table}\""),
        format!("DROP TABLE \"{table}\""),
        format!("ALTER TABLE \"{scratch}\" RENAME TO \"{table}\""),
    ]
    .into_iter()
    .chain(indexes)
    {
        // Audited: table names are this migration's constants, the rest is SQLite's own
        // definition of the table and its indexes.
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await
            .map_err(sqlx_error)?;
    }
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_error)?
        .len();
    if broken > broken_before {
        return Err(DbErr::Migration(format!(
            "rebuilding {table} would leave {} more row(s) with a broken foreign key",
            broken - broken_before
        )));
    }
    sqlx::query("COMMIT")
        .execute(&mut *conn)
        .await
        .map_err(sqlx_error)?;
    Ok(())
}

/// `create` with `"column" <type> NOT NULL` turned into `"column" <type>` (or back, with
/// `not_null`) for each of `columns` not already so, and whether anything changed; an error if
/// a column is not there.
fn with_not_null(create: &str, columns: &[&str], not_null: bool) -> Result<(String, bool), DbErr> {
    let mut sql = create.to_owned();
    let mut changed = false;
    for column in columns {
        let name = format!("\"{column}\" ");
        let start = sql
            .find(&name)
            .ok_or_else(|| DbErr::Migration(format!("no column {column} in {create}")))?;
        let end = sql[start..]
            .find([',', ')'])
            .map_or(sql.len(), |offset| start + offset);
        let definition = &sql[start..end];
        match (definition.find(" NOT NULL"), not_null) {
            (Some(at), false) => {
                sql.replace_range(start + at..start + at + " NOT NULL".len(), "");
                changed = true;
            }
            (None, true) => {
                // Right after the type, the word that follows the name.
                let type_end = definition[name.len()..]
                    .find(' ')
                    .map_or(end, |offset| start + name.len() + offset);
                sql.insert_str(type_end, " NOT NULL");
                changed = true;
            }
            // Already as wanted.
            (Some(_), true) | (None, false) => {}
        }
    }
    Ok((sql, changed))
}

fn sqlx_error(error: sqlx::Error) -> DbErr {
    DbErr::Migration(format!("rebuilding a SQLite table: {error}"))
}

#[cfg(test)]
mod tests {
    use super::with_not_null;

    #[test]
    fn only_the_named_columns_change() {
        let create = r#"CREATE TABLE "t" ( "id" uuid_text NOT NULL PRIMARY KEY, "user_id" uuid_text NOT NULL, "site_id" uuid_text NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE )"#;
        let (changed, yes) = with_not_null(create, &["user_id"], false).unwrap();
        assert!(yes);
        assert_eq!(
            changed,
            r#"CREATE TABLE "t" ( "id" uuid_text NOT NULL PRIMARY KEY, "user_id" uuid_text, "site_id" uuid_text NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE )"#
        );
        // Already so: nothing to do (a run that stopped half-way goes on).
        assert_eq!(
            with_not_null(&changed, &["user_id"], false).unwrap(),
            (changed.clone(), false)
        );
        assert_eq!(
            with_not_null(&changed, &["user_id"], true).unwrap(),
            (create.to_owned(), true)
        );
        assert!(with_not_null(create, &["nope"], false).is_err());
    }
}
