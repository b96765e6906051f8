//! The administrators' side of requested applications: the Pending list (API Clients tab and
//! Dashboard) and the decision, Approve or Reject with a reason.

use super::views::ScopeOption;
use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One request waiting for a decision, with everything that was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// Row id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Redirect URI.
    pub redirect_uri: String,
    /// The API user who asked (its owner).
    pub requested_by: String,
    /// Scopes asked for.
    pub scopes: Vec<ScopeOption>,
    /// When (formatted).
    pub requested_at: String,
    /// The Consumer Key it will have.
    pub client_id: String,
}

/// A signed-in administrator: the selected site's requests waiting for a decision, oldest
/// first.
#[server(endpoint = "get_pending_requests")]
pub async fn get_pending_requests() -> Result<Vec<PendingRequest>, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{
        ctx,
        services::{clients, scopes},
    };
    let admin = ctx::require_admin().await?;
    let db = &admin.state.db;
    admin.acting().require_site_admin(db, admin.site.id).await?;
    let catalogue = scopes::catalogue(db, admin.site.id).await?;
    let mut rows = Vec::new();
    for client in clients::review::pending_on_site(db, admin.site.id).await? {
        let owner = crate::server::services::users::username_of(db, client.owner_user_id)
            .await?
            .unwrap_or_default();
        let asked = clients::client_scopes(db, client.id).await?;
        rows.push(PendingRequest {
            scopes: asked
                .iter()
                .map(|scope| ScopeOption {
                    name: scope.as_str().to_owned(),
                    description: catalogue
                        .iter()
                        .find(|entry| entry.name == scope.as_str())
                        .map(|entry| entry.description.clone())
                        .unwrap_or_default(),
                })
                .collect(),
            id: client.id,
            requested_at: Timestamp(client.created_at).format_utc(),
            requested_by: owner,
            name: client.name,
            description: client.description,
            redirect_uri: client.redirect_uri,
            client_id: client.client_id,
        });
    }
    Ok(rows)
}

/// An administrator of the client's site: approves a pending request (the client may obtain
/// tokens from now on; its owner sees its secret once on their page).
#[server(endpoint = "approve_request")]
pub async fn approve_request(csrf: String, client_uuid: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::clients::review};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    review::decide(&admin.service(), client_uuid, review::Decision::Approve).await?;
    Ok(())
}

/// An administrator of the client's site: rejects a pending request with a reason its owner
/// reads.
#[server(endpoint = "reject_request")]
pub async fn reject_request(
    csrf: String,
    client_uuid: Uuid,
    reason: String,
) -> Result<(), ConsoleError> {
    use crate::domain::ReviewReason;
    use crate::server::{ctx, services::clients::review};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    let reason =
        ReviewReason::parse(&reason).map_err(|e| ConsoleError::invalid("reason", e.to_string()))?;
    review::decide(
        &admin.service(),
        client_uuid,
        review::Decision::Reject(reason),
    )
    .await?;
    Ok(())
}
