//! What the API Clients pages receive from their server functions, and (on the server) how a
//! service's view becomes it: formatting and naming only, no decisions.

use crate::api::SiteOption;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows per page of the API Clients table.
pub const CLIENTS_PER_PAGE: u64 = 25;

/// One row of the API Clients table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListRow {
    /// Internal id (links).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Consumer Key.
    pub client_id: String,
    /// Owner's username ([`crate::domain::SITE_OWNED`] for a machine client without one).
    pub owner: String,
    /// Registered (formatted).
    pub created: String,
    /// Last token activity (formatted), if any.
    pub last_used: Option<String>,
    /// False when disabled, pending or rejected.
    pub active: bool,
    /// `active`, `disabled`, `pending` or `rejected`.
    pub status: String,
    /// Whole days before its current secret expires (0: expired); `None`: it does not.
    pub secret_expires_in_days: Option<i64>,
}

/// A page of the API Clients table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListPage {
    /// Rows.
    pub rows: Vec<ClientListRow>,
    /// Matches on all pages.
    pub total: u64,
    /// This page (from 0).
    pub page: u64,
    /// Pages (at least 1).
    pub pages: u64,
    /// The selected site.
    pub site_name: String,
}

/// A scope of the catalogue, for checkboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOption {
    /// Name.
    pub name: String,
    /// What it allows.
    pub description: String,
}

/// An API user who may own a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerOption {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
}

/// What the registration form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationOptions {
    /// The site the client will belong to.
    pub site: SiteOption,
    /// Active API users of the site.
    pub owners: Vec<OwnerOption>,
    /// The site's scope catalogue.
    pub scopes: Vec<ScopeOption>,
    /// The Terms of Use version being accepted.
    pub terms_version: String,
    /// Loopback http redirect URIs are allowed on this server.
    pub allow_loopback: bool,
    /// The administrator's password must come with the registration (not entered recently).
    pub needs_password: bool,
}

/// One secret slot on the details page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSlotView {
    /// Slot id.
    pub id: Uuid,
    /// Last four characters.
    pub hint: String,
    /// `current`, `grace` (old, still valid), `retired` or `expired`.
    pub state: String,
    /// Created (formatted).
    pub created: String,
    /// When it stops (or stopped) being accepted: the end of its grace period or lifetime, or
    /// its retirement.
    pub valid_until: Option<String>,
    /// Whole days left before a valid secret expires (its lifetime or grace period ends).
    pub expires_in_days: Option<i64>,
    /// Last successful use (formatted).
    pub last_used: Option<String>,
    /// Successful uses.
    pub use_count: i64,
    /// The client address of the last use.
    pub last_used_from: Option<String>,
    /// The `User-Agent` of the last use (cleaned for display).
    pub last_user_agent: Option<String>,
    /// Used within the server's retire-warning window: retiring it asks for confirmation.
    pub in_use: bool,
    /// Can be revealed (kept encrypted) and still valid.
    pub revealable: bool,
}

/// A Terms of Use acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsRecord {
    /// Version accepted.
    pub version: String,
    /// Who.
    pub by: String,
    /// When (formatted).
    pub at: String,
    /// From which address.
    pub from: Option<String>,
}

/// One live grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    /// Family id.
    pub id: Uuid,
    /// The API user.
    pub username: String,
    /// Scope granted.
    pub scope: String,
    /// Authorized at (formatted).
    pub created: String,
}

/// One row of a client's failure timeline: identical refusals counted together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRow {
    /// The latest of them (formatted).
    pub when: String,
    /// The reason, as the console words it.
    pub reason: String,
    /// The stored reason code (for tests and filters).
    pub reason_code: String,
    /// The explanation.
    pub detail: String,
    /// The RFC error code the client was sent.
    pub error_code: String,
    /// Where the requests came from.
    pub address: Option<String>,
    /// How many.
    pub count: i64,
}

/// Refusals of one reason over the last 7 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCount {
    /// The reason, as the console words it.
    pub reason: String,
    /// The stored reason code.
    pub reason_code: String,
    /// How many.
    pub count: i64,
    /// The latest (formatted).
    pub last: String,
}

