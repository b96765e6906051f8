//! Taking a grant type away from a client: what that grant issued ends with it, for good. Its
//! tokens stop at their next use anyway (`oauth::access_tokens` judges them against the grant
//! types of the moment); revoking them here means giving the grant type back does not revive
//! them, nor the codes and remembered consents of the authorization code grant.

use crate::domain::{GrantTypes, Timestamp};
use crate::server::{
    ServiceError,
    entities::{authorization_code, client},
    services::{consents, token_families},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// True when going from `old` to `new` takes a grant type away.
pub fn takes_away(old: GrantTypes, new: GrantTypes) -> bool {
    (old.authorization_code() && !new.authorization_code())
        || (old.client_credentials() && !new.client_credentials())
}

/// Ends what the grant types `client` had (`old`) and no longer has issued: for the
/// authorization code grant its users' grants, unused codes and remembered consents; for the
/// client credentials grant its own tokens. In the caller's transaction, which has locked the
/// client's grants (`token_families::lock_client_families`) before the client's row.
pub async fn withdraw(
    conn: &impl ConnectionTrait,
    client: &client::Model,
    old: GrantTypes,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let new = client.grant_types();
    if old.authorization_code() && !new.authorization_code() {
        token_families::revoke_client_grants_of_kind(
            conn,
            client.id,
            true,
            "authorization code grant taken away",
            now,
        )
        .await?;
        authorization_code::Entity::delete_many()
            .filter(authorization_code::Column::ClientUuid.eq(client.id))
            .filter(authorization_code::Column::ConsumedAt.is_null())
            .exec(conn)
            .await?;
        consents::forget(conn, consents::of_client(client.id)).await?;
    }
    if old.client_credentials() && !new.client_credentials() {
        token_families::revoke_client_grants_of_kind(
            conn,
            client.id,
            false,
            "client credentials grant taken away",
            now,
        )
        .await?;
    }
    Ok(())
}
