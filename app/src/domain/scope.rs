use super::text::Invalid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One scope name of a site's catalogue: 1 to 64 of `a-z 0-9 _ . : -`, starting with a letter
/// (a conservative subset of RFC 6749's scope-token).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScopeName(String);

impl ScopeName {
    /// The scope every site starts with: read the API user's profile.
    pub const PROFILE: &'static str = "profile";

    /// Parses a catalogue entry.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::new("Scope name is required."));
        }
        if raw.len() > 64 {
            return Err(Invalid::new("Scope name must be at most 64 characters."));
        }
        if !raw.starts_with(|c: char| c.is_ascii_lowercase())
            || !raw.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | ':' | '-')
            })
        {
            return Err(Invalid::new(
                "Scope name must start with a lower-case letter and use only a-z, 0-9, _ . : -",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ScopeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes: what a client may request, what a token grants. Written as RFC 6749's
/// space-delimited list, in sorted order so equal sets have equal text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<ScopeName>);

impl ScopeSet {
    /// Parses a space-delimited `scope` parameter. Refuses empty tokens (double spaces),
    /// characters outside RFC 6749's scope-token, and more than 32 scopes.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let mut set = BTreeSet::new();
        if raw.is_empty() {
            return Ok(Self(set));
        }
        for token in raw.split(' ') {
            if token.is_empty() {
                return Err(Invalid::new("scope has an empty entry (check the spaces)"));
            }
            set.insert(ScopeName::parse(token).map_err(|_| {
                Invalid::new(format!(
                    "scope \"{}\" is not valid",
                    token.chars().take(64).collect::<String>()
                ))
            })?);
        }
        if set.len() > 32 {
            return Err(Invalid::new("too many scopes"));
        }
        Ok(Self(set))
    }

    /// The set of ticked scope checkboxes (blank entries ignored).
    pub fn from_inputs(inputs: &[String]) -> Result<Self, Invalid> {
        let names: Result<Vec<ScopeName>, Invalid> = inputs
            .iter()
            .filter(|name| !name.trim().is_empty())
            .map(|name| ScopeName::parse(name))
            .collect();
        Ok(Self::from_names(names?))
    }

    /// A set from names.
    pub fn from_names(names: impl IntoIterator<Item = ScopeName>) -> Self {
        Self(names.into_iter().collect())
    }

    /// True if there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|scope| scope.as_str() == name)
    }

    /// True if every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes in both `self` and `other`: what a grant still allows once its client's
    /// registered scopes changed.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes of `self` missing from `other`.
    pub fn missing_from(&self, other: &ScopeSet) -> Vec<String> {
        self.0
            .difference(&other.0)
            .map(|s| s.as_str().to_owned())
            .collect()
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &ScopeName> {
        self.0.iter()
    }
}

impl std::fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names() {
        assert!(ScopeName::parse("profile").is_ok());
        assert!(ScopeName::parse("reports:read").is_ok());
        for bad in ["", "Profile", "1x", "a b", "a\"b", "é", &"a".repeat(65)] {
            assert!(ScopeName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sets_parse_sort_and_compare() {
        let set = ScopeSet::parse("reports:read profile").unwrap();
        assert_eq!(set.to_string(), "profile reports:read");
        assert!(ScopeSet::parse("profile").unwrap().is_subset(&set));
        assert_eq!(
            ScopeSet::parse("admin profile").unwrap().missing_from(&set),
            ["admin"]
        );
        assert!(ScopeSet::parse("").unwrap().is_empty());
        assert!(ScopeSet::parse("profile  extra").is_err());
        assert!(ScopeSet::parse(" profile").is_err());
        assert!(ScopeSet::parse("prof\u{0}ile").is_err());
        let many: Vec<String> = (0..33).map(|i| format!("s{i}")).collect();
        assert!(ScopeSet::parse(&many.join(" ")).is_err());
    }
}
