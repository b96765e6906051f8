//! `POST /oauth/revoke` (RFC 7009).

use super::{client_request, response};
use app::server::{AppState, ctx::ClientAddress, services::oauth::revocation};
use axum::{
    Extension,
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};

/// Revokes one of the authenticated client's tokens; succeeds for unknown tokens too.
pub async fn revoke(
    State(state): State<AppState>,
    address: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address.map(|Extension(a)| a);
    let result = async {
        let params = client_request::form_params(&headers, &body)?;
        let client =
            client_request::authenticate(&state, &headers, &params, address.clone()).await?;
        let token = params.require("token")?;
        revocation::revoke(&state, &client, token, address.map(|a| a.0)).await
    }
    .await;
    match result {
        Ok(()) => response::no_store(().into_response()),
        Err(error) => response::error(&error),
    }
}
