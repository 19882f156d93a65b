//! Reading and validating `criteria/<framework>/<version>.toml`. Every problem is reported as one
//! line naming the file, so a broken file stops the server with a message an operator can act on.

use super::{CpdSession, Framework, Guidance, Level, Theme};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
pub struct LoadError {
    pub file: PathBuf,
    pub problem: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for LoadError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    framework: RawHeader,
    levels: Vec<Level>,
    #[serde(default)]
    guidance: Vec<Guidance>,
    #[serde(default)]
    cpd: Vec<CpdSession>,
    #[serde(default)]
    themes: Vec<Theme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    key: String,
    version: String,
    name: String,
    short_name: String,
    summary: String,
}

/// Parses and validates one framework file's content. `expected_key` and `expected_version` come
/// from the file's place (`<key>/<version>.toml`): a file must say what its name says, so that a
/// new version can only ever be a new file.
pub fn parse_framework(
    content: &str,
    expected_key: &str,
    expected_version: &str,
) -> Result<Framework, String> {
    let raw: RawFile = toml::from_str(content).map_err(|e| toml_problem(content, &e))?;
    let hash = hex(&Sha256::digest(content.as_bytes()));
    let fw = Framework {
        key: raw.framework.key,
        version: raw.framework.version,
        name: raw.framework.name,
        short_name: raw.framework.short_name,
        summary: raw.framework.summary,
        levels: raw.levels,
        guidance: raw.guidance,
        cpd: raw.cpd,
        themes: raw.themes,
        content_hash: hash,
        path: PathBuf::new(),
    };
    validate(&fw, expected_key, expected_version)?;
    Ok(fw)
}

fn toml_problem(content: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = content[..span.start.min(content.len())]
                .lines()
                .count()
                .max(1);
            format!("line {line}: {message}")
        }
        None => message,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn non_empty(text: &str, what: impl FnOnce() -> String) -> Result<(), String> {
    if text.trim().is_empty() {
        Err(format!("empty text: {}", what()))
    } else {
        Ok(())
    }
}

