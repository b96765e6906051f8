//! Sites: create, rename, list. The creator of a site (in the console) becomes its first
//! site administrator, so a site never starts without one.

use crate::domain::{
    AccessTokenFormat, SiteName, Timestamp,
    secret_lifetime::{LifetimeChoice, lifetime_words},
};
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::{site, site_membership as membership, user},
    keys::Keys,
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target},
        consents,
        context::ServiceContext,
        signing_keys,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use serde_json::json;
use uuid::Uuid;

const NAME_TAKEN: &str = "A site with this name already exists.";

async fn ensure_name_free(
    conn: &impl ConnectionTrait,
    name: &SiteName,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let clash = site::Entity::find()
        .filter(site::Column::NameKey.eq(name.key()))
        .one(conn)
        .await?;
    match clash {
        Some(existing) if Some(existing.id) != except => {
            Err(ServiceError::invalid("name", NAME_TAKEN))
        }
        _ => Ok(()),
    }
}

fn name_race(error: ServiceError) -> ServiceError {
    if error.is_unique_violation() {
        ServiceError::invalid("name", NAME_TAKEN)
    } else {
        error
    }
}

/// Inserts a site and its audit event using `conn` (the caller's transaction).
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    acting: &Acting,
    name: &SiteName,
    now: Timestamp,
) -> Result<site::Model, ServiceError> {
    ensure_name_free(conn, name, None).await?;
    let created = site::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key()),
        created_at: Set(now.unix()),
        updated_at: Set(now.unix()),
        secret_lifetime: Set(None),
        email_notifications: Set(false),
        consent_lifetime: Set(crate::domain::consent::DEFAULT_CONSENT_LIFETIME),
        access_token_format: Set(AccessTokenFormat::default().as_str().to_owned()),
    }
    .insert(conn)
    .await
    .map_err(|error| name_race(error.into()))?;
    crate::server::services::scopes::insert_defaults(conn, created.id, now).await?;
    audit::record(
        conn,
        keys,
        NewEvent::new(
            Some(created.id),
            Action::SiteCreated,
            acting.actor(),
            format!("Site \"{}\" created", created.name),
        )
        .target(Target::site(&created)),
        now,
    )
    .await?;
    Ok(created)
}

