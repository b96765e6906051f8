//! An API user requesting an application for themselves (the `/account` page): the same
//! registration rows as an administrator's registration, in the `pending` state, owned by the
//! requester, requiring PKCE, and without a secret (approval makes it, see `review`). Any later self-registration path goes through here, so the rules
//! of a request (who may ask, how many may wait, what it may ask for) live in one place.

use super::{
    checks::{allowed_scopes, require_api_user},
    rows::{self, Author, CheckedRegistration},
    store::insert_scopes,
};
use crate::domain::{
    ClientDescription, ClientName, GrantTypes, RedirectUri, Review, ScopeSet, Timestamp,
};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{client, site, site_membership as membership, user},
    keys::Keys,
    services::audit,
    settings::Settings,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

/// How many of one user's requests may wait on one site at a time: enough for real work, too
/// few to flood the administrators' Pending list.
pub const MAX_PENDING_PER_USER: u64 = 5;

/// What "Request a new application" submits, already parsed.
#[derive(Debug, Clone)]
pub struct ApplicationRequest {
    /// The site to register it on (one where the requester is an API user).
    pub site_id: Uuid,
    /// Name.
    pub name: ClientName,
    /// Description.
    pub description: ClientDescription,
    /// The one https redirect URI.
    pub redirect_uri: RedirectUri,
    /// Scopes from the site's catalogue (empty: `profile`).
    pub scopes: ScopeSet,
    /// The Terms of Use box was ticked.
    pub terms_accepted: bool,
}

/// Records `request` by `requester` (an active API user of its site) as a pending client they
/// own, with no secret: it never authenticates until approved, and its secret's lifetime
/// starts at approval. Refused beyond [`MAX_PENDING_PER_USER`] waiting requests on the site,
/// counted under locks on the requester's user row, then membership (the order role changes
/// take them in), so parallel requests cannot slip past the limit.
pub async fn request(
    db: &DatabaseConnection,
    keys: &Keys,
    settings: &Settings,
    requester: &user::Model,
    address: Option<String>,
    request: ApplicationRequest,
    now: Timestamp,
) -> Result<client::Model, ServiceError> {
    if !request.terms_accepted {
        return Err(ServiceError::invalid(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to request an application.",
        ));
    }
    let txn = begin_write(db).await?;
    user::Entity::find_by_id(requester.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    membership::Entity::find_by_id((request.site_id, requester.id))
        .lock_exclusive()
        .one(&txn)
        .await?;
    let owner = require_api_user(&txn, request.site_id, requester.id)
        .await
        .map_err(|_| ServiceError::invalid("site_id", "Choose one of your sites."))?;
    let site = site::Entity::find_by_id(request.site_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let waiting = client::Entity::find()
        .filter(client::Column::SiteId.eq(site.id))
        .filter(client::Column::OwnerUserId.eq(owner.id))
        .filter(client::Column::Review.eq(Review::Pending.as_str()))
        .filter(client::Column::DeletedAt.is_null())
        .count(&txn)
        .await?;
    if waiting >= MAX_PENDING_PER_USER {
        return Err(ServiceError::Conflict(format!(
            "You already have {waiting} requests waiting for approval on {}: wait for a decision first.",
            site.name
        )));
    }
    let scopes = allowed_scopes(&txn, site.id, &request.scopes).await?;
    let rows = rows::registration_rows(
        keys,
        settings.secret_policy,
        &Author::api_user(&owner, address),
        CheckedRegistration {
            site_id: site.id,
            name: &request.name,
            description: &request.description,
            redirect_uri: &request.redirect_uri,
            owner: Some(&owner),
            // A request by an API user is for an application acting for people.
            grant_types: GrantTypes::AUTHORIZATION_CODE,
            scopes: &scopes,
            require_pkce: true,
            require_dpop: false,
            terms_version: &settings.terms.version,
            secret_lifetime: site.secret_lifetime,
            review: Review::Pending,
        },
        now,
    )?;
    // The rows' first slot is not written: a request has no secret until it is approved.
    let created = rows.client.insert(&txn).await?;
    insert_scopes(&txn, rows.scopes).await?;
    rows.terms.insert(&txn).await?;
    for event in rows.events {
        audit::record(&txn, keys, event, now).await?;
    }
    txn.commit().await?;
    Ok(created)
}
