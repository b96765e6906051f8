//! How an admin API token is kept and found: never the token, only its HMAC under the
//! server's admin-token key, so a database writer without the keys cannot plant a working
//! token; and the sites it names.

use crate::server::{
    ServiceError,
    crypto::{hex, hmac_sha256},
    entities::{admin_token, admin_token_site},
    keys::Keys,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// What is stored for `token` (`admin_tokens.token_digest`).
pub(super) fn verifier(keys: &Keys, token: &str) -> String {
    hex(&hmac_sha256(&keys.admin_token_verifier, token.as_bytes()))
}

/// The token whose stored form matches `presented`, revoked or not.
pub(super) async fn find_by_token(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    presented: &str,
) -> Result<Option<admin_token::Model>, ServiceError> {
    Ok(admin_token::Entity::find()
        .filter(admin_token::Column::TokenDigest.eq(verifier(keys, presented)))
        .one(conn)
        .await?)
}

/// The sites token `token_id` names.
pub(super) async fn token_sites(
    conn: &impl ConnectionTrait,
    token_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    Ok(admin_token_site::Entity::find()
        .filter(admin_token_site::Column::TokenId.eq(token_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|link| link.site_id)
        .collect())
}
