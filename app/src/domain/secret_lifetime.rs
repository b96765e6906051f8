//! How long a new Consumer Secret stays valid (issue 20 item 1): the choices the console
//! offers, the bounds every caller (console, CLI) is held to, and when an expiry is "soon".

/// The lifetimes offered for a site's new secrets and at each regeneration, in seconds (0: the
/// secret never expires), with their wording.
pub const LIFETIME_CHOICES: &[(i64, &str)] = &[
    (0, "Never expires"),
    (30 * DAY, "30 days"),
    (90 * DAY, "90 days"),
    (180 * DAY, "180 days"),
    (365 * DAY, "1 year"),
];

const DAY: i64 = 86_400;

/// The shortest lifetime a secret may be given (the CLI takes any duration in between).
pub const MIN_LIFETIME_SECONDS: i64 = DAY;

/// The longest lifetime a secret may be given: three years.
pub const MAX_LIFETIME_SECONDS: i64 = 3 * 365 * DAY;

/// Days before its expiry from which a secret is "expiring": the Dashboard lists it, the API
/// Clients tab filters it, its badge turns to a warning.
pub const EXPIRY_NOTICE_DAYS: i64 = 30;

/// The lifetime of one new secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeChoice {
    /// Whatever its site sets for new secrets.
    SiteDefault,
    /// It never expires.
    Never,
    /// It expires this many seconds after it is made.
    For(i64),
}

impl LifetimeChoice {
    /// A lifetime in seconds: 0 is [`Never`](Self::Never); otherwise it must lie within
    /// [`MIN_LIFETIME_SECONDS`]..=[`MAX_LIFETIME_SECONDS`].
    pub fn seconds(seconds: i64) -> Result<Self, String> {
        match seconds {
            0 => Ok(Self::Never),
            s if (MIN_LIFETIME_SECONDS..=MAX_LIFETIME_SECONDS).contains(&s) => Ok(Self::For(s)),
            _ => Err(
                "A secret's lifetime is between 1 day and 3 years (or it never expires).".into(),
            ),
        }
    }

    /// The console's field: `site` (or empty) for the site's default, else seconds.
    pub fn parse_form(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "" | "site" => Ok(Self::SiteDefault),
            number => number
                .parse::<i64>()
                .map_err(|_| "Choose how long the new secret stays valid.".to_owned())
                .and_then(Self::seconds),
        }
    }

    /// The lifetime in seconds once the site's default (`site_lifetime`) is known; `None`: no
    /// expiry.
    pub fn resolve(self, site_lifetime: Option<i64>) -> Option<i64> {
        match self {
            Self::SiteDefault => site_lifetime.filter(|s| *s > 0),
            Self::Never => None,
            Self::For(seconds) => Some(seconds),
        }
    }
}

/// The console's words for a lifetime in seconds (`None`: never).
pub fn lifetime_words(seconds: Option<i64>) -> String {
    match seconds {
        None | Some(0) => "never expire".into(),
        Some(s) => match LIFETIME_CHOICES.iter().find(|(c, _)| *c == s) {
            Some((_, words)) => format!("expire after {words}"),
            None => format!("expire after {} day(s)", s / DAY),
        },
    }
}

/// Whole days left until `end` (rounded up, never below 0), for "expires in N days".
pub fn days_left(end: i64, now: i64) -> i64 {
    ((end - now).max(0) + DAY - 1) / DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_and_bounds() {
        for (seconds, _) in LIFETIME_CHOICES {
            assert!(LifetimeChoice::seconds(*seconds).is_ok());
        }
        assert!(LifetimeChoice::seconds(3_600).is_err());
        assert!(LifetimeChoice::seconds(MAX_LIFETIME_SECONDS + 1).is_err());
        assert!(LifetimeChoice::seconds(-DAY).is_err());
        assert_eq!(
            LifetimeChoice::parse_form("site"),
            Ok(LifetimeChoice::SiteDefault)
        );
        assert_eq!(LifetimeChoice::parse_form("0"), Ok(LifetimeChoice::Never));
        assert!(LifetimeChoice::parse_form("ninety").is_err());
        assert_eq!(
            LifetimeChoice::SiteDefault.resolve(Some(90 * DAY)),
            Some(90 * DAY)
        );
        assert_eq!(LifetimeChoice::Never.resolve(Some(90 * DAY)), None);
        assert_eq!(LifetimeChoice::For(DAY).resolve(None), Some(DAY));
        assert_eq!(days_left(100 + DAY + 1, 100), 2);
        assert_eq!(days_left(100, 200), 0);
        assert_eq!(lifetime_words(Some(90 * DAY)), "expire after 90 days");
    }
}
