//! A client as its details page shows it, and its scopes.

use crate::domain::ScopeSet;
use crate::server::{
    ServiceError,
    entities::{
        audit_event, client, client_scope, client_secret, site, site_scope, terms_acceptance, user,
    },
    services::{
        audit::{self},
        context::ServiceContext,
        failure_timeline, scopes, secrets, token_families, usage_charts,
        users::{self},
    },
};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// How many audit events the details page lists (the rest: the Audit Log, filtered).
pub const HISTORY_EVENTS: u64 = 10;

/// How many live grants the details page lists.
pub const LISTED_GRANTS: usize = 50;

/// How many failure timeline rows the details page lists.
pub const LISTED_FAILURES: usize = 50;

/// Days of the details page's tokens-per-day chart.
pub const CHART_DAYS: i64 = 30;

/// A client as its details page shows it.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// The client.
    pub client: client::Model,
    /// Its owner; `None` for a machine client that belongs to its site.
    pub owner: Option<user::Model>,
    /// Who may own it instead: the site's active API users.
    pub owners: Vec<user::Model>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// The site's scope catalogue.
    pub catalogue: Vec<site_scope::Model>,
    /// Secret slots, newest first (retired ones included, for the record), with their state.
    /// Each with whether it was used within the retire-warning window.
    pub secrets: Vec<(client_secret::Model, secrets::SlotState, bool)>,
    /// The latest Terms of Use acceptance.
    pub terms: Option<terms_acceptance::Model>,
    /// Live tokens and grants.
    pub usage: token_families::ClientUsage,
    /// The newest live grants (at most [`LISTED_GRANTS`]).
    pub grants: Vec<token_families::LiveGrant>,
    /// Tokens issued per day, the last [`CHART_DAYS`] days.
    pub tokens_per_day: Vec<usage_charts::DailyCount>,
    /// The newest audit events where it acted or was acted upon (at most [`HISTORY_EVENTS`]).
    pub history: Vec<audit_event::Model>,
    /// Its failure timeline (at most [`LISTED_FAILURES`] rows, and the counts per reason).
    pub failures: failure_timeline::Timeline,
    /// The lifetime of its site's new secrets (seconds; `None`: no expiry).
    pub site_secret_lifetime: Option<i64>,
}

/// Everything about a client, for an administrator of its site.
pub async fn view(cx: &ServiceContext<'_>, client_uuid: Uuid) -> Result<ClientView, ServiceError> {
    let ServiceContext {
        db,
        acting,
        now,
        settings,
        ..
    } = *cx;
    let client = acting.require_client(db, client_uuid).await?;
    let owner = match client.owner_user_id {
        Some(owner_id) => Some(
            user::Entity::find_by_id(owner_id)
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::Unexpected("client owner missing".into()))?,
        ),
        None => None,
    };
    let scopes = client_scope::Entity::find()
        .filter(client_scope::Column::ClientUuid.eq(client.id))
        .order_by_asc(client_scope::Column::Scope)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.scope)
        .collect();
    let terms = terms_acceptance::Entity::find()
        .filter(terms_acceptance::Column::ClientUuid.eq(client.id))
        .order_by_desc(terms_acceptance::Column::Id)
        .one(db)
        .await?;
    let slots = secrets::slots(db, client.id).await?;
    let states = secrets::slot_states(&slots, now);
    let history = audit::query::search(
        db,
        acting,
        client.site_id,
        &audit::query::AuditFilter {
            client: Some(client.client_id.clone()),
            ..Default::default()
        },
        audit::query::Cursor::Newest,
        HISTORY_EVENTS,
    )
    .await?;
    Ok(ClientView {
        owners: users::api_users_of_site(db, acting, client.site_id).await?,
        catalogue: scopes::catalogue(db, client.site_id).await?,
        secrets: slots
            .into_iter()
            .zip(states)
            .map(|(slot, state)| {
                let in_use = secrets::recently_used(&slot, settings.retire_warning_window, now);
                (slot, state, in_use)
            })
            .collect(),
        usage: token_families::client_usage(db, client.id, now).await?,
        grants: token_families::live_grants(db, client.id, now, LISTED_GRANTS).await?,
        tokens_per_day: usage_charts::client_daily(db, client.id, CHART_DAYS, now).await?,
        history: history.rows,
        failures: failure_timeline::timeline(db, client.id, LISTED_FAILURES, now).await?,
        site_secret_lifetime: site::Entity::find_by_id(client.site_id)
            .one(db)
            .await?
            .and_then(|site| site.secret_lifetime),
        owner,
        scopes,
        terms,
        client,
    })
}

/// The scopes a client may request.
pub async fn client_scopes(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
) -> Result<ScopeSet, ServiceError> {
    let names = client_scope::Entity::find()
        .filter(client_scope::Column::ClientUuid.eq(client_uuid))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|s| crate::domain::ScopeName::parse(&s.scope).ok());
    Ok(ScopeSet::from_names(names))
}
