//! The API Clients tab, "Create a New API Client" / "Register New Application", and the client
//! details page: Consumer Key and Secret, reveal, regenerate, retire, edit, disable, delete,
//! grants.

// Server function arguments are the form's fields, one per input.
#![allow(clippy::too_many_arguments)]

mod review;
mod views;

pub use review::*;

pub use views::*;

#[cfg(feature = "ssr")]
use crate::domain::GrantTypes;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One checked scope box: forms send `scopes[0]=profile&scopes[3]=reports`.
pub type ScopeInputs = Vec<String>;

/// A signed-in administrator: clients of the selected site. `sort` is one of `name`, `owner`,
/// `created`, `last_used`, `status`; `dir` is `asc` or `desc`; `unused` is a number of days.
#[server(endpoint = "list_clients")]
pub async fn list_clients(
    q: String,
    sort: String,
    dir: String,
    page: u64,
    #[server(default)] unused: String,
    #[server(default)] expiring: String,
) -> Result<ClientListPage, ConsoleError> {
    use crate::domain::secret_lifetime::{EXPIRY_NOTICE_DAYS, days_left};
    use crate::server::{
        ctx,
        services::{clients, secrets},
    };
    let admin = ctx::require_admin().await?;
    let sort = match sort.as_str() {
        "owner" => clients::ClientSort::Owner,
        "created" | "" => clients::ClientSort::Created,
        "last_used" => clients::ClientSort::LastUsed,
        "status" => clients::ClientSort::Status,
        _ => clients::ClientSort::Name,
    };
    let unused_for_days = match unused.trim() {
        "" => None,
        days => Some(
            days.parse::<i64>()
                .ok()
                .filter(|d| (0..=36_500).contains(d))
                .ok_or_else(|| ConsoleError::invalid("unused", "Enter a number of days."))?,
        ),
    };
    let query = clients::ClientQuery {
        search: q,
        sort,
        descending: dir == "desc" || (dir.is_empty() && sort == clients::ClientSort::Created),
        page,
        per_page: CLIENTS_PER_PAGE,
        unused_for_days,
        expiring_within_days: (!expiring.is_empty()).then_some(EXPIRY_NOTICE_DAYS),
    };
    let now = admin.state.clock.now();
    let db = &admin.state.db;
    let found = clients::list(db, &admin.acting(), admin.site.id, &query, now).await?;
    let mut slots = secrets::slots_of(db, found.rows.iter().map(|row| row.client.id)).await?;
    Ok(ClientListPage {
        rows: found
            .rows
            .into_iter()
            .map(|row| ClientListRow {
                secret_expires_in_days: slots
                    .remove(&row.client.id)
                    .and_then(|slots| secrets::current_expiry(&slots))
                    .map(|end| days_left(end, now.unix())),
                id: row.client.id,
                active: row.client.is_active(),
                status: row.client.status().as_str().to_owned(),
                created: crate::domain::Timestamp(row.client.created_at).format_utc(),
                last_used: crate::domain::Timestamp::format_optional(row.client.last_used_at),
                name: row.client.name,
                client_id: row.client.client_id,
                owner: row
                    .owner
                    .unwrap_or_else(|| crate::domain::SITE_OWNED.to_owned()),
            })
            .collect(),
        total: found.total,
        page,
        pages: found.total.div_ceil(CLIENTS_PER_PAGE).max(1),
        site_name: admin.site.name.clone(),
    })
}

/// A signed-in administrator: owners and scopes offered by the registration form.
#[server(endpoint = "get_registration_options")]
pub async fn get_registration_options() -> Result<RegistrationOptions, ConsoleError> {
    use crate::server::{ctx, services::scopes};
    let admin = ctx::require_admin().await?;
    let owners = owner_options(&admin, admin.site.id).await?;
    Ok(RegistrationOptions {
        site: super::SiteOption {
            id: admin.site.id,
            name: admin.site.name.clone(),
        },
        owners,
        scopes: scopes::catalogue(&admin.state.db, admin.site.id)
            .await?
            .into_iter()
            .map(ScopeOption::from)
            .collect(),
        terms_version: admin.state.settings.terms.version.clone(),
        allow_loopback: admin.state.settings.allow_loopback_redirects,
        needs_password: !admin.recently_authenticated(),
    })
}

