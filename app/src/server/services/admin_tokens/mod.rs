//! Admin API tokens (issue 22): credentials an administrator creates for automation.
//!
//! Rules, enforced here and nowhere else:
//! - a token acts for one administrator and names the sites it may reach; on every call it
//!   reaches only those of its sites its administrator *still* administers
//!   ([`crate::server::services::access::Principal::AdminToken`]);
//! - it reads only, unless created with write access (checked by the API layer per method,
//!   see [`AdminTokenGrant::may_write`]);
//! - it always expires (at most [`MAX_LIFETIME_SECONDS`]), can be revoked, and stops working
//!   when its administrator is disabled or deleted;
//! - it is shown once: only its SHA-256 digest and last four characters are stored;
//! - a token cannot create or revoke tokens: only a signed-in administrator (their own) or
//!   the operator can.

mod authenticate;
pub mod idempotency;
mod stored;

pub use authenticate::{AdminTokenGrant, AdminTokenRefused, authenticate};
use stored::{find_by_token, token_sites};

use crate::domain::{AdminTokenName, Timestamp};
use crate::server::{
    ServiceError,
    crypto::tokens::{self, Secret, TokenKind},
    db::begin_write,
    entities::{
        admin_idempotency, admin_token, admin_token_site, site, site_membership as membership, user,
    },
    services::{
        access::Principal,
        alerts::{self, AlertKind, AlertSubject},
        audit::{self, Action, Actor, NewEvent, Target, TargetKind},
        context::ServiceContext,
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The longest a token may live: a year. Automation that needs longer rotates its token.
pub const MAX_LIFETIME_SECONDS: i64 = 366 * 86_400;
/// The shortest: an hour.
pub const MIN_LIFETIME_SECONDS: i64 = 3_600;
/// The most sites one token may name.
pub const MAX_SITES: usize = 50;

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct NewAdminToken {
    /// Its name.
    pub name: AdminTokenName,
    /// The administrator it acts for.
    pub user_id: Uuid,
    /// The sites it may reach (each one the administrator administers).
    pub sites: Vec<Uuid>,
    /// May it change things (POST, PATCH, DELETE)?
    pub write: bool,
    /// Seconds until it expires.
    pub lifetime_seconds: i64,
}

/// A token as lists show it: never the token itself.
#[derive(Debug, Clone)]
pub struct AdminTokenRow {
    /// The row.
    pub token: admin_token::Model,
    /// Its administrator's username.
    pub username: String,
    /// The names of its sites, sorted.
    pub sites: Vec<String>,
}

/// Creates a token for `new.user_id`; returns it with the token, shown this once.
pub async fn create(
    cx: &ServiceContext<'_>,
    new: NewAdminToken,
) -> Result<(admin_token::Model, Secret), ServiceError> {
    match &cx.acting.principal {
        Principal::Operator => {}
        Principal::Admin { user_id, .. } if *user_id == new.user_id => {}
        Principal::Admin { .. } => {
            return Err(ServiceError::invalid(
                "username",
                "An administrator creates admin API tokens for themselves only.",
            ));
        }
        Principal::AdminToken { .. } => return Err(ServiceError::Forbidden),
    }
    if !(MIN_LIFETIME_SECONDS..=MAX_LIFETIME_SECONDS).contains(&new.lifetime_seconds) {
        return Err(ServiceError::invalid(
            "expires_in",
            "A token expires after at least an hour and at most 366 days.",
        ));
    }
    let mut site_ids = new.sites.clone();
    site_ids.sort();
    site_ids.dedup();
    if site_ids.is_empty() || site_ids.len() > MAX_SITES {
        return Err(ServiceError::invalid(
            "sites",
            format!("Choose between 1 and {MAX_SITES} sites."),
        ));
    }
    let txn = begin_write(cx.db).await?;
    let owner = user::Entity::find_by_id(new.user_id)
        .one(&txn)
        .await?
        .filter(user::Model::is_active)
        .ok_or_else(|| ServiceError::invalid("username", "No active user by that name."))?;
    let mut site_names = Vec::with_capacity(site_ids.len());
    for site_id in &site_ids {
        let site = cx.acting.require_site_admin(&txn, *site_id).await?;
        let owner_administers = membership::Entity::find_by_id((*site_id, owner.id))
            .one(&txn)
            .await?
            .is_some_and(|m| m.is_site_admin);
        if !owner_administers {
            return Err(ServiceError::invalid(
                "sites",
                format!("{} does not administer {}.", owner.username, site.name),
            ));
        }
        site_names.push(site.name);
    }
    let secret = Secret::new(tokens::generate(TokenKind::AdminToken)?);
    let row = admin_token::Model {
        id: Uuid::now_v7(),
        user_id: owner.id,
        name: new.name.as_str().to_owned(),
        token_digest: stored::verifier(cx.keys, secret.expose()),
        hint: secret.hint(),
        can_write: new.write,
        created_by_label: cx.acting.actor().label,
        created_at: cx.now.unix(),
        expires_at: cx.now.unix() + new.lifetime_seconds,
        last_used_at: None,
        last_used_from: None,
        revoked_at: None,
    };
    admin_token::Entity::insert(to_active(&row))
        .exec(&txn)
        .await?;
    admin_token_site::Entity::insert_many(site_ids.iter().map(|site_id| {
        admin_token_site::ActiveModel {
            token_id: Set(row.id),
            site_id: Set(*site_id),
        }
    }))
    .exec(&txn)
    .await?;
    audit::record_on_sites(
        &txn,
        cx.keys,
        site_ids.iter().copied(),
        NewEvent::new(
            None,
            Action::AdminTokenCreated,
            cx.acting.actor(),
            format!(
                "Admin API token \"{}\" created for {} ({}, expires {})",
                row.name,
                owner.username,
                if row.can_write {
                    "read and write"
                } else {
                    "read only"
                },
                Timestamp(row.expires_at).format_date(),
            ),
        )
        .target(token_target(&row))
        .details(json!({
            "username": owner.username,
            "sites": site_names,
            "write": row.can_write,
            "expires_at": row.expires_at,
            "hint": row.hint,
        })),
        cx.now,
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// The tokens `cx`'s principal may see: the operator every token (of user `owner` if given),
/// an administrator their own. Newest first.
pub async fn list(
    cx: &ServiceContext<'_>,
    owner: Option<Uuid>,
) -> Result<Vec<AdminTokenRow>, ServiceError> {
    let mut query = admin_token::Entity::find()
        .order_by_desc(admin_token::Column::CreatedAt)
        .order_by_desc(admin_token::Column::Id);
    match &cx.acting.principal {
        Principal::Operator => {
            if let Some(owner) = owner {
                query = query.filter(admin_token::Column::UserId.eq(owner));
            }
        }
        Principal::Admin { user_id, .. } => {
            query = query.filter(admin_token::Column::UserId.eq(*user_id));
        }
        Principal::AdminToken { .. } => return Err(ServiceError::Forbidden),
    }
    let tokens = query.all(cx.db).await?;
    rows(cx.db, tokens).await
}

/// Revokes every live token of `user_id`, in the caller's transaction (a password reset does,
/// recording it in its own event); returns how many.
pub async fn revoke_all_of_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let revoked = admin_token::Entity::update_many()
        .col_expr(
            admin_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now.unix()),
        )
        .filter(admin_token::Column::UserId.eq(user_id))
        .filter(admin_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    idempotency::forget_tokens(
        conn,
        sea_orm::Condition::all().add(
            admin_idempotency::Column::TokenId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(admin_token::Column::Id)
                    .from(admin_token::Entity)
                    .and_where(admin_token::Column::UserId.eq(user_id))
                    .to_owned(),
            ),
        ),
    )
    .await?;
    Ok(revoked.rows_affected)
}

async fn rows(
    conn: &impl ConnectionTrait,
    tokens: Vec<admin_token::Model>,
) -> Result<Vec<AdminTokenRow>, ServiceError> {
    let ids: Vec<Uuid> = tokens.iter().map(|t| t.id).collect();
    let links = admin_token_site::Entity::find()
        .filter(admin_token_site::Column::TokenId.is_in(ids))
        .all(conn)
        .await?;
    let site_ids: Vec<Uuid> = links.iter().map(|l| l.site_id).collect();
    let names: BTreeMap<Uuid, String> = site::Entity::find()
        .filter(site::Column::Id.is_in(site_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let user_ids: Vec<Uuid> = tokens.iter().map(|t| t.user_id).collect();
    let usernames: BTreeMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(tokens
        .into_iter()
        .map(|token| {
            let mut sites: Vec<String> = links
                .iter()
                .filter(|l| l.token_id == token.id)
                .filter_map(|l| names.get(&l.site_id).cloned())
                .collect();
            sites.sort();
            AdminTokenRow {
                username: usernames.get(&token.user_id).cloned().unwrap_or_default(),
                sites,
                token,
            }
        })
        .collect())
}

/// Revokes token `token_id` (its administrator's own, or any for the operator). Revoking a
/// revoked token changes nothing and records nothing.
pub async fn revoke(
    cx: &ServiceContext<'_>,
    token_id: Uuid,
) -> Result<admin_token::Model, ServiceError> {
    let txn = begin_write(cx.db).await?;
    let token = admin_token::Entity::find_by_id(token_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    match &cx.acting.principal {
        Principal::Operator => {}
        Principal::Admin { user_id, .. } if *user_id == token.user_id => {}
        Principal::Admin { .. } => return Err(ServiceError::NotFound),
        Principal::AdminToken { .. } => return Err(ServiceError::Forbidden),
    }
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    if !mark_revoked(&txn, token.id, cx.now).await? {
        return Ok(token);
    }
    let site_ids = token_sites(&txn, token.id).await?;
    audit::record_on_sites(
        &txn,
        cx.keys,
        site_ids,
        NewEvent::new(
            None,
            Action::AdminTokenRevoked,
            cx.acting.actor(),
            format!("Admin API token \"{}\" revoked", token.name),
        )
        .target(token_target(&token))
        .details(json!({ "hint": token.hint })),
        cx.now,
    )
    .await?;
    txn.commit().await?;
    Ok(admin_token::Model {
        revoked_at: Some(cx.now.unix()),
        ..token
    })
}

/// Sets `revoked_at` if it is not set yet; false when another request revoked it first.
async fn mark_revoked(
    conn: &impl ConnectionTrait,
    token_id: Uuid,
    now: Timestamp,
) -> Result<bool, ServiceError> {
    let revoked = admin_token::Entity::update_many()
        .col_expr(
            admin_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now.unix()),
        )
        .filter(admin_token::Column::Id.eq(token_id))
        .filter(admin_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    idempotency::forget_tokens(
        conn,
        sea_orm::Condition::all().add(admin_idempotency::Column::TokenId.eq(token_id)),
    )
    .await?;
    Ok(revoked.rows_affected == 1)
}

fn token_target(token: &admin_token::Model) -> Target {
    Target::new(TargetKind::AdminToken, token.id, &token.name)
}

fn to_active(row: &admin_token::Model) -> admin_token::ActiveModel {
    admin_token::ActiveModel {
        id: Set(row.id),
        user_id: Set(row.user_id),
        name: Set(row.name.clone()),
        token_digest: Set(row.token_digest.clone()),
        hint: Set(row.hint.clone()),
        can_write: Set(row.can_write),
        created_by_label: Set(row.created_by_label.clone()),
        created_at: Set(row.created_at),
        expires_at: Set(row.expires_at),
        last_used_at: Set(row.last_used_at),
        last_used_from: Set(row.last_used_from.clone()),
        revoked_at: Set(row.revoked_at),
    }
}

/// Revokes the token `presented` because it was reported leaked (by `reporter`, a scanner or
/// the operator): `None` when no such token exists, `Some(false)` when it no longer worked.
/// Anyone holding a token may have it revoked this way; nobody can use a report to do more.
pub async fn revoke_reported(
    db: &sea_orm::DatabaseConnection,
    keys: &crate::server::keys::Keys,
    presented: &str,
    reporter: Actor,
    now: Timestamp,
) -> Result<Option<bool>, ServiceError> {
    let Some(token) = find_by_token(db, keys, presented).await? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() || token.expires_at <= now.unix() {
        return Ok(Some(false));
    }
    let txn = begin_write(db).await?;
    if !mark_revoked(&txn, token.id, now).await? {
        txn.rollback().await?;
        return Ok(Some(false));
    }
    let site_ids = token_sites(&txn, token.id).await?;
    let owner = user::Entity::find_by_id(token.user_id)
        .one(&txn)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let summary = format!(
        "Admin API token \"{}\" of {owner} was reported leaked by {}: revoked",
        token.name, reporter.label
    );
    for site_id in &site_ids {
        alerts::raise(
            &txn,
            *site_id,
            AlertKind::CredentialLeaked,
            AlertSubject {
                username: Some(owner.clone()),
                address: reporter.address.clone(),
                ..Default::default()
            },
            summary.clone(),
            now,
        )
        .await?;
    }
    audit::record_on_sites(
        &txn,
        keys,
        site_ids,
        NewEvent::new(None, Action::AdminTokenRevoked, reporter, summary)
            .target(token_target(&token))
            .details(json!({ "hint": token.hint, "reason": "reported leaked" })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(true))
}
