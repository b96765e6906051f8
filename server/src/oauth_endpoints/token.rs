//! `POST /oauth/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6).

use super::{client_request, response};
use crate::{dpop_header, metrics::GrantOutcome};
use app::server::{
    AppState,
    ctx::ClientAddress,
    entities::client,
    protocol::{ErrorCode, OAuthError, Params},
    services::{
        failure_timeline::Failure,
        oauth::{
            dpop,
            issue::IssuedTokens,
            token::{self, Sender},
        },
    },
};
use axum::{Extension, body::Bytes, extract::State, http::HeaderMap, response::Response};

/// Exchanges an authorization code, a refresh token or the client's own credentials for
/// tokens. The response carries a
/// [`GrantOutcome`] for the metrics layer.
pub async fn token(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (grant_type, result) = match client_request::form_params(&headers, &body) {
        Ok(params) => {
            let grant_type = grant_label(params.get("grant_type"));
            let address = address.map(|Extension(a)| a);
            (grant_type, handle(&state, address, &headers, &params).await)
        }
        Err(error) => ("other", Err(error)),
    };
    let mut response = match &result {
        Ok(issued) => response::tokens(issued),
        Err(error) => response::error(error),
    };
    // A DPoP client gets a nonce for its next proof (RFC 9449 §8.2), and must get one with
    // `use_dpop_nonce`.
    let nonce_wanted = result
        .as_ref()
        .err()
        .is_some_and(|error| error.code == ErrorCode::UseDpopNonce);
    if nonce_wanted || headers.contains_key(&dpop_header::DPOP) {
        response = dpop_header::with_nonce(&state, response);
    }
    let outcome = result
        .as_ref()
        .err()
        .map_or("success", |error| error.code.as_str());
    response.extensions_mut().insert(GrantOutcome {
        grant_type,
        outcome,
    });
    response
}

/// The grant type as a metrics label: one of those supported, or `other`.
fn grant_label(grant_type: Option<&str>) -> &'static str {
    match grant_type {
        Some("authorization_code") => "authorization_code",
        Some("refresh_token") => "refresh_token",
        Some("client_credentials") => "client_credentials",
        _ => "other",
    }
}

async fn handle(
    state: &AppState,
    address: Option<ClientAddress>,
    headers: &HeaderMap,
    params: &Params,
) -> Result<IssuedTokens, OAuthError> {
    // Refusals before this are recorded by the authentication itself.
    let client = client_request::authenticate(state, headers, params, address.clone()).await?;
    let address = address.map(|a| a.0);
    let result =
        match dpop::at_token_endpoint(state, dpop_header::proof_header(headers), &client).await {
            Ok(dpop_jkt) => {
                let sender = Sender {
                    address: address.clone(),
                    dpop_jkt,
                };
                grant(state, &client, params, sender).await
            }
            Err(error) => Err(error),
        };
    if let Err(error) = &result {
        let failure = Failure::of(error, client.id, client.site_id, address);
        state.failure_timeline.record(failure, state.clock.now());
    }
    result
}

/// Runs the grant `params` ask for, for the authenticated `client`.
async fn grant(
    state: &AppState,
    client: &client::Model,
    params: &Params,
    sender: Sender,
) -> Result<IssuedTokens, OAuthError> {
    match params.require("grant_type")? {
        "authorization_code" => {
            let code = params.require("code")?;
            token::exchange(
                state,
                client,
                code,
                params.get("redirect_uri"),
                params.get("code_verifier"),
                params.get("resource"),
                sender,
            )
            .await
        }
        "refresh_token" => {
            let refresh_token = params.require("refresh_token")?;
            token::refresh(
                state,
                client,
                refresh_token,
                params.get("scope"),
                params.get("resource"),
                sender,
            )
            .await
        }
        "client_credentials" => {
            token::client_credentials(
                state,
                client,
                params.get("scope"),
                params.get("resource"),
                sender,
            )
            .await
        }
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "unsupported grant_type \"{}\": use authorization_code, refresh_token or client_credentials",
                other
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(40)
                    .collect::<String>()
            ),
        )),
    }
}
