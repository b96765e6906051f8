//! `POST /admin/v1/clients`: registering an API client (Terms of Use acceptance required; an
//! owner unless the client is registered for the client credentials grant alone), and the
//! owner rule the edit shares.

use super::{
    body,
    caller::Caller,
    problem::{Problem, responses::*},
    shared::{Answer, ClientOut, chosen_site, client_out_of, idempotent},
};
use app::{
    domain::{
        ClientDescription, ClientName, GrantTypes, RedirectUri, ScopeSet, Timestamp,
        secret_lifetime::LifetimeChoice,
    },
    error::FieldError,
    server::{
        AppState, ServiceError,
        services::{clients, context::ServiceContext, secrets, users},
    },
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// `POST /admin/v1/clients` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// The site (by name); may be left out when the token reaches one site.
    #[serde(default)]
    pub site: Option<String>,
    /// Name, 1 to 100 characters.
    pub name: String,
    /// What the client does, shown on the authorization prompt.
    pub description: String,
    /// The one https redirect URI.
    pub redirect_uri: String,
    /// The API user (username) it belongs to: an API user of the site. May be left out for
    /// a client registered for `client_credentials` alone, which belongs to the site.
    #[serde(default)]
    pub owner: Option<String>,
    /// The grants it is registered for: `authorization_code`, `client_credentials` or both
    /// (default `["authorization_code"]`).
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Scopes it may request (default `profile`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Refuse authorization requests without PKCE.
    #[serde(default)]
    pub require_pkce: bool,
    /// Refuse token requests without a DPoP proof (RFC 9449).
    #[serde(default)]
    pub require_dpop: bool,
    /// Must be true: the Latchkey API Terms of Use are accepted for this client.
    pub accept_terms: bool,
}

/// A registered client, with its Consumer Secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    /// The client.
    #[serde(flatten)]
    pub client: ClientOut,
    /// The Consumer Secret. Store it now.
    pub client_secret: String,
    /// When the secret expires (RFC 3339), if it does.
    pub secret_expires_at: Option<String>,
}

/// Registers a client. Send `Idempotency-Key` to make retrying safe.
#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = NewClient,
    security(("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the first request again instead of registering twice")),
    responses(
        (status = 201, description = "Registered; the secret is shown once", body = CreatedClient,
            headers(("Idempotent-Replayed" = String, description = "true when this repeats the stored answer to the same Idempotency-Key"))),
        NotFound,
        UnsupportedMediaType,
        BadRequest,
        Unauthorized,
        Forbidden,
        Conflict,
        Refused,
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let run = register(
        state.clone(),
        caller.clone(),
        headers.clone(),
        bytes.clone(),
    );
    idempotent(
        &state,
        &caller,
        &headers,
        ("POST", "/admin/v1/clients", &bytes),
        run,
    )
    .await
}

async fn register(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Answer, Problem> {
    let new: NewClient = body::json(&headers, &bytes)?;
    let site = chosen_site(&state, &caller, new.site.as_deref()).await?;
    let mut errors = Vec::new();
    let mut field = |name: &str, problem: app::domain::Invalid| {
        errors.push(FieldError::new(name, problem.to_string()));
    };
    let name = ClientName::parse(&new.name)
        .map_err(|e| field("name", e))
        .ok();
    let description = ClientDescription::parse(&new.description)
        .map_err(|e| field("description", e))
        .ok();
    let redirect_uri =
        RedirectUri::parse(&new.redirect_uri, state.settings.allow_loopback_redirects)
            .map_err(|e| field("redirect_uri", e))
            .ok();
    // What the service stores for "no scopes", so the answer can say it without a read.
    let scopes = match ScopeSet::from_inputs(&new.scopes) {
        Ok(scopes) => Some(clients::stored_scopes(&scopes)?),
        Err(e) => {
            field("scopes", e);
            None
        }
    };
    let grant_types = match &new.grant_types {
        None => Some(GrantTypes::default()),
        Some(names) => GrantTypes::parse(names.iter().map(String::as_str))
            .map_err(|e| field("grant_types", e))
            .ok(),
    };
    if !new.accept_terms {
        errors.push(FieldError::new(
            "accept_terms",
            format!(
                "Accept the Latchkey API Terms of Use (version {}) for this client.",
                state.settings.terms.version
            ),
        ));
    }
    let owner = match (&new.owner, grant_types) {
        (Some(username), _) => api_user_of(&state, site.id, username, &mut errors)
            .await?
            .map(Some),
        (None, Some(grants)) if grants.is_machine_only() => Some(None),
        (None, Some(_)) => {
            errors.push(FieldError::new(
                "owner",
                "Name the API user the client acts for (only a client_credentials client may \
                 belong to the site alone).",
            ));
            None
        }
        (None, None) => None,
    };
    let (
        Some(name),
        Some(description),
        Some(redirect_uri),
        Some(scopes),
        Some(owner),
        Some(grant_types),
        true,
    ) = (
        name,
        description,
        redirect_uri,
        scopes,
        owner,
        grant_types,
        errors.is_empty(),
    )
    else {
        return Err(ServiceError::Invalid(errors).into());
    };
    let registration = clients::Registration {
        name,
        description,
        redirect_uri,
        scopes: scopes.clone(),
        owner_user_id: owner.as_ref().map(|owner| owner.id),
        grant_types,
        require_pkce: new.require_pkce,
        require_dpop: new.require_dpop,
        terms_accepted: true,
        secret_lifetime: LifetimeChoice::SiteDefault,
    };
    let cx = ServiceContext::new(&state, &caller.0.acting);
    let (client, secret) = clients::register(&cx, site.id, registration).await?;
    // Committed: from here on nothing may fail (the secret exists only in this answer).
    let (out, _) = client_out_of(
        &client,
        site.name.clone(),
        owner.map(|owner| owner.username),
        &scopes,
    );
    let secret_expires_at = secrets::slots(&state.db, client.id)
        .await
        .ok()
        .and_then(|slots| slots.first().and_then(|slot| slot.ends_at()))
        .map(|at| Timestamp(at).format_rfc3339());
    let created = CreatedClient {
        client: out,
        client_secret: secret.expose().to_owned(),
        secret_expires_at,
    };
    Ok(Answer {
        status: StatusCode::CREATED,
        body: json!(created),
        site_id: site.id,
    })
}

/// The active API user `username` of `site_id`, or a refusal of `owner` that says the same
/// whether the name is unknown or belongs to someone elsewhere (no listing of other sites'
/// users through this field).
pub(super) async fn api_user_of(
    state: &AppState,
    site_id: uuid::Uuid,
    username: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<app::server::entities::user::Model>, Problem> {
    let candidate = users::find_by_username(&state.db, username)
        .await?
        .filter(app::server::entities::user::Model::is_active);
    let is_api_user = match &candidate {
        Some(user) => {
            app::server::entities::site_membership::Entity::find_by_id((site_id, user.id))
                .one(&state.db)
                .await
                .map_err(ServiceError::from)?
                .is_some_and(|m| m.is_api_user)
        }
        None => false,
    };
    if !is_api_user {
        errors.push(FieldError::new(
            "owner",
            "Choose an active API user of this site.",
        ));
        return Ok(None);
    }
    Ok(candidate)
}
