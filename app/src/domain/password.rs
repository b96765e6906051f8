use super::text::Invalid;
use std::fmt;

/// Fewest characters a new password may have (NIST SP 800-63B recommends at least 8; a
/// console that mints API credentials asks for more).
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Most characters accepted: enough for any passphrase, small enough to bound hashing work.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Bases that, followed only by digits or punctuation, make a guessable password
/// ("Password2024!", "qwerty123456").
const GUESSABLE_BASES: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwerty",
    "qwertyuiop",
    "azerty",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "iloveyou",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "master",
    "shadow",
    "superman",
    "trustno1",
    "changeme",
    "secret",
    "latchkey",
    "default",
    "login",
    "abc",
    "abcd",
    "asdf",
    "zxcv",
    "test",
    "guest",
    "root",
];

/// Frequently breached passwords of twelve or more characters (shorter ones already fail the
/// length rule). Compared without regard to case.
const COMMON_LONG_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1234567891011",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "qwertyuiopasdfghjkl",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",
    "q1w2e3r4t5y6",
    "zaq12wsxcde3",
    "zaq1zaq1zaq1",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "qazwsxedcrfv",
    "qazwsxedcrfvtgb",
    "asdfghjkl123",
    "zxcvbnm12345",
    "passwordpassword",
    "password1234",
    "password12345",
    "password123456",
    "passw0rd1234",
    "iloveyou1234",
    "iloveyouiloveyou",
    "abcdefghijkl",
    "abcdefghijklm",
    "abcd1234abcd",
    "abc123abc123",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "121212121212",
    "112233445566",
    "123123123123",
    "123321123321",
    "147258369147",
    "987654321098",
    "0987654321qwerty",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "changeme1234",
    "administrator",
    "administrator1",
    "trustno1trustno1",
    "correcthorsebatterystaple",
    "thequickbrownfox",
    "pleaseletmein",
    "nopasswordhere",
    "mypassword123",
    "mypassword1234",
    "secretpassword",
    "supersecret123",
    "supersecretpassword",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "starwars1234",
    "pokemon12345",
    "minecraft123",
    "minecraft1234",
    "computer1234",
    "internet1234",
    "qwerty123456",
    "qwerty1234567",
    "asdfasdfasdf",
    "qweqweqweqwe",
    "asdasdasdasd",
    "zxczxczxczxc",
    "lovelovelove",
    "hellohellohello",
    "helloworld123",
    "helloworld1234",
    "michael12345",
    "jennifer1234",
];

/// A password that meets Latchkey's policy. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(********)")
    }
}

impl NewPassword {
    /// Applies the policy: 12 to 128 characters; not a well-known or trivially patterned
    /// password; does not contain the username. The message says which rule failed.
    pub fn parse(raw: &str, username: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len == 0 {
            return Err(Invalid::new("Password is required."));
        }
        if len < PASSWORD_MIN_CHARS {
            return Err(Invalid::new(format!(
                "Password must be at least {PASSWORD_MIN_CHARS} characters ({len} so far)."
            )));
        }
        if len > PASSWORD_MAX_CHARS {
            return Err(Invalid::new(format!(
                "Password must be at most {PASSWORD_MAX_CHARS} characters."
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(Invalid::new("Password cannot contain control characters."));
        }
        let lower = raw.to_lowercase();
        let username = username.trim().to_lowercase();
        if username.chars().count() >= 3 && lower.contains(&username) {
            return Err(Invalid::new("Password must not contain the username."));
        }
        if is_common(&lower) || is_patterned(&lower) {
            return Err(Invalid::new(
                "This password is too common or too easy to guess. Try a longer phrase.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn is_common(lower: &str) -> bool {
    if COMMON_LONG_PASSWORDS.contains(&lower) {
        return true;
    }
    GUESSABLE_BASES.iter().any(|base| {
        lower
            .strip_prefix(base)
            .is_some_and(|rest| rest.chars().all(|c| !c.is_alphabetic()))
    })
}

/// One repeated character, a short unit repeated, or a run of consecutive characters.
fn is_patterned(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let repeats_short_unit = (1..=4).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    });
    let step = |a: char, b: char| b as i64 - a as i64;
    let first_step = step(chars[0], chars[1]);
    let is_run = first_step.abs() == 1
        && chars
            .windows(2)
            .all(|pair| step(pair[0], pair[1]) == first_step);
    repeats_short_unit || is_run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_long_unusual_passwords() {
        for raw in [
            "correct horse battery staple!",
            "Tr0ub4dor&3-lattice",
            "mañana-sin-prisa-42",
            &"wind over the dunes at dawn ".repeat(4),
        ] {
            assert!(NewPassword::parse(raw, "alice").is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn says_which_rule_failed() {
        let short = NewPassword::parse("short", "alice").unwrap_err();
        assert!(short.0.contains("at least 12"), "{short}");
        let with_name = NewPassword::parse("alice-is-the-best-1", "Alice").unwrap_err();
        assert!(with_name.0.contains("username"), "{with_name}");
        let long = NewPassword::parse(&"ab1".repeat(50), "alice").unwrap_err();
        assert!(long.0.contains("at most"), "{long}");
        assert!(
            NewPassword::parse("", "alice")
                .unwrap_err()
                .0
                .contains("required")
        );
    }

    #[test]
    fn refuses_common_and_patterned_passwords() {
        for raw in [
            "password1234",
            "Password2024!",
            "QWERTY123456",
            "123456789012",
            "aaaaaaaaaaaaaaaa",
            "abababababab",
            "abcdefghijklmnop",
            "987654321098",
            "correcthorsebatterystaple",
            "Welcome123456",
        ] {
            assert!(
                NewPassword::parse(raw, "alice").is_err(),
                "{raw:?} should be refused"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = NewPassword::parse("a very private phrase", "alice").unwrap();
        assert!(!format!("{password:?}").contains("private"));
    }
}
