//! `latchkey admin-token …`: the operator's flags for admin API tokens.

use clap::{Args, Subcommand};

/// `latchkey admin-token ...`
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create a token for an administrator; prints it as JSON (`token`), shown this once.
    Create(AdminTokenCreateArgs),
    /// List tokens (never the tokens themselves) as JSON.
    List {
        /// Only this administrator's tokens.
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke a token by its id (from `list`).
    Revoke {
        /// The token's id.
        #[arg(long)]
        id: String,
    },
}

/// `latchkey admin-token create` arguments.
#[derive(Debug, Clone, Args)]
pub struct AdminTokenCreateArgs {
    /// The administrator the token acts for.
    #[arg(long)]
    pub username: String,
    /// A site (by name) the token may reach; repeat for several. The administrator must
    /// administer each.
    #[arg(long = "site", required = true)]
    pub sites: Vec<String>,
    /// Allow changes (POST, PATCH, DELETE); without, the token only reads.
    #[arg(long)]
    pub write: bool,
    /// Lifetime: 30d, 12h, 3600 (at least an hour, at most 366 days).
    #[arg(long, default_value = "30d")]
    pub expires_in: String,
    /// What it is for ("terraform", "nightly export").
    #[arg(long)]
    pub name: String,
}
