//! Which grants a client may use: the one check of a client's registered grant types, for the
//! token endpoint (`token::intake`) and the authorization endpoint (`authorization_request`).

use crate::domain::{FailureReason, GrantTypes};
use crate::server::{
    entities::client,
    protocol::{ErrorCode, OAuthError},
};

/// `unauthorized_client` (RFC 6749 §5.2) for a client not registered for `grant_type`.
pub fn not_registered_for(client: &client::Model, grant_type: &str) -> OAuthError {
    let registered = client.grant_types().names().join(", ");
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!(
            "this client is not registered for the {grant_type} grant (registered: {registered})"
        ),
    )
    .because(FailureReason::GrantNotRegistered)
}

/// Refuses `grant_type` unless `client` is registered for it (`refresh_token` counts as part
/// of the authorization code grant).
pub fn check_registered(client: &client::Model, grant_type: &str) -> Result<(), OAuthError> {
    let grants = client.grant_types();
    let allowed = match grant_type {
        GrantTypes::CLIENT_CREDENTIALS_NAME => grants.client_credentials(),
        _ => grants.authorization_code(),
    };
    if allowed {
        Ok(())
    } else {
        Err(not_registered_for(client, grant_type))
    }
}
