//! Statements over a batch of rows that PostgreSQL can prepare and plan once.
//!
//! The token endpoint's group commit (`services::oauth::token::worker`) settles however many requests are
//! waiting in one transaction. Written as `IN ($1, …, $n)` and one multi-row `VALUES`, every
//! batch size is a different statement: PostgreSQL parses and plans it afresh, and sqlx
//! prepares it with an extra round trip and evicts other statements from its per-connection
//! cache. Profiled under W1 (BENCH.md), parsing and planning took 5–7% of the machine's CPU.
//! Here, on PostgreSQL, a list is one array parameter (`= ANY($1)`), and rows go in at most one
//! insert per power of two (17 rows: 16, then 1), so a table's inserts use nine statement texts
//! at most (for batches under 512 rows). That left planning at 1%. (Rows as one JSON parameter,
//! one statement whatever the size, were measured too: PostgreSQL's JSON parser then took 3%.)
//! SQLite keeps the plain forms: it prepares in-process, has no array parameters, and
//! `db::execute_all` sends its inserts together in one round trip anyway.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryTrait, Statement, Value,
    sea_query::{Expr, ExprTrait, ValueType, extension::postgres::PgFunc},
};

/// `column IN (values…)`; on PostgreSQL `column = ANY($1)` with the values as one array.
pub fn is_in<C, V>(backend: DbBackend, column: C, values: impl IntoIterator<Item = V>) -> Expr
where
    C: ColumnTrait,
    V: Into<Value> + ValueType,
{
    if backend != DbBackend::Postgres {
        return column.is_in(values);
    }
    let values: Vec<Value> = values.into_iter().map(Into::into).collect();
    let array = Value::Array(V::array_type(), Some(Box::new(values)));
    column.into_expr().eq(PgFunc::any(Expr::val(array)))
}

