//! Removing what can no longer be used: expired codes and tokens, and grants with nothing
//! left. Consumed codes and rotated refresh tokens are kept until they expire, because
//! recognising their reuse is what detects theft.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    entities::{access_token, authorization_code, dpop_proof, refresh_token, token_family},
    services::signing_keys,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};

/// How long an expired access token stays (introspection of a just-expired token says
/// "inactive" either way; this only bounds the table).
const EXPIRED_ACCESS_RETENTION: i64 = 24 * 60 * 60;

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Authorization codes.
    pub codes: u64,
    /// Access tokens.
    pub access_tokens: u64,
    /// Refresh tokens.
    pub refresh_tokens: u64,
    /// Grants with no tokens left.
    pub families: u64,
    /// Retired signing keys no longer published (nothing they signed is still valid).
    pub signing_keys: u64,
    /// Remembered DPoP proofs too old to be accepted again anyway.
    pub dpop_proofs: u64,
}

/// Deletes expired codes and tokens, then empty grants older than a refresh token lifetime.
pub async fn purge_expired(
    conn: &impl ConnectionTrait,
    now: Timestamp,
    refresh_ttl: i64,
) -> Result<Purged, ServiceError> {
    let codes = authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::ExpiresAt.lt(now.unix() - 24 * 60 * 60))
        .exec(conn)
        .await?
        .rows_affected;
    let access_tokens = access_token::Entity::delete_many()
        .filter(access_token::Column::ExpiresAt.lt(now.unix() - EXPIRED_ACCESS_RETENTION))
        .exec(conn)
        .await?
        .rows_affected;
    let refresh_tokens = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now.unix()))
        .exec(conn)
        .await?
        .rows_affected;
    // Grants older than any token they could hold, with no token rows left.
    let old: Vec<uuid::Uuid> = token_family::Entity::find()
        .select_only()
        .column(token_family::Column::Id)
        .filter(
            token_family::Column::CreatedAt.lt(now.unix() - refresh_ttl - EXPIRED_ACCESS_RETENTION),
        )
        .into_tuple()
        .all(conn)
        .await?;
    let mut families = 0;
    for batch in old.chunks(500) {
        let ids = batch.to_vec();
        let holding: Vec<uuid::Uuid> = refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::FamilyId)
            .filter(refresh_token::Column::FamilyId.is_in(ids.clone()))
            .into_tuple()
            .all(conn)
            .await?;
        let empty: Vec<uuid::Uuid> = ids.into_iter().filter(|id| !holding.contains(id)).collect();
        if !empty.is_empty() {
            families += token_family::Entity::delete_many()
                .filter(token_family::Column::Id.is_in(empty))
                .exec(conn)
                .await?
                .rows_affected;
        }
    }
    // A client credentials grant holds one access token and never a refresh token: once that
    // token is purged, the grant goes too (not a refresh lifetime later, or a busy machine
    // client would pile up a month of them).
    let tokens_of_family = Query::select()
        .expr(Expr::val(1))
        .from(access_token::Entity)
        .and_where(
            Expr::col((access_token::Entity, access_token::Column::FamilyId))
                .equals((token_family::Entity, token_family::Column::Id)),
        )
        .to_owned();
    families += token_family::Entity::delete_many()
        .filter(token_family::Column::UserId.is_null())
        .filter(token_family::Column::CreatedAt.lt(now.unix() - EXPIRED_ACCESS_RETENTION))
        .filter(Expr::exists(tokens_of_family).not())
        .exec(conn)
        .await?
        .rows_affected;
    let signing_keys = signing_keys::purge(conn, now).await?;
    let dpop_proofs = dpop_proof::Entity::delete_many()
        .filter(dpop_proof::Column::ExpiresAt.lt(now.unix()))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(Purged {
        codes,
        access_tokens,
        refresh_tokens,
        families,
        signing_keys,
        dpop_proofs,
    })
}
