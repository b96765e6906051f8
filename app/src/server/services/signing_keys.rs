//! The keys that sign JWT access tokens (RFC 9068): created when a site first chooses JWTs,
//! rotated by the operator (`latchkey keys rotate`), published at `/.well-known/jwks.json`
//! until every token they signed has expired, then purged. Private keys are stored sealed
//! under a key derived from the master key and bound to their `kid`, so neither a database
//! reader nor a row copied onto another key's row can sign.

use crate::domain::Timestamp;
use crate::server::{
    AppState, ServiceError,
    cache::MAX_AGE,
    crypto::{
        jose::{self, SigningAlgorithm, VerifyingKey},
        key_ring::{KeyRing, SigningKey},
        secret_box,
    },
    db::begin_write,
    entities::signing_key,
    keys::Keys,
    services::{
        access::Principal,
        audit::{self, Action, NewEvent, Target, event::TargetKind},
        context::ServiceContext,
    },
    settings::{MAX_ACCESS_TOKEN_TTL, Settings},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use std::sync::Arc;

/// Where the published keys are (the metadata's `jwks_uri`).
pub fn jwks_uri(settings: &Settings) -> String {
    format!("{}/.well-known/jwks.json", settings.public_url)
}

/// Margin for clocks of replicas that differ a little (seconds).
const CLOCK_SKEW: i64 = 60;

/// How long a key retired now stays published: every token it signed, at the longest lifetime
/// the operator may set (including tokens a replica signed before it noticed the rotation),
/// expires before then. The rotating process (usually the CLI) does not know the servers'
/// configured lifetime, so the bound is the longest allowed.
pub fn publish_until(retired_at: Timestamp) -> i64 {
    let cache_age = i64::try_from(MAX_AGE.as_secs()).unwrap_or(i64::MAX);
    retired_at
        .unix()
        .saturating_add(MAX_ACCESS_TOKEN_TTL)
        .saturating_add(cache_age)
        .saturating_add(CLOCK_SKEW)
}

async fn insert_new(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    algorithm: SigningAlgorithm,
    now: Timestamp,
) -> Result<signing_key::Model, ServiceError> {
    let generated = jose::generate(algorithm)?;
    let sealed = secret_box::seal(
        &keys.signing_key_encryption,
        &generated.pkcs8,
        generated.kid.as_bytes(),
    )?;
    Ok(signing_key::ActiveModel {
        kid: Set(generated.kid),
        algorithm: Set(algorithm.as_str().to_owned()),
        public_jwk: Set(generated.public_jwk),
        private_key_sealed: Set(sealed),
        created_at: Set(now.unix()),
        retired_at: Set(None),
        publish_until: Set(None),
    }
    .insert(conn)
    .await?)
}

fn unretired() -> Condition {
    Condition::all().add(signing_key::Column::RetiredAt.is_null())
}

/// The key that signs now, creating one (ES256) if none exists: called in the transaction
/// that switches a site to JWTs, so the key is published before it signs anything.
pub async fn ensure_active(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    now: Timestamp,
) -> Result<signing_key::Model, ServiceError> {
    let current = signing_key::Entity::find()
        .filter(unretired())
        .order_by_desc(signing_key::Column::CreatedAt)
        .order_by_desc(signing_key::Column::Kid)
        .one(conn)
        .await?;
    match current {
        Some(key) => Ok(key),
        None => insert_new(conn, keys, SigningAlgorithm::default(), now).await,
    }
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    /// The key that signs from now on.
    pub new: signing_key::Model,
    /// The keys it replaced (still published until `publish_until`).
    pub retired: Vec<signing_key::Model>,
}

/// Replaces the signing key with a new `algorithm` key (operator only). The keys it replaces
/// stay published until every token they signed has expired. One transaction: the unretired
/// keys are locked, retired, the new key inserted, the rotation audited.
pub async fn rotate(
    cx: &ServiceContext<'_>,
    algorithm: SigningAlgorithm,
) -> Result<Rotation, ServiceError> {
    if cx.acting.principal != Principal::Operator {
        return Err(ServiceError::Forbidden);
    }
    let txn = begin_write(cx.db).await?;
    let retiring = signing_key::Entity::find()
        .filter(unretired())
        .order_by_asc(signing_key::Column::Kid)
        .lock_exclusive()
        .all(&txn)
        .await?;
    let until = publish_until(cx.now);
    if !retiring.is_empty() {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetiredAt, Expr::value(cx.now.unix()))
            .col_expr(signing_key::Column::PublishUntil, Expr::value(until))
            .filter(signing_key::Column::Kid.is_in(retiring.iter().map(|k| k.kid.clone())))
            .exec(&txn)
            .await?;
    }
    let new = insert_new(&txn, cx.keys, algorithm, cx.now).await?;
    let retired_kids: Vec<&str> = retiring.iter().map(|k| k.kid.as_str()).collect();
    audit::record(
        &txn,
        cx.keys,
        NewEvent::new(
            None,
            Action::SigningKeyRotated,
            cx.acting.actor(),
            format!(
                "A new {} key signs JWT access tokens; {} retired key(s) stay published",
                algorithm.as_str(),
                retired_kids.len()
            ),
        )
        .target(Target::new(TargetKind::SigningKey, &new.kid, &new.kid))
        .details(json!({
            "kid": new.kid,
            "algorithm": algorithm.as_str(),
            "retired": retired_kids,
            "retired_published_until": (!retiring.is_empty()).then_some(until),
        })),
        cx.now,
    )
    .await?;
    // A plain commit: other processes reload their key rings (the credential epoch moves).
    txn.commit().await?;
    let retired = retiring
        .into_iter()
        .map(|mut key| {
            key.retired_at = Some(cx.now.unix());
            key.publish_until = Some(until);
            key
        })
        .collect();
    Ok(Rotation { new, retired })
}

