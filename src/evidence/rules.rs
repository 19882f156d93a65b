//! The evidence library's rules as plain functions: the details a document must have, the names
//! files get, and how sizes read.

use crate::forms::{DateInput, Errors, parse_date_input};
use chrono::NaiveDate;

pub const TITLE_LIMIT: usize = 200;
pub const DESCRIPTION_LIMIT: usize = 2000;
/// File names longer than this are shortened (keeping the extension).
const NAME_LIMIT: usize = 150;

/// What a person types about a document.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub title: String,
    pub description: String,
    pub date: DateInput,
}

/// Validated details, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDetails {
    pub title: String,
    pub description: String,
    pub date: Option<NaiveDate>,
}

impl Details {
    /// Checks the details, adding a message per field to `errors` (date errors go to the field
    /// the GOV.UK date pattern names: the first part that is wrong).
    pub fn validate(&self, today: NaiveDate, errors: &mut Errors) -> Option<ValidDetails> {
        let title = self.title.trim();
        let n = title.chars().count();
        if title.is_empty() {
            errors.add("title", "Enter a title for the document");
        } else if n > TITLE_LIMIT {
            errors.add(
                "title",
                format!("Title must be {TITLE_LIMIT} characters or fewer; it is {n}"),
            );
        }
        let description = self.description.trim();
        let n = description.chars().count();
        if n > DESCRIPTION_LIMIT {
            errors.add(
                "description",
                format!("Description must be {DESCRIPTION_LIMIT} characters or fewer; it is {n}"),
            );
        }
        let date = match parse_date_input(
            &self.date,
            "evidence_date-day",
            "Date of the evidence",
            today,
        ) {
            Ok(d) => d,
            Err((field, message)) => {
                errors.add(field, message);
                None
            }
        };
        errors.is_empty().then(|| ValidDetails {
            title: title.to_string(),
            description: description.to_string(),
            date,
        })
    }
}

/// The name a browser sent, made fit to show and to store: no folders (old browsers send the
/// whole path), no control characters, not too long. Never used as a path.
pub fn clean_file_name(sent: Option<&str>) -> String {
    let sent = sent.unwrap_or("");
    let base = sent.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !super::content::is_bidi_control(*c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    let cleaned = if cleaned.is_empty() {
        "document".to_string()
    } else {
        cleaned
    };
    if cleaned.chars().count() <= NAME_LIMIT {
        return cleaned;
    }
    match cleaned.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 10 => {
            let keep = NAME_LIMIT - ext.chars().count() - 1;
            format!("{}.{ext}", stem.chars().take(keep).collect::<String>())
        }
        _ => cleaned.chars().take(NAME_LIMIT).collect(),
    }
}

/// The name a download gets: the stored name, with the extension of what the file really is
/// added when its own does not fit ("scan.jpg" that is a PDF downloads as "scan.jpg.pdf").
pub fn download_name(file_name: &str, content_type: &str) -> String {
    super::content::safe_download_name(file_name, content_type)
}

/// `Content-Disposition` for a download: always an attachment (never shown inline, so nothing
/// uploaded can run as a page of ours), with a plain ASCII `filename` every browser reads and,
/// for names beyond ASCII, the exact name as RFC 5987 `filename*`.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != ';' => c,
            _ => '_',
        })
        .collect();
    if ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// "12 bytes", "340 KB", "1.2 MB", as people read file sizes.
pub fn human_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{:.0} KB", (b / KB).max(1.0))
    } else {
        format!("{:.1} MB", b / KB / KB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn details_need_a_title_and_fit_their_limits() {
        let mut errors = Errors::default();
        let ok = Details {
            title: "  Attendance policy ".into(),
            description: "Approved by governors".into(),
            date: DateInput::new("3", "9", "2026"),
        }
        .validate(today(), &mut errors)
        .unwrap();
        assert_eq!(ok.title, "Attendance policy");
        assert_eq!(ok.date, NaiveDate::from_ymd_opt(2026, 9, 3));

        let mut errors = Errors::default();
        let bad = Details {
            title: " ".into(),
            description: "x".repeat(2001),
            date: DateInput::new("31", "2", "2026"),
        }
        .validate(today(), &mut errors);
        assert!(bad.is_none());
        assert_eq!(errors.get("title"), Some("Enter a title for the document"));
        assert_eq!(
            errors.get("description"),
            Some("Description must be 2000 characters or fewer; it is 2001")
        );
        assert_eq!(
            errors.get("evidence_date-day"),
            Some("Date of the evidence must be a real date")
        );

        let mut errors = Errors::default();
        Details {
            title: "t".repeat(201),
            ..Details::default()
        }
        .validate(today(), &mut errors);
        assert_eq!(
            errors.get("title"),
            Some("Title must be 200 characters or fewer; it is 201")
        );
    }

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(
            clean_file_name(Some("C:\\Users\\amy\\Policy.pdf")),
            "Policy.pdf"
        );
        assert_eq!(
            clean_file_name(Some("../../etc/passwd")),
            "passwd".to_string()
        );
        assert_eq!(clean_file_name(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(clean_file_name(Some(".hidden")), "hidden");
        assert_eq!(clean_file_name(None), "document");
        let long = format!("{}.docx", "a".repeat(300));
        let short = clean_file_name(Some(&long));
        assert_eq!(short.chars().count(), 150);
        assert!(short.ends_with(".docx"));
    }

    #[test]
    fn downloads_carry_the_real_type_in_their_name() {
        assert_eq!(
            download_name("minutes.pdf", "application/pdf"),
            "minutes.pdf"
        );
        assert_eq!(download_name("photo.JPEG", "image/jpeg"), "photo.JPEG");
        assert_eq!(download_name("scan.jpg", "application/pdf"), "scan.jpg.pdf");
        assert_eq!(
            download_name("register", "text/csv; charset=utf-8"),
            "register.csv"
        );
    }

    #[test]
    fn content_disposition_is_an_attachment_with_a_safe_name() {
        assert_eq!(
            content_disposition("Policy 2026.pdf"),
            "attachment; filename=\"Policy 2026.pdf\""
        );
        assert_eq!(
            content_disposition("a\"b;c.pdf"),
            "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%3Bc.pdf"
        );
        assert_eq!(
            content_disposition("Café – plan.pdf"),
            "attachment; filename=\"Caf_ _ plan.pdf\"; filename*=UTF-8''Caf%C3%A9%20%E2%80%93%20plan.pdf"
        );
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(348_160), "340 KB");
        assert_eq!(human_size(1_258_291), "1.2 MB");
        assert_eq!(human_size(25 * 1024 * 1024), "25.0 MB");
    }
}
