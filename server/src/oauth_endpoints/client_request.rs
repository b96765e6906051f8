//! Reading a client-authenticated request: the form body (`application/x-www-form-urlencoded`
//! only) and the client's credentials from HTTP Basic or the body, then authenticating them.

use app::server::{
    AppState,
    ctx::ClientAddress,
    entities::client,
    protocol::{ClientCredentials, OAuthError, Params, decode_basic},
    services::oauth::client_auth,
};
use axum::http::{HeaderMap, header};

/// The form parameters of a POST to a token-server endpoint.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body)
}

/// Authenticates the client of a request, or returns `invalid_client` / `invalid_request`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    address: Option<ClientAddress>,
) -> Result<client::Model, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(decode_basic(value.to_str().map_err(|_| {
            OAuthError::invalid_client("malformed Authorization header")
        })?)?),
        None => None,
    };
    let credentials = ClientCredentials::from_request(basic, params)?;
    // Bytes that are not UTF-8 become U+FFFD rather than hiding the caller's agent.
    let user_agent = headers
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let address = address.map(|a| a.0);
    client_auth::authenticate(state, &credentials, address, user_agent.as_deref()).await
}
