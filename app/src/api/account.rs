//! `/account`, the API users' own place: sign-in and sign-out, their applications (with the
//! request form and the one-time view of an approved request's secret), and their password.
//! Console administrators keep the console; this door admits API users only.

// Server function arguments are the form's fields, one per input.
#![allow(clippy::too_many_arguments)]

use super::clients::{ScopeInputs, ScopeOption};
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One of the user's own applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedApplication {
    /// Row id (for the one-time secret view).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its site.
    pub site: String,
    /// The Consumer Key.
    pub client_id: String,
    /// The redirect URI.
    pub redirect_uri: String,
    /// `active`, `disabled`, `pending` or `rejected`.
    pub status: String,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Requested or registered.
    pub created: String,
    /// Last token issued.
    pub last_used: String,
    /// Days until its current secret expires, if it does.
    pub secret_expires_in_days: Option<i64>,
    /// Its first secret waits to be shown once (an approved request).
    pub secret_waiting: bool,
    /// The secret just shown (hint, secret): on this render only.
    pub shown_secret: Option<(String, String)>,
}

/// An application acting for the user (their live grants to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedApplication {
    /// The client's row id (for Revoke).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its site.
    pub site: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// First authorized (formatted).
    pub first_authorized: String,
    /// Last token issued (formatted).
    pub last_used: String,
}

/// What the signed-in `/account` page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Their username.
    pub username: String,
    /// Anti-forgery token every form echoes.
    pub csrf: String,
    /// The sign-in is older than the re-authentication window.
    pub needs_password: bool,
    /// The sites where they are an API user.
    pub sites: Vec<String>,
    /// Their applications, newest first.
    pub applications: Vec<OwnedApplication>,
    /// The applications acting for them, most recently used first.
    pub connections: Vec<ConnectedApplication>,
}

/// Anyone: the signed-in API user's page, or `None` (the page then shows the sign-in form).
#[server(endpoint = "get_account")]
pub async fn get_account() -> Result<Option<AccountView>, ConsoleError> {
    use crate::domain::{Timestamp, secret_lifetime::days_left};
    use crate::server::{
        ctx,
        services::{clients, connections},
    };
    let Some(account) = ctx::current_account().await? else {
        return Ok(None);
    };
    let now = account.state.clock.now();
    let mut applications = Vec::new();
    for owned in clients::own_clients(&account.state.db, account.user.id).await? {
        let client = owned.client;
        let status = client.status();
        applications.push(OwnedApplication {
            shown_secret: account.take_flashed_secret(client.id).await?,
            id: client.id,
            secret_waiting: client.owner_secret_sealed.is_some() && client.is_active(),
            status: status.as_str().to_owned(),
            rejection_reason: client.review_reason.clone(),
            created: Timestamp(client.created_at).format_utc(),
            last_used: Timestamp::format_optional(client.last_used_at)
                .unwrap_or_else(|| "Never".to_owned()),
            secret_expires_in_days: owned
                .secret_expires_at
                .map(|end| days_left(end, now.unix())),
            site: owned.site_name,
            name: client.name,
            description: client.description,
            client_id: client.client_id,
            redirect_uri: client.redirect_uri,
        });
    }
    let connections = connections::connections_of(&account.state.db, account.user.id, now)
        .await?
        .into_iter()
        .map(|connection| ConnectedApplication {
            id: connection.client.id,
            name: connection.client.name,
            description: connection.client.description,
            site: connection.site_name,
            scopes: connection.scopes.into_iter().collect(),
            first_authorized: Timestamp(connection.first_authorized_at).format_utc(),
            last_used: Timestamp(connection.last_used_at).format_utc(),
        })
        .collect();
    Ok(Some(AccountView {
        connections,
        username: account.user.username.clone(),
        csrf: account.session_data.csrf_token.clone(),
        needs_password: !account.recently_authenticated(),
        sites: account.sites.iter().map(|site| site.name.clone()).collect(),
        applications,
    }))
}

/// Anyone: signs an API user in at `/account` (never a console administrator: they keep the
/// console). Throttled and audited like the console's sign-in.
#[server(endpoint = "account_sign_in")]
pub async fn account_sign_in(username: String, password: String) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::sign_in};
    let state = ctx::app_state()?;
    let result = sign_in::sign_in(
        &state,
        sign_in::Door::Account,
        &username,
        &password,
        ctx::client_address().await,
    )
    .await;
    if let Err(crate::server::ServiceError::Throttled { .. }) = &result {
        ctx::set_status(http::StatusCode::TOO_MANY_REQUESTS);
    }
    let user = result?;
    ctx::start_account_session(&user).await?;
    leptos_axum::redirect("/account");
    Ok(())
}

/// A signed-in API user: ends their `/account` session.
#[server(endpoint = "account_sign_out")]
pub async fn account_sign_out(csrf: String) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::sign_in};
    let account = ctx::require_account_for_change(&csrf).await?;
    sign_in::record_sign_out_at(
        &account.state,
        sign_in::Door::Account,
        account.actor(),
        account.user.id,
    )
    .await?;
    account.end_session().await?;
    leptos_axum::redirect("/account");
    Ok(())
}

