//! Criteria frameworks: the model, loading from versioned TOML files, validation, and the best-fit
//! rule that suggests a level from a school's claims. Pure: no web, no SQL. The database records
//! which versions have been loaded (see `db::frameworks`) and each authority's best-fit rule (see
//! `best_fit_setting`); this module only reads and checks files and applies a rule it is given.
//!
//! A framework file holds the handbook's words and the platform's labels (strand titles and
//! qualifiers, keys), never the best-fit rule: the handbook gives no thresholds, so the rule is
//! the authority's choice, with the platform's default (`BestFitRule::platform_default`) until it
//! makes one.

mod best_fit;
mod load;

pub use best_fit::{
    BestFit, BestFitRule, LevelFit, LevelRule, Part, RuleProblem, Share, StartsAbove, StopsBelow,
    ThemeFit, best_fit,
};
pub use load::{Catalogue, LoadError, load_dir, parse_framework};

use serde::Deserialize;
use std::collections::BTreeMap;

/// One version of one framework, as read from `criteria/<key>/<version>.toml`.
#[derive(Debug, Clone)]
pub struct Framework {
    pub key: String,
    pub version: String,
    pub name: String,
    pub short_name: String,
    pub summary: String,
    /// Levels, lowest first (Bronze, Silver, Gold for LAQM).
    pub levels: Vec<Level>,
    pub guidance: Vec<Guidance>,
    pub cpd: Vec<CpdSession>,
    pub themes: Vec<Theme>,
    /// SHA-256 of the file's bytes, hex. Recorded in the database so a changed file is noticed.
    pub content_hash: String,
    /// The file it was read from, for error messages.
    pub path: std::path::PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub key: String,
    pub name: String,
    pub letter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guidance {
    pub key: String,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpdSession {
    pub key: String,
    pub name: String,
    pub themes: Vec<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub number: u32,
    pub key: String,
    pub title: String,
    pub prompts: Vec<String>,
    pub evidence_sources: Vec<String>,
    #[serde(default)]
    pub strands: Vec<Strand>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strand {
    /// Unique and stable within the framework version ("1.1", "4.5-charter").
    pub key: String,
    /// The number as printed in the handbook ("4.5" twice).
    pub label: String,
    /// The platform's short name of what the strand is about (not the handbook's words).
    pub title: String,
    /// The platform's word telling apart strands the handbook prints with the same number
    /// ("community" and "charter" for the two 4.5s); `None` for a strand whose number is its own.
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Statement text by level key. A strand need not have every level (Gold-only 2.6).
    #[serde(default)]
    pub statements: BTreeMap<String, String>,
}

impl Strand {
    /// How a person refers to the strand: its printed number, with the qualifier where the
    /// handbook prints the number twice ("1.1", "4.5 (charter)").
    pub fn reference(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{} ({q})", self.label),
            None => self.label.clone(),
        }
    }

    /// The strand as a heading or link: "Strand 4.5 (charter): The Liverpool Attendance Charter".
    pub fn heading(&self) -> String {
        format!("Strand {}: {}", self.reference(), self.title)
    }
}

/// A guidance paragraph or list, for templates: the TOML body separates paragraphs with blank
/// lines and marks list items with "- ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    List(Vec<String>),
}

impl Guidance {
    pub fn blocks(&self) -> Vec<Block> {
        let mut blocks = Vec::new();
        for chunk in self.body.split("\n\n") {
            let lines: Vec<&str> = chunk
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            if lines.is_empty() {
                continue;
            }
            if lines.iter().all(|l| l.starts_with("- ")) {
                blocks.push(Block::List(
                    lines.iter().map(|l| l[2..].trim().to_string()).collect(),
                ));
            } else {
                blocks.push(Block::Paragraph(lines.join(" ")));
            }
        }
        blocks
    }
}

impl Framework {
    /// Position of a level in the order lowest-first, if the level exists.
    pub fn level_rank(&self, key: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.key == key)
    }

    pub fn level(&self, key: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.key == key)
    }

    pub fn strand(&self, key: &str) -> Option<&Strand> {
        self.strands().map(|(_, s)| s).find(|s| s.key == key)
    }

    pub fn strands(&self) -> impl Iterator<Item = (&Theme, &Strand)> {
        self.themes
            .iter()
            .flat_map(|t| t.strands.iter().map(move |s| (t, s)))
    }

    pub fn statement_count(&self) -> usize {
        self.strands().map(|(_, s)| s.statements.len()).sum()
    }

    /// The statements of a strand in level order, for side-by-side display: one entry per
    /// framework level, `None` where the strand has no statement at that level.
    pub fn statements_in_order<'a>(
        &'a self,
        strand: &'a Strand,
    ) -> Vec<(&'a Level, Option<&'a str>)> {
        self.levels
            .iter()
            .map(|l| (l, strand.statements.get(&l.key).map(String::as_str)))
            .collect()
    }

    /// The CPD session covering a theme. Takes the number by value or by reference, as templates
    /// pass it.
    pub fn cpd_for_theme(&self, number: impl std::borrow::Borrow<u32>) -> Option<&CpdSession> {
        self.cpd.iter().find(|c| c.themes.contains(number.borrow()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_splits_paragraphs_and_lists() {
        let g = Guidance {
            key: "k".into(),
            title: "t".into(),
            body: "First line\nwraps.\n\n- one\n- two\n\nLast.".into(),
        };
        assert_eq!(
            g.blocks(),
            vec![
                Block::Paragraph("First line wraps.".into()),
                Block::List(vec!["one".into(), "two".into()]),
                Block::Paragraph("Last.".into()),
            ]
        );
    }
}
