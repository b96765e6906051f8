//! Changing a site through the admin API: its settings (name, secret and consent lifetimes),
//! its users (create one with roles here, change their roles here; disable, enable or delete
//! an account whose every site the token reaches) and its scope catalogue (add, remove). The
//! rules are the services' (no site left without an administrator, nobody drops their own last
//! administrator right or disables or deletes themselves, a scope in use stays).

use super::{
    body,
    caller::Caller,
    problem::{Problem, responses::*},
    shared::{Answer, chosen_site, idempotent, with_etag},
    site_reads::{ScopeOut, SiteOut, SiteUserOut},
};
use app::{
    domain::{
        AccessTokenFormat, EmailAddress, NewPassword, ScopeName, SiteName, SiteRoles, Username,
        secret_lifetime::LifetimeChoice,
    },
    error::FieldError,
    server::{
        AppState, ServiceError,
        services::{access, context::ServiceContext, scopes, sites, users},
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
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Refused, UnsupportedMediaType,
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
    if new.site_admin {
        return Err(administrators_in_console());
    }
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
        BadRequest, Unauthorized, Forbidden, NotFound, Refused, Conflict, UnsupportedMediaType,
    ))]
pub async fn set_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path((site, username)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let roles: Roles = body::json(&headers, &bytes)?;
    if roles.site_admin {
        return Err(administrators_in_console());
    }
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let user = users::find_by_username(&state.db, &username)
        .await?
        .filter(|user| !user.is_deleted())
        .ok_or_else(Problem::not_found)?;
    refuse_administrator(&state, user.id).await?;
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
        BadRequest, Unauthorized, Forbidden, NotFound, Refused, UnsupportedMediaType,
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
        BadRequest, Unauthorized, Forbidden, NotFound,
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

/// `PATCH /admin/v1/sites/{site}` body: the settings to change; absent ones stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteChanges {
    /// A new name.
    pub name: Option<String>,
    /// How long new client secrets stay valid, in seconds (0: they never expire).
    pub secret_lifetime_seconds: Option<i64>,
    /// How long consent at the prompt is remembered, in seconds (0: never remembered).
    pub consent_lifetime_seconds: Option<i64>,
    /// What new access tokens look like: `opaque` or `jwt` (RFC 9068; a revoked JWT stays
    /// valid for resource servers that only verify signatures, until it expires).
    pub access_token_format: Option<String>,
}

/// Changes a site's settings if it is still as its `ETag` says (`If-Match`), all in one
/// transaction, each change audited as in the console.
#[utoipa::path(patch, path = "/admin/v1/sites/{site}", tag = "sites",
    security(("admin_token" = [])),
    request_body = SiteChanges,
    params(("site" = String, Path, description = "The site's name"),
        ("If-Match" = String, Header, description = "The ETag of your last GET of the site, or *")),
    responses(
        (status = 200, description = "Changed", body = SiteOut,
            headers(("ETag" = String, description = "The new revision"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Stale, Refused, IfMatchRequired,
        UnsupportedMediaType,
    ))]
pub async fn update_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let precondition = body::if_match(&headers)?;
    let changes: SiteChanges = body::json(&headers, &bytes)?;
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let name = match &changes.name {
        Some(raw) => {
            Some(SiteName::parse(raw).map_err(|e| Problem::invalid("name", e.to_string()))?)
        }
        None => None,
    };
    let secret_lifetime = match changes.secret_lifetime_seconds {
        Some(0) => Some(LifetimeChoice::Never),
        Some(seconds) => Some(
            LifetimeChoice::seconds(seconds)
                .map_err(|message| Problem::invalid("secret_lifetime_seconds", message))?,
        ),
        None => None,
    };
    let access_token_format = match &changes.access_token_format {
        Some(raw) => Some(
            AccessTokenFormat::parse(raw)
                .map_err(|invalid| Problem::invalid("access_token_format", invalid.0))?,
        ),
        None => None,
    };
    let cx = ServiceContext::new(&state, &caller.0.acting);
    let changed = sites::change_if(
        &cx,
        site.id,
        &sites::SiteChanges {
            name,
            secret_lifetime,
            consent_lifetime: changes.consent_lifetime_seconds,
            access_token_format,
        },
        precondition.expected(),
    )
    .await
    .map_err(|error| match error {
        // The service names the console's fields.
        ServiceError::Invalid(mut errors) => {
            for e in &mut errors {
                if e.field == "consent_lifetime" || e.field == "secret_lifetime" {
                    e.field.push_str("_seconds");
                }
            }
            Problem::from(ServiceError::Invalid(errors))
        }
        other => Problem::from(other),
    })?;
    let tag = sites::revision(&changed);
    Ok(with_etag(StatusCode::OK, &tag, &SiteOut::from(changed)))
}

/// A token never re-authenticates, so it manages API users only: administrators are made,
/// changed, disabled and deleted in the console, where the password is asked again (a stolen
/// token, like a stolen cookie, must not mint or remove an administrator).
fn administrators_in_console() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        Some("administrators-in-console"),
        "Administrators are made, changed and removed in the console, with your password.",
    )
}

/// Refuses when `user_id` is a site administrator anywhere.
async fn refuse_administrator(state: &AppState, user_id: uuid::Uuid) -> Result<(), Problem> {
    if !access::administered_sites(&state.db, user_id)
        .await?
        .is_empty()
    {
        return Err(administrators_in_console());
    }
    Ok(())
}

/// The live user `username`, if the token reaches every site of theirs (checked again by the
/// service, in its own transaction).
async fn account(state: &AppState, username: &str) -> Result<uuid::Uuid, Problem> {
    Ok(users::find_by_username(&state.db, username)
        .await?
        .filter(|user| !user.is_deleted())
        .ok_or_else(Problem::not_found)?
        .id)
}

/// Disables an account (they can sign in nowhere and authorize nothing; their tokens are
/// refused meanwhile). Every site of theirs must be within the token's reach.
#[utoipa::path(post, path = "/admin/v1/users/{username}/disable", tag = "sites",
    security(("admin_token" = [])),
    params(("username" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Disabled"),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict,
    ))]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, Problem> {
    switch_user(&state, &caller, &username, true).await
}

/// Enables a disabled account.
#[utoipa::path(post, path = "/admin/v1/users/{username}/enable", tag = "sites",
    security(("admin_token" = [])),
    params(("username" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Enabled"),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict,
    ))]
pub async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, Problem> {
    switch_user(&state, &caller, &username, false).await
}

async fn switch_user(
    state: &AppState,
    caller: &Caller,
    username: &str,
    disabled: bool,
) -> Result<Response, Problem> {
    let user_id = account(state, username).await?;
    refuse_administrator(state, user_id).await?;
    let cx = ServiceContext::new(state, &caller.0.acting);
    users::set_disabled(&cx, user_id, disabled).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes an account to the console's Deleted view (restorable there until purged): their
/// sessions end, their grants and admin API tokens are revoked, the clients they own are
/// deleted with them.
#[utoipa::path(delete, path = "/admin/v1/users/{username}", tag = "sites",
    security(("admin_token" = [])),
    params(("username" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Deleted"),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict,
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, Problem> {
    let user_id = account(&state, &username).await?;
    refuse_administrator(&state, user_id).await?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    users::delete(&cx, user_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
