//! DPoP (RFC 9449) at Latchkey's endpoints: a proof is checked (`crypto::dpop`), its nonce
//! judged, and its `jti` remembered in the database so that no replica accepts it twice.
//! The token endpoint binds tokens to the proof's key; the protected API checks that a bound
//! token comes with a proof by that key.

use crate::server::{
    AppState, ServiceError,
    crypto::{
        self,
        dpop::{self, Expected, Proof},
        hmac_sha256,
    },
    db::begin_write,
    entities::{client, dpop_proof},
    keys::Keys,
    protocol::{ErrorCode, OAuthError},
};
use base64::Engine;
use sea_orm::{
    ConnectionTrait,
    sea_query::{OnConflict, Query},
};

/// How long a nonce is issued for (seconds); one stays valid for one to two periods.
const NONCE_PERIOD: i64 = 300;

/// The path of the token endpoint, under the public URL (a proof's `htu` there).
pub const TOKEN_PATH: &str = "/oauth/token";

/// What a request's `DPoP` header fields hold (RFC 9449 §4.3 step 1: at most one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofHeader<'a> {
    /// No `DPoP` header.
    Absent,
    /// One, with this value.
    One(&'a str),
    /// More than one, or one that is not visible ASCII.
    Unreadable,
}

/// Why a proof was refused, for the endpoint to answer in its own way (a JSON error at the
/// token endpoint, `WWW-Authenticate: DPoP` at a resource server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `invalid_dpop_proof`, with a description.
    Invalid(&'static str),
    /// `use_dpop_nonce`: retry with the nonce in the response's `DPoP-Nonce` header.
    UseNonce,
}

impl Refusal {
    /// As a token endpoint error.
    pub fn into_oauth(self) -> OAuthError {
        match self {
            Self::Invalid(description) => OAuthError::invalid_dpop_proof(description),
            Self::UseNonce => OAuthError::new(ErrorCode::UseDpopNonce, self.description()),
        }
    }

    /// The RFC 9449 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_dpop_proof",
            Self::UseNonce => "use_dpop_nonce",
        }
    }

    /// What to tell the client.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Invalid(description) => description,
            Self::UseNonce => "the DPoP proof must carry the nonce sent in the DPoP-Nonce header",
        }
    }
}

/// The token endpoint's DPoP step: the key the tokens are to be bound to (`None`: a bearer
/// request). A client registered to require DPoP must send a proof.
pub async fn at_token_endpoint(
    state: &AppState,
    header: ProofHeader<'_>,
    client: &client::Model,
) -> Result<Option<String>, OAuthError> {
    let proof = match header {
        ProofHeader::Absent if client.require_dpop => {
            return Err(OAuthError::invalid_dpop_proof(
                "this client must send a DPoP proof with every token request",
            ));
        }
        ProofHeader::Absent => return Ok(None),
        ProofHeader::Unreadable => {
            return Err(OAuthError::invalid_dpop_proof("send one DPoP header"));
        }
        ProofHeader::One(proof) => proof,
    };
    let url = format!("{}{TOKEN_PATH}", state.settings.public_url);
    let expected = Expected {
        method: "POST",
        url: &url,
        access_token: None,
        key: None,
        now: state.clock.now().unix(),
    };
    accept(state, proof, &expected)
        .await?
        .map(|proof| Some(proof.jkt))
        .map_err(Refusal::into_oauth)
}

/// Checks `proof` for the `expected` request, its nonce, and that it was never accepted
/// before; remembers it. The outer error is the server's; the inner, the client's.
pub async fn accept(
    state: &AppState,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<Result<Proof, Refusal>, ServiceError> {
    let proof = match dpop::check(proof, expected) {
        Ok(proof) => proof,
        Err(description) => return Ok(Err(Refusal::Invalid(description))),
    };
    let nonce_needed = state.settings.dpop_require_nonce || proof.nonce.is_some();
    if nonce_needed
        && !proof
            .nonce
            .as_deref()
            .is_some_and(|nonce| nonce_is_current(&state.keys, nonce, expected.now))
    {
        return Ok(Err(Refusal::UseNonce));
    }
    if !remember(state, &proof).await? {
        return Ok(Err(Refusal::Invalid("the DPoP proof was used before")));
    }
    Ok(Ok(proof))
}

/// Records `proof` as used; false when it was recorded before (by any replica). The unique
/// key decides, in one statement, so two copies sent at once cannot both pass.
async fn remember(state: &AppState, proof: &Proof) -> Result<bool, ServiceError> {
    let mut id = Vec::with_capacity(proof.jkt.len() + proof.jti.len() + 1);
    id.extend_from_slice(proof.jkt.as_bytes());
    id.push(b'\n');
    id.extend_from_slice(proof.jti.as_bytes());
    let statement = Query::insert()
        .into_table(dpop_proof::Entity)
        .columns([dpop_proof::Column::ProofHash, dpop_proof::Column::ExpiresAt])
        .values_panic([
            crypto::hex(&crypto::sha256(&id)).into(),
            // A replica whose clock is behind may accept the proof a little longer.
            (proof.iat + dpop::MAX_PROOF_AGE + dpop::CLOCK_SKEW).into(),
        ])
        .on_conflict(
            OnConflict::column(dpop_proof::Column::ProofHash)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let txn = begin_write(&state.db).await?;
    let backend = txn.get_database_backend();
    let inserted = txn
        .execute_raw(backend.build(&statement))
        .await?
        .rows_affected();
    txn.commit_neutral().await?;
    Ok(inserted == 1)
}

/// A nonce for proofs made from now on (RFC 9449 §8): the period it was issued in and a MAC of
/// it under the server's nonce key, so any replica can check it without storing it.
pub fn fresh_nonce(keys: &Keys, now: i64) -> String {
    nonce_for(keys, now.div_euclid(NONCE_PERIOD))
}

fn nonce_for(keys: &Keys, period: i64) -> String {
    let period = period.to_be_bytes();
    let mac = hmac_sha256(&keys.dpop_nonce, &period);
    let mut raw = period.to_vec();
    raw.extend_from_slice(&mac[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// True for a nonce of this period or the one before, issued with this server's key.
fn nonce_is_current(keys: &Keys, nonce: &str, now: i64) -> bool {
    let period = now.div_euclid(NONCE_PERIOD);
    [period, period - 1]
        .into_iter()
        .any(|p| crypto::constant_time_eq(nonce_for(keys, p).as_bytes(), nonce.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lasts_one_to_two_periods_and_only_this_key_makes_them() {
        let keys = Keys::derive(&[1; 32]);
        let other = Keys::derive(&[2; 32]);
        let start = 1_800_000_000 - 1_800_000_000 % NONCE_PERIOD;
        let nonce = fresh_nonce(&keys, start);
        assert!(nonce_is_current(&keys, &nonce, start));
        assert!(nonce_is_current(
            &keys,
            &nonce,
            start + 2 * NONCE_PERIOD - 1
        ));
        assert!(!nonce_is_current(&keys, &nonce, start + 2 * NONCE_PERIOD));
        assert!(!nonce_is_current(&keys, &nonce, start - 1), "not before");
        assert!(!nonce_is_current(&other, &nonce, start));
        assert!(!nonce_is_current(&keys, "", start));
        assert!(!nonce_is_current(&keys, &format!("{nonce}x"), start));
    }
}
