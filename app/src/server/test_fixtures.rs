//! What the unit tests of the token path need: an application state, and rows made by the
//! services the console uses (a site with one API user and one registered client, and
//! authorization codes for them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::domain::{
    ClientDescription, ClientName, EmailAddress, GrantTypes, NewPassword, RedirectUri, ScopeSet,
    SiteName, SiteRoles, Username, secret_lifetime::LifetimeChoice,
};
use crate::server::{
    AppState,
    crypto::tokens::Secret,
    entities::{client, site, user},
    services::{
        access::Acting,
        clients::{self, Registration},
        context::ServiceContext,
        oauth::authorize::{AuthorizationRequest, issue_code},
        sites,
        users::{self, NewUser},
    },
};
use sea_orm::TransactionTrait;

/// The application state over `conn`, with default settings and a manual clock.
pub fn state(conn: &sea_orm::DatabaseConnection) -> AppState {
    AppState::new(
        conn.clone(),
        crate::server::settings::Settings::default(),
        &[7; 32],
        crate::server::Clock::manual(crate::domain::Timestamp(1_900_000_000)),
        None,
    )
    .unwrap()
}

/// A site named `name`, an API user `<name>-user` of it, and a client registered for them
/// (authorization code grant, scope `profile`).
pub async fn site_user_and_client(
    state: &AppState,
    name: &str,
) -> (site::Model, user::Model, client::Model) {
    let operator = Acting::operator();
    let now = state.clock.now();
    let cx = ServiceContext::new(state, &operator);
    let site = sites::create(&cx, &SiteName::parse(name).unwrap())
        .await
        .unwrap();
    let username = format!("{}-user", name.to_lowercase());
    let new = NewUser {
        username: Username::parse(&username).unwrap(),
        email: EmailAddress::parse(&format!("{username}@example.com")).unwrap(),
        password: NewPassword::parse("a sturdy passphrase", &username).unwrap(),
        roles: vec![SiteRoles {
            site_id: site.id,
            is_site_admin: false,
            is_api_user: true,
        }],
    };
    let hash = state.passwords.hash(&new.password).await.unwrap();
    let txn = state.db.begin().await.unwrap();
    let user = users::insert(&txn, &state.keys, &operator, &new, hash, now)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let registration = Registration {
        name: ClientName::parse(&format!("{name} client")).unwrap(),
        description: ClientDescription::parse("Made by a unit test").unwrap(),
        redirect_uri: RedirectUri::parse(
            &format!("https://{}.example.com/callback", name.to_lowercase()),
            false,
        )
        .unwrap(),
        scopes: ScopeSet::default(),
        owner_user_id: Some(user.id),
        grant_types: GrantTypes::AUTHORIZATION_CODE,
        require_pkce: false,
        require_dpop: false,
        terms_accepted: true,
        secret_lifetime: LifetimeChoice::SiteDefault,
    };
    let (client, _secret) = clients::register(&cx, site.id, registration).await.unwrap();
    (site, user, client)
}

/// A fresh authorization code of `user` for `client` (scope `profile`, no PKCE).
pub async fn code_for(
    state: &AppState,
    site: &site::Model,
    user: &user::Model,
    client: &client::Model,
) -> Secret {
    let request = AuthorizationRequest {
        client: client.clone(),
        site: site.clone(),
        redirect_uri: client.redirect_uri.clone(),
        scope: ScopeSet::parse("profile").unwrap(),
        state: None,
        code_challenge: None,
        prompt: Default::default(),
        resource: None,
        dpop_jkt: None,
    };
    let txn = state.db.begin().await.unwrap();
    let code = issue_code(&txn, state, &request, user, None, state.clock.now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    code
}
