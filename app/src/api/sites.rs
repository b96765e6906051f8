//! The Sites tab: the sites an administrator administers; create and rename.

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One row of the Sites table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRow {
    /// Site id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Created (formatted).
    pub created: String,
    /// Users with any role there.
    pub users: u64,
    /// This is the site the console is scoped to.
    pub selected: bool,
}

/// A signed-in administrator: the sites they administer.
#[server(endpoint = "list_sites")]
pub async fn list_sites() -> Result<Vec<SiteRow>, ConsoleError> {
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin().await?;
    let rows = sites::overview(&admin.state.db, &admin.acting()).await?;
    Ok(rows
        .into_iter()
        .map(|(site, users)| SiteRow {
            selected: site.id == admin.site.id,
            created: crate::domain::Timestamp(site.created_at).format_utc(),
            id: site.id,
            name: site.name,
            users,
        })
        .collect())
}

/// A signed-in administrator: creates a site (they become its site administrator).
#[server(endpoint = "create_site")]
pub async fn create_site(csrf: String, name: String) -> Result<Uuid, ConsoleError> {
    use crate::domain::SiteName;
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let name = SiteName::parse(&name).map_err(|e| ConsoleError::invalid("name", e.to_string()))?;
    let site = sites::create(&admin.service(), &name).await?;
    Ok(site.id)
}

/// An administrator of the site: renames it.
#[server(endpoint = "rename_site")]
pub async fn rename_site(csrf: String, site_id: Uuid, name: String) -> Result<(), ConsoleError> {
    use crate::domain::SiteName;
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let name = SiteName::parse(&name).map_err(|e| ConsoleError::invalid("name", e.to_string()))?;
    sites::rename(&admin.service(), site_id, &name).await?;
    Ok(())
}

/// A site's settings page: its name and scope catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    /// Site id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Catalogue: (name, description).
    pub scopes: Vec<(String, String)>,
    /// How long new secrets stay valid (seconds; `None`: they never expire).
    pub secret_lifetime: Option<i64>,
    /// How long a consent given at the prompt is remembered (seconds; 0: never).
    pub consent_lifetime: i64,
    /// Its resource servers (RFC 8707), by URI.
    pub resources: Vec<String>,
    /// Latchkey's own API as a resource server, to suggest.
    pub own_resource: String,
    /// What its new access tokens look like.
    pub access_token_format: crate::domain::AccessTokenFormat,
    /// Where the keys that verify JWT access tokens are published.
    pub jwks_uri: String,
}

/// An administrator of the site: its settings.
#[server(endpoint = "get_site_settings")]
pub async fn get_site_settings(site_id: Uuid) -> Result<SiteSettings, ConsoleError> {
    use crate::server::{
        ctx,
        services::{scopes, site_resources},
    };
    let admin = ctx::require_admin().await?;
    let site = admin
        .acting()
        .require_site_admin(&admin.state.db, site_id)
        .await?;
    let catalogue = scopes::catalogue(&admin.state.db, site.id).await?;
    Ok(SiteSettings {
        resources: site_resources::list(&admin.state.db, site.id).await?,
        own_resource: site_resources::own_resource(&admin.state.settings),
        access_token_format: crate::domain::AccessTokenFormat::from_stored(
            &site.access_token_format,
        ),
        jwks_uri: crate::server::services::signing_keys::jwks_uri(&admin.state.settings),
        id: site.id,
        name: site.name,
        secret_lifetime: site.secret_lifetime,
        consent_lifetime: site.consent_lifetime,
        scopes: catalogue
            .into_iter()
            .map(|s| (s.name, s.description))
            .collect(),
    })
}

/// An administrator of the site: adds a scope to its catalogue.
#[server(endpoint = "add_site_scope")]
pub async fn add_site_scope(
    csrf: String,
    site_id: Uuid,
    name: String,
    description: String,
) -> Result<(), ConsoleError> {
    use crate::domain::ScopeName;
    use crate::server::{ctx, services::scopes};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let name = ScopeName::parse(&name).map_err(|e| ConsoleError::invalid("name", e.to_string()))?;
    scopes::add(&admin.service(), site_id, &name, &description).await?;
    Ok(())
}

/// An administrator of the site: sets how long its clients' new secrets stay valid
/// (`secret_lifetime`: seconds, one of the console's choices; `0`: never expire). Secrets
/// already issued keep their expiry.
#[server(endpoint = "set_site_secret_lifetime")]
pub async fn set_site_secret_lifetime(
    csrf: String,
    site_id: Uuid,
    secret_lifetime: String,
) -> Result<(), ConsoleError> {
    use crate::domain::secret_lifetime::LifetimeChoice;
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let lifetime = secret_lifetime
        .trim()
        .parse::<i64>()
        .map_err(|_| "Choose how long new secrets stay valid.".to_owned())
        .and_then(LifetimeChoice::seconds)
        .map_err(|message| ConsoleError::invalid("secret_lifetime", message))?;
    sites::set_secret_lifetime(&admin.service(), site_id, lifetime).await?;
    Ok(())
}

/// An administrator of the site: sets how long a consent given at the authorization prompt is
/// remembered (`consent_lifetime`: seconds; `0`: never, the prompt is always shown).
#[server(endpoint = "set_site_consent_lifetime")]
pub async fn set_site_consent_lifetime(
    csrf: String,
    site_id: Uuid,
    consent_lifetime: String,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let seconds = consent_lifetime.trim().parse::<i64>().map_err(|_| {
        ConsoleError::invalid(
            "consent_lifetime",
            "Choose how long a consent is remembered.",
        )
    })?;
    sites::set_consent_lifetime(&admin.service(), site_id, seconds).await?;
    Ok(())
}

/// An administrator of the site: chooses what its new access tokens look like
/// (`access_token_format`: `opaque` or `jwt`). Tokens already issued keep their form.
#[server(endpoint = "set_site_access_token_format")]
pub async fn set_site_access_token_format(
    csrf: String,
    site_id: Uuid,
    access_token_format: String,
) -> Result<(), ConsoleError> {
    use crate::domain::AccessTokenFormat;
    use crate::server::{ctx, services::sites};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let format = AccessTokenFormat::parse(&access_token_format)
        .map_err(|invalid| ConsoleError::invalid("access_token_format", invalid.0))?;
    sites::set_access_token_format(&admin.service(), site_id, format).await?;
    Ok(())
}

/// An administrator of the site: removes an unused scope from its catalogue.
#[server(endpoint = "remove_site_scope")]
pub async fn remove_site_scope(
    csrf: String,
    site_id: Uuid,
    name: String,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::scopes};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    scopes::remove(&admin.service(), site_id, &name).await?;
    Ok(())
}

/// An administrator of the site: adds a resource server (RFC 8707) its tokens may be narrowed
/// to.
#[server(endpoint = "add_site_resource")]
pub async fn add_site_resource(
    csrf: String,
    site_id: Uuid,
    uri: String,
) -> Result<(), ConsoleError> {
    use crate::domain::ResourceUri;
    use crate::server::{ctx, services::site_resources};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let uri = ResourceUri::parse(&uri, admin.state.settings.allow_loopback_redirects)
        .map_err(|e| ConsoleError::invalid("uri", e.to_string()))?;
    site_resources::add(&admin.service(), site_id, &uri).await?;
    Ok(())
}

/// An administrator of the site: removes a resource server from its list.
#[server(endpoint = "remove_site_resource")]
pub async fn remove_site_resource(
    csrf: String,
    site_id: Uuid,
    uri: String,
) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::site_resources};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    site_resources::remove(&admin.service(), site_id, &uri).await?;
    Ok(())
}
