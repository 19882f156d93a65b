//! What a school is in aqm: its phase and whether it is open. Each has a database value (the one
//! the `school` table's checks allow) and a label for people.

use std::fmt;
use std::str::FromStr;

/// A school's phase of education, as aqm groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Nursery,
    Primary,
    Secondary,
    AllThrough,
    Special,
    AlternativeProvision,
}

impl Phase {
    /// Every phase, in the order lists and filters show them.
    pub const ALL: [Phase; 6] = [
        Phase::Nursery,
        Phase::Primary,
        Phase::Secondary,
        Phase::AllThrough,
        Phase::Special,
        Phase::AlternativeProvision,
    ];

    /// The database value.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Nursery => "nursery",
            Phase::Primary => "primary",
            Phase::Secondary => "secondary",
            Phase::AllThrough => "all_through",
            Phase::Special => "special",
            Phase::AlternativeProvision => "alternative_provision",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Nursery => "Nursery",
            Phase::Primary => "Primary",
            Phase::Secondary => "Secondary",
            Phase::AllThrough => "All-through",
            Phase::Special => "Special",
            Phase::AlternativeProvision => "Alternative provision",
        }
    }
}

impl FromStr for Phase {
    type Err = UnknownValue;

    /// Reads a database value; anything else is refused rather than guessed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownValue::new("phase", s))
    }
}

/// Whether a school is open. GIAS's "proposed to open" and "open, but proposed to close" are open
/// here: aqm only needs to know whether the school can take part now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchoolStatus {
    Open,
    Closed,
}

impl SchoolStatus {
    pub const ALL: [SchoolStatus; 2] = [SchoolStatus::Open, SchoolStatus::Closed];

    /// The database value.
    pub fn as_str(self) -> &'static str {
        match self {
            SchoolStatus::Open => "open",
            SchoolStatus::Closed => "closed",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            SchoolStatus::Open => "Open",
            SchoolStatus::Closed => "Closed",
        }
    }
}

impl FromStr for SchoolStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchoolStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownValue::new("school status", s))
    }
}

/// A database value that names no variant: a row written by something other than aqm, or a value
/// from a newer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

impl UnknownValue {
    fn new(kind: &'static str, value: &str) -> UnknownValue {
        UnknownValue {
            kind,
            value: value.to_string(),
        }
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip_through_their_database_values() {
        for phase in Phase::ALL {
            assert_eq!(phase.as_str().parse::<Phase>(), Ok(phase));
        }
        assert_eq!(Phase::AllThrough.as_str(), "all_through");
        assert_eq!(Phase::AllThrough.label(), "All-through");
        assert_eq!(Phase::AlternativeProvision.label(), "Alternative provision");
    }

    #[test]
    fn statuses_round_trip_through_their_database_values() {
        for status in SchoolStatus::ALL {
            assert_eq!(status.as_str().parse::<SchoolStatus>(), Ok(status));
        }
        assert_eq!(SchoolStatus::Closed.label(), "Closed");
    }

    #[test]
    fn labels_and_other_spellings_are_not_database_values() {
        // Parsing database values must not accept labels, so a mislabelled row is noticed.
        let err = "All-through".parse::<Phase>().unwrap_err();
        assert_eq!(err.to_string(), r#"unknown phase "All-through""#);
        assert!("Open".parse::<SchoolStatus>().is_err());
        assert!("".parse::<Phase>().is_err());
    }
}
