//! Pupils' personal data must not go into the handbook. This spots the two shapes that most often
//! slip in — a Unique Pupil Number, and a date of birth beside a name — so the person can take
//! them out before saving, or confirm that what looks like one is not.
//!
//! The text is normalised first, so the common ways of writing the same thing look alike:
//! full-width letters and digits become plain ones, invisible characters (zero-width spaces, soft
//! hyphens) go, every kind of space becomes a space and every dash a hyphen. A pupil number may be
//! written in groups ("A 1234 5678 9012", "A-1234-5678-9012"); a date may be numeric or in words
//! ("3 April 2016", "3rd of April 2016", "April 3, 2016").
//!
//! False alarms are kept low on purpose, because a warning people learn to click through protects
//! nobody: a date counts only after a birth word ("DOB", "born", "date of birth") or directly after
//! two words that look like a first name and a surname (not a title such as "Mrs Patel", not a
//! common capitalised word of handbooks such as "Governors Meeting"), and then only for a year in
//! which a pupil could have been born.

/// Something in a text that looks like a pupil's personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A letter followed by 12 digits, the shape of a Unique Pupil Number.
    Upn(String),
    /// A date next to a name or to words such as "DOB" or "born".
    DateOfBirth(String),
}

impl Finding {
    pub fn describe(&self) -> String {
        match self {
            Finding::Upn(s) => format!("“{s}” looks like a Unique Pupil Number"),
            Finding::DateOfBirth(s) => format!("“{s}” looks like a date of birth next to a name"),
        }
    }
}

/// Everything in `text` that looks like pupil data, in order of appearance.
pub fn find(text: &str, this_year: i32) -> Vec<Finding> {
    let text = normalise(text);
    let mut found = upns(&text);
    found.extend(dates_of_birth(&text, this_year));
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, f)| f).collect()
}

/// The text with look-alike characters made plain (see the module comment).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = u32::from(c);
        match c {
            // Zero-width and other invisible characters.
            '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}' => {}
            // Full-width forms of ASCII (digits, letters, punctuation).
            '\u{FF01}'..='\u{FF5E}' => out.push(char::from_u32(code - 0xFEE0).unwrap_or(c)),
            '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => {
                out.push(' ')
            }
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => out.push('-'),
            '\u{2044}' | '\u{2215}' => out.push('/'),
            // Mathematical bold, double-struck, sans-serif and monospace digits.
            '\u{1D7CE}'..='\u{1D7FF}' => {
                out.push(char::from(b'0' + ((code - 0x1D7CE) % 10) as u8));
            }
            _ => out.push(c),
        }
    }
    out
}

/// Unique Pupil Numbers: a letter and exactly 12 digits, standing alone, either run together
/// or (after a capital letter) in groups of three or more digits split by single spaces or
/// hyphens.
fn upns(text: &str) -> Vec<(usize, Finding)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let is_sep = |c: Option<char>| matches!(c, Some(' ' | '-'));
    let is_digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let mut found = Vec::new();
    for i in 0..chars.len() {
        let letter = chars[i].1;
        let starts_word = i == 0 || !chars[i - 1].1.is_alphanumeric();
        if !starts_word || !letter.is_ascii_alphabetic() {
            continue;
        }
        let grouped_allowed = letter.is_ascii_uppercase();
        let mut j = i + 1;
        let mut grouped = false;
        if grouped_allowed && is_sep(at(j)) && is_digit(at(j + 1)) {
            grouped = true;
            j += 1;
        }
        let mut digits = 0;
        let mut ok = true;
        loop {
            let start = j;
            while is_digit(at(j)) && digits < 12 {
                digits += 1;
                j += 1;
            }
            let group = j - start;
            if is_digit(at(j)) {
                // More than 12 digits in a row: not a pupil number.
                ok = false;
                break;
            }
            if digits == 12 {
                if grouped && group < 3 {
                    ok = false;
                }
                break;
            }
            // Another group may follow a separator, if groups are allowed here.
            if grouped_allowed && group >= 3 && is_sep(at(j)) && is_digit(at(j + 1)) {
                grouped = true;
                j += 1;
                continue;
            }
            ok = false;
            break;
        }
        if !ok || digits != 12 {
            continue;
        }
        // It must end there: no letter or digit joined on, and no further group.
        let next = at(j);
        if next.is_some_and(char::is_alphanumeric) || (is_sep(next) && is_digit(at(j + 1))) {
            continue;
        }
        let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
        found.push((chars[i].0, Finding::Upn(text[chars[i].0..end].to_string())));
    }
    found
}

