//! The suggested best fit: from the levels a school claims per strand to a level per theme and
//! overall, by a `BestFitRule` given to it. The handbook gives no thresholds (school leaders decide
//! "through a self-assessment and best fit process"), so the rule is never the framework's: it is
//! the authority's setting, or the platform's default (`BestFitRule::platform_default`) until the
//! authority sets one. People decide the award; this only suggests, and every suggestion carries
//! its reason in words.
//!
//! The rule, per level L:
//! - a strand is *judged* at L when it has a statement at L or below (Gold-only 2.6 is not judged at
//!   Bronze or Silver), unless the rule counts strands that start above L (`StartsAbove::Counted`)
//!   or leaves out strands that stop below L (`StopsBelow::LeftOut`);
//! - a judged strand *meets* L when it is claimed at L or above, or, by default, when its
//!   statements stop below L and it is claimed at its top level (Bronze-only 5.6 claimed at Bronze
//!   meets Gold: `StopsBelow::MeetsAtTop`);
//! - a theme fits L when the level's strand `Share` of its judged strands meet L, and it fits every
//!   level below L;
//! - the overall suggestion is L when the level's theme `Share` of the themes fit L, and the same
//!   holds for every level below L.
//!
//! A share is a percentage rounded up to a whole strand or theme (75% of 3 strands is all 3, of 10
//! strands 8), or a whole number (all of them where there are fewer).

use super::{Framework, Strand, Theme};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many of the strands judged in a theme, or of the themes, a level needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// At least this percentage (1 to 100), rounded up to a whole one: 75% of 3 is 3.
    Percent(u32),
    /// At least this many (1 or more), or all of them where there are fewer.
    Count(u32),
}

impl Share {
    /// How many of `n` this share needs. Whole-number arithmetic: no floating-point surprises.
    pub fn needed(self, n: usize) -> usize {
        match self {
            Share::Percent(p) => (p as usize * n).div_ceil(100),
            Share::Count(c) => (c as usize).min(n),
        }
    }

    /// "75%" or "3", as a person types it (and as `parse` reads it).
    pub fn as_input(self) -> String {
        match self {
            Share::Percent(p) => format!("{p}%"),
            Share::Count(c) => c.to_string(),
        }
    }

    /// "75%", "75 %" or "75 percent" is a percentage; "3" a number. Range checks are the rule's
    /// (`BestFitRule::problems`).
    pub fn parse(text: &str) -> Option<Share> {
        let t = text.trim().to_lowercase();
        let (digits, percent) = match t.strip_suffix('%').or_else(|| t.strip_suffix("percent")) {
            Some(d) => (d.trim(), true),
            None => (t.as_str(), false),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 6 {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        Some(if percent {
            Share::Percent(n)
        } else {
            Share::Count(n)
        })
    }
}

/// What it takes to fit one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelRule {
    /// The framework's level key.
    pub level: String,
    /// Of the strands judged in a theme.
    pub strands: Share,
    /// Of the framework's themes.
    pub themes: Share,
}

/// A strand whose statements start above the level being judged (Gold-only 2.6 and 3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartsAbove {
    /// Left out when that level is judged.
    LeftOut,
    /// Counted at that level too: it meets it only when claimed (at a level it has).
    Counted,
}

/// A strand whose statements stop below the level being judged (Bronze-only 5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopsBelow {
    /// Meets that level when claimed at its top level.
    MeetsAtTop,
    /// Left out when that level is judged.
    LeftOut,
    /// Counted, and never meets that level.
    Short,
}

/// A best-fit rule: what each level needs, lowest first, and how strands that do not have every
/// level are treated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BestFitRule {
    pub levels: Vec<LevelRule>,
    pub starts_above: StartsAbove,
    pub stops_below: StopsBelow,
}

/// Which share of a level rule a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Strands,
    Themes,
}

/// Something wrong with a rule for a framework, at level `level` (its index, lowest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub level: usize,
    pub part: Part,
    pub message: String,
}