/// Creates a site. An administrator who creates one becomes its site administrator.
pub async fn create(cx: &ServiceContext<'_>, name: &SiteName) -> Result<site::Model, ServiceError> {
    let ServiceContext {
        db,
        keys,
        settings: _,
        acting,
        now,
    } = *cx;
    let txn = begin_write(db).await?;
    let created = insert(&txn, keys, acting, name, now).await?;
    if let Some(user_id) = acting.admin_id() {
        membership::ActiveModel {
            site_id: Set(created.id),
            user_id: Set(user_id),
            is_site_admin: Set(true),
            is_api_user: Set(false),
            created_at: Set(now.unix()),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(created)
}

/// Renames a site the actor administers.
pub async fn rename(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    name: &SiteName,
) -> Result<site::Model, ServiceError> {
    let changes = SiteChanges {
        name: Some(name.clone()),
        ..SiteChanges::default()
    };
    change_if(cx, site_id, &changes, None).await
}

/// New values for a site's settings; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct SiteChanges {
    /// A new name.
    pub name: Option<SiteName>,
    /// How long new secrets stay valid.
    pub secret_lifetime: Option<LifetimeChoice>,
    /// How long consent at the prompt is remembered (seconds; 0: never).
    pub consent_lifetime: Option<i64>,
    /// What the site's new access tokens look like.
    pub access_token_format: Option<AccessTokenFormat>,
}

/// A site's revision: the admin API's `ETag`, over every setting it shows.
pub fn revision(site: &site::Model) -> String {
    let state = json!([
        site.id,
        site.name,
        site.secret_lifetime,
        site.consent_lifetime,
        site.email_notifications,
        site.access_token_format,
        site.updated_at,
    ]);
    crate::server::crypto::hex(&crate::server::crypto::sha256(state.to_string().as_bytes())[..16])
}

/// Applies `changes` in one transaction, each audited as its own change, if the site's
/// [`revision`] is still `expected` (checked under the row's lock; `None`: unconditionally).
pub async fn change_if(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    changes: &SiteChanges,
    expected: Option<&str>,
) -> Result<site::Model, ServiceError> {
    let secret_lifetime = match changes.secret_lifetime {
        Some(LifetimeChoice::SiteDefault) => {
            return Err(ServiceError::invalid(
                "secret_lifetime",
                "Choose a lifetime for new secrets, or Never expires.",
            ));
        }
        Some(choice) => Some(choice.resolve(None)),
        None => None,
    };
    let consent_lifetime = changes
        .consent_lifetime
        .map(crate::domain::consent::consent_lifetime)
        .transpose()
        .map_err(|message| ServiceError::invalid("consent_lifetime", message))?;
    let txn = begin_write(cx.db).await?;
    // Who may, first; then the row, locked, read again: what the revision is compared with.
    cx.acting.require_site_admin(&txn, site_id).await?;
    let mut current = site::Entity::find_by_id(site_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected.is_some_and(|expected| expected != revision(&current)) {
        return Err(ServiceError::PreconditionFailed);
    }
    if let Some(name) = &changes.name {
        current = apply_name(&txn, cx, current, name).await?;
    }
    if let Some(seconds) = secret_lifetime {
        current = apply_secret_lifetime(&txn, cx, current, seconds).await?;
    }
    if let Some(seconds) = consent_lifetime {
        current = apply_consent_lifetime(&txn, cx, current, seconds).await?;
    }
    if let Some(format) = changes.access_token_format {
        current = apply_access_token_format(&txn, cx, current, format).await?;
    }
    txn.commit().await?;
    Ok(current)
}

async fn apply_name(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    current: site::Model,
    name: &SiteName,
) -> Result<site::Model, ServiceError> {
    if current.name == name.as_str() {
        return Ok(current);
    }
    let site_id = current.id;
    ensure_name_free(txn, name, Some(site_id)).await?;
    let old_name = current.name.clone();
    let mut update = current.into_active_model();
    update.name = Set(name.as_str().to_owned());
    update.name_key = Set(name.key());
    update.updated_at = Set(cx.now.unix());
    let renamed = update
        .update(txn)
        .await
        .map_err(|error| name_race(error.into()))?;
    audit::record(
        txn,
        cx.keys,
        NewEvent::new(
            Some(site_id),
            Action::SiteRenamed,
            cx.acting.actor(),
            format!("Site \"{old_name}\" renamed to \"{}\"", renamed.name),
        )
        .target(Target::site(&renamed))
        .details(json!({"from": old_name, "to": renamed.name})),
        cx.now,
    )
    .await?;
    Ok(renamed)
}

/// Sets how long the new secrets of a site's clients stay valid (`Never`: no expiry; the
/// site's default cannot itself be "the site's default"). Secrets already issued keep theirs.
pub async fn set_secret_lifetime(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    lifetime: LifetimeChoice,
) -> Result<site::Model, ServiceError> {
    let changes = SiteChanges {
        secret_lifetime: Some(lifetime),
        ..SiteChanges::default()
    };
    change_if(cx, site_id, &changes, None).await
}

async fn apply_secret_lifetime(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    current: site::Model,
    seconds: Option<i64>,
) -> Result<site::Model, ServiceError> {
    if current.secret_lifetime == seconds {
        return Ok(current);
    }
    let before = current.secret_lifetime;
    let mut update = current.into_active_model();
    update.secret_lifetime = Set(seconds);
    save_audited(
        txn,
        cx,
        update,
        Action::SiteSecretLifetimeChanged,
        |site| {
            format!(
                "New secrets of \"{}\" now {}",
                site.name,
                lifetime_words(seconds)
            )
        },
        json!({"from_seconds": before, "to_seconds": seconds}),
    )
    .await
}

/// Sets how long the site remembers what an API user granted at the prompt (seconds; 0: never,
/// the prompt is always shown). Consents already given keep their end.
pub async fn set_consent_lifetime(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    seconds: i64,
) -> Result<site::Model, ServiceError> {
    let changes = SiteChanges {
        consent_lifetime: Some(seconds),
        ..SiteChanges::default()
    };
    change_if(cx, site_id, &changes, None).await
}

async fn apply_consent_lifetime(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    current: site::Model,
    seconds: i64,
) -> Result<site::Model, ServiceError> {
    if current.consent_lifetime == seconds {
        return Ok(current);
    }
    let site_id = current.id;
    let before = current.consent_lifetime;
    let mut update = current.into_active_model();
    update.consent_lifetime = Set(seconds);
    let updated = save_audited(
        txn,
        cx,
        update,
        Action::SiteConsentLifetimeChanged,
        |site| {
            format!(
                "Consents given on \"{}\" now {}",
                site.name,
                crate::domain::consent::consent_lifetime_words(seconds)
            )
        },
        json!({"from_seconds": before, "to_seconds": seconds}),
    )
    .await?;
    if seconds == 0 {
        // Never remembering forgets what was remembered (after the row's update, so a consent
        // written under the old lifetime meanwhile goes too): a later lifetime starts afresh.
        consents::forget(txn, consents::of_site(site_id)).await?;
    }
    Ok(updated)
}

/// Sets what the site's new access tokens look like (opaque or JWT). Tokens already issued
/// keep their form and stay valid until they expire.
pub async fn set_access_token_format(
    cx: &ServiceContext<'_>,
    site_id: Uuid,
    format: AccessTokenFormat,
) -> Result<site::Model, ServiceError> {
    let changes = SiteChanges {
        access_token_format: Some(format),
        ..SiteChanges::default()
    };
    change_if(cx, site_id, &changes, None).await
}

async fn apply_access_token_format(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    current: site::Model,
    format: AccessTokenFormat,
) -> Result<site::Model, ServiceError> {
    let before = AccessTokenFormat::from_stored(&current.access_token_format);
    if before == format {
        return Ok(current);
    }
    if format == AccessTokenFormat::Jwt {
        // The key exists, and is published, before the first token it signs.
        signing_keys::ensure_active(txn, cx.keys, cx.now).await?;
    }
    let mut update = current.into_active_model();
    update.access_token_format = Set(format.as_str().to_owned());
    save_audited(
        txn,
        cx,
        update,
        Action::SiteAccessTokenFormatChanged,
        |site| {
            format!(
                "New access tokens of \"{}\" are now {}",
                site.name,
                format.label()
            )
        },
        json!({"from": before.as_str(), "to": format.as_str()}),
    )
    .await
}

/// Saves `update` (stamped now) and records `action` about the saved site, in the caller's
/// transaction: every setting change is audited the same way.
async fn save_audited(
    txn: &impl ConnectionTrait,
    cx: &ServiceContext<'_>,
    mut update: site::ActiveModel,
    action: Action,
    summary: impl FnOnce(&site::Model) -> String,
    details: serde_json::Value,
) -> Result<site::Model, ServiceError> {
    update.updated_at = Set(cx.now.unix());
    let updated = update.update(txn).await?;
    audit::record(
        txn,
        cx.keys,
        NewEvent::new(
            Some(updated.id),
            action,
            cx.acting.actor(),
            summary(&updated),
        )
        .target(Target::site(&updated))
        .details(details),
        cx.now,
    )
    .await?;
    Ok(updated)
}

/// Finds a site by name, without regard to case (for the CLI).
pub async fn find_by_name(
    conn: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<site::Model>, ServiceError> {
    // Control characters are in no site's name; a NUL byte would reach PostgreSQL as an
    // error rather than as "no such site".
    if name.chars().any(char::is_control) {
        return Ok(None);
    }
    Ok(site::Entity::find()
        .filter(site::Column::NameKey.eq(name.trim().to_lowercase()))
        .one(conn)
        .await?)
}

/// Every site, by name (operator view).
pub async fn list_all(conn: &impl ConnectionTrait) -> Result<Vec<site::Model>, ServiceError> {
    Ok(site::Entity::find()
        .order_by_asc(site::Column::NameKey)
        .all(conn)
        .await?)
}

/// The sites the actor administers (all sites for the operator), each with its member count.
pub async fn overview(
    conn: &impl ConnectionTrait,
    acting: &Acting,
) -> Result<Vec<(site::Model, u64)>, ServiceError> {
    let sites = acting.administered_sites(conn).await?;
    let mut rows = Vec::with_capacity(sites.len());
    for site in sites {
        // Deleted users keep their memberships for a restore, but are no longer members.
        let members = membership::Entity::find()
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(membership::Column::SiteId.eq(site.id))
            .filter(user::Column::DeletedAt.is_null())
            .count(conn)
            .await?;
        rows.push((site, members));
    }
    Ok(rows)
}
