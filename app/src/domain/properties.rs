//! Every domain parser against hostile input (see `crate::hostile`): none panics, whatever it
//! is given, and what one accepts keeps the promises its type makes (trimmed, bounded, no
//! control, invisible or text-direction characters where the value is shown to people, and the
//! same value when parsed again).

use super::*;
use crate::hostile::{config, hostile_text, tricky_text};
use proptest::prelude::*;

/// The promises of display text: no control, invisible or bidi characters, not blank, trimmed.
fn shown_safely(text: &str) -> bool {
    !text.is_empty()
        && text.trim() == text
        && !text
            .chars()
            .any(|c| c.is_control() || is_invisible_or_bidi(c))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn usernames(raw in hostile_text()) {
        if let Ok(name) = Username::parse(&raw) {
            prop_assert!(name.as_str().is_ascii());
            prop_assert!((Username::MIN..=Username::MAX).contains(&name.as_str().len()));
            prop_assert_eq!(Username::parse(name.as_str()).ok(), Some(name.clone()));
        }
    }

    #[test]
    fn site_names(raw in hostile_text()) {
        if let Ok(name) = SiteName::parse(&raw) {
            prop_assert!(shown_safely(name.as_str()));
            prop_assert!(name.as_str().chars().count() <= SiteName::MAX);
            prop_assert_eq!(SiteName::parse(name.as_str()).ok(), Some(name.clone()));
        }
    }

    #[test]
    fn client_names(raw in hostile_text()) {
        if let Ok(name) = ClientName::parse(&raw) {
            prop_assert!(shown_safely(name.as_str()));
            prop_assert!(name.as_str().chars().count() <= ClientName::MAX);
            prop_assert_eq!(ClientName::parse(name.as_str()).ok(), Some(name.clone()));
        }
    }

    #[test]
    fn client_descriptions(raw in hostile_text()) {
        if let Ok(text) = ClientDescription::parse(&raw) {
            let text = text.as_str();
            prop_assert!(!text.is_empty() && text.chars().count() <= ClientDescription::MAX);
            prop_assert!(!text.contains('\r'));
            prop_assert!(!text.chars().any(|c| (c.is_control() && c != '\n' && c != '\t')
                || is_invisible_or_bidi(c)));
        }
    }

    #[test]
    fn email_addresses(raw in hostile_text()) {
        if let Ok(email) = EmailAddress::parse(&raw) {
            let text = email.as_str();
            prop_assert!(text.len() <= 254);
            prop_assert_eq!(text.matches('@').count(), 1);
            prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()
                || is_invisible_or_bidi(c)));
        }
    }

    #[test]
    fn passwords(raw in hostile_text(), username in tricky_text(12)) {
        if let Ok(password) = NewPassword::parse(&raw, &username) {
            let count = password.expose().chars().count();
            prop_assert!((PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&count));
            prop_assert!(!password.expose().chars().any(char::is_control));
            let shown = format!("{:?}", password);
            prop_assert!(!shown.contains(password.expose()));
        }
    }

    #[test]
    fn redirect_uris(raw in hostile_text(), loopback in any::<bool>()) {
        if let Ok(uri) = RedirectUri::parse(&raw, loopback) {
            let text = uri.as_str();
            prop_assert!(text.is_ascii() && text.len() <= RedirectUri::MAX);
            prop_assert!(!text.contains('#') && !text.contains('*') && !text.contains('\\'));
            prop_assert!(text.starts_with("https://") || (loopback && text.starts_with("http://")));
        }
    }

    #[test]
    fn https_redirect_uris_with_hostile_paths(path in tricky_text(40)) {
        let raw = format!("https://app.example.com/{path}");
        if let Ok(uri) = RedirectUri::parse(&raw, false) {
            prop_assert_eq!(uri.as_str(), raw.as_str(), "kept exactly as written");
        }
    }

    #[test]
    fn scopes(raw in hostile_text(), inputs in prop::collection::vec(tricky_text(12), 0..6)) {
        if let Ok(set) = ScopeSet::parse(&raw) {
            prop_assert!(set.iter().count() <= 32);
            prop_assert_eq!(ScopeSet::parse(&set.to_string()).ok(), Some(set.clone()));
        }
        if let Ok(set) = ScopeSet::from_inputs(&inputs) {
            prop_assert!(set.iter().all(|s| s.as_str().is_ascii()));
        }
        let _ = ScopeName::parse(&raw);
    }

    #[test]
    fn site_role_rows(rows in prop::collection::vec((hostile_text(), any::<bool>(), any::<bool>()), 0..5)) {
        let refs = rows.iter().map(|(id, admin, api)| (id.as_str(), *admin, *api));
        if let Ok(roles) = SiteRoles::parse_rows(refs) {
            let mut ids: Vec<_> = roles.iter().map(|r| r.site_id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), roles.len(), "no site twice");
        }
    }

    #[test]
    fn dates(raw in hostile_text()) {
        if let Ok(day) = Timestamp::parse_date(&raw) {
            prop_assert_eq!(day.unix() % 86_400, 0);
            prop_assert_eq!(Timestamp::parse_date(&day.format_date()).ok(), Some(day));
        }
    }
}
