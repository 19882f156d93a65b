//! Reading a DfE "Get information about schools" (GIAS) extract (pure: no database). The first
//! of the import's two steps, so a bad file never reaches the database: `parse_gias` reads and
//! checks the whole file and reports every bad line at once; `school_import::import` then applies
//! the records.
//!
//! Only five columns are read, found by their header names, so a full extract with its hundred-odd
//! columns works as well as a trimmed one in any order. `TypeOfEstablishment (name)` is read only
//! when the phase is "Not applicable", which is how GIAS records special schools and pupil
//! referral units.
//!

use super::school_types::{Phase, SchoolStatus};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

pub const URN: &str = "URN";
pub const NAME: &str = "EstablishmentName";
pub const PHASE: &str = "PhaseOfEducation (name)";
pub const LA_CODE: &str = "LA (code)";
pub const STATUS: &str = "EstablishmentStatus (name)";
pub const TYPE: &str = "TypeOfEstablishment (name)";

/// The columns a file must have, in the order a "missing columns" message lists them.
const REQUIRED: [&str; 5] = [URN, NAME, PHASE, LA_CODE, STATUS];

/// Beyond this many problems the list stops helping: whoever fixes the file fixes the first ones
/// and tries again.
pub const MAX_ERRORS: usize = 100;

/// One school as the file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolRecord {
    pub urn: i32,
    pub name: String,
    pub phase: Phase,
    pub la_code: String,
    pub status: SchoolStatus,
}

/// One problem in the file. `line` is the file's line (the header is line 1) where the row
/// starts; it is `None` only for the closing "and N more problems" past `MAX_ERRORS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: Option<u64>,
    pub reason: String,
}

