//! The session of an API user signed in at `/account`: the same rules as the console's
//! (`console_session`) — database sessions, a fresh id at sign-in, idle and absolute timeouts,
//! an anti-forgery token, the user's session generation, a recent password before a secret is
//! shown — kept under its own key, so a console session and an account session never stand in
//! for each other. Free of Leptos.

use crate::error::ConsoleError;
use crate::server::{
    AppState,
    console_session::{internal, session_user},
    crypto::tokens::Secret,
    entities::{site, user},
    services::{
        audit::Actor,
        sign_in::{self, Door},
    },
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// The session key under which `/account` keeps [`AccountSessionData`].
pub const SESSION_KEY: &str = "account";

/// Activity is written back at most this often (seconds), as in the console.
const SEEN_RESOLUTION: i64 = 60;

/// What `/account` keeps in a signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountSessionData {
    /// The API user.
    pub user_id: Uuid,
    /// Sign-in time: the absolute timeout counts from here.
    pub signed_in_at: i64,
    /// Last time the password was entered.
    pub authenticated_at: i64,
    /// Last recorded activity: the idle timeout counts from here.
    pub seen_at: i64,
    /// Synchronizer token every mutation must echo.
    pub csrf_token: String,
    /// The user's session generation at sign-in (a password change or reset ends the session).
    pub generation: i64,
}

/// An API user signed in at `/account`.
#[derive(Debug, Clone)]
pub struct AccountUser {
    /// Application state.
    pub state: AppState,
    /// The session record.
    pub session_data: AccountSessionData,
    /// The user.
    pub user: user::Model,
    /// The sites where they are an API user, by name.
    pub sites: Vec<site::Model>,
    /// Where the request came from.
    pub address: Option<String>,
    session: Session,
}

impl AccountUser {
    /// How the audit log names them.
    pub fn actor(&self) -> Actor {
        Door::Account.actor(&self.user, self.address.clone())
    }

    /// True if the password was entered within the re-authentication window.
    pub fn recently_authenticated(&self) -> bool {
        self.state.clock.now().unix() - self.session_data.authenticated_at
            <= self.state.settings.reauth_window
    }

    /// The console's rule for secrets, at this door: the password within the
    /// re-authentication window, or `current_password` now (throttled, audited).
    pub async fn require_recent_password(
        &mut self,
        current_password: Option<&str>,
    ) -> Result<(), ConsoleError> {
        if self.recently_authenticated() {
            return Ok(());
        }
        let Some(password) = current_password.filter(|p| !p.is_empty()) else {
            return Err(ConsoleError::ReauthenticationRequired);
        };
        match sign_in::confirm_password_at(
            &self.state,
            Door::Account,
            &self.user,
            password,
            self.address.clone(),
        )
        .await
        {
            Ok(()) => {
                self.session_data.authenticated_at = self.state.clock.now().unix();
                self.save().await
            }
            Err(crate::server::ServiceError::BadCredentials) => Err(ConsoleError::invalid(
                crate::server::console_session::CURRENT_PASSWORD_FIELD,
                "Incorrect password.",
            )),
            Err(error) => Err(error.into()),
        }
    }

    /// Keeps this session across a move of the generation it made itself (its own password
    /// change ends every *other* session).
    pub async fn adopt_generation(&mut self, generation: i64) -> Result<(), ConsoleError> {
        self.session_data.generation = generation;
        self.session_data.authenticated_at = self.state.clock.now().unix();
        self.user.session_generation = generation;
        self.save().await
    }

    /// Keeps `secret` for the next render of their page.
    pub async fn flash_secret(
        &self,
        client_uuid: Uuid,
        secret: &Secret,
    ) -> Result<(), ConsoleError> {
        crate::server::console_session::flash_secret(
            &self.session,
            &self.state.keys,
            client_uuid,
            secret,
        )
        .await
    }

    /// The secret flashed for `client_uuid` (hint, secret), removed from the session.
    pub async fn take_flashed_secret(
        &self,
        client_uuid: Uuid,
    ) -> Result<Option<(String, String)>, ConsoleError> {
        crate::server::console_session::take_flashed_secret(
            &self.session,
            &self.state.keys,
            client_uuid,
        )
        .await
    }

    /// Ends the session (sign out).
    pub async fn end_session(self) -> Result<(), ConsoleError> {
        self.session.flush().await.map_err(internal)
    }

    async fn save(&self) -> Result<(), ConsoleError> {
        self.session
            .insert(SESSION_KEY, &self.session_data)
            .await
            .map_err(internal)
    }
}

/// The API user signed in at `/account`, or `None` (no session, timed out, disabled, password
/// changed elsewhere, no longer an API user anywhere, or now a console administrator; such
/// sessions are ended here).
pub async fn load(
    state: AppState,
    session: Session,
    address: Option<String>,
) -> Result<Option<AccountUser>, ConsoleError> {
    let Some(mut data) = session
        .get::<AccountSessionData>(SESSION_KEY)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let now = state.clock.now().unix();
    let user = session_user(
        &state,
        data.user_id,
        data.generation,
        data.signed_in_at,
        data.seen_at,
    )
    .await?;
    let admitted = match user {
        Some(user) => Door::Account
            .admitted_sites(&state.db, &user)
            .await?
            .map(|sites| (user, sites)),
        None => None,
    };
    let Some((user, sites)) = admitted else {
        session
            .remove::<AccountSessionData>(SESSION_KEY)
            .await
            .map_err(internal)?;
        return Ok(None);
    };
    let mut account = AccountUser {
        state,
        session_data: data.clone(),
        user,
        sites,
        address,
        session,
    };
    if now - data.seen_at >= SEEN_RESOLUTION {
        data.seen_at = now;
        account.session_data = data;
        account.save().await?;
    }
    Ok(Some(account))
}

/// Starts a fresh account session for `user` in `session` (new id; any console session of this
/// browser ends, so one cookie never speaks for two people).
pub async fn start(
    state: &AppState,
    session: &Session,
    user: &user::Model,
) -> Result<(), ConsoleError> {
    session.clear().await;
    session.cycle_id().await.map_err(internal)?;
    let now = state.clock.now().unix();
    let data = AccountSessionData {
        user_id: user.id,
        signed_in_at: now,
        authenticated_at: now,
        seen_at: now,
        csrf_token: crate::server::crypto::random::token_256().map_err(ConsoleError::from)?,
        generation: user.session_generation,
    };
    session.insert(SESSION_KEY, &data).await.map_err(internal)
}

/// After a password authorization at the prompt: starts an account session for `user` in this
/// browser, so their next authorization needs no password — only if `/account` admits them and
/// the browser holds no console session (signing in at the prompt never signs an administrator
/// out of the console). The sign-in is audited like one at `/account`. Returns whether it
/// started one.
pub async fn start_after_prompt(
    state: &AppState,
    session: &Session,
    user: &user::Model,
    address: Option<String>,
) -> Result<bool, ConsoleError> {
    if crate::server::console_session::holds_console_session(session).await? {
        return Ok(false);
    }
    match sign_in::signed_in_at_prompt(state, user, address).await? {
        Some(user) => {
            start(state, session, &user).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
