//! `latchkey admin-token create|list|revoke`: the operator's side of admin API tokens (the
//! console is the administrator's). Output is JSON; a token is printed once, at creation.

use crate::{
    cli_support::{CliError, parse_duration, print_json, rfc3339},
    config::{AdminTokenCommand, AdminTokenCreateArgs},
};
use app::{
    domain::AdminTokenName,
    server::{
        AppState,
        services::{
            access::Acting,
            admin_tokens::{self, AdminTokenRow, NewAdminToken},
            context::ServiceContext,
            sites, users,
        },
    },
};
use serde_json::json;

/// Runs one `admin-token` subcommand as the operator.
pub async fn run(state: &AppState, command: AdminTokenCommand) -> Result<(), CliError> {
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    match command {
        AdminTokenCommand::Create(args) => create(state, &cx, args).await,
        AdminTokenCommand::List { username } => {
            let owner = match username {
                Some(name) => Some(
                    users::find_by_username(&state.db, &name)
                        .await?
                        .ok_or_else(|| CliError(format!("no user named {name:?}")))?
                        .id,
                ),
                None => None,
            };
            let rows = admin_tokens::list(&cx, owner).await?;
            print_json(&json!(rows.iter().map(row_json).collect::<Vec<_>>()))
        }
        AdminTokenCommand::Revoke { id } => {
            let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
                CliError(format!(
                    "--id: {id:?} is not a token id (see `latchkey admin-token list`)"
                ))
            })?;
            let revoked = admin_tokens::revoke(&cx, id)
                .await
                .map_err(|error| match error {
                    app::server::ServiceError::NotFound => {
                        CliError(format!("no admin token with id {id}"))
                    }
                    other => other.into(),
                })?;
            print_json(&json!({
                "id": revoked.id,
                "name": revoked.name,
                "revoked_at": rfc3339(revoked.revoked_at),
            }))
        }
    }
}

async fn create(
    state: &AppState,
    cx: &ServiceContext<'_>,
    args: AdminTokenCreateArgs,
) -> Result<(), CliError> {
    let name = AdminTokenName::parse(&args.name).map_err(|e| CliError(format!("--name: {e}")))?;
    let user = users::find_by_username(&state.db, &args.username)
        .await?
        .ok_or_else(|| CliError(format!("no user named {:?}", args.username)))?;
    let mut site_ids = Vec::with_capacity(args.sites.len());
    for site in &args.sites {
        let found = sites::find_by_name(&state.db, site)
            .await?
            .ok_or_else(|| CliError(format!("no site named {site:?}")))?;
        site_ids.push(found.id);
    }
    let (token, secret) = admin_tokens::create(
        cx,
        NewAdminToken {
            name,
            user_id: user.id,
            sites: site_ids,
            write: args.write,
            lifetime_seconds: parse_duration(&args.expires_in)?,
        },
    )
    .await?;
    let rows = admin_tokens::list(cx, Some(user.id)).await?;
    let row = rows
        .into_iter()
        .find(|row| row.token.id == token.id)
        .ok_or_else(|| CliError("the new token vanished".into()))?;
    let mut out = row_json(&row);
    out["token"] = json!(secret.expose());
    print_json(&out)
}

fn row_json(row: &AdminTokenRow) -> serde_json::Value {
    let token = &row.token;
    json!({
        "id": token.id,
        "name": token.name,
        "username": row.username,
        "sites": row.sites,
        "write": token.can_write,
        "hint": token.hint,
        "created_at": rfc3339(Some(token.created_at)),
        "created_by": token.created_by_label,
        "expires_at": rfc3339(Some(token.expires_at)),
        "last_used_at": rfc3339(token.last_used_at),
        "last_used_from": token.last_used_from,
        "revoked_at": rfc3339(token.revoked_at),
    })
}
