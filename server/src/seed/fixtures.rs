//! Credentials for load tests (`latchkey seed --codes N --token-pairs N`): authorization codes
//! minted by the same function the prompt uses after a successful sign-in, and token pairs
//! obtained by exchanging such codes through the real token-endpoint service. Only the
//! password check (argon2, deliberately slow) is skipped.

use crate::seed::plan::SeededClient;
use app::domain::{ScopeSet, Timestamp};
use app::server::{
    AppState, ServiceError,
    crypto::tokens::Secret,
    db::begin_write,
    entities::{client, site, user},
    services::oauth::{
        authorize::{AuthorizationRequest, issue_code},
        issue::IssuedTokens,
        token,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Codes minted per transaction.
const BATCH: usize = 500;

/// A code or token pair and the index (in the seeded clients) of the client it belongs to.
#[derive(Debug, Clone)]
pub struct Minted<T> {
    /// Index into the clients the fixtures were minted for.
    pub client: usize,
    /// The code or the tokens.
    pub value: T,
}

/// What was minted.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    /// Unused authorization codes (they expire after the code lifetime).
    pub codes: Vec<Minted<Secret>>,
    /// Access and refresh tokens of fresh grants.
    pub token_pairs: Vec<Minted<IssuedTokens>>,
}

/// Mints `codes` codes and `token_pairs` token pairs, spread round-robin over `clients` and
/// the API users `user_ids` (who must be API users of the site).
pub async fn mint(
    state: &AppState,
    site_id: Uuid,
    clients: &[SeededClient],
    user_ids: &[Uuid],
    codes: usize,
    token_pairs: usize,
) -> Result<Fixtures, ServiceError> {
    if clients.is_empty() || user_ids.is_empty() || codes + token_pairs == 0 {
        return Ok(Fixtures::default());
    }
    let site = site::Entity::find_by_id(site_id)
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let ids: Vec<Uuid> = clients.iter().map(|c| c.id).collect();
    let mut models = client::Entity::find()
        .filter(client::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?;
    models.sort_by_key(|model| ids.iter().position(|id| *id == model.id));
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids.to_vec()))
        .all(&state.db)
        .await?;
    let scope =
        ScopeSet::parse("profile").map_err(|e| ServiceError::caused("the seeded scope", e))?;
    let requests: Vec<AuthorizationRequest> = models
        .iter()
        .map(|model| AuthorizationRequest {
            client: model.clone(),
            site: site.clone(),
            redirect_uri: model.redirect_uri.clone(),
            scope: scope.clone(),
            state: None,
            code_challenge: None,
            prompt: Default::default(),
            resource: None,
            dpop_jkt: None,
        })
        .collect();
    let now = state.clock.now();
    let all_codes = mint_codes(state, &requests, &users, codes + token_pairs, now).await?;
    let (for_exchange, unused) = all_codes.split_at(token_pairs);
    let mut fixtures = Fixtures {
        codes: unused.to_vec(),
        token_pairs: Vec::with_capacity(token_pairs),
    };
    for minted in for_exchange {
        let model = &requests[minted.client].client;
        let tokens = token::exchange(
            state,
            model,
            minted.value.expose(),
            Some(&model.redirect_uri),
            None,
            None,
            Default::default(),
        )
        .await
        .map_err(|error| ServiceError::Unexpected(format!("exchange failed: {error:?}")))?;
        fixtures.token_pairs.push(Minted {
            client: minted.client,
            value: tokens,
        });
    }
    state.usage.flush(&state.db).await?;
    Ok(fixtures)
}

async fn mint_codes(
    state: &AppState,
    requests: &[AuthorizationRequest],
    users: &[user::Model],
    count: usize,
    now: Timestamp,
) -> Result<Vec<Minted<Secret>>, ServiceError> {
    let mut minted = Vec::with_capacity(count);
    for chunk_start in (0..count).step_by(BATCH) {
        let txn = begin_write(&state.db).await?;
        for n in chunk_start..(chunk_start + BATCH).min(count) {
            let client = n % requests.len();
            let user = &users[n % users.len()];
            let code = issue_code(&txn, state, &requests[client], user, None, now).await?;
            minted.push(Minted {
                client,
                value: code,
            });
        }
        txn.commit().await?;
    }
    Ok(minted)
}
