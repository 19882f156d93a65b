//! Pupils' personal data must not go into the handbook. This spots the two shapes that most often
//! slip in — a Unique Pupil Number, and a date of birth beside a name — so the person can take
//! them out before saving, or confirm that what looks like one is not.

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
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    // Unique Pupil Numbers: a letter and exactly 12 digits, standing alone.
    for i in 0..chars.len() {
        let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
        if starts_word
            && chars[i].is_ascii_alphabetic()
            && i + 13 <= chars.len()
            && chars[i + 1..i + 13].iter().all(|c| c.is_ascii_digit())
            && chars.get(i + 13).is_none_or(|c| !c.is_alphanumeric())
        {
            found.push(Finding::Upn(chars[i..i + 13].iter().collect()));
        }
    }
    // Dates of birth: a numeric date, near a name or a birth word.
    let words: Vec<(usize, &str)> = word_spans(text);
    for (idx, &(start, word)) in words.iter().enumerate() {
        let token = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | ':' | '.'));
        let Some(year) = date_year(token) else {
            continue;
        };
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
        let birth_word = ["dob", "d.o.b", "date of birth", "born", "birthday"]
            .iter()
            .any(|w| window.contains(w));
        // Two capitalised words just before the date ("Amy Jones 03/04/2015"), for a year in
        // which a pupil could have been born (not a recent meeting date).
        let name_before = idx >= 2
            && is_name_word(words[idx - 1].1)
            && is_name_word(words[idx - 2].1)
            && (this_year - 20..=this_year - 3).contains(&year);
        if birth_word || name_before {
            found.push(Finding::DateOfBirth(token.to_string()));
        }
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

fn is_name_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphabetic());
    let mut chars = w.chars();
    matches!(chars.next(), Some(c) if c.is_uppercase())
        && w.chars().count() >= 2
        && chars.all(|c| c.is_lowercase() || c == '\'' || c == '-')
}

/// The year of a numeric date (d/m/yy, dd/mm/yyyy, with / - or ., or yyyy-mm-dd), if it is one.
fn date_year(token: &str) -> Option<i32> {
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

    #[test]
    fn finds_a_upn() {
        assert_eq!(
            find("Pupil A123456789012 was absent", 2026),
            vec![Finding::Upn("A123456789012".into())]
        );
        assert!(find("Order ref AB123456789012 or A1234567890123", 2026).is_empty());
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
    fn leaves_ordinary_evidence_alone() {
        assert!(find("Governors Meeting 12/03/2026 reviewed the policy", 2026).is_empty());
        assert!(find("Attendance rose to 95.2% by 2025", 2026).is_empty());
        assert!(find("See the minutes of 14/10/2025.", 2026).is_empty());
    }
}