impl BestFitRule {
    /// The platform's default, used until an authority sets its own: the lowest level (Bronze)
    /// needs every strand judged in every theme; each level above needs at least 75% of a theme's
    /// judged strands (rounded up: all 3 of 3, 8 of 10) and at least 80% of the themes (rounded
    /// up: 5 of 6). Strands that start above a level are left out of it; strands that stop below
    /// a level meet it when claimed at their top level.
    pub fn platform_default(fw: &Framework) -> BestFitRule {
        BestFitRule {
            levels: fw
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| LevelRule {
                    level: l.key.clone(),
                    strands: Share::Percent(if i == 0 { 100 } else { 75 }),
                    themes: Share::Percent(if i == 0 { 100 } else { 80 }),
                })
                .collect(),
            starts_above: StartsAbove::LeftOut,
            stops_below: StopsBelow::MeetsAtTop,
        }
    }

    /// Everything that keeps this rule from applying to `fw`: exactly one rule per level of the
    /// framework, in its order (lowest first), percentages from 1 to 100, and numbers from 1 to
    /// the most there can be. A higher level may need a smaller share than a lower one (Silver
    /// 75%, Bronze 100%): its strands must be claimed higher, and a theme fits a level only when
    /// it fits every level below.
    pub fn problems(&self, fw: &Framework) -> Vec<RuleProblem> {
        let mut out = Vec::new();
        let problem = |level: usize, part: Part, message: String| RuleProblem {
            level,
            part,
            message,
        };
        let keys: Vec<&str> = self.levels.iter().map(|l| l.level.as_str()).collect();
        let expected: Vec<&str> = fw.levels.iter().map(|l| l.key.as_str()).collect();
        if keys != expected {
            out.push(problem(
                0,
                Part::Strands,
                format!(
                    "The rule names the levels {}, but {} has {}",
                    keys.join(", "),
                    fw.name,
                    expected.join(", ")
                ),
            ));
            return out;
        }
        let most_strands = (0..fw.levels.len())
            .flat_map(|rank| fw.themes.iter().map(move |t| (rank, t)))
            .map(|(rank, t)| judged_count(fw, self, t, rank))
            .max()
            .unwrap_or(0);
        let themes = fw.themes.len();
        for (i, l) in self.levels.iter().enumerate() {
            let name = level_name(fw, &l.level);
            for (part, share, most, noun) in [
                (Part::Strands, l.strands, most_strands, "strands"),
                (Part::Themes, l.themes, themes, "themes"),
            ] {
                match share {
                    Share::Percent(p) if !(1..=100).contains(&p) => out.push(problem(
                        i,
                        part,
                        format!("{name}: enter a percentage from 1% to 100%"),
                    )),
                    Share::Count(0) => out.push(problem(
                        i,
                        part,
                        format!("{name}: enter 1 or more {noun}, or a percentage"),
                    )),
                    Share::Count(c) if c as usize > most => out.push(problem(
                        i,
                        part,
                        match part {
                            Part::Strands => format!(
                                "{name}: no theme has more than {most} strands; enter {most} or fewer, or a percentage"
                            ),
                            Part::Themes => format!(
                                "{name}: there are {most} themes; enter {most} or fewer, or a percentage"
                            ),
                        },
                    )),
                    _ => {}
                }
            }
        }
        out
    }

    fn for_level(&self, key: &str) -> Option<&LevelRule> {
        self.levels.iter().find(|l| l.level == key)
    }

    /// The rule in words for `fw`, sentence by sentence, with the counts its percentages come to
    /// for this framework's themes ("at least 75% …, rounded up to a whole strand: 3 of 3, …").
    pub fn explain(&self, fw: &Framework) -> Vec<String> {
        let mut out = vec![
            "A theme fits a level when enough of the strands judged at that level are claimed at it or above, and the theme fits every level below it too. The suggestion overall is the highest level that enough themes fit (with enough themes fitting each level below it too).".to_string(),
        ];
        let total = fw.themes.len();
        for (rank, level) in fw.levels.iter().enumerate() {
            let Some(rule) = self.for_level(&level.key) else {
                continue;
            };
            let counts: BTreeSet<usize> = fw
                .themes
                .iter()
                .map(|t| judged_count(fw, self, t, rank))
                .filter(|&n| n > 0)
                .collect();
            let examples = counts
                .iter()
                .map(|&n| format!("{} of {n}", rule.strands.needed(n)))
                .collect::<Vec<_>>()
                .join(", ");
            let strands = match rule.strands {
                Share::Percent(100) => "every strand judged in a theme".to_string(),
                Share::Percent(p) => format!(
                    "at least {p}% of the strands judged in a theme, rounded up to a whole strand ({examples})"
                ),
                Share::Count(c) => format!(
                    "at least {c} of the strands judged in a theme, or all of them where fewer are judged ({examples})"
                ),
            };
            let needed = rule.themes.needed(total);
            let themes = match rule.themes {
                _ if needed == total => format!("every theme ({total} of {total})"),
                Share::Percent(p) => format!(
                    "at least {p}% of the {total} themes, rounded up to a whole theme ({needed} of {total})"
                ),
                Share::Count(c) => format!("at least {c} of the {total} themes"),
            };
            out.push(format!("{}: {strands}, and {themes}.", level.name));
        }
        let starting_above = partial_strands(fw, |lowest, _| lowest > 0);
        if !starting_above.is_empty() {
            let refs = and_list(&starting_above);
            out.push(match self.starts_above {
                StartsAbove::LeftOut => format!(
                    "A strand whose statements start above a level (here {refs}) is left out when that level is judged."
                ),
                StartsAbove::Counted => format!(
                    "A strand whose statements start above a level (here {refs}) counts when that level is judged, and meets it only when claimed."
                ),
            });
        }
        let top = fw.levels.len().saturating_sub(1);
        let stopping_below = partial_strands(fw, |_, highest| highest < top);
        if !stopping_below.is_empty() {
            let refs = and_list(&stopping_below);
            out.push(match self.stops_below {
                StopsBelow::MeetsAtTop => format!(
                    "A strand whose statements stop below a level (here {refs}) meets that level when claimed at its top level."
                ),
                StopsBelow::LeftOut => format!(
                    "A strand whose statements stop below a level (here {refs}) is left out when that level is judged."
                ),
                StopsBelow::Short => format!(
                    "A strand whose statements stop below a level (here {refs}) counts when that level is judged, and never meets it."
                ),
            });
        }
        out
    }
}

