use super::text::Invalid;
use uuid::Uuid;

/// The roles a user holds on one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteRoles {
    /// The site.
    pub site_id: Uuid,
    /// May administer the site.
    pub is_site_admin: bool,
    /// May authorize the site's API clients (the "API User" permission).
    pub is_api_user: bool,
}

impl SiteRoles {
    /// True when the roles amount to "no access" (the membership is removed).
    pub fn is_empty(&self) -> bool {
        !self.is_site_admin && !self.is_api_user
    }

    /// Reads the rows of a roles form, each `(site id, site-admin ticked, API-user ticked)`.
    /// Rows without a site (an "Add Site" dropdown left alone) are skipped; an unknown id or
    /// a site listed twice is refused; at least one site must remain.
    pub fn parse_rows<'a>(
        rows: impl IntoIterator<Item = (&'a str, bool, bool)>,
    ) -> Result<Vec<Self>, Invalid> {
        let mut roles: Vec<Self> = Vec::new();
        for (site_id, is_site_admin, is_api_user) in rows {
            let site_id = site_id.trim();
            if site_id.is_empty() {
                continue;
            }
            let site_id: Uuid = site_id.parse().map_err(|_| Invalid::new("Unknown site."))?;
            if roles.iter().any(|r| r.site_id == site_id) {
                return Err(Invalid::new("The same site is listed twice."));
            }
            roles.push(Self {
                site_id,
                is_site_admin,
                is_api_user,
            });
        }
        if roles.is_empty() {
            return Err(Invalid::new("Choose at least one site."));
        }
        Ok(roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_skipping_unselected_and_refusing_duplicates_and_garbage() {
        let a = "0190d6f4-0000-7000-8000-000000000001";
        let b = "0190d6f4-0000-7000-8000-000000000002";
        let roles =
            SiteRoles::parse_rows([(a, true, false), ("", true, true), (b, false, true)]).unwrap();
        assert_eq!(roles.len(), 2);
        assert!(roles[0].is_site_admin && !roles[0].is_api_user);
        assert!(roles[1].is_api_user);
        assert!(SiteRoles::parse_rows([(a, true, false), (a, false, true)]).is_err());
        assert!(SiteRoles::parse_rows([("not-a-uuid", true, false)]).is_err());
        assert!(SiteRoles::parse_rows([("", true, false)]).is_err());
    }
}
