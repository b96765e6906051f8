//! API clients: registration (with Terms of Use acceptance), the API Clients list, details,
//! edits, disable/enable and delete. Secrets live in `secrets`; grants in `grants`.

use crate::domain::{ClientDescription, ClientName, RedirectUri, ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    db::begin_write,
    entities::{
        client, client_scope, client_secret, site_membership as membership, terms_acceptance, user,
    },
    keys::Keys,
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target},
        grants, scopes, secrets,
        users::escape_like,
    },
    state::Settings,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde_json::json;
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
    /// The API user it belongs to.
    pub owner_user_id: Uuid,
    /// Refuse authorization requests without PKCE.
    pub require_pkce: bool,
    /// "I have read and agree to the Latchkey API Terms of Use" was ticked.
    pub terms_accepted: bool,
}

/// Checks that `owner` is an active API user of `site_id`.
async fn require_api_user(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    owner: Uuid,
) -> Result<user::Model, ServiceError> {
    let member = membership::Entity::find_by_id((site_id, owner))
        .one(conn)
        .await?;
    let user = user::Entity::find_by_id(owner).one(conn).await?;
    match (member, user) {
        (Some(m), Some(user)) if m.is_api_user && user.is_active() => Ok(user),
        _ => Err(ServiceError::invalid(
            "owner",
            "Choose an active API user of this site.",
        )),
    }
}

/// Checks requested scopes against the site's catalogue; an empty request means `profile`.
async fn allowed_scopes(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    requested: &ScopeSet,
) -> Result<ScopeSet, ServiceError> {
    let catalogue = scopes::catalogue_set(conn, site_id).await?;
    let requested = if requested.is_empty() {
        ScopeSet::parse(crate::domain::ScopeName::PROFILE)
            .map_err(|e| ServiceError::caused("reading a stored scope", e))?
    } else {
        requested.clone()
    };
    let missing = requested.missing_from(&catalogue);
    if !missing.is_empty() {
        return Err(ServiceError::invalid(
            "scopes",
            format!("Not in this site's catalogue: {}.", missing.join(", ")),
        ));
    }
    Ok(requested)
}

async fn write_scopes(
    conn: &impl ConnectionTrait,
    client_uuid: Uuid,
    scopes: &ScopeSet,
) -> Result<(), ServiceError> {
    client_scope::Entity::delete_many()
        .filter(client_scope::Column::ClientUuid.eq(client_uuid))
        .exec(conn)
        .await?;
    for scope in scopes.iter() {
        client_scope::ActiveModel {
            client_uuid: Set(client_uuid),
            scope: Set(scope.as_str().to_owned()),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

async fn record_terms(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    client: &client::Model,
    version: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let actor = acting.actor();
    terms_acceptance::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        client_uuid: Set(client.id),
        terms_version: Set(version.to_owned()),
        accepted_by_user_id: Set(acting.admin_id()),
        accepted_by_label: Set(actor.label.clone()),
        accepted_at: Set(now.unix()),
        accepted_from: Set(actor.address.clone()),
    }
    .insert(conn)
    .await?;
    audit::record(
        conn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::TermsAccepted,
            actor.clone(),
            format!(
                "{} accepted the Terms of Use (version {version}) for \"{}\"",
                actor.label, client.name
            ),
        )
        .target(Target::client(client))
        .details(json!({"terms_version": version})),
        now,
    )
    .await?;
    Ok(())
}

/// Registers a client on a site the actor administers. Refused without Terms of Use
/// acceptance. Returns the client and its first secret (shown once by the caller).
pub async fn register(
    db: &DatabaseConnection,
    keys: &Keys,
    settings: &Settings,
    acting: &Acting,
    site_id: Uuid,
    registration: Registration,
    now: Timestamp,
) -> Result<(client::Model, Secret), ServiceError> {
    if !registration.terms_accepted {
        return Err(ServiceError::invalid(
            "accept_terms",
            "You must read and agree to the Latchkey API Terms of Use to register an application.",
        ));
    }
    let txn = begin_write(db).await?;
    acting.require_site_admin(&txn, site_id).await?;
    let owner = require_api_user(&txn, site_id, registration.owner_user_id).await?;
    let scopes = allowed_scopes(&txn, site_id, &registration.scopes).await?;
    let actor = acting.actor();
    let created = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        site_id: Set(site_id),
        client_id: Set(tokens::generate(TokenKind::ClientId)?),
        name: Set(registration.name.as_str().to_owned()),
        name_key: Set(registration.name.key()),
        description: Set(registration.description.as_str().to_owned()),
        redirect_uri: Set(registration.redirect_uri.as_str().to_owned()),
        owner_user_id: Set(owner.id),
        require_pkce: Set(registration.require_pkce),
        disabled_at: Set(None),
        created_by_user_id: Set(acting.admin_id()),
        created_by_label: Set(actor.label.clone()),
        created_at: Set(now.unix()),
        updated_at: Set(now.unix()),
        last_used_at: Set(None),
        terms_version: Set(settings.terms.version.clone()),
    }
    .insert(&txn)
    .await?;
    write_scopes(&txn, created.id, &scopes).await?;
    let (slot, secret) = secrets::insert_new(
        &txn,
        keys,
        settings.secret_policy,
        &created,
        &actor.label,
        now,
    )
    .await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(site_id),
            Action::ClientRegistered,
            actor,
            format!(
                "API client \"{}\" registered for {}",
                created.name, owner.username
            ),
        )
        .target(Target::client(&created))
        .details(json!({
            "client_id": created.client_id,
            "owner": owner.username,
            "redirect_uri": created.redirect_uri,
            "scopes": scopes.to_string(),
            "require_pkce": created.require_pkce,
            "secret_hint": slot.hint,
        })),
        now,
    )
    .await?;
    record_terms(&txn, keys, acting, &created, &settings.terms.version, now).await?;
    txn.commit().await?;
    Ok((created, secret))
}

