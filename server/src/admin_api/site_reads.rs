//! Site-level resources through the admin API: the sites a token reaches, their users and
//! roles, scope catalogue, open alerts (and acknowledging one), and the audit log, filtered
//! and paged by cursor.

use super::{
    body,
    caller::Caller,
    problem::{Problem, responses::*},
    shared::{audit_read, chosen_site, reachable_sites, with_etag},
};
use app::{
    domain::Timestamp,
    server::{
        AppState,
        services::{
            alerts,
            audit::{
                Action,
                query::{self, AuditFilter, Cursor},
            },
            scopes, sites, users,
        },
    },
};
use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A site.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteOut {
    /// Its name (what the other routes take).
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// How long new client secrets stay valid, in seconds (absent: they never expire).
    pub secret_lifetime_seconds: Option<i64>,
    /// How long an API user's consent at the prompt is remembered, in seconds (0: never).
    pub consent_lifetime_seconds: i64,
    /// Whether notices are e-mailed to the site's people (set in the console).
    pub email_notifications: bool,
    /// What its new access tokens look like: `opaque` or `jwt` (RFC 9068).
    pub access_token_format: String,
}

impl From<app::server::entities::site::Model> for SiteOut {
    fn from(site: app::server::entities::site::Model) -> Self {
        Self {
            name: site.name,
            created_at: Timestamp(site.created_at).format_rfc3339(),
            secret_lifetime_seconds: site.secret_lifetime,
            consent_lifetime_seconds: site.consent_lifetime,
            email_notifications: site.email_notifications,
            access_token_format: site.access_token_format,
        }
    }
}

/// Lists the sites the token reaches.
#[utoipa::path(get, path = "/admin/v1/sites", tag = "sites",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Its sites", body = Vec<SiteOut>),
        BadRequest,
        Unauthorized,
    ))]
pub async fn sites(State(state): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    let sites = reachable_sites(&state, &caller).await?;
    audit_read(&state, &caller, sites.iter().map(|s| s.id), "the site list").await?;
    let out: Vec<SiteOut> = sites.into_iter().map(SiteOut::from).collect();
    Ok(axum::Json(out).into_response())
}

/// Reads a site's settings; its `ETag` goes in `If-Match` of a change.
#[utoipa::path(get, path = "/admin/v1/sites/{site}", tag = "sites",
    security(("admin_token" = [])),
    params(("site" = String, Path, description = "The site's name")),
    responses(
        (status = 200, description = "The site", body = SiteOut,
            headers(("ETag" = String, description = "The site's revision"))),
        BadRequest, Unauthorized, NotFound,
    ))]
pub async fn site(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Response, Problem> {
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    audit_read(&state, &caller, [site.id], "the site's settings").await?;
    let tag = sites::revision(&site);
    Ok(with_etag(StatusCode::OK, &tag, &SiteOut::from(site)))
}

/// A user of a site, with their roles there.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteUserOut {
    /// Username.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Site administrator here.
    pub site_admin: bool,
    /// API user here (may own clients and authorize them).
    pub api_user: bool,
    /// Disabled: cannot sign in.
    pub disabled: bool,
}

/// `GET /admin/v1/sites/{site}/users` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Users per page, 1 to 500 (default 100).
    limit: Option<u64>,
}

/// A page of a site's users, by username.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteUserPage {
    /// The users.
    pub users: Vec<SiteUserOut>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Lists a site's administrators and API users, by username, paged by cursor.
#[utoipa::path(get, path = "/admin/v1/sites/{site}/users", tag = "sites",
    security(("admin_token" = [])),
    params(("site" = String, Path, description = "The site's name"), UsersQuery),
    responses(
        (status = 200, description = "A page of its users", body = SiteUserPage),
        BadRequest,
        Unauthorized,
        NotFound,
        Refused,
    ))]
pub async fn site_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
    query: Result<Query<UsersQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let query = body::query(query)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid("limit", "1 to 500."));
    }
    if query
        .cursor
        .as_deref()
        .is_some_and(|c| c.chars().count() > 200 || c.chars().any(char::is_control))
    {
        return Err(Problem::invalid(
            "cursor",
            "Pass next_cursor as the last page gave it.",
        ));
    }
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let mut rows = users::page_of_site(
        &state.db,
        &caller.0.acting,
        site.id,
        query.cursor.as_deref(),
        limit + 1,
    )
    .await?;
    let next_cursor = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|row| row.user.username.clone())
    });
    audit_read(&state, &caller, [site.id], "the user list").await?;
    let users = rows
        .into_iter()
        .map(|row| SiteUserOut {
            username: row.user.username,
            email: row.user.email,
            site_admin: row.roles.is_site_admin,
            api_user: row.roles.is_api_user,
            disabled: row.user.disabled_at.is_some(),
        })
        .collect();
    Ok(axum::Json(SiteUserPage {
        users,
        next_cursor: next_cursor.flatten(),
    })
    .into_response())
}

/// A scope of a site's catalogue (also the body that adds one).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeOut {
    /// Its name.
    pub name: String,
    /// What it allows, as the authorization prompt says.
    pub description: String,
}

/// Lists a site's scope catalogue.
#[utoipa::path(get, path = "/admin/v1/sites/{site}/scopes", tag = "sites",
    security(("admin_token" = [])),
    params(("site" = String, Path, description = "The site's name")),
    responses(
        (status = 200, description = "Its scopes", body = Vec<ScopeOut>),
        BadRequest,
        Unauthorized,
        NotFound,
    ))]