/// A site the request form offers, with its scope catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSite {
    /// Site id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<ScopeOption>,
}

/// What "Request a new application" offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOptions {
    /// Anti-forgery token.
    pub csrf: String,
    /// The sites where they are an API user.
    pub sites: Vec<RequestSite>,
    /// The current Terms of Use version.
    pub terms_version: String,
    /// Loopback redirect URIs are allowed on this server.
    pub allow_loopback: bool,
}

/// A signed-in API user: the request form's sites and scopes.
#[server(endpoint = "get_request_options")]
pub async fn get_request_options() -> Result<RequestOptions, ConsoleError> {
    use crate::server::{ctx, services::scopes};
    let account = ctx::require_account().await?;
    let mut sites = Vec::new();
    for site in &account.sites {
        sites.push(RequestSite {
            id: site.id,
            name: site.name.clone(),
            scopes: scopes::catalogue(&account.state.db, site.id)
                .await?
                .into_iter()
                .map(ScopeOption::from)
                .collect(),
        });
    }
    Ok(RequestOptions {
        csrf: account.session_data.csrf_token.clone(),
        sites,
        terms_version: account.state.settings.terms.version.clone(),
        allow_loopback: account.state.settings.allow_loopback_redirects,
    })
}

/// A signed-in API user: requests an application for themselves on one of their sites. It
/// stays pending (no tokens) until a site administrator approves it.
#[server(endpoint = "request_application")]
pub async fn request_application(
    csrf: String,
    site_id: String,
    name: String,
    description: String,
    redirect_uri: String,
    #[server(default)] scopes: ScopeInputs,
    #[server(default)] accept_terms: Option<String>,
) -> Result<Uuid, ConsoleError> {
    use crate::domain::{ClientDescription, ClientName, RedirectUri, ScopeSet};
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::clients};
    let account = ctx::require_account_for_change(&csrf).await?;
    let settings = &account.state.settings;
    let mut errors = FieldErrors::new();
    let site_id = errors.check(
        "site_id",
        site_id
            .trim()
            .parse::<Uuid>()
            .map_err(|_| "Choose one of your sites."),
    );
    let name = errors.check("name", ClientName::parse(&name));
    let description = errors.check("description", ClientDescription::parse(&description));
    let redirect_uri = errors.check(
        "redirect_uri",
        RedirectUri::parse(&redirect_uri, settings.allow_loopback_redirects),
    );
    let scopes = errors.check("scopes", ScopeSet::from_inputs(&scopes));
    if accept_terms.is_none() {
        errors.push(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to request an application.",
        );
    }
    let (site_id, name, description, redirect_uri, scopes) =
        errors.finish_with((site_id, name, description, redirect_uri, scopes))?;
    let request = clients::ApplicationRequest {
        site_id,
        name,
        description,
        redirect_uri,
        scopes,
        terms_accepted: accept_terms.is_some(),
    };
    let state = &account.state;
    let client = clients::request(
        &state.db,
        &state.keys,
        &state.settings,
        &account.user,
        account.address.clone(),
        request,
        state.clock.now(),
    )
    .await?;
    leptos_axum::redirect("/account");
    Ok(client.id)
}

/// A signed-in API user with a recent password: shows the first secret of their approved
/// application, once (it is then gone from the server; a lost secret is regenerated by an
/// administrator).
#[server(endpoint = "show_owner_secret")]
pub async fn show_owner_secret(
    csrf: String,
    client_uuid: Uuid,
    #[server(default)] current_password: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients::review};
    let mut account = ctx::require_account_for_change(&csrf).await?;
    account
        .require_recent_password(current_password.as_deref())
        .await?;
    let state = &account.state;
    let secret = review::take_owner_secret(
        &state.db,
        &state.keys,
        account.actor(),
        account.user.id,
        client_uuid,
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| {
        ConsoleError::Conflict(
            "There is no secret to show: it was shown once already, or it no longer works. A site administrator can regenerate it."
                .into(),
        )
    })?;
    account.flash_secret(client_uuid, &secret).await?;
    leptos_axum::redirect("/account");
    Ok(())
}

/// A signed-in API user: changes their password (the current one first); their other sessions
/// end, this one stays.
#[server(endpoint = "change_account_password")]
pub async fn change_account_password(
    csrf: String,
    current_password: String,
    password: String,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::account as own, services::sign_in::Door};
    let mut account = ctx::require_account_for_change(&csrf).await?;
    let generation = own::change_own_password_at(
        &account.state,
        Door::Account,
        &account.user,
        &current_password,
        &password,
        account.address.clone(),
    )
    .await?;
    account.adopt_generation(generation).await?;
    Ok(())
}

/// A signed-in API user: withdraws an application's access — every grant they gave it, with
/// all its access and refresh tokens, at once.
#[server(endpoint = "revoke_connection")]
pub async fn revoke_connection(csrf: String, client_uuid: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::connections};
    let account = ctx::require_account_for_change(&csrf).await?;
    let state = &account.state;
    connections::revoke_connection(
        &state.db,
        &state.keys,
        &account.user,
        account.address.clone(),
        client_uuid,
        state.clock.now(),
    )
    .await?;
    Ok(())
}
