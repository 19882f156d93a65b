//! The suggested best fit: from the levels a school claims per strand to a level per theme and
//! overall, by the rule the framework file declares. People decide the award; this only suggests,
//! and every suggestion carries its reason in words.
//!
//! The rule, per level L (see `[best_fit]` in the framework file):
//! - a strand is *judged* at L when it has a statement at L or below (Gold-only 2.6 is not judged at
//!   Bronze or Silver);
//! - a judged strand *meets* L when it is claimed at L or above, or when its statements stop below
//!   L and it is claimed at its top level (Bronze-only 5.6 claimed at Bronze meets Gold);
//! - a theme fits L when at least `strand_share` of its judged strands meet L (rounded up), and it
//!   fits every level below L;
//! - the overall suggestion is L when at least `theme_share` of the themes fit L (rounded up), and
//!   the same holds for every level below L.

use super::{Framework, Strand, Theme};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct LevelFit {
    pub level: String,
    pub judged: usize,
    pub met: usize,
    pub needed: usize,
    /// Labels of judged strands that do not meet this level.
    pub short: Vec<String>,
}

impl LevelFit {
    pub fn fits(&self) -> bool {
        self.met >= self.needed
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThemeFit {
    pub theme: u32,
    /// The suggested level key, `None` for "not yet".
    pub level: Option<String>,
    pub reason: String,
    pub levels: Vec<LevelFit>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BestFit {
    pub themes: Vec<ThemeFit>,
    pub overall: Option<String>,
    pub reason: String,
}

/// Number of items needed for a share of `n`, rounded up. The small allowance keeps a share such
/// as 0.7 of 10 at 7 despite floating-point error.
fn needed(share: f64, n: usize) -> usize {
    (share * n as f64 - 1e-9).ceil().max(0.0) as usize
}

/// "3.7", "3.7 and 3.9", "3.1, 3.7 and 3.9".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Suggests a level per theme and overall from `claims` (strand key -> claimed level key; a strand
/// without an entry has no claim).
pub fn best_fit(fw: &Framework, claims: &BTreeMap<String, String>) -> BestFit {
    let themes: Vec<ThemeFit> = fw.themes.iter().map(|t| theme_fit(fw, t, claims)).collect();
    let (overall, reason) = overall_fit(fw, &themes);
    BestFit {
        themes,
        overall,
        reason,
    }
}

fn strand_ranks(fw: &Framework, strand: &Strand) -> (usize, usize) {
    let ranks: Vec<usize> = strand
        .statements
        .keys()
        .filter_map(|k| fw.level_rank(k))
        .collect();
    (
        ranks.iter().copied().min().unwrap_or(0),
        ranks.iter().copied().max().unwrap_or(0),
    )
}

fn theme_fit(fw: &Framework, theme: &Theme, claims: &BTreeMap<String, String>) -> ThemeFit {
    let mut levels = Vec::new();
    for (rank, rule) in ranked_rules(fw) {
        let mut judged = 0;
        let mut met = 0;
        let mut short = Vec::new();
        for strand in &theme.strands {
            let (lowest, highest) = strand_ranks(fw, strand);
            if lowest > rank {
                continue;
            }
            judged += 1;
            let claim = claims
                .get(&strand.key)
                .filter(|c| strand.statements.contains_key(*c))
                .and_then(|c| fw.level_rank(c));
            let meets = match claim {
                Some(c) => c >= rank || (highest < rank && c == highest),
                None => false,
            };
            if meets {
                met += 1;
            } else {
                short.push(strand.label.clone());
            }
        }
        levels.push(LevelFit {
            level: rule.level.clone(),
            judged,
            met,
            needed: needed(rule.strand_share, judged),
            short,
        });
    }
    let reached = levels.iter().take_while(|l| l.fits()).count();
    let level = reached.checked_sub(1).map(|i| levels[i].level.clone());
    let reason = theme_reason(fw, theme.number, &levels, reached);
    ThemeFit {
        theme: theme.number,
        level,
        reason,
        levels,
    }
}

/// The best-fit rules in level order, lowest first, with each level's rank. Validation made sure
/// every level has exactly one rule.
fn ranked_rules(fw: &Framework) -> Vec<(usize, &super::LevelRule)> {
    let mut rules: Vec<_> = fw
        .best_fit
        .rules
        .iter()
        .filter_map(|r| fw.level_rank(&r.level).map(|rank| (rank, r)))
        .collect();
    rules.sort_by_key(|(rank, _)| *rank);
    rules
}

fn level_name(fw: &Framework, key: &str) -> String {
    fw.level(key)
        .map(|l| l.name.clone())
        .unwrap_or_else(|| key.to_string())
}

fn theme_reason(fw: &Framework, theme: u32, levels: &[LevelFit], reached: usize) -> String {
    let mut parts = Vec::new();
    if let Some(fit) = reached.checked_sub(1).map(|i| &levels[i]) {
        let name = level_name(fw, &fit.level);
        if fit.short.is_empty() {
            parts.push(format!(
                "{name}: every strand of theme {theme} is claimed at {name} or above"
            ));
        } else {
            parts.push(format!(
                "{name}: every strand of theme {theme} is claimed at {name} or above except {}",
                and_list(&fit.short)
            ));
        }
    }
    if let Some(next) = levels.get(reached) {
        let name = level_name(fw, &next.level);
        let lead = if reached == 0 {
            format!("Not yet {name}")
        } else {
            format!("not {name}")
        };
        parts.push(format!(
            "{lead}: {name} needs {} of {} strands at {name} or above, and {} {} ({} short)",
            next.needed,
            next.judged,
            next.met,
            if next.met == 1 { "is" } else { "are" },
            and_list(&next.short)
        ));
    }
    let mut text = parts.join("; ");
    text.push('.');
    text
}

fn overall_fit(fw: &Framework, themes: &[ThemeFit]) -> (Option<String>, String) {
    let total = themes.len();
    let mut reached: Option<(String, usize)> = None;
    let mut missing: Option<String> = None;
    for (rank, rule) in ranked_rules(fw) {
        let fitting = themes
            .iter()
            .filter(|t| {
                t.level
                    .as_deref()
                    .and_then(|l| fw.level_rank(l))
                    .is_some_and(|r| r >= rank)
            })
            .count();
        let need = needed(rule.theme_share, total);
        let name = level_name(fw, &rule.level);
        if fitting >= need {
            reached = Some((rule.level.clone(), fitting));
        } else {
            missing = Some(format!(
                "{name} needs {need} of {total} themes at {name} or above, and {fitting} {}",
                if fitting == 1 { "is" } else { "are" }
            ));
            break;
        }
    }
    let reason = match (&reached, missing) {
        (Some((level, fitting)), None) => format!(
            "{}: {fitting} of {total} themes fit {} or above.",
            level_name(fw, level),
            level_name(fw, level)
        ),
        (Some((level, fitting)), Some(m)) => format!(
            "{}: {fitting} of {total} themes fit {} or above; not higher: {m}.",
            level_name(fw, level),
            level_name(fw, level)
        ),
        (None, Some(m)) => format!("Not yet: {m}."),
        (None, None) => "Not yet.".to_string(),
    };
    (reached.map(|(l, _)| l), reason)
}

#[cfg(test)]
mod tests {
    use super::super::parse_framework;
    use super::*;

    /// Two themes: theme 1 has four regular strands; theme 2 has a regular strand, a Gold-only
    /// strand and a Bronze-only strand, like 2.6 and 5.6 of the LAQM handbook.
    const FW: &str = r#"
[framework]
key = "t"
version = "v1"
name = "Test"
short_name = "T"
summary = "Test."
[[levels]]
key = "bronze"
name = "Bronze"
letter = "B"
[[levels]]
key = "silver"
name = "Silver"
letter = "S"
[[levels]]
key = "gold"
name = "Gold"
letter = "G"
[best_fit]
summary = "Rule."
[[best_fit.rules]]
level = "bronze"
strand_share = 1.0
theme_share = 1.0
[[best_fit.rules]]
level = "silver"
strand_share = 0.75
theme_share = 0.5
[[best_fit.rules]]
level = "gold"
strand_share = 0.75
theme_share = 1.0
[[themes]]
number = 1
key = "one"
title = "One"
prompts = []
evidence_sources = []
[[themes.strands]]
key = "1.1"
label = "1.1"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.2"
label = "1.2"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.3"
label = "1.3"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.4"
label = "1.4"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes]]
number = 2
key = "two"
title = "Two"
prompts = []
evidence_sources = []
[[themes.strands]]
key = "2.1"
label = "2.1"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "2.2"
label = "2.2"
statements = { gold = "g" }
[[themes.strands]]
key = "2.3"
label = "2.3"
statements = { bronze = "b" }
"#;

    fn fw() -> Framework {
        parse_framework(FW, "t", "v1").unwrap()
    }

    fn claims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn theme_level(fit: &BestFit, theme: u32) -> Option<&str> {
        fit.themes
            .iter()
            .find(|t| t.theme == theme)
            .unwrap()
            .level
            .as_deref()
    }

    #[test]
    fn nothing_claimed_is_not_yet() {
        let fit = best_fit(&fw(), &BTreeMap::new());
        assert_eq!(theme_level(&fit, 1), None);
        assert_eq!(fit.overall, None);
        assert_eq!(
            fit.themes[0].reason,
            "Not yet Bronze: Bronze needs 4 of 4 strands at Bronze or above, and 0 are (1.1, 1.2, 1.3 and 1.4 short)."
        );
        assert!(
            fit.reason
                .starts_with("Not yet: Bronze needs 2 of 2 themes")
        );
    }

    #[test]
    fn three_quarters_of_a_theme_at_silver_fits_silver_and_names_the_exception() {
        let c = claims(&[
            ("1.1", "silver"),
            ("1.2", "silver"),
            ("1.3", "gold"),
            ("1.4", "bronze"),
        ]);
        let fit = best_fit(&fw(), &c);
        assert_eq!(theme_level(&fit, 1), Some("silver"));
        assert_eq!(
            fit.themes[0].reason,
            "Silver: every strand of theme 1 is claimed at Silver or above except 1.4; not Gold: Gold needs 3 of 4 strands at Gold or above, and 1 is (1.1, 1.2 and 1.4 short)."
        );
    }

    #[test]
    fn gold_only_strand_is_not_judged_below_gold() {
        // 2.2 (Gold only) is unclaimed, yet theme 2 reaches Silver from 2.1 and 2.3.
        let c = claims(&[("2.1", "silver"), ("2.3", "bronze")]);
        let fit = best_fit(&fw(), &c);
        assert_eq!(theme_level(&fit, 2), Some("silver"));
        let bronze = &fit.themes[1].levels[0];
        assert_eq!((bronze.judged, bronze.met), (2, 2));
        let gold = &fit.themes[1].levels[2];
        assert_eq!((gold.judged, gold.met, gold.needed), (3, 1, 3));
        assert_eq!(gold.short, vec!["2.1", "2.2"]);
    }

    #[test]
    fn bronze_only_strand_claimed_at_its_top_meets_gold() {
        let c = claims(&[("2.1", "gold"), ("2.2", "gold"), ("2.3", "bronze")]);
        let fit = best_fit(&fw(), &c);
        assert_eq!(theme_level(&fit, 2), Some("gold"));
        assert_eq!(
            fit.themes[1].reason,
            "Gold: every strand of theme 2 is claimed at Gold or above."
        );
    }

    #[test]
    fn unclaimed_bronze_only_strand_keeps_the_theme_from_bronze() {
        let c = claims(&[("2.1", "gold"), ("2.2", "gold")]);
        let fit = best_fit(&fw(), &c);
        assert_eq!(theme_level(&fit, 2), None);
        assert!(fit.themes[1].reason.contains("(2.3 short)"));
    }

    #[test]
    fn a_claim_at_a_level_the_strand_does_not_have_counts_as_no_claim() {
        let c = claims(&[("2.1", "bronze"), ("2.3", "gold")]);
        let fit = best_fit(&fw(), &c);
        assert_eq!(theme_level(&fit, 2), None);
    }

    #[test]
    fn overall_needs_the_declared_share_of_themes() {
        let all_silver = claims(&[
            ("1.1", "silver"),
            ("1.2", "silver"),
            ("1.3", "silver"),
            ("1.4", "silver"),
            ("2.1", "bronze"),
            ("2.3", "bronze"),
        ]);
        let fit = best_fit(&fw(), &all_silver);
        // Theme 1 Silver, theme 2 Bronze: Silver needs half of the themes.
        assert_eq!(fit.overall.as_deref(), Some("silver"));
        assert_eq!(
            fit.reason,
            "Silver: 1 of 2 themes fit Silver or above; not higher: Gold needs 2 of 2 themes at Gold or above, and 0 are."
        );
    }

    #[test]
    fn shares_round_up_without_floating_point_surprises() {
        assert_eq!(needed(0.7, 10), 7);
        assert_eq!(needed(0.75, 10), 8);
        assert_eq!(needed(0.8, 6), 5);
        assert_eq!(needed(1.0, 3), 3);
        assert_eq!(needed(0.75, 0), 0);
    }

    #[test]
    fn laqm_everything_at_gold_is_gold_and_5_6_counts_at_bronze() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        let catalogue = super::super::load_dir(&dir).unwrap();
        let fw = catalogue.get("laqm", "v1").unwrap();
        let mut c = BTreeMap::new();
        for (_, s) in fw.strands() {
            let top = s
                .statements
                .keys()
                .max_by_key(|k| fw.level_rank(k))
                .unwrap();
            c.insert(s.key.clone(), top.clone());
        }
        let fit = best_fit(&fw, &c);
        assert!(
            fit.themes
                .iter()
                .all(|t| t.level.as_deref() == Some("gold"))
        );
        assert_eq!(fit.overall.as_deref(), Some("gold"));
        // Without the Gold-only 2.6, theme 2 still fits Gold (5 of 6 at Gold).
        c.remove("2.6");
        let fit = best_fit(&fw, &c);
        assert_eq!(fit.themes[1].level.as_deref(), Some("gold"));
        assert!(fit.themes[1].reason.contains("except 2.6"));
    }
}
