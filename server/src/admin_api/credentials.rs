//! A client's credentials and grants through the admin API: rotate (the new secret is in the
//! answer, once), list and retire secrets (never their value), disable and enable, list and
//! revoke grants.

use super::{
    body,
    caller::Caller,
    problem::{Problem, responses::*},
    shared::{Answer, ClientOut, audit_read, client_out, find_client, idempotent, with_etag},
};
use app::{
    domain::{Timestamp, secret_lifetime::LifetimeChoice},
    server::{
        AppState,
        services::{clients, context::ServiceContext, secrets, token_families},
    },
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The longest grace period a rotation may give the old secret: 30 days.
const GRACE_MAX_SECONDS: i64 = 30 * 86_400;
/// The most grants one answer lists.
const GRANTS_MAX: usize = 1_000;

/// `POST /admin/v1/clients/{client_id}/secrets` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the current secret keeps working, in seconds (0, the default: retired at once).
    #[serde(default)]
    pub grace_seconds: i64,
    /// Also revoke every grant and token issued so far.
    #[serde(default)]
    pub revoke_tokens: bool,
    /// Retire an older secret still in use anyway.
    #[serde(default)]
    pub even_if_in_use: bool,
}

/// A new secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The Consumer Key.
    pub client_id: String,
    /// The new Consumer Secret. Store it now.
    pub client_secret: String,
    /// When it expires (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// How long the previous secret still works.
    pub old_secret_valid_for_seconds: i64,
    /// Whether every grant was revoked.
    pub tokens_revoked: bool,
}

/// Rotates the client's secret. Send `Idempotency-Key` to make retrying safe.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secrets", tag = "credentials",
    security(("admin_token" = [])),
    request_body(content = Option<Rotation>, description = "Optional: without a body, the current secret is retired at once and tokens are kept"),
    params(("client_id" = String, Path, description = "The Consumer Key"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the first request again instead of rotating twice")),
    responses(
        (status = 201, description = "Rotated; the secret is shown once", body = RotatedSecret,
            headers(("Idempotent-Replayed" = String, description = "true when this repeats the stored answer to the same Idempotency-Key"))),
        Conflict,
        UnsupportedMediaType,
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Refused,
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let path = format!("/admin/v1/clients/{client_id}/secrets");
    let run = rotated(
        state.clone(),
        caller.clone(),
        client_id,
        headers.clone(),
        bytes.clone(),
    );
    idempotent(&state, &caller, &headers, ("POST", &path, &bytes), run).await
}

async fn rotated(
    state: AppState,
    caller: Caller,
    client_id: String,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Answer, Problem> {
    let rotation: Rotation = if bytes.is_empty() {
        Rotation::default()
    } else {
        body::json(&headers, &bytes)?
    };
    if !(0..=GRACE_MAX_SECONDS).contains(&rotation.grace_seconds) {
        return Err(Problem::invalid("grace_seconds", "0 to 2592000 (30 days)."));
    }
    let client = find_client(&state, &caller, &client_id).await?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    let secret = secrets::rotate(
        &cx,
        client.id,
        secrets::Rotation {
            grace_seconds: rotation.grace_seconds,
            existing: if rotation.revoke_tokens {
                secrets::ExistingTokens::RevokeAll
            } else {
                secrets::ExistingTokens::Keep
            },
            lifetime: LifetimeChoice::SiteDefault,
            even_if_in_use: rotation.even_if_in_use,
        },
    )
    .await?;
    // Committed: from here on nothing may fail (the secret exists only in this answer).
    let expires_at = secrets::slots(&state.db, client.id)
        .await
        .ok()
        .and_then(|slots| slots.first().and_then(|slot| slot.ends_at()))
        .map(|at| Timestamp(at).format_rfc3339());
    let rotated = RotatedSecret {
        client_id: client.client_id,
        client_secret: secret.expose().to_owned(),
        expires_at,
        old_secret_valid_for_seconds: rotation.grace_seconds,
        tokens_revoked: rotation.revoke_tokens,
    };
    Ok(Answer {
        status: StatusCode::CREATED,
        body: json!(rotated),
        site_id: client.site_id,
    })
}

/// One secret of a client, without its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretOut {
    /// Its id (to retire it).
    pub id: Uuid,
    /// Its last four characters.
    pub hint: String,
    /// RFC 3339.
    pub created_at: String,
    /// When it stops working (RFC 3339), if it does.
    pub ends_at: Option<String>,
    /// It works now.
    pub valid: bool,
    /// RFC 3339, if ever used.
    pub last_used_at: Option<String>,
    /// Successful authentications with it.
    pub use_count: i64,
}

/// Lists the client's secrets, newest first, without their values.
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/secrets", tag = "credentials",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key")),
    responses(
        (status = 200, description = "Its secrets", body = Vec<SecretOut>),
        BadRequest,
        Unauthorized,
        NotFound,
    ))]
