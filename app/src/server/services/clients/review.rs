//! Reviewing the applications API users request for themselves: a site administrator approves
//! or rejects a pending client (with a reason), once, whoever else clicks at the same moment;
//! and the one-time hand-over of an approved request's first secret to its owner. The secret
//! is made at approval (so its lifetime starts then) and kept sealed under the master key only
//! until the owner has seen it.
//!
//! The decision is a conditional update (`WHERE review = 'pending'`) in the transaction that
//! records it, so two administrators deciding at once cannot both win, and a request cannot be
//! approved after it was rejected.

use super::checks::require_api_user;
use crate::domain::{Review, ReviewReason, Timestamp};
use crate::server::{
    ServiceError,
    crypto::{secret_box, tokens::Secret},
    db::begin_write,
    entities::{client, client_secret, site},
    keys::Keys,
    services::{
        audit::{self, Action, Actor, NewEvent, Target},
        context::ServiceContext,
        secrets,
    },
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

/// How a site administrator decides a pending request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The client may obtain tokens from now on; its owner sees its secret once.
    Approve,
    /// The client never obtains tokens; its owner sees the reason.
    Reject(ReviewReason),
}

fn owner_secret_context(client_uuid: Uuid) -> Vec<u8> {
    format!("owner-secret:{client_uuid}").into_bytes()
}

/// `secret` sealed for its owner's one-time view (see [`take_owner_secret`]).
pub fn seal_for_owner(
    keys: &Keys,
    client_uuid: Uuid,
    secret: &Secret,
) -> Result<String, ServiceError> {
    secret_box::seal(
        &keys.secret_encryption,
        secret.expose().as_bytes(),
        &owner_secret_context(client_uuid),
    )
}

