//! The operator's settings the domain reads: lifetimes, the secret policy, the Terms of Use.
//! A leaf module, so the services that read settings need not depend on `AppState`.

/// The longest access token lifetime the operator may set (seconds): also how long a retired
/// signing key stays published, since the process that rotates keys (the CLI) cannot know the
/// lifetime the servers run with.
pub const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;

/// How client secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretPolicy {
    /// Encrypted at rest; administrators may reveal them (re-authenticated, audited).
    Reveal,
    /// Only a keyed hash is kept: the secret is shown once, at creation or rotation.
    ShowOnce,
}

/// The Terms of Use every client registration accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsOfUse {
    /// Version label; a change asks administrators to accept again.
    pub version: String,
    /// The text shown on the Terms of Use page (plain text, paragraphs separated by blank
    /// lines).
    pub text: String,
}

impl Default for TermsOfUse {
    fn default() -> Self {
        Self {
            version: "2026-11-01".into(),
            text: include_str!("default_terms.txt").into(),
        }
    }
}

/// Operator settings the domain needs (the CLI/config layer builds this from flags and env).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL, also the OAuth issuer (no trailing slash).
    pub public_url: String,
    /// Mark cookies `Secure` (served over https, directly or behind a trusted proxy).
    pub secure_cookies: bool,
    /// Console sessions end after this much inactivity (seconds).
    pub session_idle_timeout: i64,
    /// Console sessions end this long after sign-in, active or not (seconds).
    pub session_absolute_timeout: i64,
    /// Revealing a secret needs a password entered within this many seconds.
    pub reauth_window: i64,
    /// Accept `http://` redirect URIs to loopback hosts (development, native apps).
    pub allow_loopback_redirects: bool,
    /// Reveal (encrypted) or show-once (hashed only) client secrets.
    pub secret_policy: SecretPolicy,
    /// The current Terms of Use.
    pub terms: TermsOfUse,
    /// Access token lifetime (seconds), at most [`MAX_ACCESS_TOKEN_TTL`].
    pub access_token_ttl: i64,
    /// Refresh token lifetime (seconds): each refresh token expires this long after it was
    /// issued, so a grant used at least this often stays alive (the idle limit).
    pub refresh_token_ttl: i64,
    /// The longest a grant lives however often it is refreshed (seconds from the code's
    /// exchange): after it, the user must authorize again.
    pub refresh_token_absolute_ttl: i64,
    /// Authorization code lifetime (seconds, at most 600).
    pub code_ttl: i64,
    /// Retiring an old secret used within this many seconds needs an explicit "retire it
    /// anyway" (0: never asks).
    pub retire_warning_window: i64,
    /// Keys that sign leak reports sent as JSON (GitHub's secret scanning); when there are
    /// any, an unsigned or wrongly signed JSON report is refused.
    pub leak_report_keys: Vec<crate::server::crypto::signatures::PayloadKey>,
    /// How long a deleted client or user stays in the Deleted view, restorable, before it is
    /// purged (seconds).
    pub deleted_retention: i64,
    /// Webhooks may be sent to private, loopback and link-local addresses, and over plain
    /// http (development and tests only: otherwise a site administrator could make the server
    /// probe its own network).
    pub webhooks_allow_private: bool,
    /// The operator configured an SMTP server (`--smtp-url`): sites may turn e-mail
    /// notifications on. The server's mail sender holds the rest (address, credentials).
    pub mail_configured: bool,
    /// A live client unused this long (seconds) is announced as stale; `None`: never.
    pub stale_client_after: Option<i64>,
    /// Every DPoP proof must carry a nonce this server issued (RFC 9449 §8).
    pub dpop_require_nonce: bool,
}

impl Settings {
    /// When something deleted at `deleted_at` is purged (the one place the Deleted view's
    /// dates, the audit events and the CLI take it from).
    pub fn purge_at(&self, deleted_at: i64) -> i64 {
        deleted_at + self.deleted_retention
    }

    /// The retention period of deleted items, in whole days (as the console says it).
    pub fn deleted_retention_days(&self) -> i64 {
        self.deleted_retention / 86_400
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            secure_cookies: false,
            session_idle_timeout: 30 * 60,
            session_absolute_timeout: 12 * 60 * 60,
            reauth_window: 5 * 60,
            allow_loopback_redirects: false,
            secret_policy: SecretPolicy::Reveal,
            terms: TermsOfUse::default(),
            access_token_ttl: 30 * 60,
            refresh_token_ttl: 30 * 24 * 60 * 60,
            refresh_token_absolute_ttl: 90 * 24 * 60 * 60,
            code_ttl: 5 * 60,
            retire_warning_window: 7 * 24 * 60 * 60,
            leak_report_keys: Vec::new(),
            deleted_retention: 30 * 24 * 60 * 60,
            webhooks_allow_private: false,
            mail_configured: false,
            stale_client_after: Some(90 * 24 * 60 * 60),
            dpop_require_nonce: false,
        }
    }
}
