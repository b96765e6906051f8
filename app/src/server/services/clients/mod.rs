//! API clients: registration (with Terms of Use acceptance), the API Clients list, details,
//! edits, disable/enable, and delete with undo. Secrets live in `secrets`; grants in `token_families`.

mod checks;
mod deletion;
mod grant_change;
mod list;
mod owned;
mod registration;
mod request;
pub mod review;
mod revision;
pub mod rows;
mod stale;
mod store;
mod view;

pub use deletion::{
    DeletedClient, delete, delete_if, deleted_on_site, purge, purge_expired, restore,
};
pub use list::{ClientPage, ClientQuery, ClientRow, ClientSort, list};
pub use owned::{OwnedClient, own_clients};
pub use registration::{Registration, register};
pub use request::{ApplicationRequest, MAX_PENDING_PER_USER, request};
pub use revision::revision;
pub use rows::{CheckedRegistration, RegistrationRows};
pub use stale::announce_stale;
pub use view::{CHART_DAYS, ClientView, HISTORY_EVENTS, LISTED_GRANTS, client_scopes, view};

pub use checks::stored_scopes;
use checks::{allowed_scopes, require_api_user};
use store::{record_terms, write_scopes};

use crate::domain::{ClientDescription, ClientName, GrantTypes, RedirectUri, ScopeSet};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, TokenKind},
    db::begin_write,
    entities::client,
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target},
        consents,
        context::ServiceContext,
        secrets, token_families, users,
    },
};

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

/// New values for a client's editable fields.
#[derive(Debug, Clone)]
pub struct ClientChanges {
    /// Name.
    pub name: ClientName,
    /// Description.
    pub description: ClientDescription,
    /// Redirect URI.
    pub redirect_uri: RedirectUri,
    /// Scopes (empty: `profile`).
    pub scopes: ScopeSet,
    /// Require PKCE.
    pub require_pkce: bool,
    /// Require a DPoP proof with every token request.
    pub require_dpop: bool,
    /// A new owner (an active API user of the client's site); `None` keeps the current one.
    pub owner_user_id: Option<Uuid>,
    /// The grants it is registered for; `None` keeps them. Taking one away revokes what it
    /// issued (`grant_change`); adding the authorization code grant to a client without an
    /// owner needs one.
    pub grant_types: Option<GrantTypes>,
}

/// Edits a client; the audit event lists what changed.
pub async fn update(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    changes: ClientChanges,
) -> Result<client::Model, ServiceError> {
    update_if(cx, client_uuid, changes, None).await
}

/// Edits a client if its [`revision`] is still `expected` (checked under the row's lock, in the
/// edit's own transaction, so two automations cannot both win); `None` edits unconditionally.
pub async fn update_if(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    changes: ClientChanges,
    expected: Option<&str>,
) -> Result<client::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    // Taking a grant type away revokes what it issued, so the client's grants are locked
    // first, in the order a deletion or a rotation takes them (grants, then the client row).
    if let Some(wanted) = changes.grant_types {
        let before = client::Entity::find_by_id(client_uuid).one(&txn).await?;
        if before.is_some_and(|c| grant_change::takes_away(c.grant_types(), wanted)) {
            token_families::lock_client_families(&txn, client_uuid).await?;
        }
    }
    revision::lock(&txn, client_uuid).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let old_scopes = client_scopes(&txn, client_uuid).await?;
    revision::expect(&current, &old_scopes, expected)?;
    let scopes = allowed_scopes(&txn, current.site_id, &changes.scopes).await?;
    let mut changed = serde_json::Map::new();
    let mut note = |field: &str, from: serde_json::Value, to: serde_json::Value| {
        if from != to {
            changed.insert(field.to_owned(), json!({"from": from, "to": to}));
        }
    };
    note("name", json!(current.name), json!(changes.name.as_str()));
    note(
        "description",
        json!(current.description),
        json!(changes.description.as_str()),
    );
    note(
        "redirect_uri",
        json!(current.redirect_uri),
        json!(changes.redirect_uri.as_str()),
    );
    note(
        "scopes",
        json!(old_scopes.to_string()),
        json!(scopes.to_string()),
    );
    note(
        "require_pkce",
        json!(current.require_pkce),
        json!(changes.require_pkce),
    );
    note(
        "require_dpop",
        json!(current.require_dpop),
        json!(changes.require_dpop),
    );
    let new_owner = match changes.owner_user_id {
        Some(owner_id) if Some(owner_id) != current.owner_user_id => {
            let old_owner = users::username_of(&txn, current.owner_user_id).await?;
            let owner = require_api_user(&txn, current.site_id, owner_id).await?;
            note("owner", json!(old_owner), json!(owner.username));
            Some(owner.id)
        }
        _ => None,
    };
    let grant_types = changes.grant_types.unwrap_or_else(|| current.grant_types());
    if !grant_types.is_machine_only() && new_owner.or(current.owner_user_id).is_none() {
        return Err(ServiceError::invalid(
            "owner",
            "An application that uses the authorization code grant acts for an API user: choose \
             its owner.",
        ));
    }
    let old_grants = current.grant_types();
    note(
        "grant_types",
        json!(old_grants.names()),
        json!(grant_types.names()),
    );
    if changed.is_empty() {
        return Ok(current);
    }
    let mut update = current.into_active_model();
    update.name = Set(changes.name.as_str().to_owned());
    update.name_key = Set(changes.name.key());
    update.description = Set(changes.description.as_str().to_owned());
    update.redirect_uri = Set(changes.redirect_uri.as_str().to_owned());
    update.require_pkce = Set(changes.require_pkce);
    update.require_dpop = Set(changes.require_dpop);
    if let Some(owner) = new_owner {
        update.owner_user_id = Set(Some(owner));
    }
    update.grant_types = Set(grant_types.to_stored());
    update.updated_at = Set(now.unix());
    let updated = update.update(&txn).await?;
    write_scopes(&txn, updated.id, &scopes).await?;
    grant_change::withdraw(&txn, &updated, old_grants, now).await?;
    let fields: Vec<String> = changed.keys().cloned().collect();
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(updated.site_id),
            Action::ClientUpdated,
            acting.actor(),
            format!(
                "API client \"{}\" edited ({})",
                updated.name,
                fields.join(", ")
            ),
        )
        .target(Target::client(&updated))
        .details(serde_json::Value::Object(changed)),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Disables (clients then get `invalid_client`) or enables a client; disabling may also
