//! Changing a site through the admin API: its users (create one with roles here, change their
//! roles here) and its scope catalogue (add, remove). The rules are the services' (no site
//! left without an administrator, nobody drops their own last administrator right, a scope in
//! use stays); a token reaches only the site in the path.

use super::{
    body,
    caller::Caller,
    problem::{Problem, responses::*},
    shared::{Answer, chosen_site, idempotent},
    site_reads::{ScopeOut, SiteUserOut},
};
use app::{
    domain::{EmailAddress, NewPassword, ScopeName, SiteRoles, Username},
    error::FieldError,
    server::{
        AppState, ServiceError,
        services::{context::ServiceContext, scopes, users},
    },
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// `POST /admin/v1/sites/{site}/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSiteUser {
    /// Sign-in name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Initial password (12 to 128 characters, not a well-known one, not containing the
    /// username).
    pub password: String,
    /// Site administrator here.
    #[serde(default)]
    pub site_admin: bool,
    /// API user here.
    #[serde(default)]
    pub api_user: bool,
}

/// Creates a user with roles on this site. Send `Idempotency-Key` to make retrying safe.
#[utoipa::path(post, path = "/admin/v1/sites/{site}/users", tag = "sites",
    security(("admin_token" = [])),
    request_body = NewSiteUser,
    params(("site" = String, Path, description = "The site's name"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the first request again")),
    responses(
        (status = 201, description = "Created", body = SiteUserOut, headers(("Idempotent-Replayed" = String, description = "true when this repeats the stored answer to the same Idempotency-Key"))),
        BadRequest, Unauthorized, ReadOnly, NotFound, Conflict, Refused, UnsupportedMediaType,
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let path = format!("/admin/v1/sites/{site}/users");
    let run = created_user(
        state.clone(),
        caller.clone(),
        site,
        headers.clone(),
        bytes.clone(),
    );
    idempotent(&state, &caller, &headers, ("POST", &path, &bytes), run).await
}

async fn created_user(
    state: AppState,
    caller: Caller,
    site: String,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Answer, Problem> {
    let new: NewSiteUser = body::json(&headers, &bytes)?;
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let mut errors = Vec::new();
    let username = Username::parse(&new.username)
        .map_err(|e| errors.push(FieldError::new("username", e.to_string())))
        .ok();
    let email = EmailAddress::parse(&new.email)
        .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
        .ok();
    let password = NewPassword::parse(&new.password, &new.username)
        .map_err(|e| errors.push(FieldError::new("password", e.to_string())))
        .ok();
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(ServiceError::Invalid(errors).into());
    };
    let cx = ServiceContext::new(&state, &caller.0.acting);
    let created = users::create(
        &cx,
        &state.passwords,
        users::NewUser {
            username,
            email,
            password,
            roles: vec![SiteRoles {
                site_id: site.id,
                is_site_admin: new.site_admin,
                is_api_user: new.api_user,
            }],
        },
    )
    .await?;
    let out = SiteUserOut {
        username: created.username,
        email: created.email,
        site_admin: new.site_admin,
        api_user: new.api_user,
        disabled: false,
    };
    Ok(Answer {
        status: StatusCode::CREATED,
        body: json!(out),
        site_id: site.id,
    })
}

/// `PUT /admin/v1/sites/{site}/users/{username}/roles` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Site administrator here.
    pub site_admin: bool,
    /// API user here.
    pub api_user: bool,
}

/// Sets a user's roles on this site (both false removes them from it; refused while they own
/// clients here, or when it would leave the site without an administrator).
#[utoipa::path(put, path = "/admin/v1/sites/{site}/users/{username}/roles", tag = "sites",
    security(("admin_token" = [])),
    request_body = Roles,
    params(("site" = String, Path, description = "The site's name"),
        ("username" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Set"),
        BadRequest, Unauthorized, ReadOnly, NotFound, Refused, Conflict, UnsupportedMediaType,
    ))]
pub async fn set_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path((site, username)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let roles: Roles = body::json(&headers, &bytes)?;
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let user = users::find_by_username(&state.db, &username)
        .await?
        .filter(|user| !user.is_deleted())
        .ok_or_else(Problem::not_found)?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    users::set_roles(
        &cx,
        user.id,
        &[SiteRoles {
            site_id: site.id,
            is_site_admin: roles.site_admin,
            is_api_user: roles.api_user,
        }],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Adds a scope to this site's catalogue.
#[utoipa::path(post, path = "/admin/v1/sites/{site}/scopes", tag = "sites",
    security(("admin_token" = [])),
    request_body = ScopeOut,
    params(("site" = String, Path, description = "The site's name")),
    responses(
        (status = 201, description = "Added", body = ScopeOut),
        BadRequest, Unauthorized, ReadOnly, NotFound, Refused, UnsupportedMediaType,
    ))]
pub async fn add_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let scope: ScopeOut = body::json(&headers, &bytes)?;
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let name =
        ScopeName::parse(&scope.name).map_err(|e| Problem::invalid("name", e.to_string()))?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    scopes::add(&cx, site.id, &name, &scope.description).await?;
    let out = ScopeOut {
        name: name.as_str().to_owned(),
        description: scope.description.trim().to_owned(),
    };
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

/// Removes a scope no client of this site uses.
#[utoipa::path(delete, path = "/admin/v1/sites/{site}/scopes/{scope}", tag = "sites",
    security(("admin_token" = [])),
    params(("site" = String, Path, description = "The site's name"),
        ("scope" = String, Path, description = "The scope's name")),
    responses(
        (status = 204, description = "Removed"),
        BadRequest, Unauthorized, ReadOnly, NotFound,
        Conflict,
    ))]
pub async fn remove_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path((site, scope)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let name = ScopeName::parse(&scope).map_err(|_| Problem::not_found())?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    scopes::remove(&cx, site.id, name.as_str()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
