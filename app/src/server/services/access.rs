//! Who is acting, and what they may administer. Every site-scoped service calls
//! [`Principal::require_site_admin`] before reading or changing anything, so the console's menus
//! are a convenience and never the protection.

use crate::server::{
    ServiceError,
    entities::{admin_token, client, site, site_membership as membership, user},
    services::audit::Actor,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

/// The authority behind a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator at the command line: may administer every site.
    Operator,
    /// A signed-in administrator: only the sites where they hold the site-administrator role.
    Admin {
        /// Their user id.
        user_id: Uuid,
        /// Their username, for the audit log.
        username: String,
    },
    /// An automation with an administrator's admin API token: only the sites the token names
    /// *and* its administrator still administers, checked on every call (a role taken away
    /// takes the token's reach with it).
    AdminToken {
        /// The token's id (the audit log's actor id).
        token_id: Uuid,
        /// The token's name, for the audit log.
        token_name: String,
        /// The administrator it acts for.
        user_id: Uuid,
        /// Their username.
        username: String,
        /// The sites the token names.
        sites: Vec<Uuid>,
    },
}

/// A principal plus the address the request came from: everything an audit event needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// Who.
    pub principal: Principal,
    /// From where (console requests only).
    pub address: Option<String>,
}

impl Acting {
    /// The operator at the command line.
    pub fn operator() -> Self {
        Self {
            principal: Principal::Operator,
            address: None,
        }
    }

    /// A signed-in administrator.
    pub fn admin(user_id: Uuid, username: impl Into<String>, address: Option<String>) -> Self {
        Self {
            principal: Principal::Admin {
                user_id,
                username: username.into(),
            },
            address,
        }
    }

    /// The administrator's user id, if this is one (or a token acting for one).
    pub fn admin_id(&self) -> Option<Uuid> {
        match &self.principal {
            Principal::Admin { user_id, .. } | Principal::AdminToken { user_id, .. } => {
                Some(*user_id)
            }
            Principal::Operator => None,
        }
    }

    /// How the audit log names this actor.
    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::Operator => Actor::operator(self.address.clone()),
            Principal::Admin { user_id, username } => {
                Actor::admin(*user_id, username, self.address.clone())
            }
            Principal::AdminToken {
                token_id,
                token_name,
                username,
                ..
            } => Actor::admin_token(
                *token_id,
                format!("{token_name} ({username})"),
                self.address.clone(),
            ),
        }
    }

    /// The site, if this principal may administer it. A site they do not administer is
    /// reported exactly like one that does not exist, so its existence is not disclosed.
    pub async fn require_site_admin(
        &self,
        conn: &impl ConnectionTrait,
        site_id: Uuid,
    ) -> Result<site::Model, ServiceError> {
        if let Principal::AdminToken { sites, .. } = &self.principal {
            if !sites.contains(&site_id) {
                return Err(ServiceError::NotFound);
            }
            self.require_live_token(conn).await?;
        }
        if let Some(user_id) = self.admin_id() {
            let is_admin = membership::Entity::find_by_id((site_id, user_id))
                .one(conn)
                .await?
                .is_some_and(|m| m.is_site_admin);
            if !is_admin {
                return Err(ServiceError::NotFound);
            }
        }
        site::Entity::find_by_id(site_id)
            .one(conn)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The client `client_uuid`, if this principal administers its site (reported like a
    /// missing client otherwise). A deleted client is missing here: only the Deleted view
    /// ([`Acting::require_deleted_client`]) reaches it.
    pub async fn require_client(
        &self,
        conn: &impl ConnectionTrait,
        client_uuid: Uuid,
    ) -> Result<client::Model, ServiceError> {
        self.require_client_where(conn, client_uuid, false).await
    }

    /// The deleted client `client_uuid` (to restore or purge it), if this principal
    /// administers its site.
    pub async fn require_deleted_client(
        &self,
        conn: &impl ConnectionTrait,
        client_uuid: Uuid,
    ) -> Result<client::Model, ServiceError> {
        self.require_client_where(conn, client_uuid, true).await
    }

    async fn require_client_where(
        &self,
        conn: &impl ConnectionTrait,
        client_uuid: Uuid,
        deleted: bool,
    ) -> Result<client::Model, ServiceError> {
        let client = client::Entity::find_by_id(client_uuid)
            .one(conn)
            .await?
            .filter(|client| client.is_deleted() == deleted)
            .ok_or(ServiceError::NotFound)?;
        self.require_site_admin(conn, client.site_id).await?;
        Ok(client)
    }
}

impl Acting {
    /// The sites this principal administers, by name: every site for the operator, an
    /// administrator's own, and for a token those of its sites its administrator still
    /// administers. The one statement of "reach" for lists (single checks use
    /// [`Acting::require_site_admin`]).
    pub async fn administered_sites(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<Vec<site::Model>, ServiceError> {
        match &self.principal {
            Principal::Operator => Ok(site::Entity::find()
                .order_by_asc(site::Column::NameKey)
                .all(conn)
                .await?),
            Principal::Admin { user_id, .. } => administered_sites(conn, *user_id).await,
            Principal::AdminToken { user_id, sites, .. } => {
                self.require_live_token(conn).await?;
                Ok(administered_sites(conn, *user_id)
                    .await?
                    .into_iter()
                    .filter(|site| sites.contains(&site.id))
                    .collect())
            }
        }
    }

    /// For a token: refuses (as "not found") unless it is still unrevoked and its
    /// administrator still active, read again on `conn` — the action's own transaction — so a
    /// revocation or a disabling that committed after the request was authenticated stops it.
    /// A plain read, no lock: a lock here would order itself against every revocation path
    /// (password changes, deletions) and could deadlock them; a revocation committing in the
    /// same instant as the action is the only window left.
    async fn require_live_token(&self, conn: &impl ConnectionTrait) -> Result<(), ServiceError> {
        let Principal::AdminToken {
            token_id, user_id, ..
        } = &self.principal
        else {
            return Ok(());
        };
        let unrevoked = admin_token::Entity::find_by_id(*token_id)
            .filter(admin_token::Column::RevokedAt.is_null())
            .one(conn)
            .await?
            .is_some();
        let owner_active = user::Entity::find_by_id(*user_id)
            .one(conn)
            .await?
            .is_some_and(|owner| owner.is_active());
        if unrevoked && owner_active {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }
}

/// The sites `user_id` administers, by name.
pub async fn administered_sites(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<site::Model>, ServiceError> {
    sites_where(conn, user_id, membership::Column::IsSiteAdmin).await
}

/// The sites where `user_id` has the API User role, by name.
pub async fn api_user_sites(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<site::Model>, ServiceError> {
    sites_where(conn, user_id, membership::Column::IsApiUser).await
}

/// The sites where `user_id`'s membership has `role` set, by name.
async fn sites_where(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    role: membership::Column,
) -> Result<Vec<site::Model>, ServiceError> {
    Ok(site::Entity::find()
        .join(JoinType::InnerJoin, site::Relation::Membership.def())
        .filter(membership::Column::UserId.eq(user_id))
        .filter(role.eq(true))
        .order_by_asc(site::Column::NameKey)
        .all(conn)
        .await?)
}