/// The API users who may own a client of `site_id`.
#[cfg(feature = "ssr")]
async fn owner_options(
    admin: &crate::server::ctx::Admin,
    site_id: Uuid,
) -> Result<Vec<OwnerOption>, ConsoleError> {
    use crate::server::services::users;
    let owners = users::api_users_of_site(&admin.state.db, &admin.acting(), site_id).await?;
    Ok(owners.into_iter().map(OwnerOption::from).collect())
}

/// A signed-in administrator with a recent password: registers an API client on the
/// selected site (Terms of Use acceptance required) and opens its details with the new secret
/// shown once.
#[server(endpoint = "register_client")]
pub async fn register_client(
    csrf: String,
    name: String,
    description: String,
    redirect_uri: String,
    #[server(default)] owner: String,
    #[server(default)] scopes: ScopeInputs,
    #[server(default)] require_pkce: Option<String>,
    #[server(default)] require_dpop: Option<String>,
    #[server(default)] accept_terms: Option<String>,
    #[server(default)] current_password: Option<String>,
    #[server(default)] grant_types: Option<String>,
) -> Result<Uuid, ConsoleError> {
    use crate::domain::{ClientDescription, ClientName, RedirectUri};
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::clients};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    let settings = &admin.state.settings;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", ClientName::parse(&name));
    let description = errors.check("description", ClientDescription::parse(&description));
    let redirect_uri = errors.check(
        "redirect_uri",
        RedirectUri::parse(&redirect_uri, settings.allow_loopback_redirects),
    );
    let grant_types = errors.check("grant_types", parse_grant_types(grant_types.as_deref()));
    let machine_only = grant_types.is_some_and(GrantTypes::is_machine_only);
    let owner_user_id = errors.check(
        "owner",
        match owner.trim() {
            "" if machine_only => Ok(None),
            raw => raw
                .parse::<Uuid>()
                .map(Some)
                .map_err(|_| "Choose the API user this application acts for."),
        },
    );
    let scopes = errors.check("scopes", crate::domain::ScopeSet::from_inputs(&scopes));
    if accept_terms.is_none() {
        errors.push(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to register an application.",
        );
    }
    let (name, description, redirect_uri, owner_user_id, scopes, grant_types) = errors
        .finish_with((
            name,
            description,
            redirect_uri,
            owner_user_id,
            scopes,
            grant_types,
        ))?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let registration = clients::Registration {
        name,
        description,
        redirect_uri,
        scopes,
        owner_user_id,
        grant_types,
        require_pkce: require_pkce.is_some(),
        require_dpop: require_dpop.is_some(),
        terms_accepted: accept_terms.is_some(),
        secret_lifetime: crate::domain::secret_lifetime::LifetimeChoice::SiteDefault,
    };
    let (client, secret) = clients::register(&admin.service(), admin.site.id, registration).await?;
    admin.flash_secret(client.id, &secret).await?;
    leptos_axum::redirect(&format!("/clients/{}", client.id));
    Ok(client.id)
}

/// The console's `grant_types` field (the names space-separated); absent: the authorization
/// code grant only, as before machine clients.
#[cfg(feature = "ssr")]
fn parse_grant_types(raw: Option<&str>) -> Result<GrantTypes, crate::domain::Invalid> {
    match raw {
        None => Ok(GrantTypes::default()),
        Some(raw) => GrantTypes::parse(raw.split(' ').filter(|name| !name.is_empty())),
    }
}

/// An administrator of the client's site: the details page.
#[server(endpoint = "get_client")]
pub async fn get_client(client_uuid: Uuid) -> Result<ClientDetail, ConsoleError> {
    use crate::server::services::clients;
    let admin = crate::server::ctx::require_admin().await?;
    let state = &admin.state;
    // This replica's refusals of the last few seconds, so the timeline is current: written
    // only for an administrator of this client's site, and a failure to write them does not
    // cost the page (the background flush tries again).
    admin
        .acting()
        .require_client(&state.db, client_uuid)
        .await?;
    if let Err(error) = state.failure_timeline.flush(&state.db).await {
        tracing::warn!(error = %error.chain(), "writing failure timelines failed");
    }
    // And its uses, so the page knows which old secret is in use before anyone submits.
    flush_uses(state).await;
    let view = clients::view(&admin.service(), client_uuid).await?;
    let revealed = admin.take_flashed_secret(client_uuid).await?;
    let page = views::ClientPageState {
        settings: &admin.state.settings,
        revealed,
        needs_password: !admin.recently_authenticated(),
        now: admin.state.clock.now(),
    };
    Ok(ClientDetail::from_view(view, page))
}

