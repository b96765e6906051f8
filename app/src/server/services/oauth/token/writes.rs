//! What a batch of token requests writes besides the new grants and tokens: consuming the
//! codes and refresh tokens, and revoking what a reused one was used for (audited, alerted).

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::batch,
    entities::{authorization_code, client, refresh_token, token_family, user},
    keys::Keys,
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        token_families,
    },
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

/// Marks the codes and refresh tokens with these digests consumed, where they still are
/// unused, and returns the digests this transaction consumed: one another process consumed
/// since it was read is missing, and counts as reuse.
pub async fn consume(
    txn: &DatabaseTransaction,
    code_hashes: Vec<String>,
    token_hashes: Vec<String>,
    now: Timestamp,
) -> Result<HashSet<String>, ServiceError> {
    let backend = txn.get_database_backend();
    let mut consumed: HashSet<String> = HashSet::new();
    if !code_hashes.is_empty() {
        consumed.extend(
            authorization_code::Entity::update_many()
                .col_expr(
                    authorization_code::Column::ConsumedAt,
                    Expr::value(now.unix()),
                )
                .filter(batch::is_in(
                    backend,
                    authorization_code::Column::CodeHash,
                    code_hashes,
                ))
                .filter(authorization_code::Column::ConsumedAt.is_null())
                .exec_with_returning(txn)
                .await?
                .into_iter()
                .map(|row| row.code_hash),
        );
    }
    if !token_hashes.is_empty() {
        consumed.extend(
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::value(now.unix()))
                .filter(batch::is_in(
                    backend,
                    refresh_token::Column::TokenHash,
                    token_hashes,
                ))
                .filter(refresh_token::Column::UsedAt.is_null())
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec_with_returning(txn)
                .await?
                .into_iter()
                .map(|row| row.token_hash),
        );
    }
    Ok(consumed)
}

/// Revokes every grant issued from a code presented twice (RFC 6749 §4.1.2), records it and
/// raises an alert; returns how many grants were revoked.
pub async fn revoke_after_code_reuse(
    txn: &DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    code: &authorization_code::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let family_ids: Vec<Uuid> = token_family::Entity::find()
        .filter(token_family::Column::CodeHash.eq(&code.code_hash))
        .all(txn)
        .await?
        .into_iter()
        .map(|family| family.id)
        .collect();
    let mut revoked = 0;
    for id in &family_ids {
        if token_families::revoke_family(txn, *id, "authorization code reused", now).await? {
            revoked += 1;
        }
    }
    audit::record(
        txn,
        keys,
        NewEvent::new(
            Some(code.site_id),
            Action::CodeReuseDetected,
            Actor::client(&client.client_id, &client.name, address),
            format!(
                "Authorization code presented again by \"{}\"; {revoked} grant(s) revoked",
                client.name
            ),
        )
        .target(Target::client(client))
        .details(json!({"grants_revoked": revoked})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        code.site_id,
        AlertKind::CodeReuse,
        AlertSubject {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            username: None,
            address: None,
        },
        format!(
            "An authorization code of \"{}\" was presented twice; {revoked} grant(s) revoked.",
            client.name
        ),
        now,
    )
    .await?;
    Ok(revoked)
}

/// Revokes the grant of a refresh token presented twice (RFC 9700 §4.14.2), records it and
/// raises an alert.
pub async fn revoke_after_refresh_reuse(
    txn: &DatabaseTransaction,
    keys: &Keys,
    client: &client::Model,
    family: &token_family::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let revoked =
        token_families::revoke_family(txn, family.id, "refresh token reused", now).await?;
    if !revoked {
        return Ok(());
    }
    let username = match family.user_id {
        Some(user_id) => user::Entity::find_by_id(user_id)
            .one(txn)
            .await?
            .map(|u| u.username)
            .unwrap_or_default(),
        None => String::new(),
    };
    audit::record(
        txn,
        keys,
        NewEvent::new(
            Some(family.site_id),
            Action::RefreshReuseDetected,
            Actor::client(&client.client_id, &client.name, address.clone()),
            format!(
                "Refresh token reused for \"{}\" ({username}): possible token theft; the grant was revoked",
                client.name
            ),
        )
        .target(Target::client(client))
        .details(json!({"grant": family.id, "api_user": username, "address": address})),
        now,
    )
    .await?;
    alerts::raise(
        txn,
        family.site_id,
        AlertKind::RefreshTokenReuse,
        AlertSubject {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            username: Some(username.clone()),
            address,
        },
        format!(
            "Refresh token of \"{}\" for {username} was used twice: possible theft. The grant was revoked.",
            client.name
        ),
        now,
    )
    .await?;
    Ok(())
}
