//! Command-line flags and `LATCHKEY_*` environment variables, parsed once with clap, and the
//! defaults that make `latchkey serve` work on a fresh machine (SQLite under `./data/`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod admin_token;
mod client;
mod keys;
mod serve;

pub use admin_token::{AdminTokenCommand, AdminTokenCreateArgs};
pub use client::{ClientCommand, ClientCreateArgs};
pub use keys::KeysCommand;
pub use serve::{ServeArgs, SmtpUrl};

/// The `latchkey` command line.
#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted console and OAuth 2.0 server for API clients"
)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database URL: `postgres://user:pass@host/db` or `sqlite://path?mode=rwc`.
    /// Default: the embedded SQLite file `<data-dir>/latchkey.db`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Retiring (or regenerating over) an old client secret that was used within this many
    /// seconds needs an explicit "retire it anyway" (default 7 days; 0: never asks). Read by
    /// the server and by `latchkey client retire-secret` / `rotate-secret`.
    #[arg(long, env = "LATCHKEY_RETIRE_WARNING_WINDOW", default_value_t = 604_800, value_parser = clap::value_parser!(i64).range(0..=7_776_000), global = true)]
    pub retire_warning_window: i64,

    /// Days a deleted client or user stays restorable in the Deleted view before it is purged.
    #[arg(long, env = "LATCHKEY_DELETED_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3_650), global = true)]
    pub deleted_retention_days: i64,

    /// Directory for the embedded database and the generated key file.
    #[arg(
        long,
        env = "LATCHKEY_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// The 256-bit master key as 64 hex characters or 43 base64url characters. Required with
    /// PostgreSQL (every replica must share it) unless `--secret-key-file` is given.
    #[arg(
        long,
        env = "LATCHKEY_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// A file holding the master key (default: `<data-dir>/latchkey.key`, generated with
    /// mode 0600 on first start of the embedded default).
    #[arg(long, env = "LATCHKEY_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, env = "LATCHKEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// `reveal`: client secrets are kept encrypted so administrators can reveal them
    /// (re-authenticated, audited). `show-once`: only a keyed hash is kept; a secret is shown
    /// once, when created or regenerated.
    #[arg(long, env = "LATCHKEY_SECRET_POLICY", value_enum, default_value_t = SecretPolicyArg::Reveal, global = true)]
    pub secret_policy: SecretPolicyArg,

    /// Accept `http://` redirect URIs to loopback hosts (127.0.0.1, [::1], localhost).
    #[arg(long, env = "LATCHKEY_ALLOW_LOOPBACK_REDIRECTS", global = true)]
    pub allow_loopback_redirects: bool,

    /// Let webhooks go to private, loopback and link-local addresses, over http too (for
    /// development and tests; never where site administrators are not fully trusted).
    #[arg(long, env = "LATCHKEY_WEBHOOKS_ALLOW_PRIVATE", global = true)]
    pub webhooks_allow_private: bool,

    /// A plain-text file with your own Terms of Use (paragraphs separated by blank lines).
    #[arg(
        long,
        env = "LATCHKEY_TERMS_FILE",
        global = true,
        requires = "terms_version"
    )]
    pub terms_file: Option<PathBuf>,

    /// The version label of `--terms-file`; changing it asks for acceptance again.
    #[arg(
        long,
        env = "LATCHKEY_TERMS_VERSION",
        global = true,
        requires = "terms_file"
    )]
    pub terms_version: Option<String>,
}

/// `--secret-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretPolicyArg {
    /// Encrypted at rest, revealable.
    Reveal,
    /// Hashed only, shown once.
    ShowOnce,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the console and the authorization server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage administrators and API users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage API clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage admin API tokens (for automation with `/admin/v1`).
    #[command(subcommand)]
    AdminToken(AdminTokenCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Respond to leaked credentials.
    #[command(subcommand)]
    Leak(LeakCommand),
    /// Manage the keys that sign JWT access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create demo or load-test data: API users, clients and audit events (prints their
    /// credentials as JSON).
    Seed(SeedArgs),
}