/// A date found in the text: the word positions it spans, its text, its year.
struct DateAt {
    first: usize,
    last: usize,
    year: i32,
    /// Whether it names a day (a month and year alone counts only after a birth word).
    has_day: bool,
}

fn dates_of_birth(text: &str, this_year: i32) -> Vec<(usize, Finding)> {
    let words = word_spans(text);
    let mut found = Vec::new();
    let mut idx = 0;
    while idx < words.len() {
        let Some(date) = date_at(&words, idx) else {
            idx += 1;
            continue;
        };
        let start = words[date.first].0;
        let before = &text[..start];
        let window: String = before
            .chars()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
            .to_lowercase();
        let birth_word = has_birth_word(&window);
        let name_before = date.has_day
            && date.first >= 2
            && looks_like_a_name(&words, date.first)
            && (this_year - 20..=this_year - 3).contains(&date.year);
        if birth_word || name_before {
            let (end_at, end_word) = words[date.last];
            let end = end_at + trim_end_punctuation(end_word).len();
            found.push((
                start,
                Finding::DateOfBirth(text[start..end].trim_start_matches(['(', '[']).to_string()),
            ));
        }
        idx = date.last + 1;
    }
    found
}

fn word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                spans.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, &text[s..]));
    }
    spans
}

fn trim_punctuation(word: &str) -> &str {
    word.trim_matches(['(', ')', '[', ']', ',', ';', ':', '.', '"'])
}

fn trim_end_punctuation(word: &str) -> &str {
    word.trim_end_matches([')', ']', ',', ';', ':', '.', '"'])
}

/// A date starting at word `idx`: numeric in one word, or in words.
fn date_at(words: &[(usize, &str)], idx: usize) -> Option<DateAt> {
    let word = |i: usize| words.get(i).map(|&(_, w)| trim_punctuation(w));
    let first = word(idx)?;
    if let Some(year) = numeric_date_year(first) {
        return Some(DateAt {
            first: idx,
            last: idx,
            year,
            has_day: true,
        });
    }
    // 3 April 2016, 3rd of April 2016
    if day_number(first).is_some() {
        let mut m = idx + 1;
        if word(m).is_some_and(|w| w.eq_ignore_ascii_case("of")) {
            m += 1;
        }
        if let (Some(_), Some(year)) = (word(m).and_then(month), word(m + 1).and_then(year)) {
            return Some(DateAt {
                first: idx,
                last: m + 1,
                year,
                has_day: true,
            });
        }
    }
    // April 3, 2016; April 3rd 2016; April 2016
    if month(first).is_some() {
        if let (Some(_), Some(year)) = (
            word(idx + 1).and_then(day_number),
            word(idx + 2).and_then(year),
        ) {
            return Some(DateAt {
                first: idx,
                last: idx + 2,
                year,
                has_day: true,
            });
        }
        if let Some(year) = word(idx + 1).and_then(year) {
            return Some(DateAt {
                first: idx,
                last: idx + 1,
                year,
                has_day: false,
            });
        }
    }
    None
}