/// References of the strands whose (lowest, highest) statement ranks satisfy `pick`.
fn partial_strands(fw: &Framework, pick: impl Fn(usize, usize) -> bool) -> Vec<String> {
    fw.strands()
        .filter(|(_, s)| {
            let (lowest, highest) = strand_ranks(fw, s);
            pick(lowest, highest)
        })
        .map(|(_, s)| s.reference())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct LevelFit {
    pub level: String,
    pub judged: usize,
    pub met: usize,
    pub needed: usize,
    /// References of judged strands that do not meet this level ("1.4", "4.5 (charter)").
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

/// "3.7", "3.7 and 3.9", "3.1, 3.7 and 3.9".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Suggests a level per theme and overall from `claims` (strand key -> claimed level key; a strand
/// without an entry has no claim) by `rule`, which must fit `fw` (see `BestFitRule::problems`).
pub fn best_fit(fw: &Framework, rule: &BestFitRule, claims: &BTreeMap<String, String>) -> BestFit {
    let themes: Vec<ThemeFit> = fw
        .themes
        .iter()
        .map(|t| theme_fit(fw, rule, t, claims))
        .collect();
    let (overall, reason) = overall_fit(fw, rule, &themes);
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

/// Whether `strand` is judged at the level of rank `rank`.
fn is_judged(fw: &Framework, rule: &BestFitRule, strand: &Strand, rank: usize) -> bool {
    let (lowest, highest) = strand_ranks(fw, strand);
    if lowest > rank && rule.starts_above == StartsAbove::LeftOut {
        return false;
    }
    !(highest < rank && rule.stops_below == StopsBelow::LeftOut)
}

fn judged_count(fw: &Framework, rule: &BestFitRule, theme: &Theme, rank: usize) -> usize {
    theme
        .strands
        .iter()
        .filter(|s| is_judged(fw, rule, s, rank))
        .count()
}

/// Whether a judged strand meets the level of rank `rank`, given the school's claims.
fn meets(
    fw: &Framework,
    rule: &BestFitRule,
    strand: &Strand,
    rank: usize,
    claims: &BTreeMap<String, String>,
) -> bool {
    let (_, highest) = strand_ranks(fw, strand);
    let claim = claims
        .get(&strand.key)
        .filter(|c| strand.statements.contains_key(*c))
        .and_then(|c| fw.level_rank(c));
    match claim {
        Some(c) => {
            c >= rank
                || (highest < rank && c == highest && rule.stops_below == StopsBelow::MeetsAtTop)
        }
        None => false,
    }
}

fn theme_fit(
    fw: &Framework,
    rule: &BestFitRule,
    theme: &Theme,
    claims: &BTreeMap<String, String>,
) -> ThemeFit {
    let mut levels = Vec::new();
    for (rank, level_rule) in ranked_rules(fw, rule) {
        let mut judged = 0;
        let mut met = 0;
        let mut short = Vec::new();
        for strand in &theme.strands {
            if !is_judged(fw, rule, strand, rank) {
                continue;
            }
            judged += 1;
            if meets(fw, rule, strand, rank, claims) {
                met += 1;
            } else {
                short.push(strand.reference());
            }
        }
        levels.push(LevelFit {
            level: level_rule.level.clone(),
            judged,
            met,
            needed: level_rule.strands.needed(judged),
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

/// The rule's levels in the framework's order, lowest first, with each level's rank.
fn ranked_rules<'a>(fw: &Framework, rule: &'a BestFitRule) -> Vec<(usize, &'a LevelRule)> {
    let mut rules: Vec<_> = rule
        .levels
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

fn overall_fit(
    fw: &Framework,
    rule: &BestFitRule,
    themes: &[ThemeFit],
) -> (Option<String>, String) {
    let total = themes.len();
    let mut reached: Option<(String, usize)> = None;
    let mut missing: Option<String> = None;
    for (rank, level_rule) in ranked_rules(fw, rule) {
        let fitting = themes
            .iter()
            .filter(|t| {
                t.level
                    .as_deref()
                    .and_then(|l| fw.level_rank(l))
                    .is_some_and(|r| r >= rank)
            })
            .count();
        let need = level_rule.themes.needed(total);
        let name = level_name(fw, &level_rule.level);
        if fitting >= need {
            reached = Some((level_rule.level.clone(), fitting));
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
[[themes]]
number = 1
key = "one"
title = "One"
prompts = []
evidence_sources = []
[[themes.strands]]
key = "1.1"
label = "1.1"
title = "Strand 1.1"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.2"
label = "1.2"
title = "Strand 1.2"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.3"
label = "1.3"
title = "Strand 1.3"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "1.4"
label = "1.4"
title = "Strand 1.4"
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
title = "Strand 2.1"
statements = { bronze = "b", silver = "s", gold = "g" }
[[themes.strands]]
key = "2.2"
label = "2.2"
title = "Strand 2.2"
statements = { gold = "g" }
[[themes.strands]]
key = "2.3"
label = "2.3"
title = "Strand 2.3"
statements = { bronze = "b" }
"#;

    fn fw() -> Framework {
        parse_framework(FW, "t", "v1").unwrap()
    }

    /// Bronze: everything; Silver: 75% of strands and half the themes; Gold: 75% and every theme.
    fn rule() -> BestFitRule {
        let level = |level: &str, strands, themes| LevelRule {
            level: level.into(),
            strands: Share::Percent(strands),
            themes: Share::Percent(themes),
        };
        BestFitRule {
            levels: vec![
                level("bronze", 100, 100),
                level("silver", 75, 50),
                level("gold", 75, 100),
            ],
            starts_above: StartsAbove::LeftOut,
            stops_below: StopsBelow::MeetsAtTop,
        }
    }

    fn fit(c: &BTreeMap<String, String>) -> BestFit {
        best_fit(&fw(), &rule(), c)
    }

    fn laqm() -> std::sync::Arc<Framework> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        super::super::load_dir(&dir)
            .unwrap()
            .get("laqm", "v1")
            .unwrap()
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
        let fit = fit(&BTreeMap::new());
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
        let fit = fit(&c);
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
        let fit = fit(&c);
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
        let fit = fit(&c);
        assert_eq!(theme_level(&fit, 2), Some("gold"));
        assert_eq!(
            fit.themes[1].reason,
            "Gold: every strand of theme 2 is claimed at Gold or above."
        );
    }

    #[test]
    fn unclaimed_bronze_only_strand_keeps_the_theme_from_bronze() {
        let c = claims(&[("2.1", "gold"), ("2.2", "gold")]);
        let fit = fit(&c);
        assert_eq!(theme_level(&fit, 2), None);
        assert!(fit.themes[1].reason.contains("(2.3 short)"));
    }

    #[test]
    fn a_claim_at_a_level_the_strand_does_not_have_counts_as_no_claim() {
        let c = claims(&[("2.1", "bronze"), ("2.3", "gold")]);
        let fit = fit(&c);
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
        let fit = fit(&all_silver);
        // Theme 1 Silver, theme 2 Bronze: Silver needs half of the themes.
        assert_eq!(fit.overall.as_deref(), Some("silver"));
        assert_eq!(
            fit.reason,
            "Silver: 1 of 2 themes fit Silver or above; not higher: Gold needs 2 of 2 themes at Gold or above, and 0 are."
        );
    }

    #[test]
    fn shares_round_up_to_a_whole_strand_or_theme() {
        // Three quarters of 3 strands is all 3; of 4, 3; of 10, 8.
        assert_eq!(Share::Percent(75).needed(3), 3);
        assert_eq!(Share::Percent(75).needed(4), 3);
        assert_eq!(Share::Percent(75).needed(10), 8);
        assert_eq!(Share::Percent(70).needed(10), 7);
        assert_eq!(Share::Percent(80).needed(6), 5);
        assert_eq!(Share::Percent(100).needed(3), 3);
        assert_eq!(Share::Percent(75).needed(0), 0);
        // A number: that many, or all where there are fewer.
        assert_eq!(Share::Count(5).needed(6), 5);
        assert_eq!(Share::Count(5).needed(3), 3);
    }

    #[test]
    fn shares_are_read_as_typed() {
        assert_eq!(Share::parse("75%"), Some(Share::Percent(75)));
        assert_eq!(Share::parse(" 75 % "), Some(Share::Percent(75)));
        assert_eq!(Share::parse("75 percent"), Some(Share::Percent(75)));
        assert_eq!(Share::parse("5"), Some(Share::Count(5)));
        for bad in ["", "%", "three", "0.75", "-1", "75%%", "1e3"] {
            assert_eq!(Share::parse(bad), None, "{bad}");
        }
        for share in [Share::Percent(75), Share::Count(5)] {
            assert_eq!(Share::parse(&share.as_input()), Some(share));
        }
    }

    #[test]
    fn three_strands_at_three_quarters_need_all_three() {
        // LAQM theme 1 has 3 strands: two at Silver and one at Bronze is Bronze, not Silver.
        let fw = laqm();
        let rule = BestFitRule::platform_default(&fw);
        let c = claims(&[("1.1", "silver"), ("1.2", "silver"), ("1.3", "bronze")]);
        let fit = best_fit(&fw, &rule, &c);
        assert_eq!(theme_level(&fit, 1), Some("bronze"));
        assert!(
            fit.themes[0]
                .reason
                .contains("not Silver: Silver needs 3 of 3 strands"),
            "{}",
            fit.themes[0].reason
        );
    }

    #[test]
    fn a_number_of_strands_needs_that_many_or_all() {
        let mut r = rule();
        r.levels[1].strands = Share::Count(2);
        // Theme 1: two of four at Silver is enough for a rule of 2 strands.
        let c = claims(&[
            ("1.1", "silver"),
            ("1.2", "silver"),
            ("1.3", "bronze"),
            ("1.4", "bronze"),
        ]);
        assert_eq!(theme_level(&best_fit(&fw(), &r, &c), 1), Some("silver"));
        assert_eq!(theme_level(&fit(&c), 1), Some("bronze"));
    }

    #[test]
    fn strands_starting_above_a_level_can_be_counted() {
        let mut r = rule();
        r.starts_above = StartsAbove::Counted;
        // 2.2 (Gold only) unclaimed now keeps theme 2 from Bronze; claimed at Gold it meets it.
        let c = claims(&[("2.1", "silver"), ("2.3", "bronze")]);
        assert_eq!(theme_level(&best_fit(&fw(), &r, &c), 2), None);
        let c = claims(&[("2.1", "silver"), ("2.2", "gold"), ("2.3", "bronze")]);
        assert_eq!(theme_level(&best_fit(&fw(), &r, &c), 2), Some("silver"));
    }

    #[test]
    fn strands_stopping_below_a_level_can_be_left_out_or_fall_short() {
        let c = claims(&[("2.1", "gold"), ("2.2", "gold"), ("2.3", "bronze")]);
        let mut r = rule();
        r.stops_below = StopsBelow::LeftOut;
        let left_out = best_fit(&fw(), &r, &c);
        assert_eq!(theme_level(&left_out, 2), Some("gold"));
        assert_eq!(left_out.themes[1].levels[2].judged, 2);
        r.stops_below = StopsBelow::Short;
        let short = best_fit(&fw(), &r, &c);
        // At Silver 2.3 falls short: 1 of 2, where 75% of 2 needs both.
        assert_eq!(theme_level(&short, 2), Some("bronze"));
        assert_eq!(short.themes[1].levels[1].short, vec!["2.3"]);
        assert_eq!(short.themes[1].levels[2].short, vec!["2.3"]);
    }

    #[test]
    fn the_default_rule_explains_itself_with_its_rounding() {
        let fw = laqm();
        let words = BestFitRule::platform_default(&fw).explain(&fw);
        assert!(
            words.contains(
                &"Bronze: every strand judged in a theme, and every theme (6 of 6).".to_string()
            ),
            "{words:#?}"
        );
        assert!(
            words.contains(&"Silver: at least 75% of the strands judged in a theme, rounded up to a whole strand (3 of 3, 4 of 5, 6 of 8, 7 of 9), and at least 80% of the 6 themes, rounded up to a whole theme (5 of 6).".to_string()),
            "{words:#?}"
        );
        assert!(
            words.contains(&"Gold: at least 75% of the strands judged in a theme, rounded up to a whole strand (3 of 3, 4 of 5, 5 of 6, 6 of 8, 8 of 10), and at least 80% of the 6 themes, rounded up to a whole theme (5 of 6).".to_string()),
            "{words:#?}"
        );
        assert!(words.contains(&"A strand whose statements start above a level (here 2.6 and 3.10) is left out when that level is judged.".to_string()));
        assert!(words.contains(&"A strand whose statements stop below a level (here 5.6) meets that level when claimed at its top level.".to_string()));
    }

    #[test]
    fn the_default_rule_fits_the_laqm_framework() {
        let fw = laqm();
        assert_eq!(BestFitRule::platform_default(&fw).problems(&fw), vec![]);
    }

    #[test]
    fn a_rule_that_does_not_fit_says_where() {
        let fw = fw();
        let problem = |edit: &dyn Fn(&mut BestFitRule)| {
            let mut r = rule();
            edit(&mut r);
            r.problems(&fw)
                .into_iter()
                .map(|p| (p.level, p.part, p.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            problem(&|r| r.levels[1].strands = Share::Percent(0)),
            vec![(
                1,
                Part::Strands,
                "Silver: enter a percentage from 1% to 100%".to_string()
            )]
        );
        assert_eq!(
            problem(&|r| r.levels[2].themes = Share::Percent(101)),
            vec![(
                2,
                Part::Themes,
                "Gold: enter a percentage from 1% to 100%".to_string()
            )]
        );
        assert_eq!(
            problem(&|r| r.levels[0].themes = Share::Count(0)),
            vec![(
                0,
                Part::Themes,
                "Bronze: enter 1 or more themes, or a percentage".to_string()
            )]
        );
        assert_eq!(
            problem(&|r| r.levels[1].strands = Share::Count(5)),
            vec![(
                1,
                Part::Strands,
                "Silver: no theme has more than 4 strands; enter 4 or fewer, or a percentage"
                    .to_string()
            )]
        );
        assert_eq!(
            problem(&|r| r.levels[2].themes = Share::Count(3)),
            vec![(
                2,
                Part::Themes,
                "Gold: there are 2 themes; enter 2 or fewer, or a percentage".to_string()
            )]
        );
        let mut other = rule();
        other.levels.swap(1, 2);
        assert_eq!(other.problems(&fw).len(), 1);
        assert!(
            other.problems(&fw)[0]
                .message
                .starts_with("The rule names the levels bronze, gold, silver")
        );
    }

    #[test]
    fn laqm_everything_at_gold_is_gold_and_5_6_counts_at_bronze() {
        let fw = laqm();
        let rule = BestFitRule::platform_default(&fw);
        let mut c = BTreeMap::new();
        for (_, s) in fw.strands() {
            let top = s
                .statements
                .keys()
                .max_by_key(|k| fw.level_rank(k))
                .unwrap();
            c.insert(s.key.clone(), top.clone());
        }
        let fit = best_fit(&fw, &rule, &c);
        assert!(
            fit.themes
                .iter()
                .all(|t| t.level.as_deref() == Some("gold"))
        );
        assert_eq!(fit.overall.as_deref(), Some("gold"));
        // Without the Gold-only 2.6, theme 2 still fits Gold (5 of 6 at Gold).
        c.remove("2.6");
        let fit = best_fit(&fw, &rule, &c);
        assert_eq!(fit.themes[1].level.as_deref(), Some("gold"));
        assert!(fit.themes[1].reason.contains("except 2.6"));
    }

    #[test]
    fn the_two_strands_printed_4_5_are_told_apart_in_reasons() {
        let fw = laqm();
        let rule = BestFitRule::platform_default(&fw);
        let fit = best_fit(&fw, &rule, &BTreeMap::new());
        assert!(
            fit.themes[3]
                .reason
                .contains("4.4, 4.5 (community), 4.5 (charter), 4.6 and 4.7 short"),
            "{}",
            fit.themes[3].reason
        );
    }
}