/// Approves or rejects the pending client `client_uuid` on a site the actor administers.
/// Refused with `Conflict` when it is no longer pending (someone decided first), and an
/// approval is refused when the owner is no longer an active API user of the site.
pub async fn decide(
    cx: &ServiceContext<'_>,
    client_uuid: Uuid,
    decision: Decision,
) -> Result<client::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    acting.require_client(&txn, client_uuid).await?;
    // Decided on the locked row: a deletion or another decision that committed meanwhile is
    // seen here, not after the fact.
    let current = client::Entity::find_by_id(client_uuid)
        .lock_exclusive()
        .one(&txn)
        .await?
        .filter(|client| !client.is_deleted())
        .ok_or(ServiceError::NotFound)?;
    if current.review() != Review::Pending {
        return Err(already_decided(&current));
    }
    let actor = acting.actor();
    let mut update = client::Entity::update_many()
        .col_expr(client::Column::ReviewedAt, Expr::value(now.unix()))
        .col_expr(
            client::Column::ReviewedByLabel,
            Expr::value(actor.label.clone()),
        )
        .col_expr(client::Column::UpdatedAt, Expr::value(now.unix()))
        .filter(client::Column::Id.eq(current.id))
        .filter(client::Column::DeletedAt.is_null())
        .filter(client::Column::Review.eq(Review::Pending.as_str()));
    let (action, summary, details) = match &decision {
        Decision::Approve => {
            // A request always has an owner (the API user who asked).
            let owner_id = current.owner_user_id.ok_or_else(|| {
                ServiceError::Conflict("This request has no owner: reject it instead.".into())
            })?;
            require_api_user(&txn, current.site_id, owner_id)
                .await
                .map_err(|_| {
                    ServiceError::Conflict(
                        "The owner is no longer an active API user of this site: reject the request instead."
                            .into(),
                    )
                })?;
            let secret = first_secret(&txn, cx, &current).await?;
            update = update
                .col_expr(
                    client::Column::Review,
                    Expr::value(Review::Approved.as_str()),
                )
                .col_expr(
                    client::Column::OwnerSecretSealed,
                    Expr::value(seal_for_owner(keys, current.id, &secret)?),
                );
            (
                Action::ClientApproved,
                format!("API client \"{}\" approved", current.name),
                json!({"client_id": current.client_id, "secret_hint": secret.hint()}),
            )
        }
        Decision::Reject(reason) => {
            update = update
                .col_expr(
                    client::Column::Review,
                    Expr::value(Review::Rejected.as_str()),
                )
                .col_expr(
                    client::Column::ReviewReason,
                    Expr::value(reason.as_str().to_owned()),
                )
                // A rejected request's secret is never shown to anyone.
                .col_expr(
                    client::Column::OwnerSecretSealed,
                    Expr::value(Option::<String>::None),
                );
            (
                Action::ClientRejected,
                format!(
                    "API client \"{}\" rejected: {}",
                    current.name,
                    reason.as_str()
                ),
                json!({"client_id": current.client_id, "reason": reason.as_str()}),
            )
        }
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "Another administrator decided this request first.".into(),
        ));
    }
    let updated = client::Entity::find_by_id(current.id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    audit::record(
        &txn,
        keys,
        NewEvent::new(Some(updated.site_id), action, actor, summary)
            .target(Target::client(&updated))
            .details(details),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// The approved request's first secret: any slot made while it was pending (an administrator
/// may regenerate one) is retired, and a new one made with the site's lifetime from now.
async fn first_secret(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    client: &client::Model,
) -> Result<Secret, ServiceError> {
    // Slots locked in id order, as rotation and retirement take them.
    secrets::locked_slots(txn, client.id).await?;
    client_secret::Entity::update_many()
        .col_expr(client_secret::Column::RetiredAt, Expr::value(cx.now.unix()))
        .filter(client_secret::Column::ClientUuid.eq(client.id))
        .filter(client_secret::Column::RetiredAt.is_null())
        .exec(txn)
        .await?;
    let lifetime = site::Entity::find_by_id(client.site_id)
        .one(txn)
        .await?
        .and_then(|site| site.secret_lifetime);
    let (_, secret) = secrets::insert_new(
        txn,
        cx.keys,
        cx.settings.secret_policy,
        client,
        &cx.acting.actor().label,
        lifetime,
        cx.now,
    )
    .await?;
    Ok(secret)
}

fn already_decided(client: &client::Model) -> ServiceError {
    ServiceError::Conflict(match client.review() {
        Review::Approved => "This request was already approved.".into(),
        _ => "This request was already rejected.".into(),
    })
}

/// The pending requests of a site, oldest first (the console's Pending list). The caller has
/// checked that the reader administers `site_id`.
pub async fn pending_on_site(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
) -> Result<Vec<client::Model>, ServiceError> {
    Ok(client::Entity::find()
        .filter(client::Column::SiteId.eq(site_id))
        .filter(client::Column::Review.eq(Review::Pending.as_str()))
        .filter(client::Column::DeletedAt.is_null())
        .order_by_asc(client::Column::CreatedAt)
        .order_by_asc(client::Column::Id)
        .all(conn)
        .await?)
}

/// The first secret of the owner's approved client, once: the sealed copy is cleared by a
/// conditional update, so two tabs (or two replicas) never both show it. `None` when there is
/// none to show (not approved yet, shown already, or not theirs). Audited as a reveal.
pub async fn take_owner_secret(
    db: &sea_orm::DatabaseConnection,
    keys: &Keys,
    owner: Actor,
    owner_user_id: Uuid,
    client_uuid: Uuid,
    now: Timestamp,
) -> Result<Option<Secret>, ServiceError> {
    let txn = begin_write(db).await?;
    let Some(client) = client::Entity::find_by_id(client_uuid)
        .filter(client::Column::OwnerUserId.eq(owner_user_id))
        .one(&txn)
        .await?
        .filter(|c| c.is_active())
    else {
        return Ok(None);
    };
    let Some(sealed) = client.owner_secret_sealed.clone() else {
        return Ok(None);
    };
    // Still theirs to see: an API user of the client's site (the owner may have lost the role).
    if require_api_user(&txn, client.site_id, owner_user_id)
        .await
        .is_err()
    {
        return Ok(None);
    }
    let cleared = client::Entity::update_many()
        .col_expr(
            client::Column::OwnerSecretSealed,
            Expr::value(Option::<String>::None),
        )
        .filter(client::Column::Id.eq(client.id))
        .filter(client::Column::OwnerSecretSealed.eq(sealed.clone()))
        // Still theirs and still able to act when the copy is taken, not only when read.
        .filter(client::Column::OwnerUserId.eq(owner_user_id))
        .filter(client::Column::DeletedAt.is_null())
        .filter(client::Column::DisabledAt.is_null())
        .filter(client::Column::Review.eq(Review::Approved.as_str()))
        .exec(&txn)
        .await?;
    if cleared.rows_affected != 1 {
        return Ok(None);
    }
    let plain = secret_box::open(
        &keys.secret_encryption,
        &sealed,
        &owner_secret_context(client.id),
    )?;
    let secret =
        Secret::new(String::from_utf8(plain).map_err(|_| {
            ServiceError::Unexpected("an owner's sealed secret is not text".into())
        })?);
    // Only a secret that still works is worth showing (it may have been retired, quarantined
    // or have expired meanwhile); the cleared copy goes either way.
    let valid = secrets::valid_slots(&txn, client.id, now).await?;
    if secrets::verify(keys, secret.expose(), &valid).is_none() {
        txn.commit_neutral().await?;
        return Ok(None);
    }
    audit::record(
        &txn,
        keys,
        NewEvent::new(
            Some(client.site_id),
            Action::SecretRevealed,
            owner,
            format!(
                "The Consumer Secret of \"{}\" was shown to its owner (once, after approval)",
                client.name
            ),
        )
        .target(Target::client(&client)),
        now,
    )
    .await?;
    txn.commit_neutral().await?;
    Ok(Some(secret))
}