/// A day of the month: 1 to 31, with or without an ordinal ending (3rd, 21st).
fn day_number(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .unwrap_or(&lower);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// A month's name, in full or shortened ("Sept", "Apr").
fn month(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = word.to_ascii_lowercase();
    if lower == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| lower == *m || (lower.len() == 3 && m.starts_with(&lower)))
        .map(|i| i as u32 + 1)
}

/// A four-digit year a date of birth could have.
fn year(word: &str) -> Option<i32> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
        .filter(|y| (1990..=2100).contains(y))
}

/// "DOB", "born", "date of birth" and the like, as words (not "adobe" or "reborn").
fn has_birth_word(window: &str) -> bool {
    const WORDS: [&str; 7] = [
        "dob",
        "d.o.b",
        "born",
        "birthday",
        "birthdate",
        "date of birth",
        "birth date",
    ];
    WORDS.iter().any(|w| {
        window.match_indices(w).any(|(at, _)| {
            let before = window[..at].chars().next_back();
            let after = window[at + w.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    })
}

/// Whether the two words before word `idx` look like a pupil's first name and surname.
fn looks_like_a_name(words: &[(usize, &str)], idx: usize) -> bool {
    let (first, last) = (words[idx - 2].1, words[idx - 1].1);
    // "…at Ofsted. Inspection 3 May 2019": a sentence ends between them.
    if first.ends_with(['.', ';', ':', '!', '?']) {
        return false;
    }
    if !is_name_word(first) || !is_name_word(last) {
        return false;
    }
    // "Mrs Ann Patel 3 April 2016" is a member of staff.
    let titled = idx >= 3 && is_title(words[idx - 3].1);
    !titled && !is_title(first)
}

/// A capitalised word of letters (and apostrophes or hyphens: O'Neil, Smith-Jones), not in
/// capitals throughout (DOB, SDP), and not one of the common capitalised words of handbooks.
fn is_name_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphabetic());
    matches!(w.chars().next(), Some(c) if c.is_uppercase())
        && w.chars().count() >= 2
        && w.chars().any(char::is_lowercase)
        && w.chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        && !COMMON_CAPITALISED.contains(&w.to_lowercase().as_str())
}

fn is_title(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !c.is_alphabetic())
        .to_lowercase();
    matches!(
        w.as_str(),
        "mr" | "mrs" | "ms" | "miss" | "mx" | "dr" | "prof" | "sir" | "dame" | "rev" | "cllr"
    )
}

/// Capitalised words handbooks put before dates that are not names: "Governors Meeting 3 April
/// 2016", "Autumn Term 2019", "Ofsted Inspection 14/03/2019".
const COMMON_CAPITALISED: &[&str] = &[
    "academy",
    "action",
    "agreed",
    "approved",
    "assembly",
    "assessment",
    "assessor",
    "attendance",
    "authority",
    "autumn",
    "award",
    "bank",
    "board",
    "body",
    "borough",
    "bronze",
    "celebration",
    "census",
    "christmas",
    "city",
    "conference",
    "council",
    "county",
    "cpd",
    "data",
    "date",
    "dated",
    "day",
    "department",
    "deputy",
    "development",
    "dfe",
    "easter",
    "education",
    "effective",
    "event",
    "evening",
    "figures",
    "forum",
    "framework",
    "friday",
    "full",
    "gold",
    "governing",
    "governor",
    "governors",
    "guidance",
    "half",
    "hall",
    "handbook",
    "head",
    "headteacher",
    "holiday",
    "improvement",
    "inset",
    "inspection",
    "issued",
    "key",
    "launch",
    "lead",
    "leader",
    "leaders",
    "letter",
    "level",
    "local",
    "meeting",
    "minutes",
    "monday",
    "newsletter",
    "nursery",
    "officer",
    "ofsted",
    "open",
    "panel",
    "parents",
    "pastoral",
    "plan",
    "policy",
    "primary",
    "published",
    "report",
    "results",
    "review",
    "reviewed",
    "revised",
    "safeguarding",
    "saturday",
    "school",
    "secondary",
    "senior",
    "service",
    "signed",
    "silver",
    "since",
    "spring",
    "staff",
    "stage",
    "strand",
    "strategy",
    "summer",
    "sunday",
    "support",
    "target",
    "teacher",
    "team",
    "term",
    "the",
    "theme",
    "thursday",
    "town",
    "training",
    "trust",
    "tuesday",
    "updated",
    "version",
    "visit",
    "wednesday",
    "week",
    "welfare",
    "winter",
    "year",
];

