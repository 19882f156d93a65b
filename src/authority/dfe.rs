//! Reading the DfE's school-level absence file ("Pupil absence in schools in England", as
//! published on explore-education-statistics) into figures per school and period (pure).
//!
//! The file's columns are named in its header; only the ones used here are required. Its
//! markers `x` (not available), `z` (not applicable), `c` (confidential), `u` (low reliability)
//! and `:` (older files) mean no value, never zero. Rows of other geographic levels (national,
//! regional, LA totals) are skipped.

use std::collections::{BTreeSet, HashMap};

/// The terms a figure may cover, as the file's `time_identifier` writes them.
pub const TERMS: [&str; 5] = [
    "Academic year",
    "Autumn term",
    "Autumn and spring term",
    "Spring term",
    "Summer term",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub line: u64,
    pub urn: i32,
    pub time_period: i32,
    pub term: &'static str,
    pub overall: Option<f64>,
    pub pa: Option<f64>,
    pub severe: Option<f64>,
    pub enrolments: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub figures: Vec<Figure>,
    pub errors: Vec<LineError>,
    /// Rows of another geographic level than School.
    pub not_school: usize,
}

impl Parsed {
    pub fn periods(&self) -> BTreeSet<i32> {
        self.figures.iter().map(|f| f.time_period).collect()
    }
}

/// A `time_period` of the file (202324) as a valid academic year, or `None`.
pub fn period(value: &str) -> Option<i32> {
    let v = value.trim();
    if v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = v.parse().ok()?;
    let (start, end) = (n / 100, n % 100);
    ((2000..2100).contains(&start) && (start + 1) % 100 == end).then_some(n)
}

/// "2023/24" for 202324.
pub fn period_label(p: i32) -> String {
    format!("{}/{:02}", p / 100, p % 100)
}

/// A cell that is neither a percentage nor a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotARate;

/// A rate cell: a number from 0 to 100, or a marker (no value).
pub fn rate(value: &str) -> Result<Option<f64>, NotARate> {
    let v = value.trim();
    if matches!(
        v,
        "" | "x" | "z" | "c" | "u" | ":" | "low" | "X" | "Z" | "C" | "U"
    ) {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && (0.0..=100.0).contains(&n) => Ok(Some(n)),
        _ => Err(NotARate),
    }
}

const REQUIRED: [&str; 4] = [
    "time_period",
    "time_identifier",
    "school_urn",
    "sess_overall_percent",
];

