//! Who is calling the admin API: the `Authorization: Bearer lkad_…` token, checked on every
//! request against its digest, expiry, revocation and its administrator's account.

use super::stored::{find_by_token, token_sites};
use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::{admin_token, user},
    keys::Keys,
    services::access::{Acting, Principal},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// "Last used" is written at most this often per token, so a busy automation does not turn
/// every read into a write.
const LAST_USED_EVERY_SECONDS: i64 = 60;
/// The longest `last_used_from` kept.
const ADDRESS_MAX: usize = 64;

/// An accepted token: who acts, and whether it may change things.
#[derive(Debug, Clone)]
pub struct AdminTokenGrant {
    /// The principal and address, for the services and the audit log.
    pub acting: Acting,
    /// Created with write access.
    pub may_write: bool,
    /// The token's row.
    pub token: admin_token::Model,
}

/// Why a token was refused. The API answers every one alike (401 `invalid_token`); the kind is
/// for the server's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTokenRefused {
    /// Not the shape of an admin token (prefix, length, checksum).
    Malformed,
    /// No such token.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// Its administrator is disabled or deleted.
    OwnerInactive,
}

/// Checks `presented` and, when it is a live token, records its use (at most once a minute).
pub async fn authenticate(
    db: &DatabaseConnection,
    keys: &Keys,
    presented: &str,
    address: Option<String>,
    now: Timestamp,
) -> Result<Result<AdminTokenGrant, AdminTokenRefused>, ServiceError> {
    if !tokens::is_well_formed(TokenKind::AdminToken, presented) {
        return Ok(Err(AdminTokenRefused::Malformed));
    }
    let Some(token) = find_by_token(db, keys, presented).await? else {
        return Ok(Err(AdminTokenRefused::Unknown));
    };
    if token.revoked_at.is_some() {
        return Ok(Err(AdminTokenRefused::Revoked));
    }
    if token.expires_at <= now.unix() {
        return Ok(Err(AdminTokenRefused::Expired));
    }
    let Some(owner) = user::Entity::find_by_id(token.user_id)
        .one(db)
        .await?
        .filter(user::Model::is_active)
    else {
        return Ok(Err(AdminTokenRefused::OwnerInactive));
    };
    let sites = token_sites(db, token.id).await?;
    let address = address.map(|a| a.chars().take(ADDRESS_MAX).collect::<String>());
    note_use(db, &token, address.as_deref(), now).await?;
    Ok(Ok(AdminTokenGrant {
        acting: Acting {
            principal: Principal::AdminToken {
                token_id: token.id,
                token_name: token.name.clone(),
                user_id: owner.id,
                username: owner.username,
                sites,
            },
            address,
        },
        may_write: token.can_write,
        token,
    }))
}

/// Writes "last used" when it is a minute old or the address changed; conditional, so
/// parallel requests write it once.
async fn note_use(
    db: &DatabaseConnection,
    token: &admin_token::Model,
    address: Option<&str>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let fresh = token
        .last_used_at
        .is_some_and(|at| now.unix() - at < LAST_USED_EVERY_SECONDS);
    if fresh && token.last_used_from.as_deref() == address {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    let mut update = admin_token::Entity::update_many()
        .set(admin_token::ActiveModel {
            last_used_at: Set(Some(now.unix())),
            last_used_from: Set(address.map(str::to_owned)),
            ..Default::default()
        })
        .filter(admin_token::Column::Id.eq(token.id));
    update = match token.last_used_at {
        Some(at) => update.filter(admin_token::Column::LastUsedAt.eq(at)),
        None => update.filter(admin_token::Column::LastUsedAt.is_null()),
    };
    update.exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
