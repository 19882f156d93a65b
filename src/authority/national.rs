//! National comparators for England, shipped with their sources (`comparators/`), read once.

use std::sync::OnceLock;

const FILE: &str = include_str!("../../comparators/england-national-absence.csv");

#[derive(Debug, Clone, PartialEq)]
pub struct National {
    pub time_period: i32,
    /// "Total", "State-funded primary", "State-funded secondary" or "Special".
    pub phase: String,
    pub overall: Option<f64>,
    pub pa: Option<f64>,
    pub severe: Option<f64>,
    pub source: String,
}

pub fn all() -> &'static [National] {
    static ALL: OnceLock<Vec<National>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut reader = csv::Reader::from_reader(FILE.as_bytes());
        let mut last_source = String::new();
        reader
            .records()
            .filter_map(Result::ok)
            .filter_map(|r| {
                let num = |i: usize| r.get(i).and_then(|v| v.trim().parse::<f64>().ok());
                let mut source = r.get(5).unwrap_or("").trim().to_string();
                // "same" in the file: the source of the line above.
                if source == "same" {
                    source.clone_from(&last_source);
                } else if let Some(rest) = source.strip_prefix("same + ") {
                    source = format!("{last_source}; {rest}");
                } else {
                    last_source.clone_from(&source);
                }
                Some(National {
                    time_period: r.get(0)?.trim().parse().ok()?,
                    phase: r.get(1)?.trim().to_string(),
                    overall: num(2),
                    pa: num(3),
                    severe: num(4),
                    source,
                })
            })
            .collect()
    })
}

/// The comparator phase of a school's phase.
pub fn phase_of(school_phase: &str) -> &'static str {
    match school_phase {
        "primary" => "State-funded primary",
        "secondary" => "State-funded secondary",
        "special" => "Special",
        _ => "Total",
    }
}

pub fn get(time_period: i32, phase: &str) -> Option<&'static National> {
    all()
        .iter()
        .find(|n| n.time_period == time_period && n.phase == phase)
}

/// The years COVID non-attendance was not a possible session: not comparable with others.
pub fn not_like_for_like(time_period: i32) -> bool {
    matches!(time_period, 202021 | 202122)
}

/// Published for no school (COVID): no figures exist.
pub fn not_published(time_period: i32) -> bool {
    time_period == 201920
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_figures_with_their_sources() {
        let t = get(202324, "Total").unwrap();
        assert_eq!(
            (t.overall, t.pa, t.severe),
            (Some(7.1), Some(20.0), Some(2.3))
        );
        assert!(t.source.contains("EES 2023-24"));
        // "same" takes the line above's source.
        assert_eq!(
            get(201516, "State-funded primary").unwrap().source,
            get(201516, "Total").unwrap().source
        );
        // Unverified figures are no figure, not zero.
        assert_eq!(get(202223, "State-funded primary").unwrap().pa, None);
        assert!(get(201920, "Total").is_none());
        assert!(not_published(201920));
        assert!(
            not_like_for_like(202021) && not_like_for_like(202122) && !not_like_for_like(202223)
        );
        assert_eq!(phase_of("primary"), "State-funded primary");
        assert_eq!(phase_of("all_through"), "Total");
    }
}