/// Everything on the client details page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetail {
    /// Internal id.
    pub id: Uuid,
    /// Consumer Key.
    pub client_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Redirect URI.
    pub redirect_uri: String,
    /// Owner's username ([`crate::domain::SITE_OWNED`] for a machine client without one).
    pub owner: String,
    /// Owner's id; `None` for a machine client that belongs to its site.
    pub owner_id: Option<Uuid>,
    /// The grants it is registered for, stored form (`GrantTypes::to_stored`).
    pub grant_types: String,
    /// The same, for people.
    pub grant_types_label: String,
    /// Who may own it instead (the site's active API users), for the edit form.
    pub owners: Vec<OwnerOption>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// PKCE required.
    pub require_pkce: bool,
    /// Token requests need a DPoP proof.
    pub require_dpop: bool,
    /// Approved and not disabled.
    pub active: bool,
    /// `active`, `disabled`, `pending` or `rejected`.
    pub status: String,
    /// Why a request was rejected.
    pub rejection_reason: Option<String>,
    /// Registered (formatted).
    pub created: String,
    /// Registered by.
    pub created_by: String,
    /// Last token activity.
    pub last_used: Option<String>,
    /// Secret slots, newest first.
    pub secrets: Vec<SecretSlotView>,
    /// Secrets can be revealed on this server (not show-once).
    pub reveal_policy: bool,
    /// A secret just issued or revealed: (hint, secret). Shown once.
    pub revealed: Option<(String, String)>,
    /// Latest Terms of Use acceptance.
    pub terms: Option<TermsRecord>,
    /// Current Terms of Use version.
    pub current_terms_version: String,
    /// Live access tokens.
    pub active_access_tokens: u64,
    /// Live grants.
    pub active_grants: u64,
    /// API users behind the live grants.
    pub api_users: Vec<String>,
    /// The newest live grants.
    pub grants: Vec<GrantView>,
    /// The site's scope catalogue (for the edit form).
    pub catalogue: Vec<ScopeOption>,
    /// Tokens issued to this client per day, last 30 days.
    pub tokens_per_day: Vec<crate::api::DailyBar>,
    /// The newest audit events where this client acted or was acted upon.
    pub history: Vec<crate::api::audit::AuditRow>,
    /// The newest refusals of this client's requests, with their real reason.
    pub failures: Vec<FailureRow>,
    /// Refusals per reason, the last 7 days, most frequent first.
    pub failure_counts: Vec<FailureCount>,
    /// Secret actions need the administrator's password (not entered recently).
    pub needs_password: bool,
    /// The lifetime of the site's new secrets (seconds; `None`: they never expire), for the
    /// regeneration form's default.
    pub site_secret_lifetime: Option<i64>,
    /// How many days a deleted client stays restorable in the Deleted view.
    pub deleted_retention_days: i64,
}

/// What the details page adds to the service's view: this request's state.
#[cfg(feature = "ssr")]
#[derive(Debug)]
pub struct ClientPageState<'a> {
    /// The operator's settings (reveal policy, Terms of Use version).
    pub settings: &'a crate::server::state::Settings,
    /// A secret just issued or revealed, shown once.
    pub revealed: Option<(String, String)>,
    /// Secret actions need the password again.
    pub needs_password: bool,
    /// Now, for "expires in N days".
    pub now: crate::domain::Timestamp,
}

