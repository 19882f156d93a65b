//! The level a school claims for a strand: one of the levels the strand has statements for, or
//! none yet. Parsed once from the form against the strand itself, so a claim of Gold on a
//! Bronze-only strand (5.6) can never be stored.

use crate::framework::Strand;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelKey(String);

impl LevelKey {
    /// `Ok(None)` for no claim (an empty field); the message when the strand has no such level.
    pub fn parse_for(strand: &Strand, input: &str) -> Result<Option<LevelKey>, &'static str> {
        let key = input.trim();
        if key.is_empty() {
            Ok(None)
        } else if strand.statements.contains_key(key) {
            Ok(Some(LevelKey(key.to_string())))
        } else {
            Err("Select a level this strand has, or none")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LevelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_a_level_the_strand_has() {
        let catalogue = crate::framework::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/criteria"
        )))
        .unwrap();
        let fw = catalogue.current("laqm").unwrap();
        let strand = |key: &str| fw.strands().find(|(_, s)| s.key == key).unwrap().1;
        assert_eq!(
            LevelKey::parse_for(strand("1.1"), "silver").map(|l| l.map(|l| l.to_string())),
            Ok(Some("silver".to_string()))
        );
        assert_eq!(LevelKey::parse_for(strand("1.1"), " "), Ok(None));
        // 5.6 has Bronze only; 2.6 Gold only.
        assert!(LevelKey::parse_for(strand("5.6"), "gold").is_err());
        assert!(LevelKey::parse_for(strand("2.6"), "bronze").is_err());
        assert!(LevelKey::parse_for(strand("1.1"), "platinum").is_err());
    }
}
