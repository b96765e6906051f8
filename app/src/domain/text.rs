//! The refusal every value type returns, and the text rules they share (no control
//! characters, no invisible or bidirectional marks, display text trimmed and bounded).

/// Why a raw input was refused, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// A refusal with the given human-readable reason.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// True for characters that never belong in a name or identifier a person types
/// (control characters, including newlines and NUL).
pub(super) fn has_control_chars(raw: &str) -> bool {
    raw.chars().any(char::is_control)
}

/// Text someone else chose (a client's `User-Agent`, say), made safe to show: control,
/// invisible and bidirectional characters dropped, runs of spaces folded, at most `max_chars`
/// characters (an ellipsis marks a cut). `None` when nothing readable is left.
pub fn display_excerpt(raw: &str, max_chars: usize) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_control() || is_invisible_or_bidi(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if count + usize::from(pending_space) >= max_chars {
            out.push('…');
            return Some(out);
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// True for characters that render as nothing or reorder the text around them: bidi
/// embeddings, overrides and isolates, zero-width spaces and joiners, fillers that look blank,
/// tags. In a client's name or description they let one application pass for another on the
/// consent prompt (e.g. `U+202E` turns "Reports\u{202E}kcaB" into what reads as "ReportsBack"),
/// so display text refuses them.
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// The refusal of text holding a character of [`is_invisible_or_bidi`].
pub(super) fn refuse_invisible(text: &str, what: &str) -> Result<(), Invalid> {
    if text.chars().any(is_invisible_or_bidi) {
        return Err(Invalid::new(format!(
            "{what} cannot contain invisible or text-direction characters."
        )));
    }
    Ok(())
}

/// Checks a trimmed, free-text name: present, at most `max` characters, no control,
/// invisible or text-direction characters.
pub(super) fn parse_display_text(raw: &str, what: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(format!("{what} is required.")));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(format!(
            "{what} must be at most {max} characters."
        )));
    }
    if has_control_chars(trimmed) {
        return Err(Invalid::new(format!(
            "{what} cannot contain control characters."
        )));
    }
    refuse_invisible(trimmed, what)?;
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_excerpts_drop_what_cannot_be_shown_and_stop_at_the_limit() {
        assert_eq!(
            display_excerpt("curl/8.5", 200).as_deref(),
            Some("curl/8.5")
        );
        assert_eq!(
            display_excerpt("  a\u{202E}b \n\r\t c\u{200B}  ", 200).as_deref(),
            Some("ab c")
        );
        assert_eq!(display_excerpt("\u{202E}\u{0007} ", 200), None);
        assert_eq!(display_excerpt("abcdef", 3).as_deref(), Some("abc…"));
        assert_eq!(display_excerpt("ab cdef", 3).as_deref(), Some("ab…"));
        let long = "é".repeat(500);
        assert_eq!(display_excerpt(&long, 200).unwrap().chars().count(), 201);
    }
}
