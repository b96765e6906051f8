//! What several admin API handlers need: the client a path names, the sites a token reaches,
//! the client's JSON form, the audit event of a read, and the `Idempotency-Key` wrapper.

use super::{caller::Caller, problem::Problem};
use app::{
    domain::Timestamp,
    server::{
        AppState, ServiceError,
        db::begin_write,
        entities::{client, site, user},
        services::{
            admin_tokens::idempotency::{self, Claim},
            audit::{self, Action, NewEvent},
            clients, sites,
        },
    },
};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sea_orm::EntityTrait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A client as the admin API shows it. Never a secret: those are in `/secrets`, and only the
/// answer that creates one carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientOut {
    /// The Consumer Key.
    pub client_id: String,
    /// Its site's name.
    pub site: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The one redirect URI.
    pub redirect_uri: String,
    /// The owner's username.
    pub owner: String,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Authorization requests without PKCE are refused.
    pub require_pkce: bool,
    /// `approved`, `pending` or `rejected`.
    pub review: String,
    /// Disabled: its credentials are refused.
    pub disabled: bool,
    /// The Terms of Use version accepted for it.
    pub terms_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// The client `client_id` names, if the caller's token reaches its site (404 otherwise, alike
/// for a client that does not exist and one on another site).
pub async fn find_client(
    state: &AppState,
    caller: &Caller,
    client_id: &str,
) -> Result<client::Model, Problem> {
    let found = clients::find_by_client_id(&state.db, client_id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(caller.0.acting.require_client(&state.db, found.id).await?)
}

/// The client's JSON form and its `ETag` (its revision).
pub async fn client_out(
    state: &AppState,
    client: &client::Model,
) -> Result<(ClientOut, String), ServiceError> {
    let scopes = clients::client_scopes(&state.db, client.id).await?;
    let tag = clients::revision(client, &scopes);
    let site = site::Entity::find_by_id(client.site_id)
        .one(&state.db)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    let owner = user::Entity::find_by_id(client.owner_user_id)
        .one(&state.db)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let out = ClientOut {
        client_id: client.client_id.clone(),
        site,
        name: client.name.clone(),
        description: client.description.clone(),
        redirect_uri: client.redirect_uri.clone(),
        owner,
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        require_pkce: client.require_pkce,
        review: client.review().as_str().to_owned(),
        disabled: client.disabled_at.is_some(),
        terms_version: client.terms_version.clone(),
        created_at: Timestamp(client.created_at).format_rfc3339(),
        updated_at: Timestamp(client.updated_at).format_rfc3339(),
    };
    Ok((out, tag))
}

/// `body` as JSON with `status` and the client's `ETag`.
pub fn with_etag(status: StatusCode, tag: &str, body: &impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{tag}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The sites the caller reaches now: its token's sites that its administrator still
/// administers, by name.
pub async fn reachable_sites(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<site::Model>, ServiceError> {
    let mut reachable = Vec::new();
    for site in sites::list_all(&state.db).await? {
        match caller.0.acting.require_site_admin(&state.db, site.id).await {
            Ok(site) => reachable.push(site),
            Err(ServiceError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(reachable)
}

/// The site `name`, if the caller reaches it; with no name, the caller's only site (a token
/// reaching several must say which).
pub async fn chosen_site(
    state: &AppState,
    caller: &Caller,
    name: Option<&str>,
) -> Result<site::Model, Problem> {
    match name {
        Some(name) => {
            let site = sites::find_by_name(&state.db, name)
                .await?
                .ok_or_else(Problem::not_found)?;
            Ok(caller
                .0
                .acting
                .require_site_admin(&state.db, site.id)
                .await?)
        }
        None => {
            let mut sites = reachable_sites(state, caller).await?;
            if sites.len() == 1 {
                Ok(sites.remove(0))
            } else {
                Err(Problem::invalid(
                    "site",
                    "This token reaches several sites (or none): name one.",
                ))
            }
        }
    }
}

/// Records that the caller read `what` on `sites` (every admin API call is audited; changes
/// by their own events).
pub async fn audit_read(
    state: &AppState,
    caller: &Caller,
    sites: impl IntoIterator<Item = Uuid>,
    what: &str,
) -> Result<(), ServiceError> {
    let now = state.clock.now();
    let txn = begin_write(&state.db).await?;
    audit::record_on_sites(
        &txn,
        &state.keys,
        sites,
        NewEvent::new(
            None,
            Action::AdminApiRead,
            caller.0.acting.actor(),
            format!("Admin API: read {what}"),
        )
        .details(serde_json::json!({ "read": what })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Runs a creation at most once per `Idempotency-Key` (if the request has one): a repeat of
/// the same request gets the first answer, a parallel copy 409, another request with the
/// same key 422.
pub async fn idempotent<F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request: (&str, &str, &[u8]),
    run: F,
) -> Response
where
    F: Future<Output = Result<(StatusCode, serde_json::Value), Problem>>,
{
    let Some(key) = headers.get("idempotency-key") else {
        return match run.await {
            Ok((status, body)) => (status, axum::Json(body)).into_response(),
            Err(problem) => problem.into_response(),
        };
    };
    let key = match key.to_str() {
        Ok(key) if idempotency::is_valid_key(key) => key.to_owned(),
        _ => {
            return Problem::invalid("Idempotency-Key", "1 to 255 visible ASCII characters.")
                .into_response();
        }
    };
    let token_id = caller.0.token.id;
    let (method, path, body) = request;
    let digest = idempotency::request_digest(method, path, body);
    let now = state.clock.now();
    match idempotency::claim(&state.db, &state.keys, token_id, &key, &digest, now).await {
        Err(error) => Problem::from(error).into_response(),
        Ok(Claim::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(Claim::InProgress) => Problem::new(
            StatusCode::CONFLICT,
            Some("idempotency-in-progress"),
            "A request with this Idempotency-Key is still running: retry shortly.",
        )
        .into_response(),
        Ok(Claim::Mismatch) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency-key-reused"),
            "This Idempotency-Key was used for a different request.",
        )
        .into_response(),
        Ok(Claim::Fresh) => match run.await {
            Ok((status, body)) => {
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                if let Err(error) = idempotency::complete(
                    &state.db,
                    &state.keys,
                    token_id,
                    &key,
                    status.as_u16(),
                    &bytes,
                )
                .await
                {
                    // The change is made: answer it; a retry will see "in progress" until
                    // the key is forgotten, never a second creation.
                    tracing::error!(error = %error.chain(), "storing an idempotent answer");
                }
                let mut response = (status, bytes).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(problem) => {
                if let Err(error) = idempotency::release(&state.db, token_id, &key).await {
                    tracing::error!(error = %error.chain(), "releasing an idempotency key");
                }
                problem.into_response()
            }
        },
    }
}
