//! Remembered consent (issue 21 item 4): how long a site remembers what an API user granted at
//! the prompt, and the `prompt` parameter a client sends to ask for more (or less) than that.

const DAY: i64 = 86_400;

/// The default consent lifetime of a site: ninety days.
pub const DEFAULT_CONSENT_LIFETIME: i64 = 90 * DAY;

/// The longest a consent may be remembered: two years.
pub const MAX_CONSENT_LIFETIME: i64 = 2 * 365 * DAY;

/// The console's choices, in seconds (0: never remember), with their wording.
pub const CONSENT_LIFETIME_CHOICES: &[(i64, &str)] = &[
    (0, "Never remember (always ask)"),
    (DAY, "1 day"),
    (30 * DAY, "30 days"),
    (DEFAULT_CONSENT_LIFETIME, "90 days"),
    (180 * DAY, "180 days"),
    (365 * DAY, "1 year"),
];

/// A consent lifetime in seconds, held to the bounds every caller (console, CLI) shares:
/// 0 (never remember), or 1 hour to [`MAX_CONSENT_LIFETIME`].
pub fn consent_lifetime(seconds: i64) -> Result<i64, String> {
    match seconds {
        0 => Ok(0),
        s if (3_600..=MAX_CONSENT_LIFETIME).contains(&s) => Ok(s),
        _ => Err("A consent is remembered between 1 hour and 2 years (or never).".into()),
    }
}

/// The console's words for a consent lifetime.
pub fn consent_lifetime_words(seconds: i64) -> String {
    match CONSENT_LIFETIME_CHOICES.iter().find(|(c, _)| *c == seconds) {
        Some((0, _)) => "never remembered".into(),
        Some((_, words)) => format!("remembered for {words}"),
        None if seconds % DAY == 0 => format!("remembered for {} day(s)", seconds / DAY),
        None if seconds % 3_600 == 0 => format!("remembered for {} hour(s)", seconds / 3_600),
        None => format!("remembered for {} minute(s)", seconds / 60),
    }
}

/// What the client asked of the prompt (`prompt`, OpenID Connect Core §3.1.2.1, which OAuth
/// clients use too): a space-separated set of `none`, `login` and `consent`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromptParam {
    /// Show nothing: answer `login_required` or `consent_required` when the user would have to
    /// act.
    pub none: bool,
    /// The password is asked even of a signed-in user.
    pub login: bool,
    /// The prompt is shown even when a remembered consent covers the request.
    pub consent: bool,
}

impl PromptParam {
    /// Parses the parameter; `none` with anything else, and unknown values, are refused.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let mut prompt = Self::default();
        let Some(raw) = raw else {
            return Ok(prompt);
        };
        for value in raw.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                _ => return Err("prompt may be none, login or consent".into()),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(prompt)
    }

    /// The parameter's canonical text (empty when nothing was asked).
    pub fn as_param(self) -> String {
        [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, word)| *word)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_parse_and_refuse_what_they_must() {
        assert_eq!(PromptParam::parse(None), Ok(PromptParam::default()));
        let both = PromptParam::parse(Some("consent login")).unwrap();
        assert!(both.login && both.consent && !both.none);
        assert_eq!(both.as_param(), "login consent");
        assert!(PromptParam::parse(Some("none")).unwrap().none);
        assert!(PromptParam::parse(Some("none login")).is_err());
        assert!(PromptParam::parse(Some("select_account")).is_err());
        assert!(PromptParam::parse(Some("NONE")).is_err());
        assert_eq!(PromptParam::parse(Some("")), Ok(PromptParam::default()));
    }

    #[test]
    fn lifetimes_are_bounded_and_worded() {
        assert_eq!(consent_lifetime(0), Ok(0));
        assert!(consent_lifetime(3_599).is_err());
        assert_eq!(consent_lifetime(3_600), Ok(3_600));
        assert_eq!(
            consent_lifetime(MAX_CONSENT_LIFETIME),
            Ok(MAX_CONSENT_LIFETIME)
        );
        assert!(consent_lifetime(-1).is_err());
        assert!(consent_lifetime(MAX_CONSENT_LIFETIME + 1).is_err());
        assert_eq!(consent_lifetime_words(5_400), "remembered for 90 minute(s)");
        assert_eq!(consent_lifetime_words(0), "never remembered");
        assert_eq!(
            consent_lifetime_words(DEFAULT_CONSENT_LIFETIME),
            "remembered for 90 days"
        );
        assert_eq!(consent_lifetime_words(7 * DAY), "remembered for 7 day(s)");
    }
}