/// The year of a numeric date (d/m/yy, dd/mm/yyyy, with / - or ., or yyyy-mm-dd), if it is one.
fn numeric_date_year(token: &str) -> Option<i32> {
    let parts: Vec<&str> = token.split(['/', '-', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<i32> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    let (day, month, year) = if parts[0].len() == 4 {
        (n[2], n[1], n[0])
    } else {
        let y = if parts[2].len() == 2 {
            2000 + n[2]
        } else {
            n[2]
        };
        (n[0], n[1], y)
    };
    let plausible =
        (1..=31).contains(&day) && (1..=12).contains(&month) && (1990..=2100).contains(&year);
    (plausible && (parts[2].len() == 2 || parts[2].len() == 4 || parts[0].len() == 4))
        .then_some(year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Finding> {
        find(text, 2026)
    }

    #[test]
    fn finds_a_upn() {
        assert_eq!(
            find("Pupil A123456789012 was absent", 2026),
            vec![Finding::Upn("A123456789012".into())]
        );
        assert!(find("Order ref AB123456789012 or A1234567890123", 2026).is_empty());
    }

    #[test]
    fn finds_upns_however_they_are_spelt() {
        for (text, upn) in [
            ("Pupil A 1234 5678 9012 was absent", "A 1234 5678 9012"),
            ("Pupil A-1234-5678-9012 was absent", "A-1234-5678-9012"),
            ("UPN A123 456 789 012.", "A123 456 789 012"),
            ("UPN A1234\u{200B}56789012", "A123456789012"),
            (
                "UPN A\u{00A0}1234\u{00A0}5678\u{00A0}9012",
                "A 1234 5678 9012",
            ),
            (
                "UPN A\u{2013}1234\u{2013}5678\u{2013}9012",
                "A-1234-5678-9012",
            ),
            ("ＵＰＮ Ａ１２３４５６７８９０１２", "A123456789012"),
            ("UPN 𝟏 is A𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟎𝟏𝟐", "A123456789012"),
        ] {
            assert_eq!(kinds(text), vec![Finding::Upn(upn.into())], "{text:?}");
        }
    }

    #[test]
    fn finds_dates_of_birth_by_name_or_word() {
        assert_eq!(
            find("Amy Jones 03/04/2015 has improved", 2026),
            vec![Finding::DateOfBirth("03/04/2015".into())]
        );
        assert_eq!(
            find("child (DOB: 2014-09-01)", 2026),
            vec![Finding::DateOfBirth("2014-09-01".into())]
        );
        assert_eq!(
            find("born 1.2.16", 2026),
            vec![Finding::DateOfBirth("1.2.16".into())]
        );
    }

    #[test]
    fn finds_dates_of_birth_however_they_are_written() {
        for (text, date) in [
            ("Jane Smith DOB 3 April 2016", "3 April 2016"),
            (
                "Jane Smith, born 3rd April 2016, joined Year 4",
                "3rd April 2016",
            ),
            (
                "Jane Smith (date of birth 3rd of April 2016)",
                "3rd of April 2016",
            ),
            ("DOB: April 3, 2016", "April 3, 2016"),
            ("D.O.B. 03-04-2015", "03-04-2015"),
            ("DOB\u{00A0}03/04/2015", "03/04/2015"),
            ("Amy Jones 3 Apr 2015 is in Year 5", "3 Apr 2015"),
            ("Amy Jones ０３/０４/２０１５", "03/04/2015"),
            ("Amy O'Neil 3 Sept 2016", "3 Sept 2016"),
            ("a pupil born in April 2016", "April 2016"),
        ] {
            assert_eq!(
                kinds(text),
                vec![Finding::DateOfBirth(date.into())],
                "{text:?}"
            );
        }
    }

    #[test]
    fn leaves_ordinary_evidence_alone() {
        assert!(find("Governors Meeting 12/03/2026 reviewed the policy", 2026).is_empty());
        assert!(find("Attendance rose to 95.2% by 2025", 2026).is_empty());
        assert!(find("See the minutes of 14/10/2025.", 2026).is_empty());
    }

    /// Sentences of the kind handbooks are full of, with dates, numbers and names: none may warn.
    #[test]
    fn ordinary_handbook_sentences_do_not_warn() {
        const CORPUS: &[&str] = &[
            "Attendance rose from 92.1% in 2019 to 95.4% in 2024.",
            "The Governors Meeting on 3 April 2016 agreed the attendance policy.",
            "Governors Meeting 3 April 2016 agreed the attendance policy.",
            "Ofsted Inspection 14 March 2019 judged attendance to be good.",
            "Full Governing Body 12/03/2018 approved the plan.",
            "Mrs Patel 3 April 2016 took over as Attendance Lead.",
            "Mrs Sarah Patel 3 April 2016 took over as Attendance Lead.",
            "Mr Jones, Head Teacher since 1 September 2015, leads the assemblies.",
            "Policy reviewed 01/09/2017 and again on 01/09/2024.",
            "Autumn Term 2019 figures: 94.8% attendance, 12.3% persistent absence.",
            "Our School Development Plan 2018 to 2021 set three priorities.",
            "Call the office on 0151 233 3000 or 0151 233 4000.",
            "Purchase order A 1234 5678 was raised for the rewards.",
            "Invoice INV-2023-000123 was paid in full.",
            "Year 6 pupils attended 96.2% of sessions in 2022/23.",
            "Letters sent home 5/10/2020, 12/10/2020 and 19/10/2020.",
            "Key Stage 2 results 2019: 78% reached the expected standard.",
            "Between 1 September 2021 and 31 July 2022 we issued 14 penalty notices.",
            "The Attendance Panel met on Monday 7 March 2022.",
            "Launch Event 20 September 2019 at the Town Hall.",
            "Persistent absence fell by 3.4 percentage points between 2018 and 2023.",
            "Census Day 6 October 2022 showed 412 pupils on roll.",
            "Our URN is 104567 and our DfE number is 341/2001.",
            "Case study: Pupil A improved from 82% to 96% after 12 weeks.",
            "Reference A123456 was logged with the local authority.",
            "Safeguarding Training 4 January 2017 for all staff.",
            "Strand 1.2 was reviewed on 2.3.2021 by Mrs Smith.",
            "Newsletter 14/06/2019 reminded parents about term dates.",
            "Born Free Week raised money for charity in 2018.",
            "Birthday assemblies celebrate pupils each month.",
            "Figures for 2020-21 were affected by the closures.",
            "Target: 96% by July 2025.",
            "Attendance Lead Sarah Jones joined on 1 September 2018.",
            "The Local Authority Attendance Strategy 2017 was adopted in full.",
            "Exported from Adobe Acrobat on 3 April 2016 with the register.",
            "Card payments over 1234 5678 9012 pounds are not accepted.",
            "Room B12, 3rd floor, opened on 3rd May 2014.",
            "Open Evening 12 October 2017 welcomed 150 families.",
            "The Head Teacher's Report 15/11/2019 gave the figures by year group.",
            "Sessions missed: 1,234 of 56,789 (2.2%) in 2021.",
        ];
        for sentence in CORPUS {
            assert_eq!(find(sentence, 2026), Vec::new(), "{sentence:?}");
        }
    }
}
