//! Registering a client: the Terms of Use gate, the owner and scope checks, and the rows of
//! `rows.rs` written in one transaction.

use super::{
    checks::{allowed_scopes, require_api_user},
    rows::{self, CheckedRegistration},
    store::insert_scopes,
};
use crate::domain::{
    ClientDescription, ClientName, GrantTypes, RedirectUri, Review, ScopeSet,
    secret_lifetime::LifetimeChoice,
};
use crate::server::{
    ServiceError,
    crypto::tokens::Secret,
    db::begin_write,
    entities::client,
    services::{
        audit::{self},
        context::ServiceContext,
    },
};

use sea_orm::ActiveModelTrait;
use uuid::Uuid;

/// What the registration form (or `latchkey client create`) submits, already parsed.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Name.
    pub name: ClientName,
    /// Description.
    pub description: ClientDescription,
    /// The one redirect URI.
    pub redirect_uri: RedirectUri,
    /// Scopes it may request (empty: the site's `profile`).
    pub scopes: ScopeSet,
    /// The API user it belongs to; `None` only for a machine client (client credentials
    /// only), which belongs to the site.
    pub owner_user_id: Option<Uuid>,
    /// The grants it is registered for.
    pub grant_types: GrantTypes,
    /// Refuse authorization requests without PKCE.
    pub require_pkce: bool,
    /// Refuse token requests without a DPoP proof (RFC 9449): its tokens are always bound.
    pub require_dpop: bool,
    /// "I have read and agree to the Latchkey API Terms of Use" was ticked.
    pub terms_accepted: bool,
    /// How long its first secret stays valid.
    pub secret_lifetime: LifetimeChoice,
}

/// Registers a client on a site the actor administers. Refused without Terms of Use
/// acceptance. Returns the client and its first secret (shown once by the caller).
pub async fn register(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    registration: Registration,
) -> Result<(client::Model, Secret), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    if !registration.terms_accepted {
        return Err(ServiceError::invalid(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to register an application.",
        ));
    }
    let txn = begin_write(db).await?;
    let site = acting.require_site_admin(&txn, site_id).await?;
    let owner = match registration.owner_user_id {
        Some(owner_id) => Some(require_api_user(&txn, site_id, owner_id).await?),
        None if registration.grant_types.is_machine_only() => None,
        None => {
            return Err(ServiceError::invalid(
                "owner",
                "Choose the API user the application acts for (only a client credentials \
                 client can belong to the site alone).",
            ));
        }
    };
    let scopes = allowed_scopes(&txn, site_id, &registration.scopes).await?;
    let rows = rows::registration_rows(
        keys,
        settings.secret_policy,
        &rows::Author::of(acting),
        CheckedRegistration {
            site_id,
            name: &registration.name,
            description: &registration.description,
            redirect_uri: &registration.redirect_uri,
            owner: owner.as_ref(),
            grant_types: registration.grant_types,
            scopes: &scopes,
            require_pkce: registration.require_pkce,
            require_dpop: registration.require_dpop,
            terms_version: &settings.terms.version,
            secret_lifetime: registration.secret_lifetime.resolve(site.secret_lifetime),
            review: Review::Approved,
        },
        now,
    )?;
    let created = rows.client.insert(&txn).await?;
    insert_scopes(&txn, rows.scopes).await?;
    rows.slot.insert(&txn).await?;
    rows.terms.insert(&txn).await?;
    for event in rows.events {
        audit::record(&txn, keys, event, now).await?;
    }
    txn.commit().await?;
    Ok((created, rows.secret))
}
