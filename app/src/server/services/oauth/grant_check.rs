//! Which grants a client may use: the one check of a client's registered grant types, for the
//! token endpoint (`token::intake` before the batch, `token::batch_check` inside it) and the
//! authorization endpoint (`authorization_request`).

use crate::domain::{FailureReason, GrantTypes};
use crate::server::{
    entities::client,
    protocol::{ErrorCode, OAuthError},
};

/// True when a client registered for `grants` may use `grant_type` (a `grant_type` parameter
/// value; `refresh_token` belongs to the authorization code grant).
pub fn allows(grants: GrantTypes, grant_type: &str) -> bool {
    match grant_type {
        GrantTypes::CLIENT_CREDENTIALS_NAME => grants.client_credentials(),
        GrantTypes::AUTHORIZATION_CODE_NAME | GrantTypes::REFRESH_TOKEN_NAME => {
            grants.authorization_code()
        }
        _ => false,
    }
}

/// `unauthorized_client` (RFC 6749 §4.1.2.1, §5.2) for a client not registered for
/// `grant_type`. It does not list what the client is registered for: the authorization
/// endpoint answers anyone who knows a client id.
pub fn not_registered_for(grant_type: &str) -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("this client is not registered for the {grant_type} grant"),
    )
    .because(FailureReason::GrantNotRegistered)
}

/// Refuses `grant_type` unless `client` is registered for it.
pub fn check_registered(client: &client::Model, grant_type: &str) -> Result<(), OAuthError> {
    if allows(client.grant_types(), grant_type) {
        Ok(())
    } else {
        Err(not_registered_for(grant_type))
    }
}
