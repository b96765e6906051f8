//! What happened: the audit log's vocabulary. Each action and its stored name are written
//! once, in the table below; the enum, [`Action::ALL`] and [`Action::as_str`] come from it.

/// Declares the actions: `Variant => "stored.name"`, each with its doc comment.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)+) => {
        /// What happened. The string form is stored and filtered on; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Action {
            /// Every action, for filters and documentation.
            pub const ALL: &'static [Action] = &[$(Self::$variant,)+];

            /// The stored name, `noun.verb_past`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    /// The first site and administrator were created on first run.
    SetupCompleted => "setup.completed",
    /// An administrator signed in to the console.
    SignedIn => "admin.signed_in",
    /// A console sign-in failed (wrong password, disabled, not an administrator, throttled).
    SignInFailed => "admin.sign_in_failed",
    /// An administrator signed out.
    SignedOut => "admin.signed_out",
    /// An API user signed in at `/account`.
    AccountSignedIn => "account.signed_in",
    /// A sign-in at `/account` failed (wrong password, disabled, not an API user, a console
    /// administrator, throttled).
    AccountSignInFailed => "account.sign_in_failed",
    /// An API user signed out of `/account`.
    AccountSignedOut => "account.signed_out",
    /// An API user confirmed their password at `/account` (before a secret was shown).
    AccountReauthenticated => "account.reauthenticated",
    /// An API user changed their own password at `/account` (their other sessions ended).
    AccountPasswordChanged => "account.password_changed",
    /// A site was created.
    SiteCreated => "site.created",
    /// A site was renamed.
    SiteRenamed => "site.renamed",
    /// A live secret or token was reported as leaked and quarantined or revoked.
    CredentialLeaked => "client.credential_leaked",
    /// The lifetime of a site's new secrets changed.
    SiteSecretLifetimeChanged => "site.secret_lifetime_changed",
    /// A site's e-mail notifications were turned on or off.
    SiteEmailNotificationsChanged => "site.email_notifications_changed",
    /// How long a site remembers the consent given at the authorization prompt changed.
    SiteConsentLifetimeChanged => "site.consent_lifetime_changed",
    /// A site's access token format (opaque or JWT) changed.
    SiteAccessTokenFormatChanged => "site.access_token_format_changed",
    /// A user was created.
    UserCreated => "user.created",
    /// A user's email address changed.
    UserEmailChanged => "user.email_changed",
    /// A user's roles on a site changed (granted, changed or removed).
    UserRolesChanged => "user.roles_changed",
    /// An administrator set a new password for a user (their sessions ended).
    UserPasswordReset => "user.password_reset",
    /// An administrator changed their own password (their other sessions ended).
    OwnPasswordChanged => "admin.password_changed",
    /// An administrator signed out of every session.
    SignedOutEverywhere => "admin.signed_out_everywhere",
    /// A user was disabled.
    UserDisabled => "user.disabled",
    /// A disabled user was enabled again.
    UserEnabled => "user.enabled",
    /// A user was deleted (moved to the Deleted view, restorable until purged).
    UserDeleted => "user.deleted",
    /// A deleted user was restored.
    UserRestored => "user.restored",
    /// A deleted user was removed for good (retention over, or "Delete now").
    UserPurged => "user.purged",
    /// An administrator confirmed their password (for an action needing a recent sign-in).
    Reauthenticated => "admin.reauthenticated",
    /// A webhook endpoint was added to a site.
    WebhookAdded => "webhook.added",
    /// A webhook endpoint was removed from a site.
    WebhookRemoved => "webhook.removed",
    /// A scope was added to a site's catalogue.
    ScopeAdded => "scope.added",
    /// A scope was removed from a site's catalogue.
    ScopeRemoved => "scope.removed",
    /// A resource server was added to a site's list (RFC 8707).
    ResourceAdded => "site.resource_added",
    /// A resource server was removed from a site's list.
    ResourceRemoved => "site.resource_removed",
    /// An API client was registered.
    ClientRegistered => "client.registered",
    /// An API user requested an application for themselves (pending until reviewed).
    ClientRequested => "client.requested",
    /// A site administrator approved a requested application.
    ClientApproved => "client.approved",
    /// A site administrator rejected a requested application, with a reason.
    ClientRejected => "client.rejected",
    /// The Terms of Use were accepted for a client.
    TermsAccepted => "client.terms_accepted",
    /// A client's name, description, redirect URI, scopes or PKCE setting changed.
    ClientUpdated => "client.updated",
    /// A client was disabled.
    ClientDisabled => "client.disabled",
    /// A client was enabled again.
    ClientEnabled => "client.enabled",
    /// A client was deleted (moved to the Deleted view, restorable until purged).
    ClientDeleted => "client.deleted",
    /// A deleted client was restored.
    ClientRestored => "client.restored",
    /// A deleted client was removed for good (retention over, or "Delete now").
    ClientPurged => "client.purged",
    /// A client secret was revealed to an administrator.
    SecretRevealed => "client.secret_revealed",
    /// A client's secret was regenerated.
    SecretRotated => "client.secret_rotated",
    /// An old client secret was retired.
    SecretRetired => "client.secret_retired",
    /// A client's current secret expires soon (reminders at 30, 14, 7 and 1 days).
    SecretExpiring => "client.secret_expiring",
    /// A client's current secret reached its expiry and is no longer accepted.
    SecretExpired => "client.secret_expired",
    /// A client has not been used for the stale period.
    ClientStale => "client.stale",
    /// Tokens were revoked by an administrator (one grant, or all of a client's).
    TokensRevoked => "token.revoked_by_admin",
    /// An API user withdrew an application's access at `/account` (every grant they gave it).
    ConnectionRevoked => "token.revoked_by_user",
    /// An API user authorized a client: an authorization code was issued.
    CodeIssued => "oauth.code_issued",
    /// An API user (or someone at the prompt) denied an authorization request.
    AuthorizationDenied => "oauth.authorization_denied",
    /// Wrong credentials, or an account that may not authorize, at the authorization prompt.
    AuthorizationFailed => "oauth.authorization_failed",
    /// Tokens were issued for an authorization code.
    TokenIssued => "oauth.token_issued",
    /// A refresh token was exchanged for new tokens.
    TokenRefreshed => "oauth.token_refreshed",
    /// A client revoked one of its tokens (RFC 7009).
    TokenRevoked => "oauth.token_revoked",
    /// An authorization code was presented again: its tokens were revoked.
    CodeReuseDetected => "oauth.code_reuse_detected",
    /// A used refresh token was presented again (possible theft): the grant was revoked.
    RefreshReuseDetected => "oauth.refresh_reuse_detected",
    /// Client authentication failed (counted, logged at most once a minute per client).
    ClientAuthFailed => "oauth.client_auth_failed",
    /// An administrator acknowledged a security alert.
    AlertAcknowledged => "alert.acknowledged",
    /// Old audit events were pruned (a signed checkpoint keeps the chain verifiable).
    AuditPruned => "audit.pruned",
    /// A chain written before links were keyed was checked and keyed (`latchkey audit rekey`).
    AuditRekeyed => "audit.rekeyed",
    /// An administrator exported the Audit Log as CSV.
    AuditExported => "audit.exported",
    /// An administrator (or the operator) created an admin API token.
    AdminTokenCreated => "admin_token.created",
    /// An admin API token was revoked.
    AdminTokenRevoked => "admin_token.revoked",
    /// A new key signs JWT access tokens; the one before it (if any) is retired.
    SigningKeyRotated => "signing_key.rotated",
    /// An automation read through the admin API (what it read, in the details).
    AdminApiRead => "admin_api.read",
}
