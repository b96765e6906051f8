//! The console's session: what a signed-in administrator's session holds, the idle and
//! absolute timeouts, the selected site, and secrets flashed to the next page view. Free of
//! Leptos, so plain axum handlers (the CSV export) check sessions exactly like server functions.

use crate::error::ConsoleError;
use crate::server::{
    AppState,
    entities::{site, user},
    services::{
        access::{Acting, administered_sites},
        context::ServiceContext,
    },
};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// The form field that carries the administrator's own password when an action needs it
/// again (see [`Admin::require_recent_password`]).
pub const CURRENT_PASSWORD_FIELD: &str = "current_password";

/// The session key under which the console keeps [`ConsoleSessionData`].
pub const SESSION_KEY: &str = "console";

/// Only write the session back for activity when it was last recorded this long ago
/// (seconds): keeps the idle timeout accurate to a minute without a write per request.
const SEEN_RESOLUTION: i64 = 60;

/// The network address of the current request, put in the request extensions by the
/// server's middleware (the peer address, or the forwarded one behind a trusted proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// What the console keeps in a signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSessionData {
    /// The administrator.
    pub user_id: Uuid,
    /// Sign-in time: the absolute timeout counts from here.
    pub signed_in_at: i64,
    /// Last time the password was entered (sign-in or re-authentication).
    pub authenticated_at: i64,
    /// Last recorded activity: the idle timeout counts from here.
    pub seen_at: i64,
    /// Synchronizer token every console mutation must echo.
    pub csrf_token: String,
    /// The site the console is scoped to.
    pub selected_site: Option<Uuid>,
    /// The user's session generation when the session started (or last changed their own
    /// password): a password reset or change elsewhere, or "sign out everywhere", moves the
    /// user's generation on and ends this session.
    #[serde(default)]
    pub generation: i64,
}

/// A signed-in administrator, with the site the console is scoped to.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Application state.
    pub state: AppState,
    /// The session record.
    pub session_data: ConsoleSessionData,
    /// The administrator. Read-only after `load`: `acting` is derived from it.
    pub user: user::Model,
    /// Every site they administer.
    pub sites: Vec<site::Model>,
    /// The selected site (always one of `sites`).
    pub site: site::Model,
    /// Where the request came from. Read-only after `load`: `acting` is derived from it.
    pub address: Option<String>,
    /// The principal for services and the audit log.
    acting: Acting,
    session: Session,
}

impl Admin {
    /// The principal for services and the audit log.
    pub fn acting(&self) -> Acting {
        self.acting.clone()
    }