/// Columns the API Clients list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ClientSort {
    /// Name, A to Z.
    Name,
    /// Owner's username.
    Owner,
    /// Registration time.
    Created,
    /// Last token activity.
    LastUsed,
    /// Active first, then disabled.
    Status,
}

/// A query of the API Clients list.
#[derive(Debug, Clone)]
pub struct ClientQuery {
    /// Matches name (any case), or exactly the Consumer Key.
    pub search: String,
    /// Sort column.
    pub sort: ClientSort,
    /// Descending order.
    pub descending: bool,
    /// Page, from 0.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
    /// Only clients not used for at least this many days (never-used ones included).
    pub unused_for_days: Option<i64>,
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// The client.
    pub client: client::Model,
    /// Owner's username.
    pub owner: String,
}

/// A page of the list.
#[derive(Debug, Clone)]
pub struct ClientPage {
    /// Rows.
    pub rows: Vec<ClientRow>,
    /// Matches on all pages.
    pub total: u64,
}

/// The API Clients of a site the actor administers: one indexed query for the page (the
/// owner comes from a join, not a query per row) and one count.
pub async fn list(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
    query: &ClientQuery,
    now: Timestamp,
) -> Result<ClientPage, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    let filtered = client::Entity::find().filter(list_filter(site_id, query, now));
    // Every client has an owner, so the count needs no join.
    let total = filtered.clone().count(conn).await?;
    let order = if query.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let sort_column = match query.sort {
        ClientSort::Name => Expr::col((client::Entity, client::Column::NameKey)),
        ClientSort::Owner => Expr::col((user::Entity, user::Column::UsernameKey)),
        ClientSort::Created => Expr::col((client::Entity, client::Column::CreatedAt)),
        ClientSort::LastUsed => Expr::col((client::Entity, client::Column::LastUsedAt)),
        ClientSort::Status => Expr::col((client::Entity, client::Column::DisabledAt)),
    };
    let ordered = |select: sea_orm::Select<client::Entity>| {
        let select = if query.sort == ClientSort::Owner {
            select.join(JoinType::InnerJoin, client::Relation::Owner.def())
        } else {
            select
        };
        select
            .order_by(sort_column.clone(), order.clone())
            .order_by(client::Column::Id, order.clone())
    };
    // The page's ids first, walking the (site, sort key, id) index; only those rows are
    // then joined to their owners, so a deep page does not look up every skipped owner.
    let page_ids = ordered(filtered)
        .select_only()
        .column(client::Column::Id)
        .offset(query.page.saturating_mul(query.per_page))
        .limit(query.per_page)
        .into_query();
    let mut page = client::Entity::find().filter(client::Column::Id.in_subquery(page_ids));
    if query.sort != ClientSort::Owner {
        page = page.join(JoinType::InnerJoin, client::Relation::Owner.def());
    }
    let rows = ordered(page)
        .select_also(user::Entity)
        .all(conn)
        .await?
        .into_iter()
        .map(|(client, owner)| ClientRow {
            client,
            owner: owner.map(|o| o.username).unwrap_or_default(),
        })
        .collect();
    Ok(ClientPage { rows, total })
}

/// The conditions of the API Clients list: the site, the search text, "not used for N days".
fn list_filter(site_id: Uuid, query: &ClientQuery, now: Timestamp) -> Condition {
    let mut condition = Condition::all().add(client::Column::SiteId.eq(site_id));
    let search = query.search.trim();
    if !search.is_empty() {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        condition = condition.add(
            Condition::any()
                .add(ExprTrait::like(
                    Expr::col((client::Entity, client::Column::NameKey)),
                    LikeExpr::new(pattern).escape('\\'),
                ))
                .add(client::Column::ClientId.eq(search)),
        );
    }
    if let Some(days) = query.unused_for_days {
        let cutoff = now.unix() - Ord::max(days, 0) * 86_400;
        condition = condition.add(
            Condition::any()
                .add(client::Column::LastUsedAt.lte(cutoff))
                .add(
                    client::Column::LastUsedAt
                        .is_null()
                        .and(client::Column::CreatedAt.lte(cutoff)),
                ),
        );
    }
    condition
}

