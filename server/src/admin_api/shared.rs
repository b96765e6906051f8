//! What several admin API handlers need: the client a path names, the sites a token reaches,
//! the client's JSON form, the audit event of a read, and the `Idempotency-Key` wrapper.

use super::{caller::Caller, problem::Problem};
use app::{
    domain::{ScopeSet, Timestamp},
    server::{
        AppState, ServiceError,
        db::begin_write,
        entities::{client, client_scope, site, user},
        services::{
            admin_tokens::idempotency::{self, Claim},
            audit::{self, Action, NewEvent},
            clients, sites, users,
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
    /// The owner's username; null for a machine client that belongs to its site.
    pub owner: Option<String>,
    /// The grants it is registered for: `authorization_code`, `client_credentials`.
    pub grant_types: Vec<String>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Authorization requests without PKCE are refused.
    pub require_pkce: bool,
    /// Token requests without a DPoP proof are refused (RFC 9449 `dpop_bound_access_tokens`).
    pub require_dpop: bool,
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

/// The client's JSON form and its `ETag` (its revision), read from the database.
pub async fn client_out(
    state: &AppState,
    client: &client::Model,
) -> Result<(ClientOut, String), ServiceError> {
    let scopes = clients::client_scopes(&state.db, client.id).await?;
    let site = site::Entity::find_by_id(client.site_id)
        .one(&state.db)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    let owner = users::username_of(&state.db, client.owner_user_id).await?;
    Ok(client_out_of(client, site, owner, &scopes))
}

/// The JSON form of a page of `rows`, whose sites are among `sites`: the owners and scopes in
/// one query each, not a few per client.
pub async fn clients_out(
    state: &AppState,
    rows: &[client::Model],
    sites: &[site::Model],
) -> Result<Vec<ClientOut>, ServiceError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    use std::collections::HashMap;
    let owner_ids: Vec<Uuid> = rows.iter().filter_map(|c| c.owner_user_id).collect();
    let owners: HashMap<Uuid, String> = if owner_ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(owner_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    };
    let mut scopes: HashMap<Uuid, Vec<app::domain::ScopeName>> = HashMap::new();
    if !rows.is_empty() {
        for row in client_scope::Entity::find()
            .filter(client_scope::Column::ClientUuid.is_in(rows.iter().map(|c| c.id)))
            .all(&state.db)
            .await?
        {
            if let Ok(name) = app::domain::ScopeName::parse(&row.scope) {
                scopes.entry(row.client_uuid).or_default().push(name);
            }
        }
    }
    let site_names: HashMap<Uuid, &str> = sites.iter().map(|s| (s.id, s.name.as_str())).collect();
    Ok(rows
        .iter()
        .map(|client| {
            let set = ScopeSet::from_names(scopes.remove(&client.id).unwrap_or_default());
            let owner = client.owner_user_id.and_then(|id| owners.get(&id).cloned());
            let site = site_names
                .get(&client.site_id)
                .map(|name| (*name).to_owned())
                .unwrap_or_default();
            client_out_of(client, site, owner, &set).0
        })
        .collect())
}

/// The client's JSON form and `ETag` from what the caller already holds (no database read:
/// after a creation has committed, its answer must not be able to fail).
pub fn client_out_of(
    client: &client::Model,
    site: String,
    owner: Option<String>,
    scopes: &ScopeSet,
) -> (ClientOut, String) {
    let tag = clients::revision(client, scopes);
    let out = ClientOut {
        client_id: client.client_id.clone(),
        site,
        name: client.name.clone(),
        description: client.description.clone(),
        redirect_uri: client.redirect_uri.clone(),
        owner,
        grant_types: client
            .grant_types()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        require_pkce: client.require_pkce,
        require_dpop: client.require_dpop,
        review: client.review().as_str().to_owned(),
        disabled: client.disabled_at.is_some(),
        terms_version: client.terms_version.clone(),
        created_at: Timestamp(client.created_at).format_rfc3339(),
        updated_at: Timestamp(client.updated_at).format_rfc3339(),
    };
    (out, tag)
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
    caller.0.acting.administered_sites(&state.db).await
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

/// What a creation answers: status, body, and the site it is about (a replay re-checks it).
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: serde_json::Value,
    /// The site the created thing belongs to.
    pub site_id: Uuid,
}

/// Runs a creation at most once per `Idempotency-Key` (if the request has one): a repeat of
/// the same request gets the first answer, a parallel copy 409, another request with the
/// same key 422. `run` may fail only before it changes anything (a refusal releases the key).
/// Claim, creation and stored answer run to their end in one task of their own, so a client
/// that hangs up can neither leave a key claimed with nothing run, nor a change made with its
/// answer unstored.
pub async fn idempotent<F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request: (&str, &str, &[u8]),
    run: F,
) -> Response
where
    F: Future<Output = Result<Answer, Problem>> + Send + 'static,
{
    let mut keys = headers.get_all("idempotency-key").iter();
    let Some(key) = keys.next() else {
        return answer(run.await);
    };
    let key = match key.to_str() {
        Ok(key) if idempotency::is_valid_key(key) && keys.next().is_none() => key.to_owned(),
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                Some("malformed-idempotency-key"),
                "Send one Idempotency-Key of 1 to 255 visible ASCII characters.",
            )
            .into_response();
        }
    };
    let (method, path, body) = request;
    let digest = idempotency::request_digest(method, path, body);
    let task = once(state.clone(), caller.clone(), key, digest, run);
    match tokio::spawn(task).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "an idempotent creation's task failed");
            Problem::from(ServiceError::Unexpected("creation task failed".into())).into_response()
        }
    }
}

/// The body of [`idempotent`]'s task: claim the key, then replay, refuse, or run and settle.
async fn once<F>(state: AppState, caller: Caller, key: String, digest: String, run: F) -> Response
where
    F: Future<Output = Result<Answer, Problem>> + Send + 'static,
{
    let token_id = caller.0.token.id;
    let now = state.clock.now();
    let claim = idempotency::claim(&state.db, &state.keys, token_id, &key, &digest, now).await;
    match claim {
        Err(error) => Problem::from(error).into_response(),
        Ok(Claim::Replay {
            status,
            body,
            site_id,
        }) => {
            // Only while the token still reaches what the answer is about.
            let reachable = match site_id {
                Some(site_id) => caller.0.acting.require_site_admin(&state.db, site_id).await,
                None => Err(ServiceError::NotFound),
            };
            if let Err(error) = reachable {
                return Problem::from(error).into_response();
            }
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
        Ok(Claim::Fresh) => {
            let result = run.await;
            let stored = match &result {
                Ok(done) => {
                    let bytes = serde_json::to_vec(&done.body).unwrap_or_default();
                    let answer = (done.status.as_u16(), bytes.as_slice(), done.site_id);
                    idempotency::complete(&state.db, &state.keys, token_id, &key, answer).await
                }
                Err(_) => idempotency::release(&state.db, token_id, &key).await,
            };
            if let Err(error) = stored {
                // A stored claim without its answer keeps saying "in progress" until it is
                // forgotten: never a second creation.
                tracing::error!(error = %error.chain(), "settling an idempotency key");
            }
            answer(result)
        }
    }
}

fn answer(result: Result<Answer, Problem>) -> Response {
    match result {
        Ok(done) => (done.status, axum::Json(done.body)).into_response(),
        Err(problem) => problem.into_response(),
    }
}