impl LineError {
    fn at(line: u64, reason: impl Into<String>) -> LineError {
        LineError {
            line: Some(line),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Reads a GIAS extract (CSV, in UTF-8 with or without a byte-order mark, or Windows-1252) into
/// one record per school, or every problem found, in file order.
pub fn parse_gias(bytes: &[u8]) -> Result<Vec<SchoolRecord>, Vec<LineError>> {
    let text = decode(bytes).map_err(|reason| vec![LineError::at(1, reason)])?;
    // Rows of the wrong length are reported by line below rather than stopping the reader.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();

    let lines = LineIndex::new(&text);

    let header = match rows.next() {
        None => return Err(vec![LineError::at(1, "the file is empty")]),
        Some(Err(e)) => return Err(vec![csv_error(&e, &lines)]),
        Some(Ok(header)) => header,
    };
    let columns = Columns::find(&header).map_err(|e| vec![e])?;

    let mut records = Vec::new();
    let mut errors = Vec::new();
    // URN -> (line it first appeared on, times seen so far)
    let mut seen: HashMap<i32, (u64, usize)> = HashMap::new();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                // The reader cannot say where the next row starts, so stop at the first.
                errors.push(csv_error(&e, &lines));
                break;
            }
        };
        let line = lines.line_at(row.position().map_or(0, |p| p.byte()));
        // Spreadsheets often leave rows of empty cells at the end.
        if row.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if row.len() != header.len() {
            // The columns are out of step, so checking the fields would only add noise.
            errors.push(LineError::at(
                line,
                format!(
                    "has {} fields where the header row has {}",
                    row.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let field = |i: usize| row.get(i).unwrap_or("").trim();
        let fields = RowFields {
            urn: field(columns.urn),
            name: field(columns.name),
            phase: field(columns.phase),
            la_code: field(columns.la_code),
            status: field(columns.status),
            kind: columns.kind.map(field),
        };
        let result = parse_row(&fields);
        // Duplicates are checked whether or not the rest of the row is good, so one round of
        // fixes finds them all.
        let mut reasons = match &result {
            Ok(_) => Vec::new(),
            Err(reasons) => reasons.clone(),
        };
        if let Ok(urn) = parse_urn(fields.urn) {
            match seen.entry(urn) {
                Entry::Vacant(slot) => {
                    slot.insert((line, 1));
                }
                Entry::Occupied(mut slot) => {
                    let (first, count) = slot.get_mut();
                    *count += 1;
                    reasons.push(if *count == 2 {
                        format!("URN {urn} appears twice (also on line {first})")
                    } else {
                        format!("URN {urn} appears {count} times (first on line {first})")
                    });
                }
            }
        }
        match result {
            Ok(record) if reasons.is_empty() => records.push(record),
            _ => errors.extend(reasons.into_iter().map(|r| LineError::at(line, r))),
        }
    }

    if errors.is_empty() && records.is_empty() {
        errors.push(LineError::at(
            1,
            "the header row is not followed by any schools",
        ));
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(cap(errors))
    }
}

/// Keeps the first `MAX_ERRORS` problems and says how many more there were.
fn cap(mut errors: Vec<LineError>) -> Vec<LineError> {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        errors.push(LineError {
            line: None,
            reason: format!("and {more} more problems"),
        });
    }
    errors
}

fn csv_error(e: &csv::Error, lines: &LineIndex) -> LineError {
    LineError {
        line: Some(lines.line_at(e.position().map_or(0, |p| p.byte()))),
        reason: format!("cannot be read as CSV: {e}"),
    }
}

/// Line numbers as a text editor shows them. The csv reader's own line count skips blank lines
/// and miscounts Windows line endings, which GIAS files have, so lines are counted here from the
/// byte offset where the reader says a record starts.
struct LineIndex<'a> {
    text: &'a [u8],
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> LineIndex<'a> {
        let text = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in text.iter().enumerate() {
            // "\r\n", "\n" and a lone "\r" each end a line.
            if b == b'\n' || (b == b'\r' && text.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { text, starts }
    }

    /// The line of the record the reader reports at `offset`. That offset can fall before the
    /// previous record's line ending or blank lines the reader skipped, so those are passed over.
    fn line_at(&self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset).map_or(self.text.len(), |o| o.min(self.text.len()));
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.starts.partition_point(|&s| s <= start) as u64
    }
}

/// The file's text. Bytes that are not UTF-8 are read as Windows-1252, the encoding GIAS and
/// Excel on Windows write; every byte means something there, so this cannot fail, and a file in
/// some third encoding shows up as odd letters in names that a person can see in the summary.
fn decode(bytes: &[u8]) -> Result<String, String> {
    // UTF-16 ("Unicode text" in Excel) would otherwise decode to noise and a puzzling
    // "missing columns".
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(
            "the file is UTF-16 text; save it from the spreadsheet as \"CSV UTF-8\" or \"CSV (Comma delimited)\""
                .to_string(),
        );
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => decode_windows_1252(bytes),
    };
    // Control characters (a NUL in a name, say) go, as from every form: nothing stores them.
    Ok(crate::web::strip_controls(&text).into_owned())
}

/// Windows-1252 as the WHATWG encoding standard defines it (every byte maps to a character), so
/// this cannot fail.
fn decode_windows_1252(bytes: &[u8]) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// Where the columns aqm reads are in this file.
struct Columns {
    urn: usize,
    name: usize,
    phase: usize,
    la_code: usize,
    status: usize,
    kind: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord) -> Result<Columns, LineError> {
        // Case and spacing are forgiven: a hand-made file is likely to get them wrong.
        let position = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|name| position(name).is_none())
            .collect();
        if !missing.is_empty() {
            let mut reason = format!("missing columns: {}", missing.join(", "));
            if missing.len() == REQUIRED.len() {
                reason.push_str(" (is this a GIAS extract saved as CSV?)");
            }
            return Err(LineError::at(1, reason));
        }
        let found = |name: &str| position(name).unwrap_or_default();
        Ok(Columns {
            urn: found(URN),
            name: found(NAME),
            phase: found(PHASE),
            la_code: found(LA_CODE),
            status: found(STATUS),
            kind: position(TYPE),
        })
    }
}

/// One row's fields, trimmed. `kind` is `None` when the file has no type column.
struct RowFields<'a> {
    urn: &'a str,
    name: &'a str,
    phase: &'a str,
    la_code: &'a str,
    status: &'a str,
    kind: Option<&'a str>,
}