/// A client as its details page shows it.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// The client.
    pub client: client::Model,
    /// Its owner.
    pub owner: user::Model,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Secret slots, newest first (retired ones included, for the record).
    pub secrets: Vec<client_secret::Model>,
    /// The latest Terms of Use acceptance.
    pub terms: Option<terms_acceptance::Model>,
    /// Live tokens and grants.
    pub usage: grants::ClientUsage,
}

/// Everything about a client, for an administrator of its site.
pub async fn view(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<ClientView, ServiceError> {
    let client = acting.require_client(conn, client_uuid).await?;
    let owner = user::Entity::find_by_id(client.owner_user_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::Unexpected("client owner missing".into()))?;
    let scopes = client_scope::Entity::find()
        .filter(client_scope::Column::ClientUuid.eq(client.id))
        .order_by_asc(client_scope::Column::Scope)
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.scope)
        .collect();
    let terms = terms_acceptance::Entity::find()
        .filter(terms_acceptance::Column::ClientUuid.eq(client.id))
        .order_by_desc(terms_acceptance::Column::Id)
        .one(conn)
        .await?;
    Ok(ClientView {
        secrets: secrets::slots(conn, client.id).await?,
        usage: grants::client_usage(conn, client.id, now).await?,
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
    /// A new owner (an active API user of the client's site); `None` keeps the current one.
    pub owner_user_id: Option<Uuid>,
}

/// Edits a client; the audit event lists what changed.
pub async fn update(
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    client_uuid: Uuid,
    changes: ClientChanges,
    now: Timestamp,
) -> Result<client::Model, ServiceError> {
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let scopes = allowed_scopes(&txn, current.site_id, &changes.scopes).await?;
    let old_scopes = client_scopes(&txn, client_uuid).await?;
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
    let new_owner = match changes.owner_user_id {
        Some(owner_id) if owner_id != current.owner_user_id => {
            let old_owner = user::Entity::find_by_id(current.owner_user_id)
                .one(&txn)
                .await?
                .map(|u| u.username);
            let owner = require_api_user(&txn, current.site_id, owner_id).await?;
            note("owner", json!(old_owner), json!(owner.username));
            Some(owner.id)
        }
        _ => None,
    };
    if changed.is_empty() {
        return Ok(current);
    }
    let mut update = current.into_active_model();
    update.name = Set(changes.name.as_str().to_owned());
    update.name_key = Set(changes.name.key());
    update.description = Set(changes.description.as_str().to_owned());
    update.redirect_uri = Set(changes.redirect_uri.as_str().to_owned());
    update.require_pkce = Set(changes.require_pkce);
    if let Some(owner) = new_owner {
        update.owner_user_id = Set(owner);
    }
    update.updated_at = Set(now.unix());
    let updated = update.update(&txn).await?;
    write_scopes(&txn, updated.id, &scopes).await?;
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
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    client_uuid: Uuid,
    disabled: bool,
    existing: secrets::ExistingTokens,
    now: Timestamp,
) -> Result<client::Model, ServiceError> {
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let revoked = if disabled && existing == secrets::ExistingTokens::RevokeAll {
        grants::revoke_all_for_client(&txn, current.id, "client disabled", now).await?
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

/// Deletes a client with its secrets and every token it holds.
pub async fn delete(
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    // Grants first, in the order the token endpoint takes them; then the client (whose
    // deletion takes the grants and tokens with it).
    grants::lock_client_families(&txn, current.id).await?;
    let usage = grants::client_usage(&txn, current.id, now).await?;
    client::Entity::delete_by_id(current.id).exec(&txn).await?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(current.site_id),
            Action::ClientDeleted,
            acting.actor(),
            format!(
                "API client \"{}\" deleted; {} grant(s) and {} access token(s) revoked",
                current.name, usage.active_families, usage.active_access_tokens
            ),
        )
        .target(Target::client(&current))
        .details(json!({
            "client_id": current.client_id,
            "grants_revoked": usage.active_families,
            "access_tokens_revoked": usage.active_access_tokens,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Records acceptance of the current Terms of Use for a client that accepted an older
/// version.
pub async fn accept_current_terms(
    db: &DatabaseConnection,
    keys: &Keys,
    settings: &Settings,
    acting: &Acting,
    client_uuid: Uuid,
    accepted: bool,
    now: Timestamp,
) -> Result<(), ServiceError> {
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
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    client_uuid: Uuid,
    family_id: Uuid,
    now: Timestamp,
) -> Result<(), ServiceError> {
    use crate::server::entities::token_family;
    let txn = begin_write(db).await?;
    let current = acting.require_client(&txn, client_uuid).await?;
    let family = token_family::Entity::find_by_id(family_id)
        .one(&txn)
        .await?
        .filter(|f| f.client_uuid == client_uuid)
        .ok_or(ServiceError::NotFound)?;
    if grants::revoke_family(&txn, family.id, "revoked by administrator", now).await? {
        let username = user::Entity::find_by_id(family.user_id)
            .one(&txn)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
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
