//! The audit log in words: a sentence for each kind of event ("Alex Lead saved strand 1.2") and
//! its changes as field: before → after, with long texts shortened. Plain functions over what one
//! row of `audit_event` holds and the names looked up for it, so the page and its tests share
//! them; the CSV keeps the stored fields untouched.

use super::school_types::{Phase, SchoolStatus};
use super::tenants::NATIONS;
use crate::auth::Role;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// Characters of a long text shown in the log before it is cut short.
pub const SHORT: usize = 100;

/// What the command line writes as the actor of the changes it makes.
const COMMAND_LINE: &str = "command line";

/// One stored event, with the names the database could find for it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Facts<'a> {
    pub action: &'a str,
    /// The actor's name (looked up by id), else the email stored with the event.
    pub actor: &'a str,
    pub subject_type: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    /// The subject's name today: the person, document, cohort, authority or school.
    pub subject_name: Option<&'a str>,
    /// The name of the school the event belongs to.
    pub school: Option<&'a str>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

/// Names for ids that events store in their before and after.
#[derive(Debug, Default)]
pub struct Names {
    pub schools: HashMap<Uuid, String>,
    pub cohorts: HashMap<Uuid, String>,
    /// Framework names by key.
    pub frameworks: HashMap<String, String>,
    /// How people refer to each strand, by its key: "4.5-charter" → "4.5 (charter)".
    pub strands: HashMap<String, String>,
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    /// The value before, when the event records both and they differ.
    pub from: Option<String>,
    /// The value after (or the only value recorded).
    pub to: String,
    /// A page that holds what the log does not copy (the texts of a strand save).
    pub link: Option<String>,
}

/// Who did it, to begin a sentence: a name, else the stored email, else the system.
pub fn actor(name: Option<&str>, email: Option<&str>) -> String {
    match (name, email) {
        (Some(n), _) if !n.trim().is_empty() => n.to_string(),
        (_, Some(COMMAND_LINE)) => "An operator at the command line".to_string(),
        (_, Some(e)) if !e.trim().is_empty() => e.to_string(),
        _ => "The system".to_string(),
    }
}

