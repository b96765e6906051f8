//! Token revocation (RFC 7009). A client revokes only its own tokens; anything else (unknown,
//! malformed, another client's, already revoked) is answered the same way, with success, so
//! the endpoint reveals nothing. Revoking a refresh token revokes its whole grant.

use crate::server::{
    AppState,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::{access_token, client, refresh_token},
    protocol::OAuthError,
    services::{
        audit::{self, Action, Actor, NewEvent, Target},
        oauth::jwt_access,
        token_families,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

/// Revokes `token` if it belongs to `client`. The hint only decides which kind is looked up
/// first (the prefix already tells).
pub async fn revoke(
    state: &AppState,
    client: &client::Model,
    token: &str,
    address: Option<String>,
) -> Result<(), OAuthError> {
    let now = state.clock.now();
    // A JWT's signature is checked before the write turn is taken.
    let access_key = jwt_access::stored_key(state, token).await?;
    let txn = begin_write(&state.db).await?;
    let (kind, family_id, site_id) = if let Some(hash) = access_key {
        let Some(row) = access_token::Entity::find_by_id(hash.clone())
            .one(&txn)
            .await?
            .filter(|r| r.client_uuid == client.id)
        else {
            return Ok(());
        };
        if row.revoked_at.is_some() {
            return Ok(());
        }
        access_token::Entity::update_many()
            .col_expr(access_token::Column::RevokedAt, Expr::value(now.unix()))
            .filter(access_token::Column::TokenHash.eq(&hash))
            .exec(&txn)
            .await?;
        ("access token", row.family_id, row.site_id)
    } else if tokens::is_well_formed(TokenKind::RefreshToken, token) {
        let Some(row) = refresh_token::Entity::find_by_id(tokens::digest(token))
            .one(&txn)
            .await?
            .filter(|r| r.client_uuid == client.id)
        else {
            return Ok(());
        };
        if !token_families::revoke_family(&txn, row.family_id, "revoked by client", now).await? {
            return Ok(());
        }
        ("refresh token and its grant", row.family_id, row.site_id)
    } else {
        return Ok(());
    };
    audit::record(
        &txn,
        &state.keys,
        NewEvent::new(
            Some(site_id),
            Action::TokenRevoked,
            Actor::client(&client.client_id, &client.name, address),
            format!("\"{}\" revoked an {kind}", client.name),
        )
        .target(Target::client(client))
        .details(json!({"grant": family_id, "kind": kind})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