/// Reads the whole file; every malformed row is reported with its line number.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "The file is not UTF-8 text. Upload the CSV as published, without re-saving it in another encoding.".to_string())?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("The first line could not be read: {e}"))?
        .clone();
    let col: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !col.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "The file has no column {}. Upload the school-level file of \"Pupil absence in schools in England\".",
            missing.join(", ")
        ));
    }
    let mut out = Parsed::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.errors.push(LineError {
                    line,
                    message: match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            len, expected_len, ..
                        } => format!("has {len} values where the header has {expected_len}"),
                        _ => "could not be read".to_string(),
                    },
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            col.get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .trim()
        };
        if let Some(level) = col.get("geographic_level").and_then(|i| record.get(*i))
            && !level.trim().eq_ignore_ascii_case("school")
        {
            out.not_school += 1;
            continue;
        }
        let mut problems = Vec::new();
        let time_period = period(get("time_period"));
        if time_period.is_none() {
            problems.push(format!(
                "time_period \"{}\" is not an academic year like 202324",
                get("time_period")
            ));
        }
        let term = TERMS
            .iter()
            .copied()
            .find(|t| t.eq_ignore_ascii_case(get("time_identifier")));
        if term.is_none() {
            problems.push(format!(
                "time_identifier \"{}\" is not one of {}",
                get("time_identifier"),
                TERMS.join(", ")
            ));
        }
        let urn = get("school_urn").parse::<i32>().ok().filter(|u| *u > 0);
        if urn.is_none() {
            problems.push(format!("school_urn \"{}\" is not a URN", get("school_urn")));
        }
        let mut rate_of = |name: &str| match rate(get(name)) {
            Ok(v) => v,
            Err(NotARate) => {
                problems.push(format!(
                    "{name} \"{}\" is not a percentage from 0 to 100 or a marker (x, z, c, u, :)",
                    get(name)
                ));
                None
            }
        };
        let overall = rate_of("sess_overall_percent");
        let pa = rate_of("enrolments_pa_10_exact_percent");
        let severe = rate_of("enrolments_pa_50_exact_percent");
        let enrolments = get("enrolments").parse::<i32>().ok().filter(|n| *n >= 0);
        match (problems.is_empty(), time_period, term, urn) {
            (true, Some(time_period), Some(term), Some(urn)) => out.figures.push(Figure {
                line,
                urn,
                time_period,
                term,
                overall,
                pa,
                severe,
                enrolments,
            }),
            _ => out.errors.push(LineError {
                line,
                message: problems.join("; "),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\u{feff}time_period,time_identifier,geographic_level,country_code,la_name,education_phase,school_urn,school_name,enrolments,sess_overall_percent,sess_authorised_percent,enrolments_pa_10_exact_percent,enrolments_pa_50_exact_percent\n\
202324,Academic year,School,E92000001,Liverpool,State-funded primary,100001,Riverside Primary,412,5.31,4.1,14.2,0.8\n\
202324,Academic year,School,E92000001,Liverpool,State-funded primary,100002,Hilltop Primary,z,x,x,c,u\n\
202324,Academic year,Local authority,E92000001,Liverpool,Total,,,,6.9,5,19.9,2.1\n\
202324,Academic year,School,E92000001,Liverpool,State-funded secondary,999999,Elsewhere High,900,8.0,6,20.1,2\n";

    #[test]
    fn reads_school_rows_with_markers_as_no_value() {
        let p = parse(FILE.as_bytes()).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.not_school, 1);
        assert_eq!(p.figures.len(), 3);
        let r = &p.figures[0];
        assert_eq!(
            (r.urn, r.time_period, r.term),
            (100001, 202324, "Academic year")
        );
        assert_eq!(
            (r.overall, r.pa, r.severe, r.enrolments),
            (Some(5.31), Some(14.2), Some(0.8), Some(412))
        );
        assert_eq!(r.line, 2);
        let h = &p.figures[1];
        assert_eq!(
            (h.overall, h.pa, h.severe, h.enrolments),
            (None, None, None, None)
        );
        assert_eq!(p.periods().into_iter().collect::<Vec<_>>(), vec![202324]);
    }

    #[test]
    fn malformed_rows_are_reported_by_line() {
        let file = "time_period,time_identifier,school_urn,sess_overall_percent\n\
202324,Academic year,100001,5.1\n\
2023,Academic year,100001,5.1\n\
202324,Whole year,abc,12%\n\
202324,Academic year,100001\n\
202324,Academic year,100001,101\n";
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.figures.len(), 1);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(p.errors[0].message.contains("time_period \"2023\""));
        assert!(
            p.errors[1]
                .message
                .contains("time_identifier \"Whole year\"")
        );
        assert!(p.errors[1].message.contains("school_urn \"abc\""));
        assert!(p.errors[1].message.contains("sess_overall_percent \"12%\""));
        assert!(p.errors[2].message.contains("has 3 values"));
        assert!(p.errors[3].message.contains("\"101\""));
    }

    #[test]
    fn older_files_and_missing_columns() {
        // Older files: school_type instead of education_phase, ':' for no value, no PA columns.
        let old = "time_period,time_identifier,school_type,school_urn,sess_overall_percent\n201819,Academic year,Special,100003,:\n";
        let p = parse(old.as_bytes()).unwrap();
        assert_eq!(p.figures[0].overall, None);
        assert_eq!(p.figures[0].pa, None);
        let err = parse(b"urn,absence\n1,2\n").unwrap_err();
        assert!(err.contains("time_period, time_identifier, school_urn, sess_overall_percent"));
        assert!(parse(b"\xff\xfe").is_err());
    }

    #[test]
    fn periods_are_academic_years() {
        assert_eq!(period("202324"), Some(202324));
        assert_eq!(period("201920"), Some(201920));
        assert_eq!(period("202325"), None);
        assert_eq!(period("2023/24"), None);
        assert_eq!(period_label(202324), "2023/24");
        assert_eq!(period_label(200910), "2009/10");
        assert_eq!(rate("x"), Ok(None));
        assert_eq!(rate(" 4.5 "), Ok(Some(4.5)));
        assert_eq!(rate("-1"), Err(NotARate));
        assert_eq!(rate("NaN"), Err(NotARate));
    }

    mod generated {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever arrives, the parser answers: figures or line errors, never a panic.
            #[test]
            fn any_bytes_are_answered(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
                let _ = parse(&bytes);
            }

            /// A well-formed row comes back as its figure; a marker is no value, never zero.
            #[test]
            fn well_formed_rows_read_back(
                start in 2000i32..2098,
                urn in 1i32..999_999,
                overall in proptest::option::of(0.0f64..100.0),
                marker in prop_oneof![Just("x"), Just("z"), Just("c"), Just("u"), Just(":")],
            ) {
                let period = start * 100 + (start + 1) % 100;
                let cell = overall.map_or_else(|| marker.to_string(), |v| format!("{v}"));
                let file = format!(
                    "time_period,time_identifier,school_urn,sess_overall_percent,enrolments_pa_10_exact_percent\n{period},Academic year,{urn},{cell},{marker}\n"
                );
                let p = parse(file.as_bytes()).unwrap();
                prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
                prop_assert_eq!(p.figures.len(), 1);
                let f = &p.figures[0];
                prop_assert_eq!((f.urn, f.time_period), (urn, period));
                prop_assert_eq!(f.overall, overall);
                prop_assert_eq!(f.pa, None);
            }
        }
    }
}
