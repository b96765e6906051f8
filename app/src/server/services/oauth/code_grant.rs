//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! A code is bound to its client, redirect URI, user, scope and PKCE challenge, expires after
//! a few minutes, and is consumed by a conditional update, so of many concurrent exchanges
//! exactly one wins. Presenting a consumed code again is treated as theft (RFC 6749 §4.1.2,
//! RFC 9700 §4.2.4): every token issued from it is revoked.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    AppState, ServiceError,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::{authorization_code, client, site_membership as membership, token_family, user},
    oauth::{OAuthError, pkce},
    services::{
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target},
        grants,
        oauth::issue::{self, IssuedTokens},
    },
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

/// Exchanges `code` for tokens for the authenticated `client`.
pub async fn exchange(
    state: &AppState,
    client: &client::Model,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    address: Option<String>,
) -> Result<IssuedTokens, OAuthError> {
    let invalid =
        || OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
    if !tokens::is_well_formed(TokenKind::AuthorizationCode, code) {
        return Err(invalid());
    }
    let Some(redirect_uri) = redirect_uri else {
        return Err(OAuthError::invalid_request(
            "missing parameter \"redirect_uri\"",
        ));
    };
    let now = state.clock.now();
    let code_hash = tokens::digest(code);
    let txn = begin_write(&state.db).await?;
    let Some(row) = authorization_code::Entity::find_by_id(code_hash.clone())
        .one(&txn)
        .await?
    else {
        return Err(invalid());
    };
    // Binding checks come before consumption: someone else's client, or a wrong redirect URI
    // or verifier, cannot burn a code they do not own.
    if row.client_uuid != client.id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if row.consumed_at.is_some() {
        let revoked = revoke_after_reuse(&txn, client, &row, address, now).await?;
        txn.commit().await?;
        return Err(OAuthError::invalid_grant(format!(
            "the authorization code was already used; {revoked} grant(s) issued from it were revoked"
        )));
    }
    if row.expires_at <= now.unix() {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if row.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier is required (PKCE was used)",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent for a code issued without a code_challenge",
            ));
        }
        (None, None) => {}
    }
    let consumed = authorization_code::Entity::update_many()
        .col_expr(
            authorization_code::Column::ConsumedAt,
            Expr::value(now.unix()),
        )
        .filter(authorization_code::Column::CodeHash.eq(&code_hash))
        .filter(authorization_code::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    if consumed.rows_affected != 1 {
        // Lost a race with a concurrent exchange of the same code: that is reuse too.
        revoke_after_reuse(&txn, client, &row, address, now).await?;
        txn.commit().await?;
        return Err(invalid());
    }
    let user = user::Entity::find_by_id(row.user_id)
        .one(&txn)
        .await?
        .filter(user::Model::is_active);
    let still_api_user = membership::Entity::find_by_id((row.site_id, row.user_id))
        .one(&txn)
        .await?
        .is_some_and(|m| m.is_api_user);
    let Some(user) = user.filter(|_| still_api_user) else {
        txn.commit().await?;
        return Err(OAuthError::invalid_grant(
            "the user who authorized this code can no longer do so",
        ));
    };
    let scope = ScopeSet::parse(&row.scope).map_err(|e| ServiceError::Unexpected(e.to_string()))?;
    let family = token_family::Entity::insert(token_family::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_uuid: Set(client.id),
        user_id: Set(user.id),
        site_id: Set(row.site_id),
        scope: Set(row.scope.clone()),
        code_hash: Set(Some(code_hash)),
        created_at: Set(now.unix()),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec_with_returning(&txn)
    .await?;
    let issued = issue::token_pair(&txn, &state.settings, &family, &scope, now).await?;
    audit::record(
        &txn,
        NewEvent::new(
            Some(row.site_id),
            Action::TokenIssued,
            Actor::client(&client.client_id, &client.name, address),
            format!("Tokens issued to \"{}\" for {} ({scope})", client.name, user.username),
        )
        .target(Target::new("user", user.id, &user.username))
        .details(json!({"grant": family.id, "scope": scope.to_string(), "grant_type": "authorization_code"})),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    state.usage.token_issued(client.id, row.site_id, now);
    Ok(issued)
}

async fn revoke_after_reuse(
    txn: &sea_orm::DatabaseTransaction,
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
        if grants::revoke_family(txn, *id, "authorization code reused", now).await? {
            revoked += 1;
        }
    }
    audit::record(
        txn,
        NewEvent::new(
            Some(code.site_id),
            Action::CodeReuseDetected,
            Actor::client(&client.client_id, &client.name, address),
            format!(
                "Authorization code presented again by \"{}\"; {revoked} grant(s) revoked",
                client.name
            ),
        )
        .target(Target::new("client", &client.client_id, &client.name))
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
