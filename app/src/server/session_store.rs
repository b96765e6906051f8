//! A tower-sessions `SessionStore` over sea-orm, so console sessions live in the same database
//! as everything else: they survive restarts and every replica sees them.
//!
//! (No published store fits sea-orm 2's sqlx; this one is small and tested on both backends.)
//! Errors never include session data, which holds the anti-forgery token.
//!
//! Record expiry is tower-sessions' own, computed from the wall clock, so this store compares
//! it with the wall clock too. The console's idle and absolute timeouts are separate rules,
//! checked against the domain clock in `ctx`.

use crate::server::entities::session;
use async_trait::async_trait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use time::OffsetDateTime;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

/// Stores session records in the `sessions` table.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

fn wall_clock_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl DbSessionStore {
    /// A store over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Removes expired records; returns how many. Run periodically.
    pub async fn delete_expired(&self) -> Result<u64> {
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(wall_clock_now()))
            .exec(&self.db)
            .await
            .map(|result| result.rows_affected)
            .map_err(backend)
    }

    fn to_row(record: &Record) -> Result<session::ActiveModel> {
        let data = serde_json::to_string(&record.data)
            .map_err(|_| Error::Encode("session data could not be encoded".into()))?;
        Ok(session::ActiveModel {
            id: Set(record.id.to_string()),
            data: Set(data),
            expires_at: Set(record.expiry_date.unix_timestamp()),
        })
    }
}

fn backend(error: sea_orm::DbErr) -> Error {
    Error::Backend(format!("session store: {error}"))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // 128-bit random ids practically never collide, but if one does, draw another rather
        // than overwrite someone else's session.
        loop {
            let row = Self::to_row(record)?;
            match session::Entity::insert(row)
                .exec_without_returning(&self.db)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error)
                    if matches!(
                        error.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
                {
                    record.id = Id::default();
                }
                Err(error) => return Err(backend(error)),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        session::Entity::insert(Self::to_row(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        let row = session::Entity::find_by_id(session_id.to_string())
            .filter(session::Column::ExpiresAt.gt(wall_clock_now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|_| Error::Decode("session data could not be decoded".into()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|_| Error::Decode("session expiry out of range".into()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        session::Entity::delete_by_id(session_id.to_string())
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::testing::TestDatabases;
    use std::collections::HashMap;

    fn record(expires_in: i64) -> Record {
        let expires_at = wall_clock_now() + expires_in;
        let mut data = HashMap::new();
        data.insert(
            "console".to_owned(),
            serde_json::json!({"csrf": "x", "n": 1}),
        );
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).unwrap(),
        }
    }

    #[tokio::test]
    async fn round_trips_updates_expires_and_deletes_on_every_backend() {
        for db in TestDatabases::all().await {
            let store = DbSessionStore::new(db.conn.clone());

            let mut first = record(600);
            store.create(&mut first).await.unwrap();
            let loaded = store.load(&first.id).await.unwrap().expect("stored");
            assert_eq!(loaded.data, first.data, "{}", db.name);
            assert_eq!(loaded.expiry_date, first.expiry_date);

            // save() updates in place.
            let mut changed = first.clone();
            changed.data.insert("more".into(), serde_json::json!(true));
            changed.expiry_date =
                OffsetDateTime::from_unix_timestamp(wall_clock_now() + 900).unwrap();
            store.save(&changed).await.unwrap();
            let loaded = store.load(&first.id).await.unwrap().unwrap();
            assert_eq!(loaded.data.len(), 2);

            // An id that is already taken is never overwritten by create().
            let mut clash = record(600);
            clash.id = first.id;
            store.create(&mut clash).await.unwrap();
            assert_ne!(clash.id, first.id);
            assert_eq!(store.load(&first.id).await.unwrap().unwrap().data.len(), 2);

            // Expired records are invisible and purged; live ones stay.
            let mut stale = record(-5);
            store.create(&mut stale).await.unwrap();
            assert!(store.load(&stale.id).await.unwrap().is_none());
            assert_eq!(store.delete_expired().await.unwrap(), 1);
            assert!(store.load(&first.id).await.unwrap().is_some());

            let mut third = record(3_000);
            store.create(&mut third).await.unwrap();
            store.delete(&third.id).await.unwrap();
            assert!(store.load(&third.id).await.unwrap().is_none());
            assert!(store.load(&Id::default()).await.unwrap().is_none());
            db.cleanup().await;
        }
    }
}
