//! `latchkey keys rotate|list`: the operator's side of the keys that sign JWT access tokens
//! (RFC 9068). Output is JSON; private keys are never printed.

use crate::{
    cli_support::{CliError, print_json},
    config::KeysCommand,
};
use app::server::{
    AppState,
    crypto::jose::SigningAlgorithm,
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
                "signing": signing_keys::describe(&rotation.new, cx.now),
                "retired": rotation
                    .retired
                    .iter()
                    .map(|key| signing_keys::describe(key, cx.now))
                    .collect::<Vec<_>>(),
            }))
        }
        KeysCommand::List => {
            let keys = signing_keys::list(&state.db).await?;
            print_json(&json!(
                keys.iter()
                    .map(|key| signing_keys::describe(key, cx.now))
                    .collect::<Vec<_>>()
            ))
        }
    }
}