/// Checks one row, collecting every problem in it rather than stopping at the first.
fn parse_row(fields: &RowFields) -> Result<SchoolRecord, Vec<String>> {
    let mut reasons = Vec::new();
    let urn = parse_urn(fields.urn).map_err(|r| reasons.push(r)).ok();
    if fields.name.is_empty() {
        reasons.push(format!("{NAME} is empty"));
    }
    let phase = parse_phase(fields.phase, fields.kind)
        .map_err(|r| reasons.push(r))
        .ok();
    if fields.la_code.is_empty() {
        reasons.push(format!("{LA_CODE} is empty"));
    }
    let status = parse_status(fields.status)
        .map_err(|r| reasons.push(r))
        .ok();
    match (urn, phase, status) {
        (Some(urn), Some(phase), Some(status)) if reasons.is_empty() => Ok(SchoolRecord {
            urn,
            name: fields.name.to_string(),
            phase,
            la_code: fields.la_code.to_string(),
            status,
        }),
        _ => Err(reasons),
    }
}

/// A URN is a positive whole number; the database keeps it as a 32-bit integer.
fn parse_urn(raw: &str) -> Result<i32, String> {
    if raw.is_empty() {
        return Err(format!("{URN} is empty"));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("URN {raw:?} is not a number"));
    }
    match raw.parse::<i32>() {
        Ok(urn) if urn > 0 => Ok(urn),
        _ => Err(format!("URN {raw:?} is out of range")),
    }
}

/// GIAS's phases of education to aqm's. Middle schools go with the phase GIAS deems them, 16 plus
/// (sixth-form colleges and the like) with secondary. Our own names and labels are accepted too,
/// for files made by hand.
fn parse_phase(raw: &str, kind: Option<&str>) -> Result<Phase, String> {
    let lower = raw.to_lowercase();
    if let Some(phase) = Phase::ALL
        .into_iter()
        .find(|p| lower == p.as_str() || lower == p.label().to_lowercase())
    {
        return Ok(phase);
    }
    match lower.as_str() {
        "middle deemed primary" => Ok(Phase::Primary),
        "middle deemed secondary" | "16 plus" => Ok(Phase::Secondary),
        "all through" => Ok(Phase::AllThrough),
        "not applicable" | "" => phase_from_type(raw, kind),
        _ => Err(format!("unknown phase {raw:?}")),
    }
}

/// GIAS gives special schools and pupil referral units no phase; their type says what they are.
fn phase_from_type(raw_phase: &str, kind: Option<&str>) -> Result<Phase, String> {
    let said = if raw_phase.is_empty() {
        format!("{PHASE} is empty")
    } else {
        format!("phase {raw_phase:?}")
    };
    let Some(kind) = kind.filter(|k| !k.is_empty()) else {
        return Err(if raw_phase.is_empty() {
            said
        } else {
            format!("{said} needs a {TYPE} to tell special schools from alternative provision")
        });
    };
    let lower = kind.to_lowercase();
    if lower.contains("special") {
        Ok(Phase::Special)
    } else if lower.contains("pupil referral unit") || lower.contains("alternative provision") {
        Ok(Phase::AlternativeProvision)
    } else {
        Err(format!(
            "{said} and type {kind:?} is neither a special school nor alternative provision"
        ))
    }
}

