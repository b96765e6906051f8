//! `latchkey keys rotate|list`: the operator's side of the keys that sign JWT access tokens
//! (RFC 9068). Output is JSON; private keys are never printed.

use crate::{
    cli_support::{CliError, print_json},
    config::KeysCommand,
};
use app::domain::Timestamp;
use app::server::{
    AppState,
    crypto::jose::SigningAlgorithm,
    entities::signing_key,
    services::{access::Acting, context::ServiceContext, signing_keys},
};
use serde_json::json;

/// Runs one `keys` subcommand as the operator.
pub async fn run(state: &AppState, command: KeysCommand) -> Result<(), CliError> {
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    match command {
        KeysCommand::Rotate { algorithm } => {
            let algorithm = SigningAlgorithm::parse(algorithm.trim()).ok_or_else(|| {
                CliError(format!(
                    "--algorithm: {algorithm:?} is not one of ES256, EdDSA"
                ))
            })?;
            let rotation = signing_keys::rotate(&cx, algorithm).await?;
            print_json(&json!({
                "signing": describe(&rotation.new, cx.now),
                "retired": rotation
                    .retired
                    .iter()
                    .map(|key| describe(key, cx.now))
                    .collect::<Vec<_>>(),
            }))
        }
        KeysCommand::List => {
            let keys = signing_keys::list(&state.db).await?;
            print_json(&json!(
                keys.iter()
                    .map(|key| describe(key, cx.now))
                    .collect::<Vec<_>>()
            ))
        }
    }
}

/// What `keys list` and `keys rotate` show of a key (never its private half).
fn describe(key: &signing_key::Model, now: Timestamp) -> serde_json::Value {
    json!({
        "kid": key.kid,
        "algorithm": key.algorithm,
        "created_at": key.created_at,
        "retired_at": key.retired_at,
        "published_until": key.publish_until,
        "signing": key.retired_at.is_none(),
        "published": signing_keys::is_published(key, now),
    })
}