    /// What a service call made by this administrator now needs.
    pub fn service(&self) -> ServiceContext<'_> {
        ServiceContext::new(&self.state, &self.acting)
    }

    /// Makes `site_id` the selected site (it must be one they administer).
    pub async fn select_site(&mut self, site_id: Uuid) -> Result<(), ConsoleError> {
        let site = self
            .sites
            .iter()
            .find(|site| site.id == site_id)
            .cloned()
            .ok_or(ConsoleError::NotFound)?;
        self.session_data.selected_site = Some(site.id);
        self.site = site;
        self.save().await
    }

    /// Records that the password was just confirmed (for actions needing a recent sign-in).
    pub async fn mark_reauthenticated(&mut self) -> Result<(), ConsoleError> {
        self.session_data.authenticated_at = self.state.clock.now().unix();
        self.save().await
    }

    /// Keeps this session alive across a move of the user's session generation that this
    /// session itself made (changing one's own password ends every *other* session).
    pub async fn adopt_generation(&mut self, generation: i64) -> Result<(), ConsoleError> {
        self.session_data.generation = generation;
        self.session_data.authenticated_at = self.state.clock.now().unix();
        self.user.session_generation = generation;
        self.save().await
    }

    /// The re-authentication every action that yields a secret or changes a credential needs
    /// (revealing, regenerating or retiring a client secret, registering a client, setting a
    /// password): the password entered within the re-authentication window, or
    /// `current_password` now, checked like sign-in (throttled, audited). Without either, the
    /// console asks for it ([`ConsoleError::ReauthenticationRequired`]). One rule, so a stolen
    /// console cookie alone never yields a secret.
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
        match crate::server::services::sign_in::confirm_password(
            &self.state,
            &self.user,
            password,
            self.address.clone(),
        )
        .await
        {
            Ok(()) => self.mark_reauthenticated().await,
            Err(crate::server::ServiceError::BadCredentials) => Err(ConsoleError::invalid(
                CURRENT_PASSWORD_FIELD,
                "Incorrect password.",
            )),
            Err(error) => Err(error.into()),
        }
    }

    /// True if the password was entered within the re-authentication window.
    pub fn recently_authenticated(&self) -> bool {
        self.state.clock.now().unix() - self.session_data.authenticated_at
            <= self.state.settings.reauth_window
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

/// Logs an unexpected session failure and returns its reference.
pub(crate) fn internal(error: impl std::fmt::Display) -> ConsoleError {
    let reference = Uuid::new_v4().simple().to_string()[..12].to_owned();
    tracing::error!(%reference, %error, "console session failure");
    ConsoleError::Internal { reference }
}

/// The user a signed-in session names, if the session is still on time (idle and absolute
/// timeouts) and the user still active, with the session generation the session started in.
/// The one rule for every kind of session (console and `/account`).
pub(crate) async fn session_user(
    state: &AppState,
    user_id: Uuid,
    generation: i64,
    signed_in_at: i64,
    seen_at: i64,
) -> Result<Option<user::Model>, ConsoleError> {
    let now = state.clock.now().unix();
    if now - signed_in_at > state.settings.session_absolute_timeout
        || now - seen_at > state.settings.session_idle_timeout
    {
        return Ok(None);
    }
    Ok(user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await
        .map_err(internal)?
        .filter(|user| user.is_active() && user.session_generation == generation))
}

/// True if `session` carries a console session (valid or not): the authorization prompt never
/// replaces one with an API user's.
pub async fn holds_console_session(session: &Session) -> Result<bool, ConsoleError> {
    Ok(session
        .get::<serde_json::Value>(SESSION_KEY)
        .await
        .map_err(internal)?
        .is_some())
}

/// The signed-in administrator, or `None` (no session, timed out, disabled, or no longer an
/// administrator anywhere; such sessions are ended here).
pub async fn load(
    state: AppState,
    session: Session,
    address: Option<String>,
) -> Result<Option<Admin>, ConsoleError> {
    let Some(mut data) = session
        .get::<ConsoleSessionData>(SESSION_KEY)
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
    let sites = match &user {
        Some(user) => administered_sites(&state.db, user.id)
            .await
            .map_err(ConsoleError::from)?,
        None => Vec::new(),
    };
    let (Some(user), false) = (user, sites.is_empty()) else {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    };
    let selected = data
        .selected_site
        .and_then(|id| sites.iter().find(|site| site.id == id))
        .unwrap_or(&sites[0])
        .clone();
    let acting = Acting::admin(user.id, &user.username, address.clone());
    let mut admin = Admin {
        acting,
        address,
        state,
        session,
        user,
        sites,
        site: selected,
        session_data: data.clone(),
    };
    if now - data.seen_at >= SEEN_RESOLUTION || data.selected_site != Some(admin.site.id) {
        data.seen_at = now;
        data.selected_site = Some(admin.site.id);
        admin.session_data = data;
        admin.save().await?;
    }
    Ok(Some(admin))
}

/// Where a freshly issued or revealed client secret waits (encrypted) until the page that
/// shows it is rendered once: it survives the redirect of a form posted without JavaScript.
const SECRET_FLASH_KEY: &str = "secret_flash";

#[derive(Debug, Serialize, Deserialize)]
struct SecretFlash {
    client_uuid: Uuid,
    slot_hint: String,
    sealed: String,
}

fn flash_context(client_uuid: Uuid) -> Vec<u8> {
    format!("secret-flash:{client_uuid}").into_bytes()
}

impl Admin {
    /// Keeps `secret` (encrypted with the server key) for the next render of the client page.
    pub async fn flash_secret(
        &self,
        client_uuid: Uuid,
        secret: &crate::server::crypto::tokens::Secret,
    ) -> Result<(), ConsoleError> {
        flash_secret(&self.session, &self.state.keys, client_uuid, secret).await
    }

    /// The flashed secret of `client_uuid` (hint, secret), removed from the session.
    pub async fn take_flashed_secret(
        &self,
        client_uuid: Uuid,
    ) -> Result<Option<(String, String)>, ConsoleError> {
        take_flashed_secret(&self.session, &self.state.keys, client_uuid).await
    }
}

/// Keeps `secret` (encrypted with the server key) in `session` for the next render of the page
/// of `client_uuid` (the console's client page, or the owner's `/account` page).
pub async fn flash_secret(
    session: &Session,
    keys: &crate::server::keys::Keys,
    client_uuid: Uuid,
    secret: &crate::server::crypto::tokens::Secret,
) -> Result<(), ConsoleError> {
    let sealed = crate::server::crypto::secret_box::seal(
        &keys.secret_encryption,
        secret.expose().as_bytes(),
        &flash_context(client_uuid),
    )?;
    let flash = SecretFlash {
        client_uuid,
        slot_hint: secret.hint(),
        sealed,
    };
    session
        .insert(SECRET_FLASH_KEY, &flash)
        .await
        .map_err(internal)
}

/// The secret flashed in `session` for `client_uuid` (hint, secret), removed from it.
pub async fn take_flashed_secret(
    session: &Session,
    keys: &crate::server::keys::Keys,
    client_uuid: Uuid,
) -> Result<Option<(String, String)>, ConsoleError> {
    let flash: Option<SecretFlash> = session.get(SECRET_FLASH_KEY).await.map_err(internal)?;
    let Some(flash) = flash.filter(|f| f.client_uuid == client_uuid) else {
        return Ok(None);
    };
    session
        .remove::<SecretFlash>(SECRET_FLASH_KEY)
        .await
        .map_err(internal)?;
    let plain = crate::server::crypto::secret_box::open(
        &keys.secret_encryption,
        &flash.sealed,
        &flash_context(client_uuid),
    )?;
    Ok(String::from_utf8(plain)
        .ok()
        .map(|secret| (flash.slot_hint, secret)))
}

/// The signature the server adds (`__sig`) to the refusal a form posted without JavaScript
/// finds in its URL (`__path`, `__err`, written by leptos_axum), so the page shows only
/// refusals the server made: error text in a URL is otherwise anyone's to write (a link to
/// `/sign-in?__err=...` could show "Your account is locked, call +1 555..." on the real page).
pub fn url_error_signature(keys: &crate::server::keys::Keys, path: &str, error: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mac = crate::server::crypto::hmac_sha256(
        &keys.anti_forgery,
        format!("url-error|{}|{path}|{error}", path.len()).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(mac)
}

/// The (`__path`, `__err`) pair of `query` if its `__sig` is the server's.
pub fn verified_url_error(
    keys: &crate::server::keys::Keys,
    query: &str,
) -> Option<(String, String)> {
    let (mut path, mut error, mut signature) = (None, None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "__path" => path = Some(value.into_owned()),
            "__err" => error = Some(value.into_owned()),
            "__sig" => signature = Some(value.into_owned()),
            _ => {}
        }
    }
    let (path, error, signature) = (path?, error?, signature?);
    let expected = url_error_signature(keys, &path, &error);
    crate::server::crypto::constant_time_eq(expected.as_bytes(), signature.as_bytes())
        .then_some((path, error))
}