/// A school that is proposed to close is still open, and one proposed to open is treated as open
/// so its staff can be set up before it opens.
fn parse_status(raw: &str) -> Result<SchoolStatus, String> {
    match raw.to_lowercase().as_str() {
        "open" | "open, but proposed to close" | "proposed to open" => Ok(SchoolStatus::Open),
        "closed" => Ok(SchoolStatus::Closed),
        "" => Err(format!("{STATUS} is empty")),
        _ => Err(format!("unknown status {raw:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header in GIAS's own order, with columns aqm ignores around the ones it reads.
    const HEADER: &str = "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,\
        TypeOfEstablishment (name),EstablishmentStatus (name),PhaseOfEducation (name),Postcode";

    /// A file of `HEADER` and `rows`, each given as its aqm fields plus a type.
    fn file(rows: &[[&str; 6]]) -> String {
        let mut text = format!("{HEADER}\n");
        for [urn, name, phase, la, status, kind] in rows {
            text.push_str(&format!(
                "{urn},{la},Sampleshire,2001,{name},{kind},{status},{phase},ZZ99 1AA\n"
            ));
        }
        text
    }

    fn good(urn: &str) -> [&str; 6] {
        [
            urn,
            "Hill Top Primary School",
            "Primary",
            "999",
            "Open",
            "Community school",
        ]
    }

    fn messages(result: Result<Vec<SchoolRecord>, Vec<LineError>>) -> Vec<String> {
        result
            .expect_err("the file is refused")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn control_characters_in_the_file_are_dropped() {
        assert_eq!(
            decode(b"URN,Name\r\n1,River\0side\x1b\r\n").unwrap(),
            "URN,Name\r\n1,Riverside\r\n"
        );
    }

    #[test]
    fn reads_the_committed_sample_file() {
        let bytes = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/gias-sample.csv"
        ));
        let records = parse_gias(bytes).expect("the sample is valid");
        assert_eq!(records.len(), 12);
        let phases: std::collections::BTreeSet<Phase> = records.iter().map(|r| r.phase).collect();
        assert_eq!(phases.len(), Phase::ALL.len(), "every phase appears");
        assert!(records.iter().any(|r| r.status == SchoolStatus::Closed));
        assert!(records.iter().all(|r| r.la_code == "999"));
    }

    #[test]
    fn reads_the_five_columns_and_trims_them() {
        let text = format!(
            "{HEADER}\n  100001 ,999,Sampleshire,2001,  Hill Top Primary School ,Community school, Open ,Primary ,ZZ99 1AA\n"
        );
        assert_eq!(
            parse_gias(text.as_bytes()),
            Ok(vec![SchoolRecord {
                urn: 100001,
                name: "Hill Top Primary School".into(),
                phase: Phase::Primary,
                la_code: "999".into(),
                status: SchoolStatus::Open,
            }])
        );
    }

    #[test]
    fn column_order_and_extra_columns_do_not_matter() {
        let gias_order = file(&[good("100001")]);
        let shuffled = "Town,EstablishmentStatus (name),LA (code),PhaseOfEducation (name),Website,\
            EstablishmentName,URN\n\
            Sampleton,Open,999,Primary,,Hill Top Primary School,100001\n";
        let minimal = "urn,establishmentname,phaseofeducation (name),la (code),establishmentstatus (name)\n\
            100001,Hill Top Primary School,Primary,999,Open\n";
        let expected = parse_gias(gias_order.as_bytes()).unwrap();
        assert_eq!(parse_gias(shuffled.as_bytes()).unwrap(), expected);
        assert_eq!(parse_gias(minimal.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn maps_gias_phases_to_ours() {
        let cases = [
            ("Primary", Phase::Primary),
            ("Middle deemed primary", Phase::Primary),
            ("Secondary", Phase::Secondary),
            ("Middle deemed secondary", Phase::Secondary),
            ("16 plus", Phase::Secondary),
            ("All-through", Phase::AllThrough),
            ("Nursery", Phase::Nursery),
            ("NURSERY", Phase::Nursery),
            ("special", Phase::Special),
            ("Special", Phase::Special),
            ("alternative provision", Phase::AlternativeProvision),
            ("alternative_provision", Phase::AlternativeProvision),
            ("all_through", Phase::AllThrough),
        ];
        for (raw, phase) in cases {
            assert_eq!(
                parse_phase(raw, Some("Academy converter")),
                Ok(phase),
                "{raw}"
            );
        }
    }

    #[test]
    fn not_applicable_phase_is_read_from_the_type() {
        let cases = [
            ("Community special school", Phase::Special),
            ("Foundation special school", Phase::Special),
            ("Non-maintained special school", Phase::Special),
            ("Academy special converter", Phase::Special),
            ("Free schools special", Phase::Special),
            ("Pupil referral unit", Phase::AlternativeProvision),
            (
                "Academy alternative provision converter",
                Phase::AlternativeProvision,
            ),
            (
                "Academy alternative provision sponsor led",
                Phase::AlternativeProvision,
            ),
            (
                "Free schools alternative provision",
                Phase::AlternativeProvision,
            ),
        ];
        for (kind, phase) in cases {
            assert_eq!(
                parse_phase("Not applicable", Some(kind)),
                Ok(phase),
                "{kind}"
            );
        }
        assert_eq!(
            parse_phase("Not applicable", Some("Further education")),
            Err(r#"phase "Not applicable" and type "Further education" is neither a special school nor alternative provision"#.to_string())
        );
        assert_eq!(
            parse_phase("Not applicable", None),
            Err(r#"phase "Not applicable" needs a TypeOfEstablishment (name) to tell special schools from alternative provision"#.to_string())
        );
        assert_eq!(
            parse_phase("", Some("Pupil referral unit")),
            Ok(Phase::AlternativeProvision)
        );
        assert_eq!(
            parse_phase("", None),
            Err("PhaseOfEducation (name) is empty".to_string())
        );
    }

    #[test]
    fn the_type_is_not_consulted_when_the_phase_is_given() {
        assert_eq!(
            parse_phase("Primary", Some("Community special school")),
            Ok(Phase::Primary)
        );
    }

    #[test]
    fn maps_gias_statuses_to_ours() {
        for raw in [
            "Open",
            "open",
            "Open, but proposed to close",
            "Proposed to open",
        ] {
            assert_eq!(parse_status(raw), Ok(SchoolStatus::Open), "{raw}");
        }
        assert_eq!(parse_status("Closed"), Ok(SchoolStatus::Closed));
        assert_eq!(
            parse_status("Temporarily shut"),
            Err(r#"unknown status "Temporarily shut""#.to_string())
        );
    }

    #[test]
    fn reports_a_urn_that_is_not_a_number_with_its_line() {
        let mut rows = vec![];
        for urn in 100001..=100005 {
            rows.push(urn.to_string());
        }
        let mut lines: Vec<[&str; 6]> = rows.iter().map(|u| good(u)).collect();
        lines.push(good("12a4"));
        assert_eq!(
            messages(parse_gias(file(&lines).as_bytes())),
            [r#"line 7: URN "12a4" is not a number"#]
        );
    }

    #[test]
    fn reports_empty_and_out_of_range_urns() {
        let text = file(&[good(""), good("0"), good("99999999999"), good("-5")]);
        assert_eq!(
            messages(parse_gias(text.as_bytes())),
            [
                "line 2: URN is empty",
                r#"line 3: URN "0" is out of range"#,
                r#"line 4: URN "99999999999" is out of range"#,
                r#"line 5: URN "-5" is not a number"#,
            ]
        );
    }

    #[test]
    fn reports_empty_fields_unknown_phases_and_statuses() {
        let text = file(&[
            good("100001"),
            ["100002", "  ", "Primary", "999", "Open", "Community school"],
            ["100003", "Oak School", "Tertiary", "999", "Open", "Other"],
            ["100004", "Elm School", "Primary", "", "Shut", "Other"],
        ]);
        assert_eq!(
            messages(parse_gias(text.as_bytes())),
            [
                "line 3: EstablishmentName is empty",
                r#"line 4: unknown phase "Tertiary""#,
                "line 5: LA (code) is empty",
                r#"line 5: unknown status "Shut""#,
            ]
        );
    }

    #[test]
    fn reports_a_urn_given_twice_with_both_lines() {
        let text = file(&[
            good("100001"),
            good("100002"),
            good("100003"),
            good("100001"),
            // A bad row still counts as a use of its URN.
            ["100002", "", "Primary", "999", "Open", "Other"],
            good("100001"),
        ]);
        assert_eq!(
            messages(parse_gias(text.as_bytes())),
            [
                "line 5: URN 100001 appears twice (also on line 2)",
                "line 6: EstablishmentName is empty",
                "line 6: URN 100002 appears twice (also on line 3)",
                "line 7: URN 100001 appears 3 times (first on line 2)",
            ]
        );
    }

    #[test]
    fn reports_missing_columns_on_line_one() {
        let text = "URN,EstablishmentName,PhaseOfEducation (name)\n100001,Hill Top,Primary\n";
        assert_eq!(
            messages(parse_gias(text.as_bytes())),
            ["line 1: missing columns: LA (code), EstablishmentStatus (name)"]
        );
        assert_eq!(
            messages(parse_gias(b"name,address\nHill Top,1 Hill Road\n")),
            [
                "line 1: missing columns: URN, EstablishmentName, PhaseOfEducation (name), LA (code), \
                 EstablishmentStatus (name) (is this a GIAS extract saved as CSV?)"
            ]
        );
    }

    #[test]
    fn an_empty_file_or_a_header_alone_is_refused() {
        assert_eq!(messages(parse_gias(b"")), ["line 1: the file is empty"]);
        assert_eq!(
            messages(parse_gias(format!("{HEADER}\n,,,,,,,,\n\n").as_bytes())),
            ["line 1: the header row is not followed by any schools"]
        );
    }

    #[test]
    fn reports_rows_with_the_wrong_number_of_fields() {
        let text = format!(
            "{}100002,999,Sampleshire,2001,Hill Top, Infants,Community school,Open,Primary,ZZ99 1AA\n",
            file(&[good("100001")])
        );
        assert_eq!(
            messages(parse_gias(text.as_bytes())),
            ["line 3: has 10 fields where the header row has 9"]
        );
    }

    #[test]
    fn reports_every_bad_line_up_to_a_hundred_then_counts_the_rest() {
        let urns: Vec<String> = (0..130).map(|i| format!("x{i}")).collect();
        let rows: Vec<[&str; 6]> = urns.iter().map(|u| good(u)).collect();
        let errors = parse_gias(file(&rows).as_bytes()).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert_eq!(errors[0].to_string(), r#"line 2: URN "x0" is not a number"#);
        assert_eq!(errors[99].line, Some(101));
        assert_eq!(errors[100].line, None);
        assert_eq!(errors[100].to_string(), "and 30 more problems");
    }

    #[test]
    fn line_numbers_count_crlf_blank_lines_and_quoted_line_breaks() {
        let text = format!(
            "{HEADER}\r\n\
             100001,999,Sampleshire,2001,\"Hill Top Primary School,\r\nAnnexe\",Community school,Open,Primary,ZZ99 1AA\r\n\
             \r\n\
             100002,999,Sampleshire,2002,Oak School,Community school,Open,Tertiary,ZZ99 1AA\r\n"
        );
        let errors = parse_gias(text.as_bytes()).unwrap_err();
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [r#"line 5: unknown phase "Tertiary""#]
        );
    }

    #[test]
    fn line_numbers_are_the_editor_s_for_any_line_ending() {
        let lines_of = |text: &str| -> Vec<u64> {
            let index = LineIndex::new(text);
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes())
                .records()
                .map(|r| index.line_at(r.unwrap().position().unwrap().byte()))
                .collect()
        };
        assert_eq!(lines_of("h\na\n\nb\n"), [1, 2, 4]);
        assert_eq!(lines_of("h\r\na\r\n\r\n\r\nb\r\n"), [1, 2, 5]);
        assert_eq!(lines_of("h\ra\r\rb"), [1, 2, 4]);
        assert_eq!(lines_of("h\n\"a\r\nx\"\nb\n"), [1, 2, 4]);
        assert_eq!(lines_of("\n\nh\na"), [3, 4]);
    }

    #[test]
    fn reads_windows_1252() {
        // "St Mary’s" with the right single quotation mark as Windows-1252 writes it (0x92), and
        // "Saint-Étienne" with Latin-1's É (0xC9).
        let mut bytes = b"URN,EstablishmentName,PhaseOfEducation (name),LA (code),EstablishmentStatus (name)\r\n"
            .to_vec();
        bytes.extend_from_slice(b"100001,St Mary\x92s C of E Primary,Primary,999,Open\r\n");
        bytes.extend_from_slice(b"100002,Saint-\xC9tienne House \x96 Nursery,Nursery,999,Open\r\n");
        let records = parse_gias(&bytes).unwrap();
        assert_eq!(records[0].name, "St Mary\u{2019}s C of E Primary");
        assert_eq!(records[1].name, "Saint-\u{C9}tienne House \u{2013} Nursery");
    }

    #[test]
    fn windows_1252_covers_every_byte() {
        assert_eq!(
            decode_windows_1252(b"\x80\x81\x8a\x91\x92\x93\x94\x9f\xa3\xff"),
            "\u{20AC}\u{81}\u{160}\u{2018}\u{2019}\u{201C}\u{201D}\u{178}\u{A3}\u{FF}"
        );
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_windows_1252(&all).chars().count(), 256);
    }

    #[test]
    fn reads_utf8_with_and_without_a_byte_order_mark() {
        let text = "URN,EstablishmentName,PhaseOfEducation (name),LA (code),EstablishmentStatus (name)\n\
                    100001,St Mary\u{2019}s C of E Primary,Primary,999,Open\n";
        let plain = parse_gias(text.as_bytes()).unwrap();
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        assert_eq!(parse_gias(&with_bom).unwrap(), plain);
        assert_eq!(plain[0].name, "St Mary\u{2019}s C of E Primary");
    }

    #[test]
    fn refuses_utf16_with_advice() {
        let errors = parse_gias(b"\xFF\xFEU\0R\0N\0").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .starts_with("line 1: the file is UTF-16")
        );
    }
}
