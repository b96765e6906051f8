//! Hostile input for property tests: the strategies every parser of outside input is run
//! against (`proptest`, a fixed number of cases per run, no files written), so a parser that
//! panics, or accepts what it promised to refuse, fails `make test`.
//!
//! The families: arbitrary Unicode text; text built from the characters parsers trip on
//! (multibyte characters of every width, controls, NUL, bidi and zero-width characters,
//! percent signs, quotes); arbitrary bytes; and near-misses of real credentials (right
//! length, a multibyte character at the checksum boundary, one character changed).

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per property: enough to hit every family many times, little enough for `make test`.
pub const CASES: u32 = 2_000;

/// The runner configuration of every hostile-input property: [`CASES`] cases, no regression
/// files in the source tree.
pub fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters that break careless text handling.
const TRICKY: &[char] = &[
    '\0',
    '\t',
    '\n',
    '\r',
    '\u{7f}',
    '\u{85}',
    ' ',
    '%',
    '+',
    '&',
    '=',
    ':',
    '/',
    '\\',
    '"',
    '\'',
    '<',
    '>',
    '.',
    '_',
    '-',
    '~',
    'é',
    'ß',
    '€',
    '日',
    '𝕏',
    '🚀',
    '\u{0301}',
    '\u{00AD}',
    '\u{200B}',
    '\u{200D}',
    '\u{202E}',
    '\u{2066}',
    '\u{FEFF}',
    '\u{FFFD}',
    '\u{E0041}',
    '\u{10FFFF}',
];

/// Text made of ASCII letters and [`TRICKY`] characters, up to `max` characters.
pub fn tricky_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::char::range('a', 'z'),
            2 => prop::sample::select(TRICKY),
            1 => any::<char>(),
        ],
        0..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Any Unicode text, or tricky text, or a very long run: what a hostile form field holds.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => tricky_text(80),
        2 => any::<String>(),
        1 => (prop::sample::select(TRICKY), 0usize..5_000)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

/// Arbitrary bytes (not necessarily UTF-8), as a request body or header value may carry.
pub fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..256),
        1 => tricky_text(64).prop_map(String::into_bytes),
    ]
}

/// A string of exactly `len` bytes starting with `prefix`, with multibyte characters placed
/// anywhere, including across the last `tail` bytes (where a checksum would start).
pub fn same_length_as(
    prefix: &'static str,
    len: usize,
    tail: usize,
) -> impl Strategy<Value = String> {
    (
        0..=tail + 3,
        prop::sample::select(&['é', '€', '𝕏', '\u{FFFD}'][..]),
        tricky_text(8),
    )
        .prop_map(move |(from_end, wide, filler)| {
            let mut text = String::from(prefix);
            text.extend(filler.chars().filter(char::is_ascii));
            while text.len() < len.saturating_sub(from_end + wide.len_utf8()) {
                text.push('A');
            }
            if text.len() + wide.len_utf8() <= len {
                text.push(wide);
            }
            while text.len() < len {
                text.push('z');
            }
            text
        })
}

/// `valid` with one character replaced by `replacement` at `position` (taken modulo its
/// length): a typo, or a hostile edit, of a real value.
pub fn mutate(valid: &str, position: usize, replacement: char) -> String {
    let mut chars: Vec<char> = valid.chars().collect();
    if chars.is_empty() {
        return replacement.to_string();
    }
    let at = position % chars.len();
    chars[at] = replacement;
    chars.into_iter().collect()
}
