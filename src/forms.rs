//! Form validation results: a message per field, shown next to the field and in the error
//! summary at the top of the page (the GOV.UK pattern).

#[derive(Debug, Default, Clone)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.0.iter()
    }
}

/// A path of this site to return to after sign-in; anything else becomes home.
///
/// Only a path that starts with one `/` and holds nothing but the characters a URL may carry
/// unescaped (RFC 3986: letters, digits, `-._~`, `!$&'()*+,;=:@`, `/`, `?` and `%`): no control
/// character (a browser drops a tab or newline and reads `/\t/evil.example` as
/// `//evil.example`), no backslash (read as `/`), no space, no `#` and nothing beyond ASCII. Such
/// a value is also always a valid `Location` header.
pub fn safe_next(next: Option<&str>) -> &str {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && n.bytes().all(allowed) => n,
        _ => "/home",
    }
}

/// The three boxes of a GOV.UK date input, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateInput {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateInput {
    pub fn new(day: &str, month: &str, year: &str) -> DateInput {
        DateInput {
            day: day.to_string(),
            month: month.to_string(),
            year: year.to_string(),
        }
    }
}

/// An optional date from a GOV.UK date input, with the pattern's messages: all boxes empty is no
/// date; some empty says which are missing; otherwise it must be a real date, with a 4-digit year,
/// not in the future (`what` names the date in messages: "Date of the evidence"). The error
/// comes with `field`, the id of the first box, for the error summary's link.
pub fn parse_date_input(
    input: &DateInput,
    field: &'static str,
    what: &str,
    today: chrono::NaiveDate,
) -> Result<Option<chrono::NaiveDate>, (&'static str, String)> {
    let date = parse_real_date(input, field, what)?;
    if date.is_some_and(|d| d > today) {
        return Err((field, format!("{what} must be today or in the past")));
    }
    Ok(date)
}

/// `parse_date_input` for a date that may be in the future too (a closure day to come).
pub fn parse_real_date(
    input: &DateInput,
    field: &'static str,
    what: &str,
) -> Result<Option<chrono::NaiveDate>, (&'static str, String)> {
    let parts = [
        ("day", input.day.trim()),
        ("month", input.month.trim()),
        ("year", input.year.trim()),
    ];
    let missing: Vec<&str> = parts
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    let fail = |m: String| Err((field, m));
    match missing.len() {
        3 => return Ok(None),
        0 => {}
        _ => return fail(format!("{what} must include a {}", missing.join(" and "))),
    }
    let number = |v: &str| -> Option<u32> {
        (v.len() <= 4 && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse().ok())
            .flatten()
    };
    let (Some(day), Some(month), Some(year)) =
        (number(parts[0].1), number(parts[1].1), number(parts[2].1))
    else {
        return fail(format!("{what} must be a real date"));
    };
    if parts[2].1.len() != 4 {
        return fail("Year must include 4 numbers".to_string());
    }
    let Some(date) = chrono::NaiveDate::from_ymd_opt(year as i32, month, day) else {
        return fail(format!("{what} must be a real date"));
    };
    Ok(Some(date))
}

/// A time of day typed as 9:30, 09:30 or 14.15 (24-hour clock).
pub fn parse_time(input: &str) -> Option<chrono::NaiveTime> {
    let t = input.trim().replace('.', ":");
    let (h, m) = t.split_once(':')?;
    let ok = |v: &str| !v.is_empty() && v.len() <= 2 && v.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || m.len() != 2 || !ok(m) {
        return None;
    }
    chrono::NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_gov_uk_pattern() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let parse = |d, m, y| parse_date_input(&DateInput::new(d, m, y), "when", "Date", today);
        assert_eq!(parse("", " ", ""), Ok(None));
        assert_eq!(
            parse(" 7", "03", "2025"),
            Ok(chrono::NaiveDate::from_ymd_opt(2025, 3, 7))
        );
        let message = |r: Result<_, (&str, String)>| r.unwrap_err().1;
        assert_eq!(message(parse("7", "", "2025")), "Date must include a month");
        assert_eq!(
            message(parse("", "", "2025")),
            "Date must include a day and month"
        );
        assert_eq!(
            message(parse("30", "2", "2025")),
            "Date must be a real date"
        );
        assert_eq!(message(parse("x", "2", "2025")), "Date must be a real date");
        assert_eq!(
            message(parse("1", "2", "25")),
            "Year must include 4 numbers"
        );
        assert_eq!(
            message(parse("23", "11", "2026")),
            "Date must be today or in the past"
        );
        assert_eq!(parse("1", "1", "x").unwrap_err().0, "when");
        // Without the limit, a date to come is a date like any other.
        let future = parse_real_date(&DateInput::new("23", "11", "2026"), "when", "Date");
        assert_eq!(future, Ok(chrono::NaiveDate::from_ymd_opt(2026, 11, 23)));
        assert_eq!(
            message(parse_real_date(
                &DateInput::new("29", "2", "2027"),
                "when",
                "Date"
            )),
            "Date must be a real date"
        );
    }

    #[test]
    fn times_of_day() {
        let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_time("9:30"), t(9, 30));
        assert_eq!(parse_time(" 14.15 "), t(14, 15));
        assert_eq!(parse_time("09:05"), t(9, 5));
        for bad in ["", "9", "25:00", "9:5", "9:60", "nine", "9:30am"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next(Some("/people")), "/people");
        assert_eq!(safe_next(Some("//evil.example")), "/home");
        assert_eq!(safe_next(Some("https://evil.example")), "/home");
        assert_eq!(safe_next(None), "/home");
        assert_eq!(
            safe_next(Some("/audit?school=1&person=2")),
            "/audit?school=1&person=2"
        );
        assert_eq!(safe_next(Some("/a%20b")), "/a%20b");
        for bad in [
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/\\evil.example",
            "/people\\..",
            "/ /evil.example",
            "/caf\u{e9}",
            "/\u{0}",
            "/x#y",
            "",
            "people",
        ] {
            assert_eq!(safe_next(Some(bad)), "/home", "{bad:?}");
        }
    }
}
