//! `latchkey client ...`: registering, listing, rotating and deleting API clients from the
//! command line.

use clap::{Args, Subcommand};

/// `latchkey client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an API client; prints its credentials as JSON.
    Create(ClientCreateArgs),
    /// List API clients.
    List {
        /// Only this site (by name).
        #[arg(long)]
        site: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only clients not used for this long (e.g. `90d`, `12h`); exits with status 1 when
        /// any are found, so cron can alert on stale clients.
        #[arg(long)]
        unused_since: Option<String>,
    },
    /// Regenerate a client's secret; prints the new one as JSON.
    RotateSecret {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
        /// How long the old secret keeps working (e.g. `24h`, `7d`; default: not at all).
        #[arg(long, default_value = "0")]
        grace: String,
        /// Also revoke every token the client holds.
        #[arg(long)]
        revoke_tokens: bool,
        /// How long the new secret stays valid (e.g. `30d`; `never`; default: the site's
        /// setting).
        #[arg(long)]
        expires_in: Option<String>,
        /// Retire an older secret still in its grace period even though clients used it within
        /// the warning window.
        #[arg(long)]
        even_if_in_use: bool,
    },
    /// Delete a client (tokens revoked, credentials refused) into the Deleted view, restorable
    /// for `--deleted-retention-days`; prints it as JSON.
    Delete {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
    },
    /// Restore a deleted client (its tokens stay revoked); prints it as JSON.
    Restore {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
    },
    /// Approve an application an API user requested (pending); prints it as JSON. Its owner
    /// then sees its Consumer Secret once on their `/account` page.
    Approve {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
    },
    /// Reject an application an API user requested (pending), with the reason they will read;
    /// prints it as JSON.
    Reject {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
        /// Why (shown to the requester; one line, at most 500 characters).
        #[arg(long)]
        reason: String,
    },
    /// Retire a client's old secret (the one still in its grace period) now; prints what was
    /// retired as JSON. Refused while that secret was used recently, unless `--even-if-in-use`.
    RetireSecret {
        /// The Consumer Key.
        #[arg(long)]
        client_id: String,
        /// Retire it even though clients used it within the warning window.
        #[arg(long)]
        even_if_in_use: bool,
    },
}

/// `latchkey client create` arguments.
#[derive(Debug, Clone, Args)]
pub struct ClientCreateArgs {
    /// Site (by name); may be left out when the owner is an API user of one site only.
    #[arg(long)]
    pub site: Option<String>,
    /// The API user (username) the client acts for; may be left out for a client registered
    /// for the client credentials grant alone, which then belongs to the site.
    #[arg(long)]
    pub owner: Option<String>,
    /// A grant the client is registered for: `authorization_code` or `client_credentials`;
    /// repeat for both (default: authorization_code).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Application name.
    #[arg(long)]
    pub name: String,
    /// What the application does (shown on the authorization prompt).
    #[arg(long)]
    pub description: String,
    /// The one redirect URI (https).
    #[arg(long)]
    pub redirect_uri: String,
    /// Accept the Latchkey API Terms of Use (required).
    #[arg(long)]
    pub accept_terms: bool,
    /// Scope the client may request; repeat for several (default: profile).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Refuse authorization requests without PKCE.
    #[arg(long)]
    pub require_pkce: bool,
    /// Refuse token requests without a DPoP proof (RFC 9449): every token the client gets is
    /// bound to its key.
    #[arg(long)]
    pub require_dpop: bool,
    /// How long the first secret stays valid (e.g. `90d`; `never`; default: the site's
    /// setting).
    #[arg(long)]
    pub secret_expires_in: Option<String>,
}
