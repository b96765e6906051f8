//! What goes into the token worker and what a grant rule answers: the request types after the
//! checks that need no database, and the verdict on one request. A leaf: the rules, the worker
//! and the intake all depend on it, it on none of them.

use crate::domain::{GrantTypes, ScopeSet};
use crate::server::{entities::client, protocol::OAuthError, services::oauth::issue::IssuedTokens};
use uuid::Uuid;

/// `grant_type=authorization_code`, after the checks that need no database.
#[derive(Debug, Clone)]
pub struct ExchangeRequest {
    /// The authenticated client.
    pub client: client::Model,
    /// Digest of the presented code.
    pub code_hash: String,
    /// The `redirect_uri` parameter.
    pub redirect_uri: String,
    /// The `code_verifier` parameter, if sent.
    pub code_verifier: Option<String>,
    /// The `resource` parameter, if sent: one of the site's resource servers.
    pub resource: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
    /// The thumbprint of the DPoP key the client proved it holds (RFC 9449), if it sent a
    /// proof: the new tokens are bound to it.
    pub dpop_jkt: Option<String>,
}

/// `grant_type=refresh_token`, after the checks that need no database.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    /// The authenticated client.
    pub client: client::Model,
    /// Digest of the presented refresh token.
    pub token_hash: String,
    /// The `scope` parameter, if sent (a narrower scope).
    pub scope: Option<String>,
    /// The `resource` parameter, if sent: one of the site's resource servers.
    pub resource: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
    /// The thumbprint of the DPoP key the client proved it holds (RFC 9449), if it sent a
    /// proof: the new tokens are bound to it.
    pub dpop_jkt: Option<String>,
}

/// `grant_type=client_credentials`, after the checks that need no database.
#[derive(Debug, Clone)]
pub struct ClientCredentialsRequest {
    /// The authenticated client (registered for the grant).
    pub client: client::Model,
    /// The `scope` parameter, if sent.
    pub scope: Option<String>,
    /// The `resource` parameter, if sent: one of the site's resource servers.
    pub resource: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
    /// The thumbprint of the DPoP key the client proved it holds (RFC 9449), if it sent a
    /// proof: the new tokens are bound to it.
    pub dpop_jkt: Option<String>,
}

/// A token request for the worker.
#[derive(Debug, Clone)]
pub enum GrantRequest {
    /// Exchange an authorization code.
    Exchange(ExchangeRequest),
    /// Use a refresh token.
    Refresh(RefreshRequest),
    /// A client asks for a token for itself.
    ClientCredentials(ClientCredentialsRequest),
}

impl GrantRequest {
    /// Its `grant_type`.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Self::Exchange(_) => GrantTypes::AUTHORIZATION_CODE_NAME,
            Self::Refresh(_) => GrantTypes::REFRESH_TOKEN_NAME,
            Self::ClientCredentials(_) => GrantTypes::CLIENT_CREDENTIALS_NAME,
        }
    }

    /// The authenticated client that sent the request.
    pub fn client(&self) -> &client::Model {
        match self {
            Self::Exchange(request) => &request.client,
            Self::Refresh(request) => &request.client,
            Self::ClientCredentials(request) => &request.client,
        }
    }

    /// The client's address, for the audit log.
    pub fn address(&self) -> &Option<String> {
        match self {
            Self::Exchange(request) => &request.address,
            Self::Refresh(request) => &request.address,
            Self::ClientCredentials(request) => &request.address,
        }
    }

    /// The DPoP key the client proved it holds, if any.
    pub fn dpop_jkt(&self) -> Option<&str> {
        match self {
            Self::Exchange(request) => request.dpop_jkt.as_deref(),
            Self::Refresh(request) => request.dpop_jkt.as_deref(),
            Self::ClientCredentials(request) => request.dpop_jkt.as_deref(),
        }
    }
}

/// Who sent a token request, beyond the client it authenticated as.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    /// The client's address, for the audit log.
    pub address: Option<String>,
    /// The thumbprint of the DPoP key it proved it holds (RFC 9449), if it sent a proof.
    pub dpop_jkt: Option<String>,
}

/// What the worker answers for one request.
pub type Outcome = Result<IssuedTokens, OAuthError>;

/// A grant rule's answer for one request, against the rows it presented.
#[derive(Debug)]
pub enum Verdict {
    /// Tokens may be issued for `user_id` on `site_id` with `scope`, once the code or refresh
    /// token is consumed (the client credentials grant consumes nothing).
    Issue {
        /// The user the grant acts for; `None` when the client acts for itself.
        user_id: Option<Uuid>,
        /// The site of the grant.
        site_id: Uuid,
        /// The scope of the new tokens.
        scope: ScopeSet,
        /// The audience of the new access token (RFC 8707), if narrowed to one.
        audience: Option<String>,
    },
    /// The code or refresh token was presented before: revoke what it was used for.
    Reused,
    /// Refused with this protocol error; nothing changes.
    Refuse(OAuthError),
}