pub async fn site_scopes(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Response, Problem> {
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let catalogue = scopes::catalogue(&state.db, site.id).await?;
    audit_read(&state, &caller, [site.id], "the scope catalogue").await?;
    let out: Vec<ScopeOut> = catalogue
        .into_iter()
        .map(|scope| ScopeOut {
            name: scope.name,
            description: scope.description,
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

/// An open alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertOut {
    /// Its id (to acknowledge it).
    pub id: i64,
    /// What kind.
    pub kind: String,
    /// What happened.
    pub summary: String,
    /// The client concerned, if any.
    pub client_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// Lists a site's open (unacknowledged) alerts, newest first (at most 50).
#[utoipa::path(get, path = "/admin/v1/sites/{site}/alerts", tag = "sites",
    security(("admin_token" = [])),
    params(("site" = String, Path, description = "The site's name")),
    responses(
        (status = 200, description = "Its open alerts", body = Vec<AlertOut>),
        BadRequest,
        Unauthorized,
        NotFound,
    ))]
pub async fn site_alerts(
    State(state): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Response, Problem> {
    let site = chosen_site(&state, &caller, Some(&site)).await?;
    let open = alerts::open(&state.db, &caller.0.acting, site.id).await?;
    audit_read(&state, &caller, [site.id], "the open alerts").await?;
    let out: Vec<AlertOut> = open
        .into_iter()
        .map(|alert| AlertOut {
            id: alert.id,
            kind: alert.kind,
            summary: alert.summary,
            client_id: alert.client_id,
            created_at: Timestamp(alert.created_at).format_rfc3339(),
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

/// Acknowledges an alert.
#[utoipa::path(post, path = "/admin/v1/alerts/{alert_id}/acknowledge", tag = "sites",
    security(("admin_token" = [])),
    params(("alert_id" = i64, Path, description = "The alert's id")),
    responses(
        (status = 204, description = "Acknowledged"),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
    ))]
pub async fn acknowledge_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(alert_id): Path<String>,
) -> Result<Response, Problem> {
    let alert_id: i64 = alert_id.parse().map_err(|_| Problem::not_found())?;
    alerts::acknowledge(
        &state.db,
        &state.keys,
        &caller.0.acting,
        alert_id,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/audit-events` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The site (by name); may be left out when the token reaches one site.
    site: Option<String>,
    /// Only this action (`client.registered`, …).
    action: Option<String>,
    /// Only events by or about this client (Consumer Key).
    client: Option<String>,
    /// Only events by this actor (username, client name, `operator`).
    actor: Option<String>,
    /// From this moment (RFC 3339 date, `YYYY-MM-DD`).
    from: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Events per page, 1 to 500 (default 100).
    limit: Option<u64>,
}

/// An audit event with its chain link.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    /// Its id (cursor).
    pub id: i64,
    /// Its chain and position.
    pub chain: String,
    /// Position in the chain.
    pub seq: i64,
    /// RFC 3339.
    pub occurred_at: String,
    /// `noun.verb_past`.
    pub action: String,
    /// `admin`, `operator`, `user`, `client`, `admin_token`, `anonymous`.
    pub actor_kind: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub client_address: Option<String>,
    /// What it was done to.
    pub target_kind: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// Its name.
    pub target: Option<String>,
    /// In words.
    pub summary: String,
    /// Facts, as stored.
    pub details: serde_json::Value,
    /// The chain link.
    pub hash: String,
    /// The previous link.
    pub prev_hash: String,
}

/// A page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    /// The events.
    pub events: Vec<AuditEventOut>,
    /// Pass as `cursor` for older events; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// Reads a site's audit log, newest first, filtered and paged by cursor.
#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "audit",
    security(("admin_token" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditEventPage),
        BadRequest,
        Unauthorized,
        NotFound,
        Refused,
    ))]
pub async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let query = body::query(query)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid("limit", "1 to 500."));
    }
    if let Some(action) = &query.action
        && !Action::ALL.iter().any(|known| known.as_str() == action)
    {
        return Err(Problem::invalid(
            "action",
            "Not an action of the audit log.",
        ));
    }
    let from = match &query.from {
        Some(raw) => {
            Some(Timestamp::parse_date(raw).map_err(|e| Problem::invalid("from", e.to_string()))?)
        }
        None => None,
    };
    for (field, value) in [("actor", &query.actor), ("client", &query.client)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > 200 || v.chars().any(char::is_control))
        {
            return Err(Problem::invalid(
                field,
                "At most 200 characters, none a control character.",
            ));
        }
    }
    let site = chosen_site(&state, &caller, query.site.as_deref()).await?;
    let filter = AuditFilter {
        actor: query.actor,
        client: query.client,
        action: query.action,
        from,
        until: None,
    };
    let cursor = query.cursor.map_or(Cursor::Newest, Cursor::Before);
    let page = query::search(&state.db, &caller.0.acting, site.id, &filter, cursor, limit).await?;
    let events = page
        .rows
        .into_iter()
        .map(|event| AuditEventOut {
            id: event.id,
            chain: event.chain,
            seq: event.seq,
            occurred_at: Timestamp(event.occurred_at).format_rfc3339(),
            action: event.action,
            actor_kind: event.actor_kind,
            actor: event.actor_label,
            client_address: event.client_address,
            target_kind: event.target_kind,
            target_id: event.target_id,
            target: event.target_label,
            summary: event.summary,
            details: serde_json::from_str(&event.details).unwrap_or(serde_json::Value::Null),
            hash: event.hash,
            prev_hash: event.prev_hash,
        })
        .collect();
    audit_read(&state, &caller, [site.id], "the audit log").await?;
    Ok(axum::Json(AuditEventPage {
        events,
        next_cursor: page.older,
    })
    .into_response())
}
