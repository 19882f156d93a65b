//! The impact view (pure): how absence and persistent absence changed for the schools that took
//! part, from the year before each joined to the latest year, against all schools of the
//! authority and national figures over the same years — the programme page's impact table,
//! generated from data.
//!
//! Comparators are matched: for every participating school, the authority's average (and the
//! national figure) is taken over that school's own two years, and those are averaged. So a
//! school that joined in 2022/23 is compared with how everyone changed from 2021/22, not from
//! some other starting point.

use std::collections::BTreeMap;

/// A school's academic-year figures: overall absence and persistent absence, per cent.
#[derive(Debug, Clone, Default)]
pub struct SchoolYears {
    pub name: String,
    /// Set when the school takes part: the year before it joined, and its award ("Gold",
    /// "Not yet awarded").
    pub joined: Option<(i32, String)>,
    pub years: BTreeMap<i32, Rates>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub overall: Option<f64>,
    pub pa: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Overall,
    Pa,
}

impl Rates {
    pub fn of(&self, m: Measure) -> Option<f64> {
        match m {
            Measure::Overall => self.overall,
            Measure::Pa => self.pa,
        }
    }
}

/// Change of one measure for one group: the mean before, the mean at the latest year, and the
/// number of schools with both.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Change {
    pub schools: usize,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

impl Change {
    pub fn change(&self) -> Option<f64> {
        Some(self.to? - self.from?)
    }

