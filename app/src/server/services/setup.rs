//! First run: while no administrator exists, the setup page (guarded by a one-time token that
//! the server prints in its log) creates the first site and its first site administrator.

use crate::domain::{EmailAddress, NewPassword, SiteName, Timestamp, Username};
use crate::server::{
    AppState, ServiceError,
    db::begin_write,
    entities::{site_membership as membership, user},
    services::{
        access::Acting,
        audit::{self, Action, NewEvent},
        sites,
        users::{self, NewUser, SiteRoles},
    },
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

pub use super::setup_token::SetupToken;

/// True while no site administrator exists (the console then offers only setup).
pub async fn needs_setup(conn: &impl ConnectionTrait) -> Result<bool, ServiceError> {
    let admins = membership::Entity::find()
        .filter(membership::Column::IsSiteAdmin.eq(true))
        .count(conn)
        .await?;
    Ok(admins == 0)
}

/// What the setup form submits.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// The token from the server log.
    pub token: String,
    /// The first site.
    pub site_name: SiteName,
    /// The first administrator.
    pub username: Username,
    /// Their email.
    pub email: EmailAddress,
    /// Their password.
    pub password: NewPassword,
}

/// Creates the first site and administrator, once.
pub async fn complete(
    state: &AppState,
    request: SetupRequest,
    address: Option<String>,
) -> Result<user::Model, ServiceError> {
    if !needs_setup(&state.db).await? {
        return Err(ServiceError::Conflict(
            "Latchkey is already set up. Please sign in.".into(),
        ));
    }
    if !state.setup_token.take_if_matches(&request.token) {
        return Err(ServiceError::invalid(
            "setup_token",
            "This setup token is not valid. Copy it from the server log.",
        ));
    }
    let result = create_first_admin(state, &request, address).await;
    if result.is_err() {
        // A failed attempt (say, a race with the CLI) must not burn the operator's token.
        state.setup_token.restore(&request.token);
    }
    result
}

async fn create_first_admin(
    state: &AppState,
    request: &SetupRequest,
    address: Option<String>,
) -> Result<user::Model, ServiceError> {
    let password_hash = state.passwords.hash(&request.password).await?;
    let now: Timestamp = state.clock.now();
    let txn = begin_write(&state.db).await?;
    if !needs_setup(&txn).await? {
        return Err(ServiceError::Conflict(
            "Latchkey is already set up. Please sign in.".into(),
        ));
    }
    let acting = Acting {
        address,
        ..Acting::operator()
    };
    let site = sites::insert(&txn, &state.keys, &acting, &request.site_name, now).await?;
    let new_user = NewUser {
        username: request.username.clone(),
        email: request.email.clone(),
        password: request.password.clone(),
        roles: vec![SiteRoles {
            site_id: site.id,
            is_site_admin: true,
            is_api_user: false,
        }],
    };
    let admin = users::insert(&txn, &state.keys, &acting, &new_user, password_hash, now).await?;
    audit::record(
        &txn,
        &state.keys,
        NewEvent::new(
            Some(site.id),
            Action::SetupCompleted,
            acting.actor(),
            format!(
                "First run: site \"{}\" and administrator \"{}\" created",
                site.name, admin.username
            ),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(admin)
}
