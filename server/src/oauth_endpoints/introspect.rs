//! `POST /oauth/introspect` (RFC 7662).

use super::{client_request, response};
use app::server::{AppState, ctx::ClientAddress, services::oauth::introspection};
use axum::{Extension, body::Bytes, extract::State, http::HeaderMap, response::Response};
use serde_json::json;

/// Tells the authenticated client whether one of its tokens is active, and about it.
pub async fn introspect(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address.map(|Extension(a)| a);
    let result = async {
        let params = client_request::form_params(&headers, &body)?;
        let client = client_request::authenticate(&state, &headers, &params, address).await?;
        let token = params.require("token")?;
        Ok::<_, app::server::protocol::OAuthError>(
            introspection::introspect(&state, &client, token, state.clock.now()).await?,
        )
    }
    .await;
    match result {
        Ok(Some(active)) => {
            let mut body = json!({
                "active": true,
                "scope": active.scope,
                "client_id": active.client_id,
                "exp": active.exp,
                "iat": active.iat,
                "sub": active.sub,
                "site": active.site,
                "iss": state.settings.public_url,
            });
            // A client credentials token acts for no user: no `username` at all.
            if let Some(username) = active.username {
                body["username"] = json!(username);
            }
            if let Some(aud) = active.aud {
                body["aud"] = json!(aud);
            }
            if let Some(jkt) = active.cnf_jkt {
                body["cnf"] = json!({"jkt": jkt});
            }
            if let Some(token_type) = active.token_type {
                body["token_type"] = json!(token_type);
            }
            response::json(body)
        }
        Ok(None) => response::json(json!({"active": false})),
        Err(error) => response::error(&error),
    }
}
