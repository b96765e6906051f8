//! A client's revision: the admin API's `ETag`. It covers everything the API shows of the
//! client except usage (`last_used_at`), so any edit — from the console, the CLI or another
//! automation — changes it, while a client merely in use keeps it.

use crate::domain::ScopeSet;
use crate::server::{
    ServiceError,
    crypto::{hex, sha256},
    entities::client,
};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use uuid::Uuid;

/// The revision of `client` with `scopes`: 128 bits of a SHA-256 over its state, in hex.
pub fn revision(client: &client::Model, scopes: &ScopeSet) -> String {
    let state = serde_json::json!([
        client.id,
        client.name,
        client.description,
        client.redirect_uri,
        client.owner_user_id,
        client.grant_types,
        client.require_pkce,
        client.require_dpop,
        client.disabled_at,
        client.deleted_at,
        client.review,
        client.review_reason,
        client.terms_version,
        client.updated_at,
        scopes.to_string(),
    ]);
    hex(&sha256(state.to_string().as_bytes())[..16])
}

/// Refuses with [`ServiceError::PreconditionFailed`] unless `expected` is `None` or the
/// current revision.
pub(super) fn expect(
    client: &client::Model,
    scopes: &ScopeSet,
    expected: Option<&str>,
) -> Result<(), ServiceError> {
    match expected {
        Some(expected) if expected != revision(client, scopes) => {
            Err(ServiceError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}

/// Locks the client's row until the transaction ends (PostgreSQL; SQLite's write transaction
/// already excludes every other writer), so its revision cannot change between the check and
/// the write.
pub(super) async fn lock(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<(), ServiceError> {
    client::Entity::find_by_id(client_uuid)
        .lock_exclusive()
        .one(conn)
        .await?;
    Ok(())
}