pub async fn list_secrets(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, Problem> {
    let client = find_client(&state, &caller, &client_id).await?;
    let now = state.clock.now().unix();
    let slots = secrets::slots(&state.db, client.id).await?;
    let out: Vec<SecretOut> = slots
        .iter()
        .map(|slot| SecretOut {
            id: slot.id,
            hint: slot.hint.clone(),
            created_at: Timestamp(slot.created_at).format_rfc3339(),
            ends_at: slot.ends_at().map(|at| Timestamp(at).format_rfc3339()),
            valid: slot.is_valid_at(now),
            last_used_at: slot.last_used_at.map(|at| Timestamp(at).format_rfc3339()),
            use_count: slot.use_count,
        })
        .collect();
    audit_read(
        &state,
        &caller,
        [client.site_id],
        &format!("the secrets of {client_id}"),
    )
    .await?;
    Ok(axum::Json(out).into_response())
}

/// `DELETE .../secrets/{secret_id}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RetireQuery {
    /// Retire it even though clients used it recently.
    even_if_in_use: Option<bool>,
}

/// Retires one of the client's secrets at once.
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}/secrets/{secret_id}", tag = "credentials",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key"),
        ("secret_id" = Uuid, Path, description = "The secret's id"), RetireQuery),
    responses(
        (status = 204, description = "Retired"),
        Conflict,
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Refused,
    ))]
pub async fn retire_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((client_id, secret_id)): Path<(String, String)>,
    query: Result<Query<RetireQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let query = body::query(query)?;
    let secret_id = body::path_id(&secret_id)?;
    let client = find_client(&state, &caller, &client_id).await?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    secrets::retire(
        &cx,
        client.id,
        secret_id,
        query.even_if_in_use.unwrap_or(false),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST .../disable` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disabling {
    /// Also revoke every grant and token.
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// Disables the client: its credentials are refused (`invalid_client`) until enabled.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/disable", tag = "credentials",
    security(("admin_token" = [])),
    request_body(content = Option<Disabling>, description = "Optional: without a body, tokens are kept"),
    params(("client_id" = String, Path, description = "The Consumer Key")),
    responses(
        (status = 200, description = "Disabled", body = ClientOut),
        UnsupportedMediaType,
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
    ))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let disabling: Disabling = if bytes.is_empty() {
        Disabling::default()
    } else {
        body::json(&headers, &bytes)?
    };
    let existing = if disabling.revoke_tokens {
        secrets::ExistingTokens::RevokeAll
    } else {
        secrets::ExistingTokens::Keep
    };
    switch(&state, &caller, &client_id, true, existing).await
}

/// Enables a disabled client.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/enable", tag = "credentials",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key")),
    responses(
        (status = 200, description = "Enabled", body = ClientOut),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
    ))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, Problem> {
    switch(
        &state,
        &caller,
        &client_id,
        false,
        secrets::ExistingTokens::Keep,
    )
    .await
}

async fn switch(
    state: &AppState,
    caller: &Caller,
    client_id: &str,
    disabled: bool,
    existing: secrets::ExistingTokens,
) -> Result<Response, Problem> {
    let client = find_client(state, caller, client_id).await?;
    let cx = ServiceContext::new(state, &caller.0.acting);
    let changed = clients::set_disabled(&cx, client.id, disabled, existing).await?;
    let (out, tag) = client_out(state, &changed).await?;
    Ok(with_etag(StatusCode::OK, &tag, &out))
}

/// One live grant: an API user's authorization of the client.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    /// Its id (to revoke it).
    pub id: Uuid,
    /// The API user.
    pub username: String,
    /// The granted scope.
    pub scope: String,
    /// RFC 3339.
    pub created_at: String,
}

/// Lists the client's live grants, newest first (at most 1000).
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/grants", tag = "credentials",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key")),
    responses(
        (status = 200, description = "Its live grants", body = Vec<GrantOut>),
        BadRequest,
        Unauthorized,
        NotFound,
    ))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, Problem> {
    let client = find_client(&state, &caller, &client_id).await?;
    let grants =
        token_families::live_grants(&state.db, client.id, state.clock.now(), GRANTS_MAX).await?;
    let out: Vec<GrantOut> = grants
        .into_iter()
        .map(|grant| GrantOut {
            id: grant.family.id,
            username: grant.username,
            scope: grant.family.scope,
            created_at: Timestamp(grant.family.created_at).format_rfc3339(),
        })
        .collect();
    audit_read(
        &state,
        &caller,
        [client.site_id],
        &format!("the grants of {client_id}"),
    )
    .await?;
    Ok(axum::Json(out).into_response())
}

/// Revokes one grant: every token issued under it stops working.
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}/grants/{grant_id}", tag = "credentials",
    security(("admin_token" = [])),
    params(("client_id" = String, Path, description = "The Consumer Key"),
        ("grant_id" = Uuid, Path, description = "The grant's id")),
    responses(
        (status = 204, description = "Revoked"),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
    ))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path((client_id, grant_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let grant_id = body::path_id(&grant_id)?;
    let client = find_client(&state, &caller, &client_id).await?;
    let cx = ServiceContext::new(&state, &caller.0.acting);
    clients::revoke_grant(&cx, client.id, grant_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