/// `INSERT`s of every row in `rows`, in order (none for no rows). SQLite: one multi-row
/// statement. PostgreSQL: one per power of two in the number of rows, largest first (17 rows:
/// 16, then 1), so a table's inserts share a few statement texts whatever the batch sizes.
pub fn insert_rows<A>(backend: DbBackend, rows: Vec<A>) -> Vec<Statement>
where
    A: ActiveModelTrait,
{
    let mut statements = Vec::new();
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    while left > 0 {
        let size = match backend {
            DbBackend::Postgres => 1 << left.ilog2(),
            _ => left,
        };
        statements.push(A::Entity::insert_many(rows.by_ref().take(size)).build(backend));
        left -= size;
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{db::execute_all, entities::audit_event as event, testing::TestDatabases};
    use sea_orm::{
        ActiveValue::NotSet, IntoActiveModel, QueryFilter, QueryOrder, Set, TryIntoModel,
    };
    use uuid::Uuid;

    fn event(seq: i64, site_id: Option<Uuid>, target: Option<&str>) -> event::ActiveModel {
        event::ActiveModel {
            id: NotSet,
            chain: Set("batch-test".to_owned()),
            seq: Set(seq),
            site_id: Set(site_id),
            occurred_at: Set(1_900_000_000 + seq),
            action: Set("client.created".to_owned()),
            actor_kind: Set("administrator".to_owned()),
            actor_id: Set(None),
            actor_label: Set("Ada \"the admin\" O'Neil".to_owned()),
            target_kind: Set(target.map(|_| "client".to_owned())),
            target_id: Set(target.map(str::to_owned)),
            target_label: Set(target.map(|t| format!("{t} ✓"))),
            client_address: Set(None),
            summary: Set(format!("event {seq}")),
            details: Set(r#"{"nested":{"quote":"\""}}"#.to_owned()),
            prev_hash: Set("00".to_owned()),
            hash: Set(format!("{seq:02}")),
        }
    }

    fn sql_of(statement: &Statement) -> &str {
        &statement.sql
    }

    #[test]
    fn postgres_statements_take_few_texts_whatever_the_batch_size() {
        let texts = |rows: i64| -> Vec<String> {
            let rows = (1..=rows).map(|seq| event(seq, None, Some("x"))).collect();
            let statements = insert_rows(DbBackend::Postgres, rows);
            statements.iter().map(|s| sql_of(s).to_owned()).collect()
        };
        let (one, two, four) = (texts(1), texts(2), texts(4));
        assert_eq!(texts(7), [&four[..], &two[..], &one[..]].concat());
        assert_eq!(texts(16).len(), 1);
        assert_eq!(texts(17)[1], one[0]);
        assert!(texts(0).is_empty());
        assert!(insert_rows::<event::ActiveModel>(DbBackend::Sqlite, Vec::new()).is_empty());
        assert_eq!(
            insert_rows(DbBackend::Sqlite, vec![event(1, None, None); 7]).len(),
            1
        );
        let select = |hashes: Vec<String>| {
            event::Entity::find()
                .filter(is_in(DbBackend::Postgres, event::Column::Hash, hashes))
                .build(DbBackend::Postgres)
        };
        let (a, b) = (
            select(vec!["a".into()]),
            select(vec!["a".into(), "b".into(), "c".into()]),
        );
        assert_eq!(sql_of(&a), sql_of(&b));
        assert!(sql_of(&a).contains("ANY($1)"), "{}", sql_of(&a));
        // SQLite keeps the plain forms.
        let sqlite = event::Entity::find()
            .filter(is_in(
                DbBackend::Sqlite,
                event::Column::Hash,
                ["a", "b"].map(String::from),
            ))
            .build(DbBackend::Sqlite);
        assert!(sql_of(&sqlite).contains("IN (?, ?)"), "{}", sql_of(&sqlite));
    }

    #[tokio::test]
    async fn rows_inserted_and_found_are_the_same_on_both_backends() {
        for db in TestDatabases::all().await {
            let backend = db.conn.get_database_backend();
            let (site_a, site_b) = (Uuid::now_v7(), Uuid::now_v7());
            let rows = vec![
                event(1, Some(site_a), Some("first")),
                event(2, None, None),
                event(3, Some(site_b), Some("third")),
            ];
            execute_all(&db.conn, insert_rows(backend, rows.clone()))
                .await
                .unwrap();
            let stored = event::Entity::find()
                .filter(is_in(
                    backend,
                    event::Column::Hash,
                    ["01", "02", "03", "none"].map(String::from),
                ))
                .order_by_asc(event::Column::Id)
                .all(&db.conn)
                .await
                .unwrap();
            // Every column as set, NULLs and quotes included, ids given in row order.
            assert_eq!(stored.len(), 3, "{}", db.name);
            for (row, stored) in rows.iter().zip(&stored) {
                let mut expected = row.clone();
                expected.id = Set(stored.id);
                assert_eq!(&expected.try_into_model().unwrap(), stored, "{}", db.name);
            }
            assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
            // Rows made from models (every column `Unchanged`) are inserted whole, id included.
            let mut copy = stored[0].clone();
            (copy.id, copy.seq, copy.hash) = (1_000, 4, "04".to_owned());
            execute_all(
                &db.conn,
                insert_rows(backend, vec![copy.clone().into_active_model()]),
            )
            .await
            .unwrap();
            assert_eq!(
                event::Entity::find_by_id(1_000)
                    .one(&db.conn)
                    .await
                    .unwrap(),
                Some(copy),
                "{}",
                db.name
            );
            let by_site = event::Entity::find()
                .filter(is_in(
                    backend,
                    event::Column::SiteId,
                    [site_b, Uuid::now_v7()],
                ))
                .all(&db.conn)
                .await
                .unwrap();
            assert_eq!(
                by_site.iter().map(|e| e.seq).collect::<Vec<_>>(),
                [3],
                "{}",
                db.name
            );
            db.cleanup().await;
        }
    }
}