    fn of(pairs: &[(f64, f64)]) -> Change {
        if pairs.is_empty() {
            return Change::default();
        }
        let n = pairs.len() as f64;
        Change {
            schools: pairs.len(),
            from: Some(pairs.iter().map(|p| p.0).sum::<f64>() / n),
            to: Some(pairs.iter().map(|p| p.1).sum::<f64>() / n),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub group: String,
    pub overall: Change,
    pub pa: Change,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Impact {
    /// The latest year with figures for any school of the authority.
    pub latest: Option<i32>,
    pub rows: Vec<Row>,
}

/// The authority's average of `m` in `year` over its schools with a figure then.
fn authority_mean(schools: &[SchoolYears], year: i32, m: Measure) -> Option<f64> {
    let v: Vec<f64> = schools
        .iter()
        .filter_map(|s| s.years.get(&year).and_then(|r| r.of(m)))
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The impact table over `schools` (every school of the authority); `national(year, m)` gives
/// the national figure. Award groups come in the order of `levels`.
pub fn impact(
    schools: &[SchoolYears],
    levels: &[String],
    national: impl Fn(i32, Measure) -> Option<f64>,
) -> Impact {
    let latest = schools
        .iter()
        .filter_map(|s| s.years.keys().next_back().copied())
        .max();
    let Some(latest) = latest else {
        return Impact {
            latest: None,
            rows: Vec::new(),
        };
    };
    // For each measure: each participating school's pair, with its award.
    let pairs = |m: Measure| -> Vec<(i32, String, f64, f64)> {
        schools
            .iter()
            .filter_map(|s| {
                let (base, award) = s.joined.as_ref()?;
                if *base >= latest {
                    return None;
                }
                let from = s.years.get(base)?.of(m)?;
                let to = s.years.get(&latest)?.of(m)?;
                Some((*base, award.clone(), from, to))
            })
            .collect()
    };
    let (overall, pa) = (pairs(Measure::Overall), pairs(Measure::Pa));
    let group = |name: &str, keep: &dyn Fn(&str) -> bool| Row {
        group: name.to_string(),
        overall: Change::of(
            &overall
                .iter()
                .filter(|p| keep(&p.1))
                .map(|p| (p.2, p.3))
                .collect::<Vec<_>>(),
        ),
        pa: Change::of(
            &pa.iter()
                .filter(|p| keep(&p.1))
                .map(|p| (p.2, p.3))
                .collect::<Vec<_>>(),
        ),
    };
    let mut rows = vec![group("Participating schools", &|_| true)];
    for level in levels {
        let r = group(&format!("Participating: {level}"), &|a| a == level);
        if r.overall.schools > 0 || r.pa.schools > 0 {
            rows.push(r);
        }
    }
    // The comparators over each participating school's own years.
    let matched = |source: &dyn Fn(i32) -> Option<f64>, p: &[(i32, String, f64, f64)]| {
        let v: Vec<(f64, f64)> = p
            .iter()
            .filter_map(|(base, ..)| Some((source(*base)?, source(latest)?)))
            .collect();
        Change::of(&v)
    };
    let authority_schools = |m: Measure| {
        schools
            .iter()
            .filter(|s| s.years.get(&latest).and_then(|r| r.of(m)).is_some())
            .count()
    };
    let mut all = Row {
        group: "All schools of the authority (same years)".to_string(),
        overall: matched(&|y| authority_mean(schools, y, Measure::Overall), &overall),
        pa: matched(&|y| authority_mean(schools, y, Measure::Pa), &pa),
    };
    // Its count is the authority's schools with a figure for the latest year.
    all.overall.schools = authority_schools(Measure::Overall);
    all.pa.schools = authority_schools(Measure::Pa);
    rows.push(all);
    let mut nat = Row {
        group: "England (same years)".to_string(),
        overall: matched(&|y| national(y, Measure::Overall), &overall),
        pa: matched(&|y| national(y, Measure::Pa), &pa),
    };
    nat.overall.schools = 0;
    nat.pa.schools = 0;
    rows.push(nat);
    Impact {
        latest: Some(latest),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(joined: Option<(i32, &str)>, years: &[(i32, f64, f64)]) -> SchoolYears {
        SchoolYears {
            name: String::new(),
            joined: joined.map(|(y, a)| (y, a.to_string())),
            years: years
                .iter()
                .map(|&(y, o, p)| {
                    (
                        y,
                        Rates {
                            overall: Some(o),
                            pa: Some(p),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn participating_schools_against_all_and_national_over_the_same_years() {
        let schools = vec![
            // Joined 2023/24 (baseline 2022/23): 8.0 → 6.0, PA 24 → 18. Gold.
            school(
                Some((202223, "Gold")),
                &[(202223, 8.0, 24.0), (202324, 6.0, 18.0)],
            ),
            // Joined 2022/23 (baseline 2021/22): 9.0 → 8.0, PA 26 → 25. Not yet.
            school(
                Some((202122, "Not yet awarded")),
                &[
                    (202122, 9.0, 26.0),
                    (202223, 8.5, 25.0),
                    (202324, 8.0, 25.0),
                ],
            ),
            // Not taking part: 7.0 → 7.0 → 7.0.
            school(
                None,
                &[
                    (202122, 7.0, 20.0),
                    (202223, 7.0, 20.0),
                    (202324, 7.0, 20.0),
                ],
            ),
            // Taking part but no figure for its baseline year: not counted.
            school(Some((202223, "Gold")), &[(202324, 5.0, 15.0)]),
        ];
        let national = |y: i32, m: Measure| match (y, m) {
            (202122, Measure::Overall) => Some(7.6),
            (202223, Measure::Overall) => Some(7.4),
            (202324, Measure::Overall) => Some(7.1),
            (202324, Measure::Pa) => Some(20.0),
            _ => None,
        };
        let levels = vec![
            "Gold".to_string(),
            "Silver".to_string(),
            "Not yet awarded".to_string(),
        ];
        let i = impact(&schools, &levels, national);
        assert_eq!(i.latest, Some(202324));
        let row = |g: &str| i.rows.iter().find(|r| r.group == g).unwrap().clone();
        let p = row("Participating schools");
        assert_eq!(p.overall.schools, 2);
        assert_eq!(p.overall.from, Some(8.5));
        assert_eq!(p.overall.to, Some(7.0));
        assert_eq!(p.overall.change(), Some(-1.5));
        assert_eq!(p.pa.change(), Some(-3.5));
        let gold = row("Participating: Gold");
        assert_eq!(gold.overall.change(), Some(-2.0));
        assert!(i.rows.iter().all(|r| r.group != "Participating: Silver"));
        // The authority over the same years: 2022/23 mean (8, 8.5, 7) = 7.833 → 2023/24 mean
        // (6, 8, 7, 5) = 6.5; 2021/22 mean (9, 7) = 8 → 6.5. Averaged: from 7.9167 to 6.5.
        let all = row("All schools of the authority (same years)");
        assert_eq!(all.overall.schools, 4);
        let from = all.overall.from.unwrap();
        assert!(
            (from - (7.0 + 5.0 / 6.0 + 8.0) / 2.0).abs() < 1e-9,
            "{from}"
        );
        assert_eq!(all.overall.to, Some(6.5));
        let england = row("England (same years)");
        assert!((england.overall.from.unwrap() - 7.5).abs() < 1e-9);
        assert_eq!(england.overall.to, Some(7.1));
        // No national PA for the baselines: no figure rather than a guess.
        assert_eq!(england.pa.from, None);
        assert_eq!(england.pa.change(), None);
    }

    #[test]
    fn no_figures_no_rows() {
        let i = impact(&[school(Some((202223, "Gold")), &[])], &[], |_, _| None);
        assert_eq!(i.latest, None);
        assert!(i.rows.is_empty());
    }
}
