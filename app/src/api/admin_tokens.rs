//! The API Tokens page: the signed-in administrator's admin API tokens (for automation with
//! `/admin/v1`). Create one (with a recent password; shown once), see when each was last used,
//! revoke it.

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One token as the page lists it: never the token itself, except once, right after creation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenItem {
    /// Its id (the revoke form sends it).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The sites it reaches, by name.
    pub sites: Vec<String>,
    /// "read and write" or "read only".
    pub access: String,
    /// Its last four characters.
    pub hint: String,
    /// When it expires.
    pub expires: String,
    /// When and from where it was last used, if ever.
    pub last_used: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    /// The token, on the one page view right after it was created.
    pub new_token: Option<String>,
}

impl std::fmt::Debug for AdminTokenItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the one-time token (a logged page would keep it).
        f.debug_struct("AdminTokenItem")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("hint", &self.hint)
            .field("new_token", &self.new_token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A site the new token may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSiteChoice {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The selected site: pre-ticked.
    pub selected: bool,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokensPage {
    /// Their tokens, newest first.
    pub tokens: Vec<AdminTokenItem>,
    /// The sites they administer.
    pub sites: Vec<TokenSiteChoice>,
    /// Creating a token needs the password first.
    pub needs_password: bool,
}

/// A signed-in administrator: their own admin API tokens.
#[server(endpoint = "get_admin_tokens")]
pub async fn get_admin_tokens() -> Result<AdminTokensPage, ConsoleError> {
    use crate::domain::Timestamp;
    use crate::server::{ctx, services::admin_tokens};
    let admin = ctx::require_admin().await?;
    let now = admin.state.clock.now().unix();
    let rows = admin_tokens::list(&admin.service(), None).await?;
    let mut tokens = Vec::with_capacity(rows.len());
    for row in rows {
        let token = row.token;
        let new_token = admin
            .take_flashed_secret(token.id)
            .await?
            .map(|(_, secret)| secret);
        let state = if token.revoked_at.is_some() {
            "revoked"
        } else if token.expires_at <= now {
            "expired"
        } else {
            "active"
        };
        tokens.push(AdminTokenItem {
            id: token.id,
            name: token.name,
            sites: row.sites,
            access: if token.can_write {
                "read and write"
            } else {
                "read only"
            }
            .to_owned(),
            hint: token.hint,
            expires: Timestamp(token.expires_at).format_utc(),
            last_used: token.last_used_at.map(|at| match &token.last_used_from {
                Some(from) => format!("{} from {from}", Timestamp(at).format_utc()),
                None => Timestamp(at).format_utc(),
            }),
            state: state.to_owned(),
            new_token,
        });
    }
    let sites = admin
        .sites
        .iter()
        .map(|site| TokenSiteChoice {
            id: site.id,
            name: site.name.clone(),
            selected: site.id == admin.site.id,
        })
        .collect();
    Ok(AdminTokensPage {
        tokens,
        sites,
        needs_password: !admin.recently_authenticated(),
    })
}

/// A signed-in administrator with a recent password: creates a token for themselves on the
/// ticked sites; the page then shows it once. `expires_in_days` is 7, 30, 90 or 365.
#[server(endpoint = "create_admin_token")]
pub async fn create_admin_token(
    csrf: String,
    name: String,
    #[server(default)] sites: Vec<String>,
    #[server(default)] write: Option<String>,
    expires_in_days: String,
    #[server(default)] current_password: Option<String>,
) -> Result<Uuid, ConsoleError> {
    use crate::domain::AdminTokenName;
    use crate::error::FieldErrors;
    use crate::server::{ctx, services::admin_tokens};
    let mut admin = ctx::require_admin_for_change(&csrf).await?;
    admin
        .require_recent_password(current_password.as_deref())
        .await?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", AdminTokenName::parse(&name));
    let days = match expires_in_days.trim() {
        "7" => Some(7),
        "30" => Some(30),
        "90" => Some(90),
        "365" => Some(365),
        _ => {
            errors.push("expires_in_days", "Choose 7, 30, 90 or 365 days.");
            None
        }
    };
    let site_ids: Vec<Uuid> = sites
        .iter()
        .filter_map(|raw| Uuid::parse_str(raw.trim()).ok())
        .collect();
    if site_ids.is_empty() {
        errors.push("sites", "Tick at least one site.");
    }
    let (name, days) = errors.finish_with((name, days))?;
    let (token, secret) = admin_tokens::create(
        &admin.service(),
        admin_tokens::NewAdminToken {
            name,
            user_id: admin.user.id,
            sites: site_ids,
            write: write.is_some(),
            lifetime_seconds: days * 86_400,
        },
    )
    .await?;
    admin.flash_secret(token.id, &secret).await?;
    leptos_axum::redirect("/api-tokens");
    Ok(token.id)
}

/// A signed-in administrator: revokes one of their tokens.
#[server(endpoint = "revoke_admin_token")]
pub async fn revoke_admin_token(csrf: String, token_id: Uuid) -> Result<(), ConsoleError> {
    use crate::server::{ctx, services::admin_tokens};
    let admin = ctx::require_admin_for_change(&csrf).await?;
    admin_tokens::revoke(&admin.service(), token_id).await?;
    leptos_axum::redirect("/api-tokens");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_new_token() {
        let item = AdminTokenItem {
            id: Uuid::nil(),
            name: "terraform".into(),
            sites: vec!["Acme".into()],
            access: "read only".into(),
            hint: "abcd".into(),
            expires: String::new(),
            last_used: None,
            state: "active".into(),
            new_token: Some("lkad_supersecretvalue".into()),
        };
        let printed = format!("{item:?}");
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(printed.contains("abcd"));
    }
}