/// An administrator of the client's site, signed in (or password confirmed) within the last
/// few minutes: reveals a secret on the details page. Without a recent sign-in the password
/// must come along (`current_password`).
#[server(endpoint = "reveal_client_secret")]
pub async fn reveal_client_secret(
    csrf: String,
    client_uuid: Uuid,
    slot_id: Uuid,
    #[server(default)] current_password: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::secrets};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let secret = secrets::reveal(&admin.service(), client_uuid, slot_id).await?;
    admin.flash_secret(client_uuid, &secret).await
}

/// An administrator of the client's site: edits name, description, redirect URI, scopes, the
/// PKCE and DPoP requirements and the owner (another active API user of the site).
#[server(endpoint = "update_client")]
pub async fn update_client(
    csrf: String,
    client_uuid: Uuid,
    name: String,
    description: String,
    redirect_uri: String,
    #[server(default)] scopes: ScopeInputs,
    #[server(default)] require_pkce: Option<String>,
    #[server(default)] require_dpop: Option<String>,
    #[server(default)] owner: String,
    #[server(default)] grant_types: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::domain::{ClientDescription, ClientName, RedirectUri};
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let mut errors = FieldErrors::new();
    let owner_user_id = match owner.trim() {
        "" => None,
        raw => errors.check(
            "owner",
            raw.parse::<Uuid>()
                .map_err(|_| "Choose an API user of this site."),
        ),
    };
    let name = errors.check("name", ClientName::parse(&name));
    let description = errors.check("description", ClientDescription::parse(&description));
    let redirect_uri = errors.check(
        "redirect_uri",
        RedirectUri::parse(&redirect_uri, admin.state.settings.allow_loopback_redirects),
    );
    let scopes = errors.check("scopes", crate::domain::ScopeSet::from_inputs(&scopes));
    let grant_types = match grant_types.as_deref() {
        None => Some(None),
        raw => errors
            .check("grant_types", parse_grant_types(raw))
            .map(Some),
    };
    let (name, description, redirect_uri, scopes, grant_types) =
        errors.finish_with((name, description, redirect_uri, scopes, grant_types))?;
    let changes = clients::ClientChanges {
        name,
        description,
        redirect_uri,
        scopes,
        require_pkce: require_pkce.is_some(),
        require_dpop: require_dpop.is_some(),
        owner_user_id,
        grant_types,
    };
    clients::update(&admin.service(), client_uuid, changes).await?;
    Ok(())
}

/// An administrator of the client's site, with a recent password: regenerates the Consumer
/// Secret. `grace` is how many seconds the old secret keeps working (0: none; at most the
/// console's longest choice); `tokens` is `keep` or `revoke`; `lifetime` is `site` or the new
/// secret's lifetime in seconds. An older secret still in its grace period and used recently
/// is retired only with `retire_anyway=yes`; otherwise the refusal (on `retire_anyway`) says
/// when, from where and by what it was last used.
#[server(endpoint = "rotate_client_secret")]
pub async fn rotate_client_secret(
    csrf: String,
    client_uuid: Uuid,
    grace: i64,
    tokens: String,
    #[server(default)] lifetime: Option<String>,
    #[server(default)] current_password: Option<String>,
    #[server(default)] retire_anyway: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::domain::secret_lifetime::LifetimeChoice;
    use crate::server::{ctx, services::secrets};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let existing = secrets::ExistingTokens::from_form(&tokens).ok_or_else(|| {
        ConsoleError::invalid("tokens", "Choose whether existing tokens keep working.")
    })?;
    let lifetime = LifetimeChoice::parse_form(lifetime.as_deref().unwrap_or_default())
        .map_err(|message| ConsoleError::invalid("lifetime", message))?;
    // This replica's uses not yet written count as evidence for an old secret in use (a
    // failed write is logged; the background flush tries again).
    flush_uses(&admin.state).await;
    let rotation = secrets::Rotation {
        grace_seconds: grace,
        existing,
        lifetime,
        even_if_in_use: retire_anyway.as_deref() == Some("yes"),
    };
    let secret = secrets::rotate(&admin.service(), client_uuid, rotation).await?;
    admin.flash_secret(client_uuid, &secret).await?;
    leptos_axum::redirect(&format!("/clients/{client_uuid}"));
    Ok(())
}