/// `latchkey leak ...`
#[derive(Debug, Subcommand)]
pub enum LeakCommand {
    /// Reads candidate strings from standard input, one per line: quarantines each live client
    /// secret and revokes the grant of each live token or code; prints one JSON entry per line
    /// read (never the candidate).
    Report {
        /// Who found them, for the audit log (a scanner's name, a ticket).
        #[arg(long, default_value = "operator")]
        source: String,
        /// Where they were found (a URL), for the audit log.
        #[arg(long)]
        url: Option<String>,
    },
}

/// `latchkey seed` arguments.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Site to fill (created if missing).
    #[arg(long, default_value = "Load Test")]
    pub site: String,
    /// API users `seed-user-0001`... (reused if they exist).
    #[arg(long, default_value_t = 100)]
    pub api_users: usize,
    /// Clients to create.
    #[arg(long, default_value_t = 10_000)]
    pub clients: usize,
    /// Extra audit events, spread over the last 90 days.
    #[arg(long, default_value_t = 0)]
    pub audit_events: usize,
    /// Load-test credentials: unused authorization codes to mint for this run's clients
    /// (written to `--fixtures-dir`, valid for the code lifetime).
    #[arg(long, default_value_t = 0, requires = "fixtures_dir")]
    pub codes: usize,
    /// Load-test credentials: access/refresh token pairs to obtain for this run's clients.
    #[arg(long, default_value_t = 0, requires = "fixtures_dir")]
    pub token_pairs: usize,
    /// Where to write `codes.tsv` and `tokens.tsv` (tab-separated: Basic credentials, code or
    /// tokens, redirect URI). They hold live credentials: keep them private.
    #[arg(long)]
    pub fixtures_dir: Option<std::path::PathBuf>,
    /// Read the seeded users' password from standard input (one line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

/// `latchkey site ...`
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Create a site; prints it as JSON.
    Create {
        /// Site name (unique, case-insensitive).
        #[arg(long)]
        name: String,
    },
    /// List sites.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change a site's settings; prints the site as JSON.
    Update {
        /// The site (by name).
        #[arg(long)]
        name: String,
        /// How long new secrets of its clients stay valid (e.g. `90d`), or `never`.
        #[arg(long)]
        secret_expires_in: Option<String>,
        /// Send the site's notifications by e-mail too (to owners and administrators; the
        /// server needs `--smtp-url`).
        #[arg(long, value_enum)]
        email_notifications: Option<Switch>,
        /// How long a consent given at the authorization prompt is remembered (e.g. `90d`),
        /// or `never` (the prompt is always shown).
        #[arg(long)]
        consent_lifetime: Option<String>,
        /// What its new access tokens look like: `opaque` (checked by introspection) or `jwt`
        /// (RFC 9068, verifiable offline with `/.well-known/jwks.json`; a revoked JWT stays
        /// valid for resource servers that only verify signatures, until it expires).
        #[arg(long)]
        access_token_format: Option<String>,
    },
    /// Add a resource server (RFC 8707) to a site: tokens may then be narrowed to it with
    /// `resource`. Prints the site's resource servers as JSON.
    AddResource {
        /// The site (by name).
        #[arg(long)]
        name: String,
        /// The resource server's URI (https; requests must name it exactly).
        #[arg(long)]
        uri: String,
    },
    /// Remove a resource server from a site; prints the rest as JSON.
    RemoveResource {
        /// The site (by name).
        #[arg(long)]
        name: String,
        /// The resource server's URI, as listed.
        #[arg(long)]
        uri: String,
    },
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Turned on.
    On,
    /// Turned off.
    Off,
}

