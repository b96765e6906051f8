//! `/admin/v1/clients`: list, read, edit and delete API clients (registering is in
//! `client_registration`). Edits and deletions need `If-Match` with the client's `ETag`.

use super::{
    body::{self, IfMatch},
    caller::Caller,
    client_registration::api_user_of,
    problem::{Problem, responses::*},
    shared::{
        ClientOut, audit_read, chosen_site, client_out, clients_out, find_client, reachable_sites,
        with_etag,
    },
};
use app::{
    domain::{ClientDescription, ClientName, GrantTypes, RedirectUri, ScopeSet},
    error::FieldError,
    server::{
        AppState, ServiceError,
        crypto::tokens::{self, TokenKind},
        entities::client,
        services::{clients, context::ServiceContext},
    },
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The most clients one page holds.
const PAGE_MAX: u64 = 200;

/// `GET /admin/v1/clients` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this site (by name); default every site the token reaches.
    site: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Clients per page, 1 to 200 (default 50).
    limit: Option<u64>,
}

/// A page of clients, ordered by Consumer Key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientPage {
    /// The clients.
    pub clients: Vec<ClientOut>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Lists the live (not deleted) clients of the sites the token reaches.
#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients", params(ListQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of clients", body = ClientPage),
        BadRequest,
        Unauthorized,
        NotFound,
        Refused,
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let query = body::query(query)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(Problem::invalid("limit", "1 to 200."));
    }
    let sites = match &query.site {
        Some(name) => vec![chosen_site(&state, &caller, Some(name)).await?],
        None => reachable_sites(&state, &caller).await?,
    };
    let site_ids: Vec<_> = sites.iter().map(|s| s.id).collect();
    let mut find = client::Entity::find()
        .filter(client::Column::SiteId.is_in(site_ids.clone()))
        .filter(client::Column::DeletedAt.is_null())
        .order_by_asc(client::Column::ClientId)
        .limit(limit + 1);
    if let Some(cursor) = &query.cursor {
        if !tokens::is_well_formed(TokenKind::ClientId, cursor) {
            return Err(Problem::invalid(
                "cursor",
                "Pass next_cursor as the last page gave it.",
            ));
        }
        find = find.filter(client::Column::ClientId.gt(cursor.as_str()));
    }
    let mut rows = find.all(&state.db).await.map_err(ServiceError::from)?;
    let next_cursor = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|c| c.client_id.clone())
    });
    let clients = clients_out(&state, &rows, &sites).await?;
    audit_read(&state, &caller, site_ids, "the API client list").await?;
    Ok(axum::Json(ClientPage {
        clients,
        next_cursor: next_cursor.flatten(),
    })
    .into_response())
}

/// Reads a client; its `ETag` goes in `If-Match` of an edit or deletion.
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key")),
    responses(
        (status = 200, description = "The client", body = ClientOut,
            headers(("ETag" = String, description = "The client's revision"))),
        BadRequest,
        Unauthorized,
        NotFound,
    ))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, Problem> {
    let client = find_client(&state, &caller, &client_id).await?;
    let (out, tag) = client_out(&state, &client).await?;
    audit_read(
        &state,
        &caller,
        [client.site_id],
        &format!("API client {client_id}"),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, &tag, &out))
}

/// `PATCH /admin/v1/clients/{client_id}` body: the fields to change; absent ones stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Redirect URI.
    pub redirect_uri: Option<String>,
    /// A new owner (username of an API user of the site).
    pub owner: Option<String>,
    /// The scopes it may request (replaces the list).
    pub scopes: Option<Vec<String>>,
    /// Refuse authorization requests without PKCE.
    pub require_pkce: Option<bool>,
    /// Refuse token requests without a DPoP proof (RFC 9449).
    pub require_dpop: Option<bool>,
    /// The grants it is registered for (replaces the list; `authorization_code` needs an
    /// owner).
    pub grant_types: Option<Vec<String>>,
}