/// Every key: the unretired ones first (newest first: the first signs), then the retired ones,
/// most recently retired first (the CLI's `keys list`).
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<signing_key::Model>, ServiceError> {
    let mut keys = signing_key::Entity::find()
        .order_by_desc(signing_key::Column::CreatedAt)
        .order_by_desc(signing_key::Column::Kid)
        .all(conn)
        .await?;
    // Stable: within each group the newest stays first.
    keys.sort_by_key(|key| (key.retired_at.is_some(), std::cmp::Reverse(key.retired_at)));
    Ok(keys)
}

/// True while `key` is published at `now`.
pub fn is_published(key: &signing_key::Model, now: Timestamp) -> bool {
    key.retired_at.is_none() || key.publish_until.is_some_and(|until| until > now.unix())
}

/// Deletes the keys no longer published: nothing they signed is still valid.
pub async fn purge(conn: &impl ConnectionTrait, now: Timestamp) -> Result<u64, ServiceError> {
    Ok(signing_key::Entity::delete_many()
        .filter(signing_key::Column::RetiredAt.is_not_null())
        .filter(signing_key::Column::PublishUntil.lte(now.unix()))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The keys in use, from the credential cache or the database.
pub async fn ring(state: &AppState) -> Result<Arc<KeyRing>, ServiceError> {
    let cache = &state.caches.key_ring;
    let now = state.clock.now();
    if let Some(ring) = cache.get(&())
        && ring.reload_at.is_none_or(|at| at > now.unix())
    {
        return Ok(ring);
    }
    let generation = cache.generation();
    let ring = Arc::new(load(&state.db, &state.keys, now).await?);
    cache.insert((), generation, Arc::clone(&ring));
    Ok(ring)
}

async fn load(
    conn: &impl ConnectionTrait,
    keys: &Keys,
    now: Timestamp,
) -> Result<KeyRing, ServiceError> {
    let published: Vec<signing_key::Model> = list(conn)
        .await?
        .into_iter()
        .filter(|key| is_published(key, now))
        .collect();
    let mut ring = KeyRing {
        reload_at: published.iter().filter_map(|key| key.publish_until).min(),
        ..KeyRing::default()
    };
    let mut jwks = Vec::with_capacity(published.len());
    // Unretired keys come first, newest first: the first one that opens signs.
    for row in &published {
        let Some((signing, jwk)) = open_row(keys, row) else {
            continue;
        };
        let Some(verifying) = VerifyingKey::from_jwk_json(&jwk) else {
            continue;
        };
        if row.retired_at.is_none() && ring.signing.is_none() {
            ring.signing = Some(signing);
        }
        ring.verifying.push(verifying);
        jwks.push(serde_json::from_str::<serde_json::Value>(&jwk).unwrap_or_default());
    }
    ring.jwks = json!({ "keys": jwks }).to_string();
    Ok(ring)
}

/// The private key of `row` and its public JWK, both from the sealed private key alone: the
/// stored `public_jwk` is never trusted, and a row whose key does not open under the master
/// key, or whose key is not the one its `kid` names, is left out (and logged), not fatal.
fn open_row(keys: &Keys, row: &signing_key::Model) -> Option<(SigningKey, String)> {
    let Some(algorithm) = SigningAlgorithm::parse(&row.algorithm) else {
        tracing::warn!(kid = %row.kid, "a signing key has an unknown algorithm; left out");
        return None;
    };
    let mut pkcs8 = match secret_box::open(
        &keys.signing_key_encryption,
        &row.private_key_sealed,
        row.kid.as_bytes(),
    ) {
        Ok(pkcs8) => pkcs8,
        Err(_) => {
            tracing::warn!(kid = %row.kid, "a signing key does not open under the master key; left out");
            return None;
        }
    };
    let opened = match jose::public_key(algorithm, &pkcs8) {
        Ok((kid, jwk)) if kid == row.kid => jose::TokenSigner::new(algorithm, &kid, &pkcs8)
            .ok()
            .map(|signer| {
                let signing = SigningKey {
                    kid,
                    algorithm,
                    signer,
                };
                (signing, jwk)
            }),
        _ => None,
    };
    // Best effort: the private key does not linger in freed memory (the parsed key zeroes
    // its own).
    pkcs8.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&pkcs8);
    if opened.is_none() {
        tracing::warn!(kid = %row.kid, "a signing key is not the key its kid names; left out");
    }
    opened
}