fn validate(fw: &Framework, expected_key: &str, expected_version: &str) -> Result<(), String> {
    if fw.key != expected_key {
        return Err(format!(
            "framework.key is \"{}\" but the file is in the folder \"{expected_key}\"",
            fw.key
        ));
    }
    if fw.version != expected_version {
        return Err(format!(
            "framework.version is \"{}\" but the file is named \"{expected_version}.toml\"",
            fw.version
        ));
    }
    non_empty(&fw.name, || "framework.name".into())?;
    non_empty(&fw.short_name, || "framework.short_name".into())?;
    non_empty(&fw.summary, || "framework.summary".into())?;

    if fw.levels.is_empty() {
        return Err("no levels are declared".into());
    }
    let mut level_keys = HashSet::new();
    for level in &fw.levels {
        non_empty(&level.key, || "a level key".into())?;
        non_empty(&level.name, || {
            format!("the name of level \"{}\"", level.key)
        })?;
        non_empty(&level.letter, || {
            format!("the letter of level \"{}\"", level.key)
        })?;
        if !level_keys.insert(level.key.as_str()) {
            return Err(format!("duplicate level key \"{}\"", level.key));
        }
    }
    let known_levels = || {
        fw.levels
            .iter()
            .map(|l| l.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    let mut guidance_keys = HashSet::new();
    for g in &fw.guidance {
        non_empty(&g.key, || "a guidance key".into())?;
        non_empty(&g.title, || format!("the title of guidance \"{}\"", g.key))?;
        non_empty(&g.body, || format!("the body of guidance \"{}\"", g.key))?;
        if !guidance_keys.insert(g.key.as_str()) {
            return Err(format!("duplicate guidance key \"{}\"", g.key));
        }
    }

    if fw.themes.is_empty() {
        return Err("no themes are declared".into());
    }
    let mut theme_numbers = HashSet::new();
    let mut theme_keys = HashSet::new();
    let mut strand_keys: HashMap<&str, u32> = HashMap::new();
    for theme in &fw.themes {
        let n = theme.number;
        if !theme_numbers.insert(n) {
            return Err(format!("duplicate theme number {n}"));
        }
        non_empty(&theme.key, || format!("the key of theme {n}"))?;
        if !theme_keys.insert(theme.key.as_str()) {
            return Err(format!("duplicate theme key \"{}\"", theme.key));
        }
        non_empty(&theme.title, || format!("the title of theme {n}"))?;
        for (i, p) in theme.prompts.iter().enumerate() {
            non_empty(p, || format!("prompt {} of theme {n}", i + 1))?;
        }
        for (i, e) in theme.evidence_sources.iter().enumerate() {
            non_empty(e, || format!("evidence source {} of theme {n}", i + 1))?;
        }
        if theme.strands.is_empty() {
            return Err(format!("theme {n} \"{}\" has no strands", theme.title));
        }
        for strand in &theme.strands {
            non_empty(&strand.key, || format!("a strand key in theme {n}"))?;
            non_empty(&strand.label, || {
                format!("the label of strand \"{}\"", strand.key)
            })?;
            non_empty(&strand.title, || {
                format!("the title of strand \"{}\"", strand.key)
            })?;
            if let Some(q) = &strand.qualifier {
                non_empty(q, || format!("the qualifier of strand \"{}\"", strand.key))?;
            }
            if let Some(other) = strand_keys.insert(strand.key.as_str(), n) {
                return Err(format!(
                    "duplicate strand key \"{}\" (in theme {other} and theme {n})",
                    strand.key
                ));
            }
            if strand.statements.is_empty() {
                return Err(format!("strand \"{}\" has no statements", strand.key));
            }
            for (level, text) in &strand.statements {
                if !level_keys.contains(level.as_str()) {
                    return Err(format!(
                        "strand \"{}\" has a statement at unknown level \"{level}\" (known levels: {})",
                        strand.key,
                        known_levels()
                    ));
                }
                non_empty(text, || {
                    format!("the {level} statement of strand \"{}\"", strand.key)
                })?;
            }
        }
    }

    // Strands the handbook prints with the same number are told apart by their qualifiers, so a
    // person never sees two strands called the same; a qualifier on a number of its own would
    // only add noise.
    let mut by_label: BTreeMap<&str, Vec<&super::Strand>> = BTreeMap::new();
    for (_, strand) in fw.strands() {
        by_label
            .entry(strand.label.as_str())
            .or_default()
            .push(strand);
    }
    for (label, strands) in &by_label {
        match strands.as_slice() {
            [one] => {
                if one.qualifier.is_some() {
                    return Err(format!(
                        "strand \"{}\" has a qualifier, but no other strand is labelled \"{label}\"",
                        one.key
                    ));
                }
            }
            many => {
                let mut seen = HashSet::new();
                for s in many {
                    let Some(q) = s.qualifier.as_deref() else {
                        return Err(format!(
                            "strands {} are all labelled \"{label}\": give each a qualifier to tell them apart (strand \"{}\" has none)",
                            many.iter()
                                .map(|s| format!("\"{}\"", s.key))
                                .collect::<Vec<_>>()
                                .join(", "),
                            s.key
                        ));
                    };
                    if !seen.insert(q) {
                        return Err(format!(
                            "strands labelled \"{label}\" share the qualifier \"{q}\": each needs its own"
                        ));
                    }
                }
            }
        }
    }

    let mut cpd_keys = HashSet::new();
    for c in &fw.cpd {
        non_empty(&c.key, || "a CPD session key".into())?;
        non_empty(&c.name, || format!("the name of CPD session \"{}\"", c.key))?;
        if !cpd_keys.insert(c.key.as_str()) {
            return Err(format!("duplicate CPD session key \"{}\"", c.key));
        }
        if let Some(t) = c.themes.iter().find(|t| !theme_numbers.contains(t)) {
            return Err(format!(
                "CPD session \"{}\" names theme {t}, which does not exist",
                c.key
            ));
        }
    }
    Ok(())
}

/// Every framework version found under the criteria folder, keyed by (framework, version).
#[derive(Debug, Default)]
pub struct Catalogue {
    versions: BTreeMap<(String, String), Arc<Framework>>,
}

impl Catalogue {
    pub fn insert(&mut self, fw: Framework) {
        self.versions
            .insert((fw.key.clone(), fw.version.clone()), Arc::new(fw));
    }

    pub fn get(&self, key: &str, version: &str) -> Option<Arc<Framework>> {
        self.versions
            .get(&(key.to_string(), version.to_string()))
            .cloned()
    }

    /// The version in force of framework `key`: the highest version, comparing the numbers in
    /// version names as numbers ("v10" after "v9").
    pub fn current(&self, key: &str) -> Option<Arc<Framework>> {
        self.versions
            .iter()
            .filter(|((k, _), _)| k == key)
            .max_by_key(|((_, v), _)| version_order(v))
            .map(|(_, fw)| fw.clone())
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Framework>> {
        self.versions.values()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}

/// Sort key of a version name: its runs of digits as numbers, then the name itself.
fn version_order(version: &str) -> (Vec<u64>, String) {
    let numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(u64::MAX))
        .collect();
    (numbers, version.to_string())
}

/// Loads every `<dir>/<framework>/<version>.toml`. Any unreadable or invalid file is an error:
/// the server must not start with a framework it cannot show faithfully.
pub fn load_dir(dir: &Path) -> Result<Catalogue, LoadError> {
    let err = |file: &Path, problem: String| LoadError {
        file: file.to_path_buf(),
        problem,
    };
    let mut catalogue = Catalogue::default();
    let mut framework_dirs = read_sorted(dir).map_err(|e| err(dir, e))?;
    framework_dirs.retain(|p| p.is_dir());
    for fdir in framework_dirs {
        let key = file_name(&fdir);
        for file in read_sorted(&fdir).map_err(|e| err(&fdir, e))? {
            if file.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let version = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let content = std::fs::read_to_string(&file)
                .map_err(|e| err(&file, format!("cannot be read: {e}")))?;
            let mut fw = parse_framework(&content, &key, &version).map_err(|p| err(&file, p))?;
            fw.path = file.clone();
            catalogue.insert(fw);
        }
    }
    if catalogue.is_empty() {
        return Err(err(
            dir,
            "no framework files found (expected <framework>/<version>.toml)".into(),
        ));
    }
    Ok(catalogue)
}

fn read_sorted(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot be read: {e}"))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !file_name(p).starts_with('.'))
        .collect();
    paths.sort();
    Ok(paths)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[framework]
key = "t"
version = "v1"
name = "Test mark"
short_name = "TM"
summary = "A test framework."

[[levels]]
key = "bronze"
name = "Bronze"
letter = "B"
[[levels]]
key = "gold"
name = "Gold"
letter = "G"

[[themes]]
number = 1
key = "one"
title = "One"
prompts = ["Why?"]
evidence_sources = ["Minutes"]

[[themes.strands]]
key = "1.1"
label = "1.1"
title = "A thing"
[themes.strands.statements]
bronze = "Does a thing."
gold = "Does it well."

[[themes.strands]]
key = "1.2"
label = "1.2"
title = "Gold thing"
[themes.strands.statements]
gold = "Only gold."
"#;

    fn parse(content: &str) -> Result<Framework, String> {
        parse_framework(content, "t", "v1")
    }

    fn problem(content: &str) -> String {
        parse(content).expect_err("the file should be refused")
    }

    #[test]
    fn accepts_a_valid_file() {
        let fw = parse(VALID).unwrap();
        assert_eq!(fw.statement_count(), 3);
        assert_eq!(fw.content_hash.len(), 64);
    }

    #[test]
    fn refuses_duplicate_strand_key() {
        let p = problem(&VALID.replace("key = \"1.2\"", "key = \"1.1\""));
        assert_eq!(p, "duplicate strand key \"1.1\" (in theme 1 and theme 1)");
    }

    #[test]
    fn refuses_unknown_level_in_a_statement() {
        let p = problem(&VALID.replace("gold = \"Only gold.\"", "platinum = \"Shiny.\""));
        assert!(
            p.contains("strand \"1.2\" has a statement at unknown level \"platinum\""),
            "{p}"
        );
    }

    #[test]
    fn refuses_strand_without_statements() {
        let p = problem(&VALID.replace("[themes.strands.statements]\ngold = \"Only gold.\"", ""));
        assert_eq!(p, "strand \"1.2\" has no statements");
    }

    #[test]
    fn refuses_empty_text() {
        let p = problem(&VALID.replace("\"Does it well.\"", "\"  \""));
        assert_eq!(p, "empty text: the gold statement of strand \"1.1\"");
    }

    #[test]
    fn refuses_theme_without_strands() {
        let two = format!(
            "{VALID}\n[[themes]]\nnumber = 2\nkey = \"two\"\ntitle = \"Two\"\nprompts = []\nevidence_sources = []\n"
        );
        assert_eq!(problem(&two), "theme 2 \"Two\" has no strands");
    }

    #[test]
    fn refuses_a_strand_without_a_title() {
        let p = problem(&VALID.replace("title = \"A thing\"\n", ""));
        assert!(p.contains("missing field `title`"), "{p}");
        let p = problem(&VALID.replace("title = \"A thing\"", "title = \" \""));
        assert_eq!(p, "empty text: the title of strand \"1.1\"");
    }

    #[test]
    fn strands_printed_with_the_same_number_need_their_own_qualifiers() {
        let same = VALID.replace("label = \"1.2\"", "label = \"1.1\"");
        assert_eq!(
            problem(&same),
            "strands \"1.1\", \"1.2\" are all labelled \"1.1\": give each a qualifier to tell them apart (strand \"1.1\" has none)"
        );
        let one = same.replace(
            "title = \"A thing\"",
            "title = \"A thing\"\nqualifier = \"thing\"",
        );
        assert!(problem(&one).contains("(strand \"1.2\" has none)"));
        let twice = one.replace(
            "title = \"Gold thing\"",
            "title = \"Gold thing\"\nqualifier = \"thing\"",
        );
        assert_eq!(
            problem(&twice),
            "strands labelled \"1.1\" share the qualifier \"thing\": each needs its own"
        );
        let apart = one.replace(
            "title = \"Gold thing\"",
            "title = \"Gold thing\"\nqualifier = \"gold\"",
        );
        let fw = parse(&apart).unwrap();
        let refs: Vec<String> = fw.strands().map(|(_, s)| s.reference()).collect();
        assert_eq!(refs, vec!["1.1 (thing)", "1.1 (gold)"]);
        // A number of its own needs no qualifier.
        let lonely = VALID.replace(
            "title = \"A thing\"",
            "title = \"A thing\"\nqualifier = \"x\"",
        );
        assert_eq!(
            problem(&lonely),
            "strand \"1.1\" has a qualifier, but no other strand is labelled \"1.1\""
        );
    }

    #[test]
    fn a_best_fit_rule_in_a_framework_file_is_refused() {
        // The rule is the authority's setting, not the handbook's: a file may not carry one.
        let p = problem(&format!("{VALID}\n[best_fit]\nsummary = \"Rule.\"\n"));
        assert!(p.contains("unknown field `best_fit`"), "{p}");
    }

    #[test]
    fn refuses_unknown_fields_with_line_number() {
        let p = problem(&VALID.replace("title = \"One\"", "title = \"One\"\ncolour = \"red\""));
        assert!(p.starts_with("line "), "{p}");
        assert!(p.contains("unknown field `colour`"), "{p}");
        assert!(!p.contains('\n'));
    }

    #[test]
    fn refuses_a_file_whose_version_differs_from_its_name() {
        let p = parse_framework(VALID, "t", "v2").unwrap_err();
        assert!(p.contains("file is named \"v2.toml\""), "{p}");
    }

    #[test]
    fn load_error_names_the_file() {
        let dir = std::env::temp_dir().join(format!("aqm-load-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("t")).unwrap();
        std::fs::write(dir.join("t/v1.toml"), VALID.replace("Does a thing.", "")).unwrap();
        let e = load_dir(&dir).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: empty text: the bronze statement of strand \"1.1\"",
                dir.join("t/v1.toml").display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_current_version_is_the_highest_by_number() {
        let mut c = Catalogue::default();
        for v in ["v2", "v10", "v9"] {
            let mut fw = parse(VALID).unwrap();
            fw.version = v.to_string();
            c.insert(fw);
        }
        assert_eq!(c.current("t").unwrap().version, "v10");
        assert!(c.current("other").is_none());
    }

    #[test]
    fn loads_the_real_laqm_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        let catalogue = load_dir(&dir).expect("the shipped criteria load");
        let fw = catalogue.get("laqm", "v1").expect("LAQM v1 is shipped");
        assert_eq!(fw.themes.len(), 6);
        assert_eq!(fw.strands().count(), 40);
        assert_eq!(fw.statement_count(), 114);
        let per_level = |level: &str| {
            fw.strands()
                .filter(|(_, s)| s.statements.contains_key(level))
                .count()
        };
        assert_eq!(
            (per_level("bronze"), per_level("silver"), per_level("gold")),
            (38, 37, 39)
        );
        let strands_per_theme: Vec<usize> = fw.themes.iter().map(|t| t.strands.len()).collect();
        assert_eq!(strands_per_theme, vec![3, 6, 10, 8, 8, 5]);
        // The irregular strands of the printed handbook survive the transcription.
        let strand = |key: &str| fw.strands().find(|(_, s)| s.key == key).unwrap().1;
        let levels = |key: &str| strand(key).statements.keys().cloned().collect::<Vec<_>>();
        assert_eq!(levels("2.6"), vec!["gold"]);
        assert_eq!(levels("3.10"), vec!["gold"]);
        assert_eq!(levels("5.6"), vec!["bronze"]);
        assert_eq!(strand("4.5-community").label, "4.5");
        assert_eq!(strand("4.5-charter").label, "4.5");
        // The platform's labels tell the two apart, and every strand has a title.
        assert_eq!(strand("4.5-community").reference(), "4.5 (community)");
        assert_eq!(
            strand("4.5-charter").heading(),
            "Strand 4.5 (charter): The Liverpool Attendance Charter"
        );
        assert_eq!(
            strand("1.1").heading(),
            "Strand 1.1: School Development Plan"
        );
        assert!(fw.strands().all(|(_, s)| !s.title.trim().is_empty()));
        assert!(
            strand("4.5-charter").statements["bronze"].contains("Liverpool Attendance Charter")
        );
        assert!(fw.themes.iter().all(|t| !t.prompts.is_empty()));
        assert!(fw.themes.iter().all(|t| !t.evidence_sources.is_empty()));
        assert_eq!(fw.cpd_for_theme(4).map(|c| c.name.as_str()), Some("CPD 2"));
    }
}
