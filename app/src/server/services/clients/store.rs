//! The writes registration and edits share: a client's scope rows and its Terms of Use
//! acceptance (with its audit event).

use super::rows;
use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    entities::{client, client_scope},
    keys::Keys,
    services::{
        access::Acting,
        audit::{self, Target},
    },
};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

pub(super) async fn write_scopes(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    scopes: &ScopeSet,
) -> Result<(), ServiceError> {
    client_scope::Entity::delete_many()
        .filter(client_scope::Column::ClientUuid.eq(client_uuid))
        .exec(conn)
        .await?;
    insert_scopes(conn, rows::scope_rows(client_uuid, scopes)).await
}

pub(super) async fn insert_scopes(
    conn: &impl ConnectionTrait,
    rows: Vec<client_scope::ActiveModel>,
) -> Result<(), ServiceError> {
    if !rows.is_empty() {
        client_scope::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn record_terms(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    client: &client::Model,
    version: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let (row, event) = rows::terms_rows(
        &rows::Author::of(acting),
        client.site_id,
        client.id,
        Target::client(client),
        version,
        now,
    );
    row.insert(conn).await?;
    audit::record(conn, keys, event, now).await?;
    Ok(())
}