#[cfg(feature = "ssr")]
impl From<crate::server::entities::user::Model> for OwnerOption {
    fn from(user: crate::server::entities::user::Model) -> Self {
        Self {
            id: user.id,
            username: user.username,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::server::entities::site_scope::Model> for ScopeOption {
    fn from(scope: crate::server::entities::site_scope::Model) -> Self {
        Self {
            name: scope.name,
            description: scope.description,
        }
    }
}

#[cfg(feature = "ssr")]
impl ClientDetail {
    /// The details page of `view` for this request.
    pub fn from_view(
        view: crate::server::services::clients::ClientView,
        page: ClientPageState<'_>,
    ) -> Self {
        use crate::domain::Timestamp;
        use crate::domain::secret_lifetime::days_left;
        use crate::server::services::secrets::SlotState;
        use crate::server::state::SecretPolicy;
        let now_valid = |state: SlotState| matches!(state, SlotState::Current | SlotState::Grace);
        let now = page.now.unix();
        let client = view.client;
        Self {
            deleted_retention_days: page.settings.deleted_retention_days(),
            active: client.is_active(),
            status: client.status().as_str().to_owned(),
            rejection_reason: client.review_reason.clone(),
            created: Timestamp(client.created_at).format_utc(),
            last_used: Timestamp::format_optional(client.last_used_at),
            owner: view.owner.as_ref().map_or_else(
                || crate::domain::SITE_OWNED.to_owned(),
                |owner| owner.username.clone(),
            ),
            owner_id: view.owner.as_ref().map(|owner| owner.id),
            grant_types: client.grant_types().to_stored(),
            grant_types_label: client.grant_types().label(),
            owners: view.owners.into_iter().map(OwnerOption::from).collect(),
            scopes: view.scopes,
            secrets: view
                .secrets
                .into_iter()
                .map(|(slot, state, in_use)| SecretSlotView {
                    in_use,
                    last_used_from: slot.last_used_from.clone(),
                    last_user_agent: slot.last_user_agent.clone(),
                    id: slot.id,
                    state: state.as_str().to_owned(),
                    created: Timestamp(slot.created_at).format_utc(),
                    valid_until: Timestamp::format_optional(slot.retired_at.or(slot.ends_at())),
                    expires_in_days: slot
                        .ends_at()
                        .filter(|_| now_valid(state))
                        .map(|end| days_left(end, now)),
                    last_used: Timestamp::format_optional(slot.last_used_at),
                    use_count: slot.use_count,
                    revealable: now_valid(state) && slot.ciphertext.is_some(),
                    hint: slot.hint,
                })
                .collect(),
            reveal_policy: page.settings.secret_policy == SecretPolicy::Reveal,
            revealed: page.revealed,
            terms: view.terms.map(|t| TermsRecord {
                version: t.terms_version,
                by: t.accepted_by_label,
                at: Timestamp(t.accepted_at).format_utc(),
                from: t.accepted_from,
            }),
            current_terms_version: page.settings.terms.version.clone(),
            active_access_tokens: view.usage.active_access_tokens,
            active_grants: view.usage.active_families,
            api_users: view.usage.api_users,
            grants: view
                .grants
                .into_iter()
                .map(|g| GrantView {
                    id: g.family.id,
                    username: g.username,
                    scope: g.family.scope,
                    created: Timestamp(g.family.created_at).format_utc(),
                })
                .collect(),
            catalogue: view.catalogue.into_iter().map(ScopeOption::from).collect(),
            tokens_per_day: crate::api::daily_bars(view.tokens_per_day),
            history: view
                .history
                .into_iter()
                .map(crate::api::audit::AuditRow::from)
                .collect(),
            failures: view
                .failures
                .recent
                .into_iter()
                .map(|row| FailureRow {
                    when: Timestamp(row.last_at).format_utc(),
                    reason: crate::domain::FailureReason::parse(&row.reason)
                        .map_or_else(|| row.reason.clone(), |r| r.label().to_owned()),
                    reason_code: row.reason,
                    detail: row.detail,
                    error_code: row.error_code,
                    address: row.address,
                    count: row.count,
                })
                .collect(),
            failure_counts: view
                .failures
                .counts
                .into_iter()
                .map(|count| FailureCount {
                    reason: count.reason.label().to_owned(),
                    reason_code: count.reason.as_str().to_owned(),
                    count: count.count,
                    last: Timestamp(count.last_at).format_utc(),
                })
                .collect(),
            needs_password: page.needs_password,
            site_secret_lifetime: view.site_secret_lifetime,
            require_pkce: client.require_pkce,
            require_dpop: client.require_dpop,
            created_by: client.created_by_label,
            id: client.id,
            client_id: client.client_id,
            name: client.name,
            description: client.description,
            redirect_uri: client.redirect_uri,
        }
    }
}