/// An administrator of the client's site, with a recent password: retires an old secret
/// before its grace period ends. A secret used within the server's warning window is retired
/// only with `retire_anyway` ticked; otherwise the refusal says when and from where it was
/// last used.
#[server(endpoint = "retire_client_secret")]
pub async fn retire_client_secret(
    csrf: String,
    client_uuid: Uuid,
    slot_id: Uuid,
    #[server(default)] current_password: Option<String>,
    #[server(default)] retire_anyway: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::secrets};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    // This replica's uses not yet written count as evidence too.
    flush_uses(&admin.state).await;
    let even_if_in_use = retire_anyway.as_deref() == Some("yes");
    secrets::retire(&admin.service(), client_uuid, slot_id, even_if_in_use).await?;
    Ok(())
}

/// An administrator of the client's site: disables (`disabled=true`, `tokens` = `keep` or
/// `revoke`) or enables the client.
#[server(endpoint = "set_client_disabled")]
pub async fn set_client_disabled(
    csrf: String,
    client_uuid: Uuid,
    disabled: bool,
    #[server(default)] tokens: String,
) -> Result<(), ConsoleError> {
    use crate::server::{
        ctx,
        services::{clients, secrets::ExistingTokens},
    };
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let existing = match (disabled, ExistingTokens::from_form(&tokens)) {
        (false, _) => ExistingTokens::Keep,
        (true, Some(choice)) => choice,
        (true, None) => {
            return Err(ConsoleError::invalid(
                "tokens",
                "Choose whether existing tokens keep working.",
            ));
        }
    };
    clients::set_disabled(&admin.service(), client_uuid, disabled, existing).await?;
    leptos_axum::redirect(&format!("/clients/{client_uuid}"));
    Ok(())
}

/// An administrator of the client's site: moves it to the Deleted view, revoking every token
/// it holds; the Deleted view then offers to undo it.
#[server(endpoint = "delete_client")]
pub async fn delete_client(csrf: String, client_uuid: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    clients::delete(&admin.service(), client_uuid).await?;
    leptos_axum::redirect(&format!("/deleted?undo={client_uuid}"));
    Ok(())
}

/// An administrator of the client's site: accepts the current Terms of Use for it.
#[server(endpoint = "accept_client_terms")]
pub async fn accept_client_terms(
    csrf: String,
    client_uuid: Uuid,
    #[server(default)] accept_terms: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    clients::accept_current_terms(&admin.service(), client_uuid, accept_terms.is_some()).await?;
    Ok(())
}

/// An administrator of the client's site: revokes one grant (all its tokens).
#[server(endpoint = "revoke_client_grant")]
pub async fn revoke_client_grant(
    csrf: String,
    client_uuid: Uuid,
    grant_id: Uuid,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    clients::revoke_grant(&admin.service(), client_uuid, grant_id).await?;
    Ok(())
}

/// An application in a user's Security Settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedClient {
    /// Internal id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Consumer Key.
    pub client_id: String,
    /// Not disabled.
    pub active: bool,
    /// Registered (formatted).
    pub created: String,
}

/// A signed-in administrator: the applications `user_id` owns on the selected site.
#[server(endpoint = "list_owned_clients")]
pub async fn list_owned_clients(user_id: Uuid) -> Result<Vec<OwnedClient>, ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin().await?;
    let owned = clients::owned_by(&admin.state.db, &admin.acting(), admin.site.id, user_id).await?;
    Ok(owned
        .into_iter()
        .map(|c| OwnedClient {
            id: c.id,
            active: c.is_active(),
            created: crate::domain::Timestamp(c.created_at).format_utc(),
            name: c.name,
            client_id: c.client_id,
        })
        .collect())
}

/// Writes this replica's pending secret uses (the evidence "still in use" is judged on); a
/// failure is logged, not the caller's: the background flush tries again.
#[cfg(feature = "ssr")]
async fn flush_uses(state: &crate::server::AppState) {
    if let Err(error) = state.usage.flush(&state.db).await {
        tracing::warn!(error = %error.chain(), "writing usage counts failed");
    }
}
