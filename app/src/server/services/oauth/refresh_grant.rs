//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): every refresh returns a new refresh token and retires the old one; presenting a
//! retired refresh token again revokes the whole grant (every access and refresh token of its
//! family), since either the client or an attacker holds a stolen copy.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::{client, refresh_token, site_membership as membership, token_family, user},
    oauth::OAuthError,
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        grants,
        oauth::issue::{self, IssuedTokens},
    },
};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::json;

/// Exchanges `refresh_token` for a new token pair, optionally with a narrower `scope`.
pub async fn refresh(
    state: &AppState,
    client: &client::Model,
    presented: &str,
    scope: Option<&str>,
    address: Option<String>,
) -> Result<IssuedTokens, OAuthError> {
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    if !tokens::is_well_formed(TokenKind::RefreshToken, presented) {
        return Err(invalid());
    }
    let now = state.clock.now();
    let hash = tokens::digest(presented);
    let txn = begin_write(&state.db).await?;
    let Some(first_look) = refresh_token::Entity::find_by_id(hash.clone())
        .one(&txn)
        .await?
    else {
        return Err(invalid());
    };
    if first_look.client_uuid != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    // Everything that changes a grant's tokens locks the grant row first (refresh, reuse
    // revocation, administrator revocation), so concurrent requests queue in one order and
    // cannot deadlock. On SQLite the write transaction already serialises them.
    let Some(family) = token_family::Entity::find_by_id(first_look.family_id)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Err(invalid());
    };
    // Read again under the lock: a concurrent refresh may have used it meanwhile.
    let Some(row) = refresh_token::Entity::find_by_id(hash.clone())
        .one(&txn)
        .await?
    else {
        return Err(invalid());
    };
    if row.used_at.is_some() {
        revoke_after_reuse(&txn, client, &family, address, now).await?;
        txn.commit().await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; the grant has been revoked",
        ));
    }
    if row.revoked_at.is_some() || family.revoked_at.is_some() || row.expires_at <= now.unix() {
        return Err(invalid());
    }
    let granted =
        ScopeSet::parse(&family.scope).map_err(|e| ServiceError::Unexpected(e.to_string()))?;
    let scope = match scope {
        None => ScopeSet::parse(&row.scope).map_err(|e| ServiceError::Unexpected(e.to_string()))?,
        Some(raw) => {
            let requested =
                ScopeSet::parse(raw).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if !requested.is_subset(&granted) || requested.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "scope beyond what was granted: {}",
                    requested.missing_from(&granted).join(" ")
                )));
            }
            requested
        }
    };
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now.unix()))
        .filter(refresh_token::Column::TokenHash.eq(&hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if rotated.rows_affected != 1 {
        // A concurrent refresh with the same token got there first: reuse.
        revoke_after_reuse(&txn, client, &family, address, now).await?;
        txn.commit().await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; the grant has been revoked",
        ));
    }
    let user = user::Entity::find_by_id(family.user_id)
        .one(&txn)
        .await?
        .filter(user::Model::is_active);
    let still_api_user = membership::Entity::find_by_id((family.site_id, family.user_id))
        .one(&txn)
        .await?
        .is_some_and(|m| m.is_api_user);
    let Some(user) = user.filter(|_| still_api_user) else {
        grants::revoke_family(&txn, family.id, "user can no longer authorize", now).await?;
        txn.commit().await?;
        return Err(OAuthError::invalid_grant(
            "the user who authorized this grant can no longer do so",
        ));
    };
    let issued = issue::token_pair(&txn, &state.settings, &family, &scope, now).await?;
    audit::record(
        &txn,
        NewEvent::new(
            Some(family.site_id),
            Action::TokenRefreshed,
            Actor::client(&client.client_id, &client.name, address),
            format!(
                "Tokens refreshed by \"{}\" for {} ({scope})",
                client.name, user.username
            ),
        )
        .target(Target::new("user", user.id, &user.username))
        .details(json!({"grant": family.id, "scope": scope.to_string()})),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    state.usage.token_issued(client.id, family.site_id, now);
    Ok(issued)
}

async fn revoke_after_reuse(
    txn: &DatabaseTransaction,
    client: &client::Model,
    family: &token_family::Model,
    address: Option<String>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let revoked = grants::revoke_family(txn, family.id, "refresh token reused", now).await?;
    if !revoked {
        return Ok(());
    }
    let username = user::Entity::find_by_id(family.user_id)
        .one(txn)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    audit::record(
        txn,
        NewEvent::new(
            Some(family.site_id),
            Action::RefreshReuseDetected,
            Actor::client(&client.client_id, &client.name, address.clone()),
            format!(
                "Refresh token reused for \"{}\" ({username}): possible token theft; the grant was revoked",
                client.name
            ),
        )
        .target(Target::new("client", &client.client_id, &client.name))
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
        format!("Refresh token of \"{}\" for {username} was used twice: possible theft. The grant was revoked.", client.name),
        now,
    )
    .await?;
    Ok(())
}
