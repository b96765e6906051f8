//! The console forms' own parsers (beyond the domain types) against hostile input: the Audit
//! Log filters, the roles rows of the user forms, and the token choice of rotate/disable. None
//! panics; what one accepts is what its form meant.

use crate::api::{audit::AuditQuery, users::RolesInput};
use crate::hostile::{config, hostile_text};
use crate::server::services::secrets::ExistingTokens;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn audit_filters(
        actor in hostile_text(),
        client in hostile_text(),
        action in hostile_text(),
        from in hostile_text(),
        until in hostile_text(),
    ) {
        let query = AuditQuery { actor, client, action, from, until };
        if let Ok(filter) = query.to_filter() {
            if let (Some(from), Some(until)) = (filter.from, filter.until) {
                prop_assert!(from.unix() < until.unix());
            }
            if let Some(action) = &filter.action {
                prop_assert!(crate::server::services::audit::Action::ALL
                    .iter()
                    .any(|known| known.as_str() == action));
            }
        }
    }

    #[test]
    fn roles_rows(rows in prop::collection::vec((hostile_text(), any::<bool>(), any::<bool>()), 0..5)) {
        let inputs: Vec<RolesInput> = rows
            .into_iter()
            .map(|(site_id, admin, api)| RolesInput {
                site_id,
                site_admin: admin.then(|| "on".to_owned()),
                api_user: api.then(|| "on".to_owned()),
            })
            .collect();
        if let Ok(roles) = crate::api::users::parse_roles(&inputs) {
            prop_assert!(!roles.is_empty() && roles.len() <= inputs.len());
        }
    }

    #[test]
    fn token_choices(raw in hostile_text()) {
        let choice = ExistingTokens::from_form(&raw);
        prop_assert_eq!(choice.is_some(), raw == "keep" || raw == "revoke");
    }
}
