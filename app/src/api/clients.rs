//! The API Clients tab, "Create a New API Client" / "Register New Application", and the client
//! details page: Consumer Key and Secret, reveal, regenerate, retire, edit, disable, delete,
//! grants.

// Server function arguments are the form's fields, one per input.
#![allow(clippy::too_many_arguments)]

use super::SiteOption;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows per page of the API Clients table.
pub const CLIENTS_PER_PAGE: u64 = 25;

/// One row of the API Clients table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListRow {
    /// Internal id (links).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Consumer Key.
    pub client_id: String,
    /// Owner's username.
    pub owner: String,
    /// Registered (formatted).
    pub created: String,
    /// Last token activity (formatted), if any.
    pub last_used: Option<String>,
    /// False when disabled.
    pub active: bool,
}

/// A page of the API Clients table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListPage {
    /// Rows.
    pub rows: Vec<ClientListRow>,
    /// Matches on all pages.
    pub total: u64,
    /// This page (from 0).
    pub page: u64,
    /// Pages (at least 1).
    pub pages: u64,
    /// The selected site.
    pub site_name: String,
}

/// A scope of the catalogue, for checkboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOption {
    /// Name.
    pub name: String,
    /// What it allows.
    pub description: String,
}

/// An API user who may own a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerOption {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
}

/// What the registration form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationOptions {
    /// The site the client will belong to.
    pub site: SiteOption,
    /// Active API users of the site.
    pub owners: Vec<OwnerOption>,
    /// The site's scope catalogue.
    pub scopes: Vec<ScopeOption>,
    /// The Terms of Use version being accepted.
    pub terms_version: String,
    /// Loopback http redirect URIs are allowed on this server.
    pub allow_loopback: bool,
    /// The administrator's password must come with the registration (not entered recently).
    pub needs_password: bool,
}

/// One secret slot on the details page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSlotView {
    /// Slot id.
    pub id: Uuid,
    /// Last four characters.
    pub hint: String,
    /// `current`, `grace` (old, still valid) or `retired`.
    pub state: String,
    /// Created (formatted).
    pub created: String,
    /// When a grace period ends / ended.
    pub valid_until: Option<String>,
    /// Last successful use (formatted).
    pub last_used: Option<String>,
    /// Successful uses.
    pub use_count: i64,
    /// Can be revealed (kept encrypted) and still valid.
    pub revealable: bool,
}

/// A Terms of Use acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsRecord {
    /// Version accepted.
    pub version: String,
    /// Who.
    pub by: String,
    /// When (formatted).
    pub at: String,
    /// From which address.
    pub from: Option<String>,
}

/// One live grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    /// Family id.
    pub id: Uuid,
    /// The API user.
    pub username: String,
    /// Scope granted.
    pub scope: String,
    /// Authorized at (formatted).
    pub created: String,
}

