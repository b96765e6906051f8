//! What every `latchkey` subcommand shares: its one-line error, JSON output, moments as
//! RFC 3339, and durations like `90d`.

use crate::master_key;
use app::{domain::Timestamp, server::ServiceError};

/// A failed command, as one line for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl From<ServiceError> for CliError {
    fn from(error: ServiceError) -> Self {
        Self(match error {
            ServiceError::Invalid(errors) => errors
                .into_iter()
                .map(|e| match e.field.as_str() {
                    // The console's confirmation box is this command's flag.
                    "retire_anyway" => format!("{} (pass --even-if-in-use)", e.message),
                    field => format!("{}: {}", field.replace('_', "-"), e.message),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }
}

macro_rules! cli_error_from {
    ($($source:ty),*) => {$(
        impl From<$source> for CliError {
            fn from(error: $source) -> Self {
                Self(error.to_string())
            }
        }
    )*};
}
cli_error_from!(
    sea_orm::DbErr,
    std::io::Error,
    master_key::KeyError,
    app::domain::Invalid
);

/// Prints `value` as pretty JSON on stdout (the commands' machine-readable output).
pub fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|error| CliError(error.to_string()))?;
    println!("{text}");
    Ok(())
}

/// A unix time as RFC 3339 (JSON null for none).
pub fn rfc3339(at: Option<i64>) -> Option<String> {
    at.map(|at| Timestamp(at).format_rfc3339())
}

/// Parses `90d`, `12h`, `30m`, `45s` or plain seconds.
pub fn parse_duration(text: &str) -> Result<i64, CliError> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let number: i64 = number.parse().map_err(|_| {
        CliError(format!(
            "{text:?} is not a duration like 90d, 12h, 30m or 3600"
        ))
    })?;
    let seconds = match unit {
        'd' => number.checked_mul(86_400),
        'h' => number.checked_mul(3_600),
        'm' => number.checked_mul(60),
        's' => Some(number),
        _ => None,
    };
    seconds.filter(|s| *s >= 0).ok_or_else(|| {
        CliError(format!(
            "{text:?} is not a duration like 90d, 12h, 30m or 3600"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use proptest::prelude::*;

    #[test]
    fn durations_in_the_units_operators_type() {
        assert_eq!(parse_duration("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_duration(" 12h ").unwrap(), 12 * 3_600);
        assert_eq!(parse_duration("3600").unwrap(), 3_600);
        for bad in ["", "d", "-1d", "1w", "9999999999999999999d", "1é", "１d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_a_duration_or_a_clear_error(raw in any::<String>()) {
            if let Ok(seconds) = parse_duration(&raw) {
                prop_assert!(seconds >= 0);
            }
        }
    }
}
