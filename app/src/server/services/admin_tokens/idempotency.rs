//! `Idempotency-Key` on admin API creations: a retried request (its answer lost on the way)
//! gets the first answer again instead of creating a second client.
//!
//! The key is claimed *before* the creation runs, by an insert that only one of several
//! parallel copies wins; the others see "in progress" (409) until the answer is stored. The
//! answer may hold a new client secret, so it is stored sealed under the secret-encryption key,
//! bound to the token and key, with the site it is about (a replay re-checks that the token
//! still reaches it), and forgotten after [`KEEP_SECONDS`] (by the housekeeping loop) or when
//! the token is revoked. A key used again with a different request is refused (422), never
//! answered with another request's result.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::{hex, secret_box, sha256},
    db::begin_write,
    entities::admin_idempotency as row,
    keys::Keys,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use uuid::Uuid;

/// How long an answer is kept for replay: a day, as the IETF draft suggests.
pub const KEEP_SECONDS: i64 = 86_400;
/// The longest key accepted.
pub const KEY_MAX: usize = 255;

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the request, then [`complete`] (or [`release`] on failure).
    Fresh,
    /// The same request was answered already: send this again (if the token still reaches
    /// `site_id`).
    Replay {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: Vec<u8>,
        /// The site the answer is about.
        site_id: Option<Uuid>,
    },
    /// The same key is being answered right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// True if `key` is an acceptable key: 1 to 255 visible ASCII characters.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The digest that identifies a request: method, path and body.
pub fn request_digest(method: &str, path: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    data.extend_from_slice(method.as_bytes());
    data.push(0);
    data.extend_from_slice(path.as_bytes());
    data.push(0);
    data.extend_from_slice(body);
    hex(&sha256(&data))
}

/// Claims `key` for `token_id`'s request `digest`.
pub async fn claim(
    db: &DatabaseConnection,
    keys: &Keys,
    token_id: Uuid,
    key: &str,
    digest: &str,
    now: Timestamp,
) -> Result<Claim, ServiceError> {
    let txn = begin_write(db).await?;
    row::Entity::delete_many()
        .filter(row::Column::TokenId.eq(token_id))
        .filter(row::Column::CreatedAt.lt(now.unix() - KEEP_SECONDS))
        .exec(&txn)
        .await?;
    let inserted = row::Entity::insert(row::ActiveModel {
        token_id: Set(token_id),
        key: Set(key.to_owned()),
        request_digest: Set(digest.to_owned()),
        site_id: Set(None),
        status: Set(None),
        body_sealed: Set(None),
        created_at: Set(now.unix()),
    })
    .on_conflict(
        OnConflict::columns([row::Column::TokenId, row::Column::Key])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let found = if inserted == 1 {
        Claim::Fresh
    } else {
        let existing = row::Entity::find_by_id((token_id, key.to_owned()))
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::Unexpected("idempotency key vanished".into()))?;
        match (existing.status, existing.body_sealed) {
            _ if existing.request_digest != digest => Claim::Mismatch,
            (Some(status), Some(sealed)) => Claim::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body: secret_box::open(&keys.secret_encryption, &sealed, &context(token_id, key))?,
                site_id: existing.site_id,
            },
            _ => Claim::InProgress,
        }
    };
    txn.commit().await?;
    Ok(found)
}

/// Stores the answer to a [`Claim::Fresh`] request, about `site_id`.
pub async fn complete(
    db: &DatabaseConnection,
    keys: &Keys,
    token_id: Uuid,
    key: &str,
    answer: (u16, &[u8], Uuid),
) -> Result<(), ServiceError> {
    let (status, body, site_id) = answer;
    let sealed = secret_box::seal(&keys.secret_encryption, body, &context(token_id, key))?;
    let txn = begin_write(db).await?;
    row::Entity::update_many()
        .set(row::ActiveModel {
            status: Set(Some(i32::from(status))),
            body_sealed: Set(Some(sealed)),
            site_id: Set(Some(site_id)),
            ..Default::default()
        })
        .filter(row::Column::TokenId.eq(token_id))
        .filter(row::Column::Key.eq(key))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives up a claim whose request failed before it changed anything, so a retry runs it.
pub async fn release(
    db: &DatabaseConnection,
    token_id: Uuid,
    key: &str,
) -> Result<(), ServiceError> {
    let txn = begin_write(db).await?;
    row::Entity::delete_many()
        .filter(row::Column::TokenId.eq(token_id))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::Status.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Forgets every answer older than [`KEEP_SECONDS`], of every token.
pub async fn forget_expired(db: &DatabaseConnection, now: Timestamp) -> Result<u64, ServiceError> {
    let txn = begin_write(db).await?;
    let forgotten = row::Entity::delete_many()
        .filter(row::Column::CreatedAt.lt(now.unix() - KEEP_SECONDS))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(forgotten)
}

/// Forgets every answer of tokens of `which` (a revoked token's, in its revocation).
pub(super) async fn forget_tokens(
    conn: &impl ConnectionTrait,
    which: sea_orm::Condition,
) -> Result<(), ServiceError> {
    row::Entity::delete_many().filter(which).exec(conn).await?;
    Ok(())
}

fn context(token_id: Uuid, key: &str) -> Vec<u8> {
    format!("admin-api-idempotency\0{token_id}\0{key}").into_bytes()
}
