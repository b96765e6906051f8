//! The first half of a token batch: each request judged by its grant's rules in arrival order
//! (`check_all`), then the codes and refresh tokens of those that pass consumed (`consume`).
//! What is left is [`Pending`]: requests that will get tokens, each with what it presented.

use crate::domain::{ScopeSet, Timestamp};
use crate::server::{
    ServiceError,
    entities::{authorization_code, client, token_family},
    settings::Settings,
};
use std::collections::HashSet;
use uuid::Uuid;

use super::request::{GrantRequest, Outcome, Verdict};
use super::{client_rules, code_rules, reads, refresh_rules, writes};
use crate::server::services::oauth::grant_check;

/// A request that passed its checks and will get tokens once its code or refresh token is
/// consumed.
pub struct Pending {
    /// Its place in the batch.
    pub index: usize,
    /// The authenticated client.
    pub client: client::Model,
    /// The user the grant acts for (`None`: the client itself).
    pub user_id: Option<Uuid>,
    /// The grant's site.
    pub site_id: Uuid,
    /// The scope of the new tokens.
    pub scope: ScopeSet,
    /// The audience of the new access token (RFC 8707), if narrowed to one.
    pub audience: Option<String>,
    /// The client's address, for the audit log.
    pub address: Option<String>,
    /// The DPoP key the new tokens are bound to, if the client proved one.
    pub dpop_jkt: Option<String>,
    /// What it presented.
    pub source: Source,
}

/// What a pending request presented.
pub enum Source {
    /// A new grant from this authorization code.
    Code(authorization_code::Model),
    /// The next pair of this grant, from this refresh token.
    Refresh {
        token_hash: String,
        family: token_family::Model,
    },
    /// A new grant of the client to itself (client credentials).
    Client,
}

/// Presented again: revoke what it was used for.
pub enum Reuse {
    Code {
        index: usize,
        client: client::Model,
        code: authorization_code::Model,
        address: Option<String>,
    },
    Refresh {
        index: usize,
        client: client::Model,
        family: token_family::Model,
        address: Option<String>,
    },
    /// A client credentials request cannot be reused (kept total rather than panicking).
    Nothing,
}

impl Reuse {
    /// The reuse of what `source` presented, by request `index`.
    pub fn of(
        index: usize,
        client: client::Model,
        source: Source,
        address: Option<String>,
    ) -> Self {
        match source {
            Source::Code(code) => Self::Code {
                index,
                client,
                code,
                address,
            },
            Source::Refresh { family, .. } => Self::Refresh {
                index,
                client,
                family,
                address,
            },
            // Never reached: nothing is consumed, so nothing is reused.
            Source::Client => Self::Nothing,
        }
    }
}

/// Judges every request in arrival order against the rows it presents; fills `outcomes` for
/// the refused ones and returns the rest, and the reuses found.
pub async fn check_all(
    txn: &sea_orm::DatabaseTransaction,
    requests: &[GrantRequest],
    outcomes: &mut [Option<Outcome>],
    settings: &Settings,
    now: Timestamp,
) -> Result<(Vec<Pending>, Vec<Reuse>), ServiceError> {
    let presented = reads::presented(txn, requests).await?;
    let registered =
        reads::active_client_scopes(txn, requests.iter().map(|r| r.client().id)).await?;

    let mut pending = Vec::new();
    let mut reuses = Vec::new();
    let mut consumed_here: HashSet<&str> = HashSet::new();
    for (index, request) in requests.iter().enumerate() {
        let current = registered.get(&request.client().id);
        // Registered for this grant still, as this transaction reads the client.
        if let Some((_, grants)) = current
            && !grant_check::allows(*grants, request.grant_type())
        {
            outcomes[index] = Some(Err(grant_check::not_registered_for(request.grant_type())));
            continue;
        }
        let allowed = current.map(|(scopes, _)| scopes);
        // The verdict, the digest that would be consumed, and what it was presented for.
        let (verdict, digest, source) = match request {
            GrantRequest::Exchange(request) => {
                let code = presented.codes.get(&request.code_hash);
                let spent_here = consumed_here.contains(request.code_hash.as_str());
                (
                    code_rules::judge(request, code, spent_here, allowed, now)?,
                    request.code_hash.as_str(),
                    code.map(|code| Source::Code(code.clone())),
                )
            }
            GrantRequest::Refresh(request) => {
                let row = presented.refresh_tokens.get(&request.token_hash);
                let family = row.and_then(|row| presented.families.get(&row.family_id));
                let spent_here = consumed_here.contains(request.token_hash.as_str());
                (
                    refresh_rules::judge(request, row, family, spent_here, allowed, settings, now)?,
                    request.token_hash.as_str(),
                    family.map(|family| Source::Refresh {
                        token_hash: request.token_hash.clone(),
                        family: family.clone(),
                    }),
                )
            }
            GrantRequest::ClientCredentials(request) => (
                client_rules::judge(request, allowed),
                "",
                Some(Source::Client),
            ),
        };
        let (client, address) = (request.client().clone(), request.address().clone());
        match verdict {
            Verdict::Refuse(error) => outcomes[index] = Some(Err(error)),
            Verdict::Reused => {
                let source = source.ok_or_else(unjudged)?;
                reuses.push(Reuse::of(index, client, source, address));
            }
            Verdict::Issue {
                user_id,
                site_id,
                scope,
                audience,
            } => {
                if !digest.is_empty() {
                    consumed_here.insert(digest);
                }
                pending.push(Pending {
                    index,
                    client,
                    user_id,
                    site_id,
                    scope,
                    audience,
                    address,
                    dpop_jkt: request.dpop_jkt().map(str::to_owned),
                    source: source.ok_or_else(unjudged)?,
                });
            }
        }
    }
    Ok((pending, reuses))
}

/// A rule answered `Issue` or `Reused` without the row it judges (a bug, never a client's
/// doing).
fn unjudged() -> ServiceError {
    ServiceError::Unexpected("a grant rule judged a row that was not there".into())
}

/// Marks the codes and refresh tokens of `pending` consumed. One that another process
/// consumed since it was read becomes a reuse; returns the rest.
pub async fn consume(
    txn: &sea_orm::DatabaseTransaction,
    pending: Vec<Pending>,
    reuses: &mut Vec<Reuse>,
    now: Timestamp,
) -> Result<Vec<Pending>, ServiceError> {
    let code_hashes: Vec<String> = pending
        .iter()
        .filter_map(|p| match &p.source {
            Source::Code(code) => Some(code.code_hash.clone()),
            Source::Refresh { .. } | Source::Client => None,
        })
        .collect();
    let token_hashes: Vec<String> = pending
        .iter()
        .filter_map(|p| match &p.source {
            Source::Refresh { token_hash, .. } => Some(token_hash.clone()),
            Source::Code(_) | Source::Client => None,
        })
        .collect();
    let consumed = writes::consume(txn, code_hashes, token_hashes, now).await?;
    let mut kept = Vec::with_capacity(pending.len());
    for p in pending {
        let hash = match &p.source {
            Source::Code(code) => &code.code_hash,
            Source::Refresh { token_hash, .. } => token_hash,
            // Consumes nothing: always kept.
            Source::Client => {
                kept.push(p);
                continue;
            }
        };
        if consumed.contains(hash) {
            kept.push(p);
            continue;
        }
        reuses.push(Reuse::of(p.index, p.client, p.source, p.address));
    }
    Ok(kept)
}