/// A string field of the after (else before) value.
fn field<'a>(f: &Facts<'a>, key: &str) -> Option<&'a str> {
    [f.after, f.before]
        .into_iter()
        .flatten()
        .find_map(|v| v.get(key).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

/// "strand 1.2", "strand 4.5 (charter)": from a strand subject ("<assessment>/<key>") or the
/// event's "strand" field.
fn strand(f: &Facts, names: &Names) -> String {
    let key = match (f.subject_type, f.subject_id) {
        (Some("strand"), Some(id)) => id.rsplit_once('/').map(|(_, k)| k),
        _ => None,
    }
    .or_else(|| field(f, "strand"));
    key.map_or_else(
        || "a strand".to_string(),
        |k| format!("strand {}", names.strands.get(k).map_or(k, String::as_str)),
    )
}

/// The person an event is about: their name today, else the name or email it recorded.
fn person(f: &Facts) -> String {
    f.subject_name
        .or_else(|| field(f, "name"))
        .or_else(|| field(f, "email"))
        .unwrap_or("a person")
        .to_string()
}

/// A document's title in quotes.
fn document(f: &Facts) -> String {
    let title = f
        .subject_name
        .or_else(|| field(f, "title"))
        .or_else(|| field(f, "file_name"));
    title.map_or_else(|| "a document".to_string(), |t| format!("“{t}”"))
}

/// A closure day by its date in words.
fn closure_day(f: &Facts) -> String {
    field(f, "date")
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map_or_else(
            || "a closure day".to_string(),
            |d| format!("the closure day {}", crate::dates::weekday_date(d)),
        )
}

fn role_label(value: &str) -> String {
    value
        .parse::<Role>()
        .map_or_else(|_| words(value), |r| r.label().to_string())
}

/// The event as one sentence in words.
pub fn sentence(f: &Facts, names: &Names) -> String {
    let who = f.actor;
    let role = || {
        f.after
            .and_then(|a| a.get("role"))
            .and_then(Value::as_str)
            .map(|r| format!(" as {}", role_label(r)))
            .unwrap_or_default()
    };
    let school = || {
        f.school
            .or_else(|| field(f, "name"))
            .unwrap_or("a school")
            .to_string()
    };
    match f.action {
        "sign_in.succeeded" => format!("{who} signed in"),
        "sign_in.failed" => format!("{who} failed to sign in"),
        "user.password_created" => format!("{who} set a password from their invitation"),
        "user.password_reset" => format!("{who} reset their password"),
        "user.password_reset_requested" => {
            format!("{who} asked for a link to reset their password")
        }
        "user.added" => format!("{who} added {}{}", person(f), role()),
        "user.invited" => format!("{who} invited {}{}", person(f), role()),
        "user.deactivated" => format!("{who} deactivated the account of {}", person(f)),
        "user.role_changed" => format!("{who} changed the role of {}", person(f)),
        "tenant.created" => format!(
            "{who} created the authority {}",
            f.subject_name
                .or_else(|| field(f, "name"))
                .unwrap_or("(no name)")
        ),
        "demo.created" => format!("{who} created the demo authority"),
        "mail.retried" => format!(
            "{who} tried again the given-up email {} to {}",
            field(f, "subject").map_or_else(|| "(no subject)".to_string(), |s| format!("“{s}”")),
            field(f, "to").unwrap_or("its recipient")
        ),
        "school.added" => format!("{who} added the school {}", school()),
        "school.updated" => format!("{who} updated the school {}", school()),
        "schools.imported" => format!("{who} imported schools from a file"),
        "cohort.created" => format!(
            "{who} created cohort {}",
            f.subject_name
                .or_else(|| field(f, "name"))
                .unwrap_or("(no name)")
        ),
        "assessment.opened" => {
            let cohort = f.subject_name.map(str::to_string).or_else(|| {
                field(f, "cohort_id")
                    .and_then(|id| id.parse().ok())
                    .and_then(|id| names.cohorts.get(&id).cloned())
            });
            let mut s = format!("{who} opened the handbook of {}", school());
            if let Some(c) = cohort {
                s.push_str(&format!(" for cohort {c}"));
            }
            s
        }
        "closure_day.added" => format!("{who} added {}", closure_day(f)),
        "closure_day.removed" => format!("{who} removed {}", closure_day(f)),
        "strand.saved" => format!("{who} saved {}", strand(f, names)),
        "evidence.uploaded" => {
            format!("{who} uploaded {} to the evidence library", document(f))
        }
        "evidence.deleted" => {
            format!("{who} deleted {} from the evidence library", document(f))
        }
        "evidence.linked" => format!("{who} linked {} to {}", document(f), strand(f, names)),
        "strand.commented" => format!("{who} commented on {}", strand(f, names)),
        "handbook.sent_to_head" => format!(
            "{who} sent the handbook of {} to the head teacher",
            school()
        ),
        "handbook.returned" => format!(
            "{who} returned the handbook of {} to the Attendance Lead",
            school()
        ),
        "handbook.submitted" => format!(
            "{who} approved and submitted the handbook of {} to the assessor",
            school()
        ),
        "handbook.reopened" => format!("{who} reopened the handbook of {}", school()),
        "visit.set" => format!(
            "{who} set the assessor and visit of the handbook of {}",
            school()
        ),
        "visit.judged" => format!(
            "{who} recorded the agreed level of {} in the visit to {}",
            strand(f, names),
            school()
        ),
        "award.agreed" => match field(f, "outcome") {
            Some("not_yet") => format!("{who} agreed that {} is not yet at a level", school()),
            Some(level) => format!("{who} agreed the {level} award of {}", school()),
            None => format!("{who} agreed the award of {}", school()),
        },
        "award.acknowledged" => format!("{who} acknowledged the award of {}", school()),
        "handbook.renewed" => format!("{who} started the renewal handbook of {}", school()),
        "award_validity.changed" => format!("{who} changed how many years an award is valid"),
        "event.saved" => format!("{who} set the date and place of a programme event"),
        "event.invited" => format!("{who} sent the invitations to a programme event"),
        "event.register" => format!("{who} took the register of a programme event"),
        "assessment.withdrawn" => format!("{who} withdrew {} from its cohort", school()),
        "attendance.imported" => format!("{who} imported the DfE absence figures"),
        "attendance.entered" => format!("{who} entered absence figures for {}", school()),
        "practice_sharing.changed" => {
            format!(
                "{who} changed whether the authority shares good practice with other authorities"
            )
        }
        "practice.shared_widely" => {
            format!("{who} changed which good practice other authorities see")
        }
        "practice.saved" => format!("{who} saved good practice to share"),
        "practice.withdrawn" => format!("{who} withdrew shared good practice"),
        "practice.decided" => format!("{who} decided on good practice offered by {}", school()),
        "practice.featured" => format!("{who} changed which good practice is featured"),
        "practice.contacted" => format!("{who} asked a school about its good practice"),
        "practice.recommended" => format!("{who} recommended sharing a strand of {}", school()),
        "attendance.target" => format!("{who} set the absence targets of {}", school()),
        "evidence.unlinked" => format!("{who} unlinked {} from {}", document(f), strand(f, names)),
        "best_fit_rule.changed" => {
            if f.after.and_then(|a| a.get("rule")).and_then(Value::as_str)
                == Some("The platform's default")
            {
                format!("{who} chose the platform's default best-fit rule")
            } else {
                format!("{who} changed the authority's best-fit rule")
            }
        }
        "pupil_data.confirmed_absent" => {
            let what = if f.subject_type == Some("strand") {
                strand(f, names)
            } else {
                document(f)
            };
            format!("{who} confirmed that {what} holds no pupils' personal data")
        }
        other => format!("{who}: {}", words(other).to_lowercase()),
    }
}

/// "sign_in.failed" → "Sign in failed"; "la_code" → "La code".
fn words(code: &str) -> String {
    let spaced = code.replace(['_', '.'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A text on one line, cut at a word boundary near `SHORT` characters with an ellipsis.
pub fn shorten(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= SHORT {
        return flat;
    }
    let cut: String = flat.chars().take(SHORT).collect();
    // Back to the last space when one is near, so a word is not split in two.
    let kept = match cut.rfind(' ') {
        Some(i) if cut[..i].chars().count() >= SHORT * 3 / 4 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", kept.trim_end_matches([' ', ',', '.', ';', ':']))
}

#[derive(Clone, Copy)]
enum Kind {
    Plain,
    /// Something a person wrote at length.
    Text,
    Role,
    School,
    Cohort,
    Framework,
    Level,
    Active,
    Nation,
    Phase,
    Status,
    Date,
    Bytes,
    Findings,
    /// The id of the `strand_revision` row holding a save's texts.
    Revision,
    /// Kept in the CSV, not worth a line on the page (hashes, ids already in the sentence).
    Skip,
}

/// Fields in the order they are listed, with their labels.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("name", "Name", Kind::Plain),
    ("email", "Email address", Kind::Plain),
    ("role", "Role", Kind::Role),
    ("school_id", "School", Kind::School),
    ("active", "Account", Kind::Active),
    ("slug", "Short name", Kind::Plain),
    ("nation", "Nation", Kind::Nation),
    ("urn", "URN", Kind::Plain),
    ("phase", "Phase", Kind::Phase),
    ("la_code", "LA code", Kind::Plain),
    ("status", "Status", Kind::Status),
    ("cohort_id", "Cohort", Kind::Cohort),
    ("framework", "Framework", Kind::Framework),
    ("version", "Framework version", Kind::Plain),
    ("title", "Title", Kind::Plain),
    ("evidence_date", "Date of the evidence", Kind::Date),
    ("date", "Date", Kind::Date),
    ("description", "Description", Kind::Text),
    ("file_name", "File name", Kind::Plain),
    ("content_type", "File type", Kind::Plain),
    ("size_bytes", "Size", Kind::Bytes),
    ("findings", "What looked like pupil data", Kind::Findings),
    ("schools", "Schools", Kind::Plain),
    ("accounts", "Accounts", Kind::Plain),
    ("added", "Schools added", Kind::Plain),
    ("updated", "Schools updated", Kind::Plain),
    ("unchanged", "Schools unchanged", Kind::Plain),
    ("claimed_level", "Level claimed", Kind::Level),
    ("actions", "Actions and evidence", Kind::Text),
    ("impact", "Evidence of impact", Kind::Text),
    ("revision", "Texts", Kind::Revision),
    ("rule", "Best-fit rule", Kind::Plain),
    (
        "starts_above",
        "Strands that start above a level",
        Kind::Plain,
    ),
    (
        "stops_below",
        "Strands that stop below a level",
        Kind::Plain,
    ),
    ("sha256", "", Kind::Skip),
    ("already_stored", "", Kind::Skip),
    ("assessment", "", Kind::Skip),
    ("strand", "", Kind::Skip),
];

/// The event's changes, field by field; unchanged fields are left out.
pub fn changes(f: &Facts, names: &Names) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let object = |v: Option<&'_ Value>| v.and_then(Value::as_object).unwrap_or(&empty).clone();
    let (before, after) = (object(f.before), object(f.after));
    let mut keys: Vec<(&str, String, Kind)> = FIELDS
        .iter()
        .filter(|(k, _, _)| before.contains_key(*k) || after.contains_key(*k))
        .map(|(k, label, kind)| (*k, label.to_string(), *kind))
        .collect();
    let mut others: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| !FIELDS.iter().any(|(known, _, _)| known == k))
        .collect();
    others.sort();
    others.dedup();
    keys.extend(
        others
            .into_iter()
            .map(|k| (k.as_str(), words(k), Kind::Plain)),
    );

    let mut out = Vec::new();
    for (key, label, kind) in keys {
        if matches!(kind, Kind::Skip) {
            continue;
        }
        let (b, a) = (before.get(key), after.get(key));
        if let Kind::Revision = kind {
            if let Some(id) = a.or(b).and_then(Value::as_i64) {
                out.push(Change {
                    field: label,
                    from: None,
                    to: "Read the texts as saved".to_string(),
                    link: Some(format!("/audit/revisions/{id}")),
                });
            }
            continue;
        }
        let (from, to) = match (b, a) {
            (Some(b), Some(a)) if b == a => continue,
            (Some(b), Some(a)) => (Some(value(b, kind, names)), value(a, kind, names)),
            // A field recorded once and empty (no description at upload) says nothing.
            (None, Some(only)) | (Some(only), None) if is_empty(only) => continue,
            (None, Some(only)) | (Some(only), None) => (None, value(only, kind, names)),
            (None, None) => continue,
        };
        out.push(Change {
            field: label,
            from,
            to,
            link: None,
        });
    }
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn name_of(map: &HashMap<Uuid, String>, v: &Value, missing: &str) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::String(s) => s
            .parse::<Uuid>()
            .ok()
            .and_then(|id| map.get(&id).cloned())
            .unwrap_or_else(|| missing.to_string()),
        other => plain(other),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One value in words, as the field's kind reads it.
fn value(v: &Value, kind: Kind, names: &Names) -> String {
    let text = v.as_str();
    match kind {
        Kind::Text => match text {
            Some(t) if t.trim().is_empty() => "Nothing written".to_string(),
            Some(t) => shorten(t),
            None if v.is_null() => "Nothing written".to_string(),
            None => plain(v),
        },
        Kind::Role => text.map_or_else(|| plain(v), role_label),
        Kind::School => name_of(&names.schools, v, "A school no longer listed"),
        Kind::Cohort => name_of(&names.cohorts, v, "A cohort no longer listed"),
        Kind::Framework => text.map_or_else(
            || plain(v),
            |k| {
                names
                    .frameworks
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| k.to_string())
            },
        ),
        Kind::Level => match text {
            None if v.is_null() => "None yet".to_string(),
            Some(l) => words(l),
            None => plain(v),
        },
        Kind::Active => match v.as_bool() {
            Some(true) => "Active".to_string(),
            Some(false) => "Deactivated".to_string(),
            None => plain(v),
        },
        Kind::Nation => text.map_or_else(
            || plain(v),
            |n| {
                NATIONS
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map_or_else(|| words(n), |(_, label)| label.to_string())
            },
        ),
        Kind::Phase => text.map_or_else(
            || plain(v),
            |p| {
                p.parse::<Phase>()
                    .map_or_else(|_| words(p), |p| p.label().to_string())
            },
        ),
        Kind::Status => text.map_or_else(
            || plain(v),
            |s| {
                s.parse::<SchoolStatus>()
                    .map_or_else(|_| words(s), |s| s.label().to_string())
            },
        ),
        Kind::Date => text
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map_or_else(|| plain(v), crate::dates::date),
        Kind::Bytes => v.as_u64().map_or_else(|| plain(v), size),
        Kind::Findings => {
            let count = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
            let mut parts = Vec::new();
            let upns = count("unique_pupil_numbers");
            if upns > 0 {
                parts.push(plural(upns, "Unique Pupil Number", "Unique Pupil Numbers"));
            }
            let births = count("dates_of_birth");
            if births > 0 {
                parts.push(plural(births, "date of birth", "dates of birth"));
            }
            if parts.is_empty() {
                plain(v)
            } else {
                parts.join(", ")
            }
        }
        Kind::Plain | Kind::Revision | Kind::Skip => plain(v),
    }
}

/// Any value in words: never as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "Yes".to_string(),
        Value::Bool(false) => "No".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.trim().is_empty() => "None".to_string(),
        Value::String(s) => shorten(s),
        Value::Array(items) if items.is_empty() => "None".to_string(),
        Value::Array(items) => shorten(&items.iter().map(plain).collect::<Vec<_>>().join(", ")),
        Value::Object(map) if map.is_empty() => "None".to_string(),
        Value::Object(map) => shorten(
            &map.iter()
                .map(|(k, v)| format!("{}: {}", words(k), plain(v)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// "85 bytes", "12 KB", "1.4 MB".
fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    match bytes {
        b if b < KB => plural(b, "byte", "bytes"),
        b if b < MB => format!("{} KB", b.div_ceil(KB)),
        b => format!("{:.1} MB", b as f64 / MB as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts<'a>(action: &'a str) -> Facts<'a> {
        Facts {
            action,
            actor: "Alex Lead",
            ..Facts::default()
        }
    }

    /// Every event code written anywhere under src/, found in the calls that write events.
    fn codes_written() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("admin/audit_words.rs")
                {
                    out.push(std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut sources = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut sources,
        );
        let mut codes = Vec::new();
        for source in &sources {
            for opener in ["Event::new(", "audit_event(", ".event(", " event("] {
                for (at, _) in source.match_indices(opener) {
                    // The call's arguments, up to its closing bracket.
                    let rest = &source[at + opener.len()..];
                    let mut depth = 1;
                    let end = rest
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '(' => 1,
                                ')' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(rest.len(), |(i, _)| i);
                    for literal in rest[..end].split('"').skip(1).step_by(2) {
                        let is_code = literal.contains('.')
                            && literal
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                        if is_code {
                            codes.push(literal.to_string());
                        }
                    }
                }
            }
        }
        codes.sort();
        codes.dedup();
        codes
    }

    #[test]
    fn every_event_code_written_has_a_sentence_of_its_own() {
        let codes = codes_written();
        // The scan finds the codes behind `match` and `if` too, and the evidence helper's.
        for known in [
            "sign_in.failed",
            "user.password_reset",
            "evidence.unlinked",
            "strand.saved",
        ] {
            assert!(codes.iter().any(|c| c == known), "{known}: {codes:?}");
        }
        assert!(codes.len() >= 22, "{codes:?}");
        for code in &codes {
            let s = sentence(&facts(code), &Names::default());
            assert!(s.starts_with("Alex Lead "), "{code}: {s}");
            assert!(!s.contains(':'), "{code} falls back to its code: {s}");
            assert!(!s.contains(code.as_str()), "{code}: {s}");
        }
    }

    #[test]
    fn sentences_name_the_actor_the_verb_and_the_subject() {
        let names = Names::default();
        let strand = Facts {
            subject_type: Some("strand"),
            subject_id: Some("6b0e8d5c-7c9f-4a43-9d7e-1f2a3b4c5d6e/1.2"),
            ..facts("strand.saved")
        };
        assert_eq!(sentence(&strand, &names), "Alex Lead saved strand 1.2");
        // A strand is named as people see it: the two printed 4.5 are told apart.
        let charter = Facts {
            subject_id: Some("6b0e8d5c-7c9f-4a43-9d7e-1f2a3b4c5d6e/4.5-charter"),
            ..strand
        };
        let known = Names {
            strands: [("4.5-charter".to_string(), "4.5 (charter)".to_string())].into(),
            ..Names::default()
        };
        assert_eq!(
            sentence(&charter, &known),
            "Alex Lead saved strand 4.5 (charter)"
        );
        let own =
            json!({"rule": "The authority's own", "silver": "at least 3 of a theme's strands"});
        let default = json!({"rule": "The platform's default"});
        let rule = |after| Facts {
            after: Some(after),
            ..facts("best_fit_rule.changed")
        };
        assert_eq!(
            sentence(&rule(&own), &names),
            "Alex Lead changed the authority's best-fit rule"
        );
        assert_eq!(
            sentence(&rule(&default), &names),
            "Alex Lead chose the platform's default best-fit rule"
        );
        let invited = json!({"name": "Jane Smith", "role": "head_teacher"});
        let person = Facts {
            subject_type: Some("user"),
            subject_name: Some("Jane Smith"),
            after: Some(&invited),
            ..facts("user.invited")
        };
        assert_eq!(
            sentence(&person, &names),
            "Alex Lead invited Jane Smith as Head teacher"
        );
        // A person no longer found is named from what the event recorded.
        let gone = Facts {
            subject_name: None,
            ..person
        };
        assert_eq!(
            sentence(&gone, &names),
            "Alex Lead invited Jane Smith as Head teacher"
        );
        let link = json!({"assessment": "x", "strand": "2.4"});
        let linked = Facts {
            subject_type: Some("evidence"),
            subject_name: Some("School Development Plan"),
            after: Some(&link),
            ..facts("evidence.linked")
        };
        assert_eq!(
            sentence(&linked, &names),
            "Alex Lead linked “School Development Plan” to strand 2.4"
        );
        let opened = Facts {
            subject_type: Some("assessment"),
            subject_name: Some("2026/27"),
            school: Some("Riverside Primary"),
            ..facts("assessment.opened")
        };
        assert_eq!(
            sentence(&opened, &names),
            "Alex Lead opened the handbook of Riverside Primary for cohort 2026/27"
        );
        let confirmed = Facts {
            subject_type: Some("strand"),
            subject_id: Some("a/3.1"),
            ..facts("pupil_data.confirmed_absent")
        };
        assert_eq!(
            sentence(&confirmed, &names),
            "Alex Lead confirmed that strand 3.1 holds no pupils' personal data"
        );
        let inset = json!({"date": "2026-06-01", "description": "INSET day"});
        let added = Facts {
            subject_type: Some("closure_day"),
            after: Some(&inset),
            ..facts("closure_day.added")
        };
        assert_eq!(
            sentence(&added, &names),
            "Alex Lead added the closure day Monday 1 June 2026"
        );
        let removed = Facts {
            before: Some(&inset),
            after: None,
            ..facts("closure_day.removed")
        };
        assert_eq!(
            sentence(&removed, &names),
            "Alex Lead removed the closure day Monday 1 June 2026"
        );
        assert_eq!(
            changes(&removed, &names)
                .iter()
                .map(|c| (c.field.as_str(), c.to.as_str()))
                .collect::<Vec<_>>(),
            [("Date", "1 June 2026"), ("Description", "INSET day")]
        );
        assert_eq!(
            sentence(&facts("something.new_here"), &names),
            "Alex Lead: something new here"
        );
    }

    #[test]
    fn the_actor_is_a_name_else_the_stored_email() {
        assert_eq!(
            actor(Some("Alex Lead"), Some("alex@example.org")),
            "Alex Lead"
        );
        assert_eq!(actor(None, Some("alex@example.org")), "alex@example.org");
        assert_eq!(
            actor(None, Some("command line")),
            "An operator at the command line"
        );
        assert_eq!(actor(None, None), "The system");
    }

    #[test]
    fn long_texts_are_shortened_on_a_word_boundary_with_an_ellipsis() {
        assert_eq!(shorten("Short and\n\nsweet."), "Short and sweet.");
        let long = "Every absence is followed up on the first day. ".repeat(10);
        let short = shorten(&long);
        assert!(short.ends_with('…'), "{short}");
        assert!(short.chars().count() <= SHORT + 1, "{short}");
        assert!(short.starts_with("Every absence is followed up"));
        assert!(!short.contains(" …") && !short.contains(".…"), "{short}");
        // No spaces to cut at, and letters of more than one byte.
        let word = "é".repeat(300);
        assert_eq!(shorten(&word).chars().count(), SHORT + 1);
    }

    #[test]
    fn changes_read_field_before_and_after_in_words() {
        let school = Uuid::new_v4();
        let names = Names {
            schools: HashMap::from([(school, "Riverside Primary".to_string())]),
            ..Names::default()
        };
        let before = json!({"role": "attendance_lead", "school_id": school});
        let after = json!({"role": "head_teacher", "school_id": school});
        let f = Facts {
            before: Some(&before),
            after: Some(&after),
            ..facts("user.role_changed")
        };
        assert_eq!(
            changes(&f, &names),
            vec![Change {
                field: "Role".into(),
                from: Some("Attendance Lead".into()),
                to: "Head teacher".into(),
                link: None,
            }],
            "the unchanged school is left out"
        );
        let moved = json!({"role": "head_teacher", "school_id": null});
        let f = Facts {
            after: Some(&moved),
            ..f
        };
        let listed = changes(&f, &names);
        assert_eq!(listed[1].from.as_deref(), Some("Riverside Primary"));
        assert_eq!(listed[1].to, "None");
    }

    #[test]
    fn a_strand_save_links_its_revision_and_old_saves_show_their_texts_shortened() {
        let names = Names::default();
        let before = json!({"claimed_level": null});
        let after = json!({"revision": 42, "claimed_level": "silver"});
        let f = Facts {
            before: Some(&before),
            after: Some(&after),
            ..facts("strand.saved")
        };
        let listed = changes(&f, &names);
        assert_eq!(listed[0].field, "Level claimed");
        assert_eq!(
            (listed[0].from.as_deref(), listed[0].to.as_str()),
            (Some("None yet"), "Silver")
        );
        assert_eq!(listed[1].link.as_deref(), Some("/audit/revisions/42"));

        let long = "We phone home on the first morning of every absence. ".repeat(8);
        let before = json!({"actions": "", "impact": "x", "claimed_level": "bronze"});
        let after = json!({"actions": long, "impact": "x", "claimed_level": "bronze"});
        let f = Facts {
            before: Some(&before),
            after: Some(&after),
            ..f
        };
        let listed = changes(&f, &names);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].field, "Actions and evidence");
        assert_eq!(listed[0].from.as_deref(), Some("Nothing written"));
        assert!(listed[0].to.ends_with('…'));
        assert!(listed[0].to.chars().count() <= SHORT + 1);
    }

    #[test]
    fn values_are_never_shown_as_json() {
        let names = Names::default();
        let after = json!({
            "title": "Plan",
            "evidence_date": "2026-09-01",
            "size_bytes": 2_400_000,
            "sha256": "ab12",
            "findings": {"unique_pupil_numbers": 2, "dates_of_birth": 1},
            "extra": {"nested": [1, true, null]},
        });
        let f = Facts {
            after: Some(&after),
            ..facts("evidence.uploaded")
        };
        let listed: Vec<(String, String)> = changes(&f, &names)
            .into_iter()
            .map(|c| (c.field, c.to))
            .collect();
        assert_eq!(
            listed,
            [
                ("Title", "Plan"),
                ("Date of the evidence", "1 September 2026"),
                ("Size", "2.3 MB"),
                (
                    "What looked like pupil data",
                    "2 Unique Pupil Numbers, 1 date of birth"
                ),
                ("Extra", "Nested: 1, Yes, None"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }
}
