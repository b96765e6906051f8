//! How long an old Consumer Secret may keep working after a rotation: the choices the console
//! offers, and the longest one, which the server enforces for every caller (console, CLI).

/// The grace periods offered when a secret is regenerated, in seconds, with their wording.
pub const GRACE_CHOICES: &[(i64, &str)] = &[
    (0, "Stops working now"),
    (3_600, "Keeps working for 1 hour"),
    (86_400, "Keeps working for 24 hours"),
    (604_800, "Keeps working for 7 days"),
];

/// The longest grace period: the last of [`GRACE_CHOICES`].
pub const MAX_GRACE_SECONDS: i64 = 604_800;

/// The grace period preselected in the console.
pub const DEFAULT_GRACE_SECONDS: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_longest_choice() {
        let longest = GRACE_CHOICES.iter().map(|(s, _)| *s).max();
        assert_eq!(longest, Some(MAX_GRACE_SECONDS));
        assert!(
            GRACE_CHOICES
                .iter()
                .any(|(s, _)| *s == DEFAULT_GRACE_SECONDS)
        );
    }
}