/// `latchkey admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user with roles on one or more sites; reads the password from stdin.
    Create(AdminCreateArgs),
    /// Delete a user and their clients (sessions ended, grants revoked) into the Deleted view.
    Delete {
        /// Their username.
        #[arg(long)]
        username: String,
    },
    /// Restore a deleted user with the clients deleted with them.
    Restore {
        /// Their username.
        #[arg(long)]
        username: String,
    },
    /// List the users of a site.
    List {
        /// Site name.
        #[arg(long)]
        site: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey admin create` arguments.
#[derive(Debug, Clone, Args)]
pub struct AdminCreateArgs {
    /// Sign-in name.
    #[arg(long)]
    pub username: String,
    /// Email address.
    #[arg(long)]
    pub email: String,
    /// Site (by name) to grant roles on; repeat for several sites.
    #[arg(long = "site", required = true)]
    pub sites: Vec<String>,
    /// Also give the API User permission (may authorize API clients) on those sites.
    #[arg(long)]
    pub api_user: bool,
    /// Only the API User permission: no console access.
    #[arg(long, conflicts_with = "api_user")]
    pub api_user_only: bool,
    /// Read the password from standard input (one line). Required: passwords never go on the
    /// command line, where other users could see them.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

/// `latchkey audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every audit chain with the audit key; exits non-zero at the first broken
    /// link, at a head that is not where the chain ends, or (with `--against`) at a chain
    /// that no longer reaches an anchor kept outside the database.
    Verify {
        /// A file written by `latchkey audit head` earlier: every chain must still reach the
        /// position it anchored (detects deleted newest events and a rewound head).
        #[arg(long)]
        against: Option<std::path::PathBuf>,
        /// Verify an exported audit stream (`serve --audit-stream`) instead of the database:
        /// a file of its lines, or several (rotated files, oldest first). Needs only the
        /// server's key, not its database.
        #[arg(long, value_name = "FILE")]
        stream: Vec<std::path::PathBuf>,
    },
    /// Print every chain's current head, signed with the audit key, as JSON to keep outside
    /// the database (e.g. `latchkey audit head > anchors/$(date +%F).json`, daily).
    Head,
    /// Print each audit stream (`serve --audit-stream`): its lease, when it last delivered, and
    /// how many events it has yet to deliver.
    Streams,
    /// Once, after upgrading from a version whose audit links were not keyed: check the old
    /// links, then key them with the audit key.
    Rekey,
    /// Delete events older than a given age (e.g. `365d`), keeping each chain verifiable
    /// through a signed checkpoint; prints how many were deleted.
    Prune {
        /// Age of the oldest events to keep, e.g. `365d` or `720h`.
        #[arg(long)]
        older_than: String,
    },
}

impl GlobalArgs {
    /// The database URL, defaulting to the embedded SQLite file.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("latchkey.db").display()
            )
        })
    }

    /// True when running on the embedded default (no `DATABASE_URL`, or a SQLite URL).
    pub fn is_sqlite(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|url| url.starts_with("sqlite:"))
    }
}

#[cfg(test)]
mod tests {
    use super::serve::{POSTGRES_DEFAULT_POOL, SQLITE_DEFAULT_POOL};
    use super::*;

    #[test]
    fn the_smtp_url_never_shows_in_debug_output_and_a_sender_needs_it() {
        let (_, args) = serve(&[
            "serve",
            "--smtp-url",
            "smtps://mailer:hunter22@smtp.example.com",
        ]);
        let printed = format!("{args:?}");
        assert!(!printed.contains("hunter22"), "{printed}");
        assert!(
            Cli::try_parse_from(["latchkey", "serve", "--mail-from", "ops@example.com"]).is_err()
        );
        let (_, args) = serve(&["serve", "--stale-client-days", "0"]);
        assert_eq!(args.stale_client_days, 0);
    }

    fn serve(args: &[&str]) -> (GlobalArgs, ServeArgs) {
        let cli = Cli::try_parse_from([&["latchkey"], args].concat()).expect("arguments parse");
        match cli.command {
            Command::Serve(serve) => (cli.global, serve),
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn pool_size_defaults_by_database_and_follows_the_flag() {
        let (global, mut args) = serve(&["serve", "--database-url", "sqlite://x.db?mode=rwc"]);
        args.db_pool = None;
        assert_eq!(args.pool_size(global.is_sqlite()), SQLITE_DEFAULT_POOL);
        let (global, mut args) = serve(&["serve", "--database-url", "postgres://db/latchkey"]);
        args.db_pool = None;
        assert_eq!(args.pool_size(global.is_sqlite()), POSTGRES_DEFAULT_POOL);
        let (global, args) = serve(&["serve", "--db-pool", "7"]);
        assert_eq!(args.pool_size(global.is_sqlite()), 7);
        assert!(Cli::try_parse_from(["latchkey", "serve", "--db-pool", "0"]).is_err());
    }
}
