//! Security alerts: events that need a human (possible token theft, someone hammering a
//! client's credentials). Raised by the token server, shown on the dashboard until an
//! administrator acknowledges them. Repeats of an open alert within an hour are folded into it.

use crate::domain::Timestamp;
use crate::server::{
    ServiceError,
    db::begin_write,
    entities::alert,
    keys::Keys,
    services::{
        access::Acting,
        audit::{self, Action, NewEvent, Target, TargetKind},
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

/// What kind of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A used refresh token was presented again; the grant was revoked.
    RefreshTokenReuse,
    /// A used authorization code was presented again; its tokens were revoked.
    CodeReuse,
    /// Many failed client authentications in a short time.
    InvalidClientBurst,
    /// A live token or code was reported as leaked; it (or its grant) was revoked.
    CredentialLeaked,
    /// A live client secret was reported as leaked and quarantined.
    SecretQuarantined,
}

impl AlertKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::CodeReuse => "code_reuse",
            Self::InvalidClientBurst => "invalid_client_burst",
            Self::CredentialLeaked => "credential_leaked",
            Self::SecretQuarantined => "secret_quarantined",
        }
    }
}

/// What the alert is about.
#[derive(Debug, Clone, Default)]
pub struct AlertSubject {
    /// The client's Consumer Key.
    pub client_id: Option<String>,
    /// The client's name.
    pub client_name: Option<String>,
    /// The API user involved.
    pub username: Option<String>,
    /// The network address of the request.
    pub address: Option<String>,
}

/// Raises an alert (in the caller's transaction), unless the same kind for the same client is
/// already open since less than an hour.
pub async fn raise(
    conn: &impl ConnectionTrait,
    site_id: Uuid,
    kind: AlertKind,
    subject: AlertSubject,
    summary: String,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let recent = alert::Entity::find()
        .filter(alert::Column::SiteId.eq(site_id))
        .filter(alert::Column::Kind.eq(kind.as_str()))
        .filter(alert::Column::ClientId.eq(subject.client_id.clone()))
        .filter(alert::Column::AcknowledgedAt.is_null())
        .filter(alert::Column::CreatedAt.gt(now.unix() - 3_600))
        .select_only()
        .column(alert::Column::Id)
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    if recent.is_some() {
        return Ok(());
    }
    alert::Entity::insert(alert::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        site_id: Set(site_id),
        kind: Set(kind.as_str().to_owned()),
        client_id: Set(subject.client_id),
        client_name: Set(subject.client_name),
        username: Set(subject.username),
        address: Set(subject.address),
        summary: Set(summary),
        created_at: Set(now.unix()),
        acknowledged_at: Set(None),
        acknowledged_by: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Open alerts of a site the actor administers, newest first.
pub async fn open(
    conn: &impl ConnectionTrait,
    acting: &Acting,
    site_id: Uuid,
) -> Result<Vec<alert::Model>, ServiceError> {
    acting.require_site_admin(conn, site_id).await?;
    Ok(alert::Entity::find()
        .filter(alert::Column::SiteId.eq(site_id))
        .filter(alert::Column::AcknowledgedAt.is_null())
        .order_by_desc(alert::Column::Id)
        .limit(50)
        .all(conn)
        .await?)
}

/// Acknowledges an alert of a site the actor administers.
pub async fn acknowledge(
    db: &DatabaseConnection,
    keys: &Keys,
    acting: &Acting,
    alert_id: i64,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let txn = begin_write(db).await?;
    let found = alert::Entity::find_by_id(alert_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    acting.require_site_admin(&txn, found.site_id).await?;
    if found.acknowledged_at.is_some() {
        return Ok(());
    }
    let actor = acting.actor();
    alert::Entity::update_many()
        .col_expr(alert::Column::AcknowledgedAt, Expr::value(now.unix()))
        .col_expr(
            alert::Column::AcknowledgedBy,
            Expr::value(actor.label.clone()),
        )
        .filter(alert::Column::Id.eq(alert_id))
        .exec(&txn)
        .await?;
    let mut event = NewEvent::new(
        Some(found.site_id),
        Action::AlertAcknowledged,
        actor,
        format!("Alert acknowledged: {}", found.summary),
    );
    if let (Some(id), Some(name)) = (&found.client_id, &found.client_name) {
        event = event.target(Target::new(TargetKind::Client, id, name));
    }
    audit::record(&txn, keys, event, now).await?;
    txn.commit().await?;
    Ok(())
}