/// revoke every grant.
pub async fn set_disabled(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    disabled: bool,
    existing: secrets::ExistingTokens,
) -> Result<client::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let revoked = if disabled && existing == secrets::ExistingTokens::RevokeAll {
        token_families::revoke_all_for_client(&txn, current.id, "client disabled", now).await?
    } else {
        0
    };
    if current.disabled_at.is_some() == disabled && revoked == 0 {
        return Ok(current);
    }
    let mut update = current.into_active_model();
    update.disabled_at = Set(disabled.then_some(now.unix()));
    update.updated_at = Set(now.unix());
    let updated = update.update(&txn).await?;
    if disabled {
        // After the row's update (its lock): a consent written meanwhile is seen and goes too.
        // Re-enabled, the client asks its users again.
        consents::forget(&txn, consents::of_client(updated.id)).await?;
    }
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(updated.site_id),
            if disabled {
                Action::ClientDisabled
            } else {
                Action::ClientEnabled
            },
            acting.actor(),
            format!(
                "API client \"{}\" {}{}",
                updated.name,
                if disabled { "disabled" } else { "enabled" },
                if revoked > 0 {
                    format!("; {revoked} grant(s) revoked")
                } else {
                    String::new()
                }
            ),
        )
        .target(Target::client(&updated))
        .details(json!({"grants_revoked": revoked})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Records acceptance of the current Terms of Use for a client that accepted an older
/// version.
pub async fn accept_current_terms(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    accepted: bool,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings,
        acting,
        now,
    } = *cx;
    if !accepted {
        return Err(ServiceError::invalid(
            "accept_terms",
            "Tick the box to accept the Terms of Use.",
        ));
    }
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    if current.terms_version == settings.terms.version {
        return Ok(());
    }
    record_terms(&txn, keys, acting, &current, &settings.terms.version, now).await?;
    let mut update = current.into_active_model();
    update.terms_version = Set(settings.terms.version.clone());
    update.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Revokes one grant of a client (every token issued under it).
pub async fn revoke_grant(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    family_id: Uuid,
) -> Result<(), ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    use crate::server::entities::token_family;
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let family = token_family::Entity::find_by_id(family_id)
        .one(&txn)
        .await?
        .filter(|f| f.client_uuid == client_uuid)
        .ok_or(ServiceError::NotFound)?;
    if token_families::revoke_family(&txn, family.id, "revoked by administrator", now).await? {
        let username = match family.user_id {
            Some(_) => users::username_of(&txn, family.user_id)
                .await?
                .unwrap_or_default(),
            None => crate::domain::CLIENT_ITSELF.to_owned(),
        };
        audit::record(
            &txn,
            keys,
            NewEvent::new(
                Some(current.site_id),
                Action::TokensRevoked,
                acting.actor(),
                format!("Grant of {username} to \"{}\" revoked", current.name),
            )
            .target(Target::client(&current))
            .details(json!({"grant": family.id, "api_user": username})),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Clients owned by `user_id` on `site_id` (the user's Security Settings).
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<client::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(client::Entity::find()
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client::Column::OwnerUserId.eq(user_id))
        .filter(client::Column::DeletedAt.is_null())
        .order_by_asc(client::Column::NameKey)
        .all(conn)
        .await?)
}

/// The client with this Consumer Key (no permission check: used by the token server after
/// the shape check).
pub async fn find_by_client_id(
    conn: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<client::Model>, ServiceError> {
    if !tokens::is_well_formed(TokenKind::ClientId, client_id) {
        return Ok(None);
    }
    Ok(client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(conn)
        .await?)
}
