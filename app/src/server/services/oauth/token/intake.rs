//! The token endpoint's grants as it calls them: whether the client is registered for the
//! grant, the checks that need no database (malformed codes and tokens, missing parameters),
//! then the request goes to this process's worker, which settles it in a batch with whatever
//! else is waiting.

use crate::domain::{FailureReason, GrantTypes};
use crate::server::{
    AppState,
    crypto::tokens::{self, TokenKind},
    entities::client,
    protocol::OAuthError,
    services::oauth::issue::IssuedTokens,
};

use super::request::{
    ClientCredentialsRequest, ExchangeRequest, GrantRequest, RefreshRequest, Sender,
};
use super::{code_rules, refresh_rules};
use crate::server::services::{
    oauth::{grant_check, jwt_access},
    site_resources,
};

/// `grant_type=authorization_code` (RFC 6749 §4.1.3): exchanges `code` for tokens for the
/// authenticated `client` (sent by `sender`).
pub async fn exchange(
    state: &AppState,
    client: &client::Model,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    resource: Option<&str>,
    sender: Sender,
) -> Result<IssuedTokens, OAuthError> {
    grant_check::check_registered(client, GrantTypes::AUTHORIZATION_CODE_NAME)?;
    if !tokens::is_well_formed(TokenKind::AuthorizationCode, code) {
        return Err(code_rules::invalid().because_of(
            FailureReason::MalformedRequest,
            "the code is not a Latchkey authorization code (wrong prefix, length or checksum)",
        ));
    }
    let Some(redirect_uri) = redirect_uri else {
        return Err(OAuthError::invalid_request(
            "missing parameter \"redirect_uri\"",
        ));
    };
    let request = ExchangeRequest {
        client: client.clone(),
        code_hash: tokens::digest(code),
        redirect_uri: redirect_uri.to_owned(),
        code_verifier: code_verifier.map(str::to_owned),
        resource: site_resources::requested(&state.db, client.site_id, resource).await?,
        address: sender.address,
        dpop_jkt: sender.dpop_jkt,
    };
    submit(state, client, GrantRequest::Exchange(request)).await
}

/// `grant_type=refresh_token` (RFC 6749 §6): exchanges `presented` for a new token pair,
/// optionally with a narrower `scope`.
pub async fn refresh(
    state: &AppState,
    client: &client::Model,
    presented: &str,
    scope: Option<&str>,
    resource: Option<&str>,
    sender: Sender,
) -> Result<IssuedTokens, OAuthError> {
    grant_check::check_registered(client, GrantTypes::REFRESH_TOKEN_NAME)?;
    if !tokens::is_well_formed(TokenKind::RefreshToken, presented) {
        return Err(refresh_rules::invalid().because_of(
            FailureReason::MalformedRequest,
            "the refresh_token is not a Latchkey refresh token (wrong prefix, length or \
             checksum): a truncated one, or an access token sent instead?",
        ));
    }
    let request = RefreshRequest {
        client: client.clone(),
        token_hash: tokens::digest(presented),
        scope: scope.map(str::to_owned),
        resource: site_resources::requested(&state.db, client.site_id, resource).await?,
        address: sender.address,
        dpop_jkt: sender.dpop_jkt,
    };
    submit(state, client, GrantRequest::Refresh(request)).await
}

/// `grant_type=client_credentials` (RFC 6749 §4.4): an access token for the authenticated
/// `client` itself, with `scope` (default: every scope it is registered for).
pub async fn client_credentials(
    state: &AppState,
    client: &client::Model,
    scope: Option<&str>,
    resource: Option<&str>,
    sender: Sender,
) -> Result<IssuedTokens, OAuthError> {
    grant_check::check_registered(client, GrantTypes::CLIENT_CREDENTIALS_NAME)?;
    let request = ClientCredentialsRequest {
        client: client.clone(),
        scope: scope.map(str::to_owned),
        resource: site_resources::requested(&state.db, client.site_id, resource).await?,
        address: sender.address,
        dpop_jkt: sender.dpop_jkt,
    };
    submit(state, client, GrantRequest::ClientCredentials(request)).await
}

/// Sends `request` to this process's worker; for a site that issues JWTs, what signing needs is
/// resolved first (nothing may fail for lack of a key once a code or refresh token is consumed)
/// and the access token is signed on the way out.
async fn submit(
    state: &AppState,
    client: &client::Model,
    request: GrantRequest,
) -> Result<IssuedTokens, OAuthError> {
    let signer = jwt_access::prepare(state, client).await?;
    let issued = state.grants.submit(request).await?;
    Ok(jwt_access::finish(
        &state.settings,
        client,
        &signer,
        issued,
    )?)
}
