//! An authorization request's validation (RFC 6749 §4.1.2.1): a request whose client or
//! redirect URI cannot be trusted (missing, unknown or disabled client; a `redirect_uri` that
//! is missing or not exactly the registered one; repeated parameters) gets an error page and is
//! never redirected; every other problem goes back to the verified redirect URI. Each refusal
//! of a known client carries that client, for its failure timeline.

use crate::domain::{FailureReason, GrantTypes, ScopeSet, consent::PromptParam, uri_difference};
use crate::server::{
    ServiceError,
    entities::{client, site, site_scope},
    protocol::{ErrorCode, OAuthError, Params, pkce},
    services::{clients, site_resources},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: client::Model,
    /// Its site.
    pub site: site::Model,
    /// The redirect URI (equal to the registered one).
    pub redirect_uri: String,
    /// The scope to grant (requested, or the client's registered scopes).
    pub scope: ScopeSet,
    /// `state`, returned verbatim.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// What the client asked of the prompt (`prompt`).
    pub prompt: PromptParam,
    /// The resource server the token is for (`resource`, RFC 8707): one the site lists.
    pub resource: Option<String>,
    /// The DPoP key the code is bound to (`dpop_jkt`, RFC 9449 §10), if the client named one.
    pub dpop_jkt: Option<String>,
}

/// What to do with an authorization request.
#[derive(Debug)]
pub enum Validation {
    /// Show the prompt.
    Valid(Box<AuthorizationRequest>),
    /// The client or redirect URI cannot be trusted: error page (HTTP 400), no redirect.
    ErrorPage(OAuthError),
    /// Send the error back to the client's verified redirect URI.
    RedirectError {
        /// Where.
        redirect_uri: String,
        /// The request's `state`.
        state: Option<String>,
        /// What.
        error: OAuthError,
    },
}

impl Validation {
    /// The same validation, its refusal (if any) attributed to a client.
    fn about_client(self, client_uuid: Uuid, site_id: Uuid) -> Self {
        match self {
            Self::Valid(_) => self,
            Self::ErrorPage(error) => Self::ErrorPage(error.about_client(client_uuid, site_id)),
            Self::RedirectError {
                redirect_uri,
                state,
                error,
            } => Self::RedirectError {
                redirect_uri,
                state,
                error: error.about_client(client_uuid, site_id),
            },
        }
    }
}

/// Validates authorization request parameters (from the query string, or re-posted by the
/// prompt form).
pub async fn validate(
    conn: &impl ConnectionTrait,
    params: Result<Params, OAuthError>,
) -> Result<Validation, ServiceError> {
    let params = match params {
        Ok(params) => params,
        Err(error) => return Ok(Validation::ErrorPage(error)),
    };
    let Some(client_id) = params.get("client_id") else {
        return Ok(Validation::ErrorPage(OAuthError::invalid_request(
            "missing client_id",
        )));
    };
    let Some(client) = clients::find_by_client_id(conn, client_id).await? else {
        return Ok(Validation::ErrorPage(OAuthError::invalid_client(
            "unknown client_id",
        )));
    };
    let (client_uuid, site_id) = (client.id, client.site_id);
    // Every refusal from here on is about this client: its failure timeline shows it.
    Ok(validate_for(conn, &params, client)
        .await?
        .about_client(client_uuid, site_id))
}

/// [`validate`], once the client is known.
async fn validate_for(
    conn: &impl ConnectionTrait,
    params: &Params,
    client: client::Model,
) -> Result<Validation, ServiceError> {
    if !client.is_active() {
        return Ok(Validation::ErrorPage(
            OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this application is disabled",
            )
            .because(FailureReason::ClientDisabled),
        ));
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Ok(Validation::ErrorPage(OAuthError::invalid_request(
            "missing redirect_uri",
        )));
    };
    if redirect_uri != client.redirect_uri {
        let at = uri_difference(&client.redirect_uri, redirect_uri);
        return Ok(Validation::ErrorPage(
            OAuthError::invalid_request(
                "redirect_uri does not match the URI registered for this application",
            )
            .because_of(
                FailureReason::RedirectUriMismatch,
                format!("redirect_uri differs from the registered one {at}"),
            ),
        ));
    }
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError| Validation::RedirectError {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
    };
    match params.get("response_type") {
        None => {
            return Ok(redirect(OAuthError::invalid_request(
                "missing response_type",
            )));
        }
        Some("code") => {}
        Some(_) => {
            return Ok(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )));
        }
    }
    // A machine client acts for itself only: it may never ask an API user for a code.
    if !client.grant_types().authorization_code() {
        return Ok(redirect(
            crate::server::services::oauth::grant_check::not_registered_for(
                GrantTypes::AUTHORIZATION_CODE_NAME,
            ),
        ));
    }
    let allowed = clients::client_scopes(conn, client.id).await?;
    let scope = match params.get("scope") {
        None => allowed.clone(),
        Some(raw) => match ScopeSet::parse(raw) {
            Err(problem) => return Ok(redirect(OAuthError::invalid_scope(problem.to_string()))),
            Ok(requested) if !requested.is_subset(&allowed) => {
                return Ok(redirect(OAuthError::invalid_scope(format!(
                    "not allowed for this client: {}",
                    requested.missing_from(&allowed).join(" ")
                ))));
            }
            Ok(requested) => requested,
        },
    };
    if scope.is_empty() {
        return Ok(redirect(OAuthError::invalid_scope("no scope to grant")));
    }
    let code_challenge = match pkce::parse_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        Ok(challenge) => challenge,
        Err(error) => return Ok(redirect(error)),
    };
    if client.require_pkce && code_challenge.is_none() {
        return Ok(redirect(
            OAuthError::invalid_request(
                "this application must use PKCE (code_challenge with code_challenge_method=S256)",
            )
            .because(FailureReason::PkceMissing),
        ));
    }
    let resource =
        match site_resources::requested(conn, client.site_id, params.get("resource")).await {
            Ok(resource) => resource,
            Err(error) => return Ok(redirect(error)),
        };
    let dpop_jkt = match params.get("dpop_jkt") {
        None => None,
        Some(jkt) if crate::server::crypto::dpop::is_thumbprint(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Ok(redirect(OAuthError::invalid_request(
                "dpop_jkt must be the base64url SHA-256 thumbprint of the client's DPoP key",
            )));
        }
    };
    let prompt = match PromptParam::parse(params.get("prompt")) {
        Ok(prompt) => prompt,
        Err(problem) => return Ok(redirect(OAuthError::invalid_request(problem))),
    };
    let site = site::Entity::find_by_id(client.site_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::Unexpected("client without site".into()))?;
    Ok(Validation::Valid(Box::new(AuthorizationRequest {
        redirect_uri: redirect_uri.to_owned(),
        client,
        site,
        scope,
        state,
        code_challenge,
        prompt,
        resource,
        dpop_jkt,
    })))
}

/// The site's descriptions of the requested scopes, for the prompt.
pub async fn scope_descriptions(
    conn: &impl ConnectionTrait,
    request: &AuthorizationRequest,
) -> Result<Vec<(String, String)>, ServiceError> {
    let catalogue = site_scope::Entity::find()
        .filter(site_scope::Column::SiteId.eq(request.site.id))
        .all(conn)
        .await?;
    Ok(request
        .scope
        .iter()
        .map(|scope| {
            let description = catalogue
                .iter()
                .find(|entry| entry.name == scope.as_str())
                .map(|entry| entry.description.clone())
                .unwrap_or_default();
            (scope.as_str().to_owned(), description)
        })
        .collect())
}