/// Edits a client if it is still as its `ETag` says (`If-Match`).
#[utoipa::path(patch, path = "/admin/v1/clients/{client_id}", tag = "clients",
    security(("admin_token" = [])),
    request_body = ClientChanges,
    params(("client_id" = String, Path, description = "The Consumer Key"),
        ("If-Match" = String, Header, description = "The ETag of your last GET, or * (still 412 if the client changed while this request was being read: fields left out are taken from that read)")),
    responses(
        (status = 200, description = "Edited", body = ClientOut,
            headers(("ETag" = String, description = "The new revision"))),
        UnsupportedMediaType,
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Stale,
        Refused,
        IfMatchRequired,
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let precondition = body::if_match(&headers)?;
    let changes: ClientChanges = body::json(&headers, &bytes)?;
    let current = find_client(&state, &caller, &client_id).await?;
    let current_scopes = clients::client_scopes(&state.db, current.id).await?;
    // Fields left out are taken from this read, so even `If-Match: *` must find the client
    // still as read here (otherwise a concurrent edit would be silently written back).
    let read_revision = clients::revision(&current, &current_scopes);
    let expected = precondition.expected().unwrap_or(&read_revision).to_owned();
    let mut errors = Vec::new();
    let mut field = |name: &str, problem: app::domain::Invalid| {
        errors.push(FieldError::new(name, problem.to_string()));
    };
    let name = ClientName::parse(changes.name.as_deref().unwrap_or(&current.name))
        .map_err(|e| field("name", e))
        .ok();
    let description = ClientDescription::parse(
        changes
            .description
            .as_deref()
            .unwrap_or(&current.description),
    )
    .map_err(|e| field("description", e))
    .ok();
    let redirect_uri = RedirectUri::parse(
        changes
            .redirect_uri
            .as_deref()
            .unwrap_or(&current.redirect_uri),
        state.settings.allow_loopback_redirects,
    )
    .map_err(|e| field("redirect_uri", e))
    .ok();
    let scopes = match &changes.scopes {
        Some(scopes) => ScopeSet::from_inputs(scopes)
            .map_err(|e| field("scopes", e))
            .ok(),
        None => Some(current_scopes.clone()),
    };
    let grant_types = match &changes.grant_types {
        Some(names) => GrantTypes::parse(names.iter().map(String::as_str))
            .map(Some)
            .map_err(|e| field("grant_types", e))
            .ok(),
        None => Some(None),
    };
    let owner = match &changes.owner {
        Some(username) => api_user_of(&state, current.site_id, username, &mut errors)
            .await?
            .map(|owner| owner.id),
        None => None,
    };
    let (Some(name), Some(description), Some(redirect_uri), Some(scopes), Some(grant_types), true) = (
        name,
        description,
        redirect_uri,
        scopes,
        grant_types,
        errors.is_empty(),
    ) else {
        return Err(ServiceError::Invalid(errors).into());
    };
    let cx = ServiceContext::new(&state, &caller.0.acting);
    let updated = clients::update_if(
        &cx,
        current.id,
        clients::ClientChanges {
            name,
            description,
            redirect_uri,
            scopes,
            require_pkce: changes.require_pkce.unwrap_or(current.require_pkce),
            require_dpop: changes.require_dpop.unwrap_or(current.require_dpop),
            owner_user_id: owner,
            grant_types,
        },
        Some(&expected),
    )
    .await?;
    let (out, tag) = client_out(&state, &updated).await?;
    Ok(with_etag(StatusCode::OK, &tag, &out))
}

/// Deletes a client (to the console's Deleted view, restorable until purged): every grant and
/// token revoked, its credentials refused.
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key"),
        ("If-Match" = String, Header, description = "The ETag of your last GET, or *")),
    responses(
        (status = 204, description = "Deleted"),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Stale,
        IfMatchRequired,
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let precondition: IfMatch = body::if_match(&headers)?;
    let client = find_client(&state, &caller, &client_id).await?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    clients::delete_if(&cx, client.id, precondition.expected()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
