//! Names people type: a person's, a cohort's, and an authority's short name (slug).

use std::fmt;

/// A person's full name as they are addressed in emails and shown to colleagues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 200;

    /// Trimmed; the message says what is wrong.
    pub fn parse(input: &str) -> Result<PersonName, &'static str> {
        let name = input.trim();
        if name.is_empty() {
            Err("Enter the person's full name")
        } else if name.chars().count() > Self::MAX_CHARS {
            Err("Name must be 200 characters or fewer")
        } else if name.chars().any(char::is_control) {
            Err("Name must not contain control characters")
        } else {
            Ok(PersonName(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cohort's name, like "2026/27".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortName(String);

impl CohortName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<CohortName, &'static str> {
        let name = input.trim();
        if name.is_empty() {
            Err("Enter a name for the cohort, like 2026/27")
        } else if name.chars().count() > Self::MAX_CHARS {
            Err("Name must be 100 characters or fewer")
        } else if name.chars().any(char::is_control) {
            Err("Name must not contain control characters")
        } else {
            Ok(CohortName(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An authority's short name, used in commands: lower-case letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub const MAX_CHARS: usize = 40;

    /// Lower-case letters and digits in words joined by single hyphens, as it appears in
    /// addresses and commands.
    pub fn parse(input: &str) -> Result<TenantSlug, &'static str> {
        let slug = input.trim();
        if slug.is_empty() {
            return Err("Enter a short name, like liverpool");
        }
        if slug.len() > Self::MAX_CHARS {
            return Err("Short name must be 40 characters or fewer");
        }
        let ok = slug.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if ok {
            Ok(TenantSlug(slug.to_string()))
        } else {
            Err(
                "Short name must be lower-case letters and digits, with single hyphens between words",
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names() {
        assert_eq!(
            PersonName::parse("  Alex Lead ").unwrap().as_str(),
            "Alex Lead"
        );
        assert!(PersonName::parse("  ").is_err());
        assert!(PersonName::parse(&"a".repeat(200)).is_ok());
        assert!(PersonName::parse(&"a".repeat(201)).is_err());
        assert!(PersonName::parse("Alex\u{0}Lead").is_err());
    }

    #[test]
    fn cohort_names() {
        assert_eq!(CohortName::parse(" 2026/27 ").unwrap().as_str(), "2026/27");
        assert!(CohortName::parse("").is_err());
        assert!(CohortName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn slugs() {
        assert!(TenantSlug::parse("liverpool").is_ok());
        assert!(TenantSlug::parse("rhondda-cynon-taf").is_ok());
        for bad in ["", "Liverpool", "-x", "x-", "a--b", "a b", "ü-x"] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