/// Everything on the client details page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetail {
    /// Internal id.
    pub id: Uuid,
    /// Consumer Key.
    pub client_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Redirect URI.
    pub redirect_uri: String,
    /// Owner's username.
    pub owner: String,
    /// Owner's id.
    pub owner_id: Uuid,
    /// Who may own it instead (the site's active API users), for the edit form.
    pub owners: Vec<OwnerOption>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// PKCE required.
    pub require_pkce: bool,
    /// Not disabled.
    pub active: bool,
    /// Registered (formatted).
    pub created: String,
    /// Registered by.
    pub created_by: String,
    /// Last token activity.
    pub last_used: Option<String>,
    /// Secret slots, newest first.
    pub secrets: Vec<SecretSlotView>,
    /// Secrets can be revealed on this server (not show-once).
    pub reveal_policy: bool,
    /// A secret just issued or revealed: (hint, secret). Shown once.
    pub revealed: Option<(String, String)>,
    /// Latest Terms of Use acceptance.
    pub terms: Option<TermsRecord>,
    /// Current Terms of Use version.
    pub current_terms_version: String,
    /// Live access tokens.
    pub active_access_tokens: u64,
    /// Live grants.
    pub active_grants: u64,
    /// API users behind the live grants.
    pub api_users: Vec<String>,
    /// The newest live grants.
    pub grants: Vec<GrantView>,
    /// The site's scope catalogue (for the edit form).
    pub catalogue: Vec<ScopeOption>,
    /// Tokens issued to this client per day, last 30 days.
    pub tokens_per_day: Vec<crate::api::DailyBar>,
    /// The newest audit events where this client acted or was acted upon.
    pub history: Vec<crate::api::audit::AuditRow>,
    /// Secret actions need the administrator's password (not entered recently).
    pub needs_password: bool,
}

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
) -> Result<ClientListPage, ConsoleError> {
    use crate::server::{ctx, services::clients};
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
    };
    let found = clients::list(
        &admin.state.db,
        &admin.acting(),
        admin.site.id,
        &query,
        admin.state.clock.now(),
    )
    .await?;
    Ok(ClientListPage {
        rows: found
            .rows
            .into_iter()
            .map(|row| ClientListRow {
                id: row.client.id,
                active: row.client.is_active(),
                created: crate::domain::Timestamp(row.client.created_at).format_utc(),
                last_used: crate::domain::Timestamp::format_optional(row.client.last_used_at),
                name: row.client.name,
                client_id: row.client.client_id,
                owner: row.owner,
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
        site: SiteOption {
            id: admin.site.id,
            name: admin.site.name.clone(),
        },
        owners,
        scopes: scopes::catalogue(&admin.state.db, admin.site.id)
            .await?
            .into_iter()
            .map(|s| ScopeOption {
                name: s.name,
                description: s.description,
            })
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
    Ok(
        users::api_users_of_site(&admin.state.db, &admin.acting(), site_id)
            .await?
            .into_iter()
            .map(|user| OwnerOption {
                id: user.id,
                username: user.username,
            })
            .collect(),
    )
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
    owner: String,
    #[server(default)] scopes: ScopeInputs,
    #[server(default)] require_pkce: Option<String>,
    #[server(default)] accept_terms: Option<String>,
    #[server(default)] current_password: Option<String>,
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
    let owner_user_id = errors.check(
        "owner",
        owner
            .trim()
            .parse::<Uuid>()
            .map_err(|_| "Choose the API user this application acts for."),
    );
    let scopes = errors.check("scopes", crate::domain::ScopeSet::from_inputs(&scopes));
    if accept_terms.is_none() {
        errors.push(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to register an application.",
        );
    }
    errors.finish()?;
    let (Some(name), Some(description), Some(redirect_uri), Some(owner_user_id), Some(scopes)) =
        (name, description, redirect_uri, owner_user_id, scopes)
    else {
        return Err(ConsoleError::Transport("incomplete form".into()));
    };
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let settings = &admin.state.settings;
    let registration = clients::Registration {
        name,
        description,
        redirect_uri,
        scopes,
        owner_user_id,
        require_pkce: require_pkce.is_some(),
        terms_accepted: accept_terms.is_some(),
    };
    let (client, secret) = clients::register(
        &admin.state.db,
        &admin.state.keys,
        settings,
        &admin.acting(),
        admin.site.id,
        registration,
        admin.state.clock.now(),
    )
    .await?;
    admin.flash_secret(client.id, &secret).await?;
    leptos_axum::redirect(&format!("/clients/{}", client.id));
    Ok(client.id)
}

/// An administrator of the client's site: the details page.
#[server(endpoint = "get_client")]
pub async fn get_client(client_uuid: Uuid) -> Result<ClientDetail, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{
        ctx,
        services::{audit, clients, grants, scopes, usage_charts},
        state::SecretPolicy,
    };
    let admin = ctx::require_admin().await?;
    let now = admin.state.clock.now();
    let view = clients::view(&admin.state.db, &admin.acting(), client_uuid, now).await?;
    let live = grants::live_grants(&admin.state.db, client_uuid, now, 50).await?;
    let catalogue = scopes::catalogue(&admin.state.db, view.client.site_id).await?;
    let revealed = admin.take_flashed_secret(client_uuid).await?;
    let newest = view.secrets.first().map(|s| s.id);
    let tokens_per_day = usage_charts::client_daily(&admin.state.db, client_uuid, 30, now).await?;
    let history = audit::query::search(
        &admin.state.db,
        &admin.acting(),
        view.client.site_id,
        &audit::query::AuditFilter {
            client: Some(view.client.client_id.clone()),
            ..Default::default()
        },
        audit::query::Cursor::Newest,
        CLIENT_HISTORY_EVENTS,
    )
    .await?;
    Ok(ClientDetail {
        id: view.client.id,
        client_id: view.client.client_id.clone(),
        name: view.client.name.clone(),
        description: view.client.description.clone(),
        redirect_uri: view.client.redirect_uri.clone(),
        owner: view.owner.username.clone(),
        owner_id: view.owner.id,
        owners: owner_options(&admin, view.client.site_id).await?,
        scopes: view.scopes.clone(),
        require_pkce: view.client.require_pkce,
        active: view.client.is_active(),
        created: Timestamp(view.client.created_at).format_utc(),
        created_by: view.client.created_by_label.clone(),
        last_used: crate::domain::Timestamp::format_optional(view.client.last_used_at),
        secrets: view
            .secrets
            .iter()
            .map(|slot| {
                let valid = slot.is_valid_at(now.unix());
                SecretSlotView {
                    id: slot.id,
                    hint: slot.hint.clone(),
                    state: if !valid {
                        "retired".into()
                    } else if Some(slot.id) == newest {
                        "current".into()
                    } else {
                        "grace".into()
                    },
                    created: Timestamp(slot.created_at).format_utc(),
                    valid_until: crate::domain::Timestamp::format_optional(
                        slot.retired_at.or(slot.expires_at),
                    ),
                    last_used: crate::domain::Timestamp::format_optional(slot.last_used_at),
                    use_count: slot.use_count,
                    revealable: valid && slot.ciphertext.is_some(),
                }
            })
            .collect(),
        reveal_policy: admin.state.settings.secret_policy == SecretPolicy::Reveal,
        revealed,
        terms: view.terms.map(|t| TermsRecord {
            version: t.terms_version,
            by: t.accepted_by_label,
            at: Timestamp(t.accepted_at).format_utc(),
            from: t.accepted_from,
        }),
        current_terms_version: admin.state.settings.terms.version.clone(),
        active_access_tokens: view.usage.active_access_tokens,
        active_grants: view.usage.active_families,
        api_users: view.usage.api_users,
        grants: live
            .into_iter()
            .map(|g| GrantView {
                id: g.family.id,
                username: g.username,
                scope: g.family.scope,
                created: Timestamp(g.family.created_at).format_utc(),
            })
            .collect(),
        catalogue: catalogue
            .into_iter()
            .map(|s| ScopeOption {
                name: s.name,
                description: s.description,
            })
            .collect(),
        tokens_per_day: crate::api::daily_bars(tokens_per_day),
        history: history
            .rows
            .into_iter()
            .map(crate::api::audit::AuditRow::from)
            .collect(),
        needs_password: !admin.recently_authenticated(),
    })
}

/// How many audit events the client details page lists (the rest: the Audit Log, filtered).
#[cfg(feature = "ssr")]
const CLIENT_HISTORY_EVENTS: u64 = 10;

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
    let secret = secrets::reveal(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        slot_id,
        admin.state.clock.now(),
    )
    .await?;
    admin.flash_secret(client_uuid, &secret).await
}

/// An administrator of the client's site: edits name, description, redirect URI, scopes, the
/// PKCE requirement and the owner (another active API user of the site).
#[server(endpoint = "update_client")]
pub async fn update_client(
    csrf: String,
    client_uuid: Uuid,
    name: String,
    description: String,
    redirect_uri: String,
    #[server(default)] scopes: ScopeInputs,
    #[server(default)] require_pkce: Option<String>,
    #[server(default)] owner: String,
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
    errors.finish()?;
    let (Some(name), Some(description), Some(redirect_uri), Some(scopes)) =
        (name, description, redirect_uri, scopes)
    else {
        return Err(ConsoleError::Transport("incomplete form".into()));
    };
    let changes = clients::ClientChanges {
        name,
        description,
        redirect_uri,
        scopes,
        require_pkce: require_pkce.is_some(),
        owner_user_id,
    };
    clients::update(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        changes,
        admin.state.clock.now(),
    )
    .await?;
    Ok(())
}

/// An administrator of the client's site, with a recent password: regenerates the Consumer
/// Secret. `grace` is how many seconds the old secret keeps working (0: none; at most the
/// console's longest choice); `tokens` is `keep` or `revoke`.
#[server(endpoint = "rotate_client_secret")]
pub async fn rotate_client_secret(
    csrf: String,
    client_uuid: Uuid,
    grace: i64,
    tokens: String,
    #[server(default)] current_password: Option<String>,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::secrets};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let existing = secrets::ExistingTokens::from_form(&tokens).ok_or_else(|| {
        ConsoleError::invalid("tokens", "Choose whether existing tokens keep working.")
    })?;
    let state = &admin.state;
    let secret = secrets::rotate(
        &state.db,
        &state.keys,
        &state.settings,
        &admin.acting(),
        client_uuid,
        secrets::Rotation {
            grace_seconds: grace,
            existing,
        },
        state.clock.now(),
    )
    .await?;
    admin.flash_secret(client_uuid, &secret).await?;
    leptos_axum::redirect(&format!("/clients/{client_uuid}"));
    Ok(())
}

/// An administrator of the client's site, with a recent password: retires an old secret
/// before its grace period ends.
#[server(endpoint = "retire_client_secret")]
pub async fn retire_client_secret(
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
    secrets::retire(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        slot_id,
        admin.state.clock.now(),
    )
    .await?;
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
    clients::set_disabled(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        disabled,
        existing,
        admin.state.clock.now(),
    )
    .await?;
    leptos_axum::redirect(&format!("/clients/{client_uuid}"));
    Ok(())
}

/// An administrator of the client's site: deletes it with every token it holds.
#[server(endpoint = "delete_client")]
pub async fn delete_client(csrf: String, client_uuid: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    clients::delete(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        admin.state.clock.now(),
    )
    .await?;
    leptos_axum::redirect("/clients");
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
    let state = &admin.state;
    clients::accept_current_terms(
        &state.db,
        &state.keys,
        &state.settings,
        &admin.acting(),
        client_uuid,
        accept_terms.is_some(),
        state.clock.now(),
    )
    .await?;
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
    clients::revoke_grant(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        client_uuid,
        grant_id,
        admin.state.clock.now(),
    )
    .await?;
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
