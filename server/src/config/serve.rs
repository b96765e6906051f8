//! `latchkey serve`'s own flags: the listener, the public URL, lifetimes, the pool, metrics,
//! leak report keys, audit retention and streaming, and notification e-mail.

use clap::Args;
use std::net::SocketAddr;

/// `latchkey serve` settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Public base URL, also the OAuth issuer (https in production; plain http is accepted only
    /// for loopback addresses). Default: `http://<addr>`.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-For`/`X-Forwarded-Proto` from a TLS-terminating proxy in front of
    /// Latchkey: client addresses come from the proxy, cookies are `Secure`, HSTS is sent.
    #[arg(long, env = "LATCHKEY_TRUSTED_PROXY")]
    pub trusted_proxy: bool,
    /// Use this first-run setup token instead of a random one (for automated installs).
    #[arg(long, env = "LATCHKEY_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<String>,
    /// Directory of the compiled front end (JS, WASM, CSS).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Serve only the authorization server and the API (no console), e.g. as extra replicas
    /// in front of the same database.
    #[arg(long, env = "LATCHKEY_TOKEN_SERVER_ONLY")]
    pub token_server_only: bool,
    /// Database connections in the pool (default: 4 on SQLite, 16 on PostgreSQL; see
    /// [`ServeArgs::pool_size`]).
    #[arg(long, env = "LATCHKEY_DB_POOL", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub db_pool: Option<u32>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "LATCHKEY_ACCESS_TOKEN_TTL", default_value_t = 1800, value_parser = clap::value_parser!(i64).range(60..=app::server::settings::MAX_ACCESS_TOKEN_TTL))]
    pub access_token_ttl: i64,
    /// Refresh token lifetime in seconds (default 30 days).
    #[arg(long, env = "LATCHKEY_REFRESH_TOKEN_TTL", default_value_t = 2_592_000, value_parser = clap::value_parser!(i64).range(300..=31_536_000))]
    pub refresh_token_ttl: i64,
    /// The longest a grant lives however often it is refreshed, in seconds from the code's
    /// exchange (default 90 days); then the user must authorize again. At least the refresh
    /// token lifetime.
    #[arg(long, env = "LATCHKEY_REFRESH_TOKEN_ABSOLUTE_TTL", default_value_t = 7_776_000, value_parser = clap::value_parser!(i64).range(300..=315_360_000))]
    pub refresh_token_absolute_ttl: i64,
    /// How recent a password entry must be (seconds) to reveal, regenerate or retire a client
    /// secret, or to set a password.
    #[arg(long, env = "LATCHKEY_REAUTH_WINDOW", default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub reauth_window: i64,
    /// Authorization code lifetime in seconds (at most 600, RFC 6749 4.1.2).
    #[arg(long, env = "LATCHKEY_CODE_TTL", default_value_t = 300, value_parser = clap::value_parser!(i64).range(30..=600))]
    pub code_ttl: i64,
    /// Serve Prometheus metrics at `/metrics` (requests, latencies, token grants, database
    /// pool). Off by default: keep the endpoint away from the public internet.
    #[arg(long, env = "LATCHKEY_METRICS")]
    pub metrics: bool,
    /// GitHub's secret-scanning public keys, as GitHub publishes them
    /// (`https://api.github.com/meta/public_keys/secret_scanning`, saved to a file): JSON leak
    /// reports must then carry a valid `Github-Public-Key-Signature`.
    #[arg(long, env = "LATCHKEY_LEAK_REPORT_KEYS")]
    pub leak_report_keys: Option<std::path::PathBuf>,
    /// Delete audit events older than this many days (checked daily; a signed checkpoint keeps
    /// `latchkey audit verify` working). Default: keep everything.
    #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub audit_retention_days: Option<i64>,

    /// The SMTP server notification e-mail goes through: `smtp://host:25` (no TLS, a local
    /// relay), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`. Without it, sites cannot turn e-mail on.
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SmtpUrl>,

    /// The sender of notification e-mail, `Name <address>` or an address (default
    /// `Latchkey <latchkey@HOST>`, HOST from the public URL).
    #[arg(long, env = "LATCHKEY_MAIL_FROM", requires = "smtp_url")]
    pub mail_from: Option<String>,

    /// Announce a client unused for this many days as stale (webhooks, and e-mail to its
    /// owner and the site's administrators); 0: never.
    #[arg(long, env = "LATCHKEY_STALE_CLIENT_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(0..=3_650))]
    pub stale_client_days: i64,

    /// Write every audit event as one JSON line (with its chain link) to `stdout`, to
    /// `file:PATH` (rotated by size) or to `syslog:HOST:PORT` (RFC 5424 over TCP). Delivery
    /// resumes from a cursor kept in the database, so nothing is lost across restarts (an
    /// event may be written twice); replicas with the same setting take turns, one at a time.
    /// Verify a copy with `latchkey audit verify --stream FILE`.
    #[arg(long, env = "LATCHKEY_AUDIT_STREAM")]
    pub audit_stream: Option<crate::audit_stream::AuditStreamTarget>,

    /// Every DPoP proof (RFC 9449) must carry a nonce this server issued (`DPoP-Nonce`, valid
    /// five to ten minutes, shared by every replica with the same master key): a proof made
    /// ahead of time on a compromised client is then useless. Clients get `use_dpop_nonce`
    /// once, and retry with the nonce.
    #[arg(long, env = "LATCHKEY_DPOP_REQUIRE_NONCE")]
    pub dpop_require_nonce: bool,

    /// With `--audit-stream file:PATH`: the size at which the file is renamed aside
    /// (`PATH.YYYYMMDDTHHMMSSZ`) and a new one begun (default 64 MiB).
    #[arg(long, env = "LATCHKEY_AUDIT_STREAM_MAX_BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(4_096..))]
    pub audit_stream_max_bytes: u64,
}

/// `--smtp-url`: kept out of `Debug` output, as it may hold the SMTP password.
#[derive(Clone)]
pub struct SmtpUrl(pub String);

impl std::str::FromStr for SmtpUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpUrl(…)")
    }
}

/// Reader connections on SQLite when `--db-pool` is not given. SQLite writes go through one
/// dedicated connection (`app::server::db`), so the pool only reads, and reads are CPU work in
/// this process: more connections than a few per core add no throughput, only a page cache
/// and a thread each (16 instead of 4 cost 15–35 MB of RSS under `make bench`).
pub(super) const SQLITE_DEFAULT_POOL: u32 = 4;

/// Connections on PostgreSQL when `--db-pool` is not given: the server does the work there,
/// and connections waiting on the network are cheap.
pub(super) const POSTGRES_DEFAULT_POOL: u32 = 16;

impl ServeArgs {
    /// The pool size: `--db-pool`, or the default for the database in use (`sqlite`: the
    /// embedded one, see `GlobalArgs::is_sqlite`).
    pub fn pool_size(&self, sqlite: bool) -> u32 {
        self.db_pool.unwrap_or(if sqlite {
            SQLITE_DEFAULT_POOL
        } else {
            POSTGRES_DEFAULT_POOL
        })
    }
}
