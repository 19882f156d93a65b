//! The handbook to print, and the ZIP of it with every linked evidence file, by strand.

use crate::evidence::{PDF, upload, uploaded_id};
use crate::handbook::world;
use crate::helpers::{html_escape, spawn_app};

#[tokio::test]
async fn the_handbook_prints_and_downloads_with_its_evidence() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let strand = |key: &str| format!("/assessments/{}/strands/{key}", w.assessment);
    lead.get(&strand("1.1")).await;
    let saved = lead
        .post(
            &strand("1.1"),
            &[
                ("version", "0"),
                (
                    "actions",
                    "Plan reviewed by governors.\nShared with parents.",
                ),
                ("level", "gold"),
                ("impact", "Attendance up 2 points."),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let doc = uploaded_id(
        &upload(
            &mut lead,
            "development plan.pdf",
            PDF,
            "School Development Plan",
            &[],
        )
        .await,
    );
    for key in ["1.1", "2.1"] {
        lead.get(&strand(key)).await;
        let linked = lead
            .post(
                &format!("{}/evidence", strand(key)),
                &[("evidence", &doc.to_string())],
            )
            .await;
        assert_eq!(linked.status, 303, "{}", linked.body);
    }

    let print = lead
        .get(&format!("/assessments/{}/print", w.assessment))
        .await;
    assert_eq!(print.status, 200);
    let fw = app.catalogue.get("laqm", "v1").unwrap();
    for (_, s) in fw.strands() {
        for text in s.statements.values() {
            assert!(
                print.body.contains(&html_escape(text)),
                "missing statement of {}",
                s.key
            );
        }
    }
    assert!(
        print
            .body
            .contains("Plan reviewed by governors.\nShared with parents.")
    );
    assert!(
        print
            .body
            .contains("School Development Plan (development plan.pdf)")
    );

    let resp = lead
        .download(&format!("/assessments/{}/handbook.zip", w.assessment))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    // Streamed as it is written: no length known in advance, nothing held whole in memory.
    assert!(resp.headers().get("content-length").is_none());
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"handbook-riverside-primary-2026-27.zip\""
    );
    let bytes = resp.bytes().await.unwrap();
    let file = crate::helpers::temp_dir("zip").join("handbook.zip");
    std::fs::write(&file, &bytes).unwrap();
    // Debian's unzip checks every entry's CRC and lists the names.
    let test = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&file)
        .output()
        .expect("unzip is installed");
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let listing = String::from_utf8_lossy(
        &std::process::Command::new("unzip")
            .arg("-l")
            .arg(&file)
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    for name in [
        "handbook.html",
        "strand 1.1/development plan.pdf",
        "strand 2.1/development plan.pdf",
    ] {
        assert!(listing.contains(name), "{name} missing from\n{listing}");
    }
    let html = std::process::Command::new("unzip")
        .arg("-p")
        .arg(&file)
        .arg("handbook.html")
        .output()
        .unwrap()
        .stdout;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Plan reviewed by governors."));
    assert!(html.contains("Suggested best fit overall"));
    assert!(html.contains("Suggested by the platform&#39;s default rule"));

    assert!(listing.contains("handbook.pdf"));

    // The PDF: an attachment, tagged, fonts embedded, with the statements and the school's words.
    let resp = lead
        .download(&format!("/assessments/{}/handbook.pdf", w.assessment))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"handbook-riverside-primary-2026-27.pdf\""
    );
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("/StructTreeRoot") && raw.contains("/MarkInfo"),
        "tagged"
    );
    assert!(
        raw.contains("/FontFile2") || raw.contains("/FontFile3"),
        "fonts embedded"
    );
    // Debian's poppler-utils reads the text back as a reader would.
    let read = read_pdf(&pdf, "handbook.pdf");
    let text = read.raw.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Plan reviewed by governors."), "{text}");
    assert!(text.contains("Key theme 6: Quality of provision"));
    // Whose best-fit rule it is, and the two strands printed 4.5 told apart.
    assert!(
        text.contains("Suggested by the platform's default rule"),
        "{text}"
    );
    assert!(
        text.contains("4.5 (charter): The Liverpool Attendance Charter"),
        "{text}"
    );
    let statement = fw.strands().next().unwrap().1.statements["bronze"]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(&statement[..60]),
        "a statement of strand 1.1 is in the PDF"
    );
    // Strand 1.1's row: its first lines side by side, the level claimed among them.
    let row = read.page_texts[1]
        .lines()
        .find(|l| l.trim_start().starts_with("1.1: "))
        .expect("the row of strand 1.1");
    assert!(
        row.contains("Plan reviewed by governors.") && row.contains("Gold"),
        "{row}"
    );
    assert!(
        text.contains("Documents: School Development Plan (development plan.pdf)"),
        "{text}"
    );
    let field = |name: &str| {
        read.info
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    assert_eq!(field("Tagged:"), "yes", "{}", read.info);
    assert_eq!(
        field("Title:"),
        "Attendance Quality Mark handbook – Riverside Primary, 2026/27"
    );

    // Another school's lead is not found; the officer may not use the handbook's pages.
    let mut other = app.signed_in(&w.other_lead).await;
    let mut officer = app.signed_in(&w.officer).await;
    for path in [
        format!("/assessments/{}/print", w.assessment),
        format!("/assessments/{}/handbook.zip", w.assessment),
    ] {
        assert_eq!(other.get(&path).await.status, 404, "{path}");
        assert_eq!(officer.get(&path).await.status, 403, "{path}");
    }
}

/// What an Attendance Lead typed into seven strands, as a browser sends a textarea: paragraph
/// breaks as `\r\n`.
const SEVEN_STRANDS: [(&str, &str); 7] = [
    ("1.1", "silver"),
    ("1.2", "gold"),
    ("1.3", "silver"),
    ("2.1", "bronze"),
    ("2.2", "silver"),
    ("3.1", "gold"),
    ("4.1", "silver"),
];

fn actions_text(key: &str) -> String {
    format!(
        "The School Development Plan 2026/27 names attendance as one of three priorities for \
         strand {key}, with a target of 96% overall attendance and persistent absence below 12%.\r\n\
         \r\n\
         Governors reviewed the plan in the autumn term; the attendance governor meets the \
         Attendance Lead every half term and reports to the full governing body.\r\n\
         \r\n\
         Evidence: School Development Plan, minutes of the full governing body (October), \
         attendance governor visit notes, the attendance policy on the school website.\r\n\
         Category: Silver"
    )
}

fn impact_text(key: &str) -> String {
    format!(
        "Overall attendance rose from 93.1% to 94.6% between autumn 2025 and autumn 2026 \
         (strand {key}).\r\n\
         \r\n\
         Persistent absence fell from 18% to 13.5%; the gap for disadvantaged pupils narrowed by \
         two points. Parents' questionnaire: 87% know who to contact about attendance."
    )
}

/// Writes seven strands of the handbook, as a lead would in the browser.
pub async fn write_seven_strands(lead: &mut crate::helpers::Visitor, assessment: uuid::Uuid) {
    for (key, level) in SEVEN_STRANDS {
        let path = format!("/assessments/{assessment}/strands/{key}");
        lead.get(&path).await;
        let saved = lead
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("actions", &actions_text(key)),
                    ("level", level),
                    ("impact", &impact_text(key)),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
}

/// A PDF read back as a reader would: its page count, and each page's text laid out.
pub struct ReadPdf {
    pub pages: usize,
    pub page_texts: Vec<String>,
    /// The text in the order it is drawn, a line of the PDF a line here.
    pub raw: String,
    pub info: String,
}

pub fn read_pdf(pdf: &[u8], name: &str) -> ReadPdf {
    let file = crate::helpers::temp_dir("pdf").join(name);
    std::fs::write(&file, pdf).unwrap();
    let run = |cmd: &str, args: &[&str]| {
        let out = std::process::Command::new(cmd)
            .args(args)
            .arg(&file)
            .args(if cmd == "pdftotext" { &["-"][..] } else { &[] })
            .output()
            .unwrap_or_else(|_| panic!("{cmd} is installed (poppler-utils)"));
        assert!(out.status.success(), "{cmd} failed");
        String::from_utf8(out.stdout).expect("UTF-8 text")
    };
    let info = run("pdfinfo", &[]);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("pdfinfo gives the page count");
    let text = run("pdftotext", &["-layout"]);
    let mut page_texts: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    page_texts.truncate(pages);
    ReadPdf {
        pages,
        page_texts,
        raw: run("pdftotext", &["-raw"]),
        info,
    }
}

/// The PDF's streams, uncompressed where they are compressed.
fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    use std::io::Read;
    let mut found = Vec::new();
    let mut rest = pdf;
    while let Some(at) = find(rest, b"stream") {
        let mut start = at + b"stream".len();
        if rest.get(start) == Some(&b'\r') {
            start += 1;
        }
        if rest.get(start) == Some(&b'\n') {
            start += 1;
        }
        let Some(len) = find(&rest[start..], b"endstream") else {
            break;
        };
        let data = &rest[start..start + len];
        let mut plain = Vec::new();
        if flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut plain)
            .is_ok()
        {
            found.push(plain);
        } else {
            found.push(data.to_vec());
        }
        rest = &rest[start + len + b"endstream".len()..];
    }
    found
}

/// The glyphs a page's content stream draws: the two-byte glyph numbers of its literal strings
/// (krilla draws TrueType text as Identity-H CID fonts).
fn drawn_glyphs(content: &[u8]) -> Vec<u16> {
    let mut glyphs = Vec::new();
    let mut i = 0;
    while i < content.len() {
        if content[i] != b'(' {
            i += 1;
            continue;
        }
        let mut bytes = Vec::new();
        let mut depth = 1;
        i += 1;
        while i < content.len() && depth > 0 {
            let c = content[i];
            i += 1;
            match c {
                b'\\' => {
                    let e = content[i];
                    i += 1;
                    bytes.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'f' => 12,
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                if matches!(content.get(i), Some(b'0'..=b'7')) {
                                    v = v * 8 + u32::from(content[i] - b'0');
                                    i += 1;
                                }
                            }
                            v as u8
                        }
                        other => other,
                    });
                }
                b'(' => {
                    depth += 1;
                    bytes.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth > 0 {
                        bytes.push(c);
                    }
                }
                _ => bytes.push(c),
            }
        }
        glyphs.extend(bytes.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])));
    }
    glyphs
}

/// Whether the PDF draws an empty box (glyph 0, .notdef: a character the font has no glyph
/// for, such as a carriage return), and every text its glyphs stand for (the fonts' ToUnicode
/// maps).
pub fn glyph_report(pdf: &[u8]) -> (bool, Vec<String>) {
    let mut notdef = false;
    let mut texts = Vec::new();
    for s in streams(pdf) {
        let text = String::from_utf8_lossy(&s);
        if text.contains("beginbfchar") {
            texts.extend(bfchars(&text).into_iter().map(|(_, t)| t));
        } else if text.contains(" Tf") && (text.contains("TJ") || text.contains("Tj")) {
            notdef |= drawn_glyphs(&s).contains(&0);
        }
    }
    assert!(!texts.is_empty(), "the PDF has ToUnicode maps");
    (notdef, texts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `<glyph> <UTF-16BE text>` pairs of a CMap's bfchar sections.
fn bfchars(cmap: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for section in cmap.split("beginbfchar").skip(1) {
        let section = section.split("endbfchar").next().unwrap_or_default();
        let hex: Vec<&str> = section
            .split(['<', '>'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for pair in hex.chunks(2) {
            let [glyph, text] = pair else { continue };
            let units: Vec<u16> = (0..text.len() / 4)
                .map(|i| u16::from_str_radix(&text[i * 4..i * 4 + 4], 16).unwrap())
                .collect();
            out.push((
                u32::from_str_radix(glyph, 16).unwrap(),
                String::from_utf16_lossy(&units),
            ));
        }
    }
    out
}

/// The words of `text`: runs of letters and digits (a line may break after a hyphen or a
/// slash, as in "Extra-" / "curricular").
pub fn words(text: &str) -> std::collections::HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every word printed is a word of the document: none is cut in two ("Developmen t").
pub fn assert_whole_words(read: &ReadPdf, source: &str) {
    let known = words(source);
    let mut broken: Vec<String> = Vec::new();
    for w in words(&read.page_texts.join("\n")) {
        if !known.contains(&w) && !w.chars().all(|c| c.is_ascii_digit()) {
            broken.push(w);
        }
    }
    broken.sort();
    assert!(
        broken.is_empty(),
        "words printed that the document does not hold (cut words?): {broken:?}"
    );
}

/// Each key theme starts a page with its heading, and a page that carries on a theme's table
/// starts with the table's header row again; returns how many pages carry on a table.
pub fn assert_themes_on_new_pages(read: &ReadPdf) -> usize {
    let mut theme_pages = Vec::new();
    let mut carried_on = 0;
    for (i, page) in read.page_texts.iter().enumerate() {
        let first = page.lines().map(str::trim).find(|l| !l.is_empty());
        let Some(first) = first else { continue };
        if let Some(at) = page.find("Key theme ") {
            assert!(
                first.starts_with("Key theme "),
                "page {} shows a theme heading below other text:\n{page}",
                i + 1
            );
            let n = page[at + 10..].chars().next().unwrap();
            theme_pages.push((n, i));
        } else if i > 0 {
            assert!(
                first.starts_with("Strand") && first.contains("Actions and evidence"),
                "page {} carries on a table without its header row:\n{page}",
                i + 1
            );
            carried_on += 1;
        }
    }
    let themes: Vec<char> = theme_pages.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        themes,
        vec!['1', '2', '3', '4', '5', '6'],
        "one theme a page"
    );
    carried_on
}

/// The document's text, as the print page holds it.
fn page_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#38;", "&")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
}

/// The PDF of a handbook with seven strands written, and its print page.
async fn seven_strand_pdf() -> (Vec<u8>, String) {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    write_seven_strands(&mut lead, w.assessment).await;
    let print = lead
        .get(&format!("/assessments/{}/print", w.assessment))
        .await;
    let pdf = lead
        .download(&format!("/assessments/{}/handbook.pdf", w.assessment))
        .await
        .bytes()
        .await
        .unwrap();
    (pdf.to_vec(), print.body)
}

#[tokio::test]
async fn paragraph_breaks_typed_in_a_strand_are_line_breaks_in_the_pdf_not_empty_boxes() {
    let (pdf, _) = seven_strand_pdf().await;
    let read = read_pdf(&pdf, "breaks.pdf");

    // No glyph stands for a control character, and no empty box (glyph 0) is drawn.
    let (notdef, texts) = glyph_report(&pdf);
    assert!(!notdef, "an empty box (.notdef) is drawn");
    assert!(
        !texts.iter().any(|t| t.chars().any(char::is_control)),
        "a glyph is drawn for a control character: {texts:?}"
    );
    assert!(
        !read
            .raw
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\u{c}'),
        "control characters drawn in the PDF: {:?}",
        read.raw
    );
    // Each paragraph typed after a break starts a line of its own.
    for paragraph in [
        "Governors reviewed the plan",
        "Evidence: School",
        "Category: Silver",
        "Persistent absence fell",
    ] {
        assert_eq!(
            read.raw
                .lines()
                .filter(|l| l.trim_start().starts_with(paragraph))
                .count(),
            7,
            "each of the seven strands' paragraphs starting {paragraph:?} begins a line"
        );
    }
}

#[tokio::test]
async fn the_pdf_of_a_seven_strand_handbook_is_the_evidence_tables_theme_by_theme() {
    let (pdf, print) = seven_strand_pdf().await;
    let read = read_pdf(&pdf, "seven.pdf");

    // A4 landscape, tagged, title and language set, fonts embedded.
    let field = |name: &str| {
        read.info
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    assert!(
        field("Page size:").starts_with("842 x 595"),
        "A4 landscape: {}",
        read.info
    );
    assert_eq!(field("Tagged:"), "yes");
    assert!(field("Title:").starts_with("Attendance Quality Mark handbook"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/Lang") && raw.contains("/FontFile2"));
    assert!(
        raw.contains("/Table") && raw.contains("/TH") && raw.contains("/TD"),
        "the table is tagged as one"
    );

    // The evidence table: its header row, each strand a row, themes from a new page, and a
    // row too long for theme 1's first page carried on under the header row repeated.
    let flowing = read.raw.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flowing.contains(
            "Strand Statements Actions and evidence Level claimed \
             Evidence of impact / anticipated evidence 1.1: School Development Plan Bronze:"
        ),
        "the header row, then strand 1.1: {flowing}"
    );
    assert!(assert_themes_on_new_pages(&read) > 0, "a row carries on");
    assert_whole_words(&read, &page_text(&print));
    assert!(
        (7..=24).contains(&read.pages),
        "{} pages for seven strands",
        read.pages
    );
}

/// Files in the ZIP carry the same safe names as their downloads: a text file called notes.html
/// is notes.html.txt, and characters that reorder a name (a right-to-left override) are gone.
#[tokio::test]
async fn zip_entries_get_the_safe_names_of_downloads() {
    let app = crate::helpers::spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);
    for (name, bytes) in [
        (
            "notes.html",
            b"Minutes of the attendance meeting.\n".to_vec(),
        ),
        ("run.bat", b"Not a script, only words.\n".to_vec()),
        ("invoice\u{202E}fdp.exe", b"%PDF-1.4\n%x\n".to_vec()),
    ] {
        lead.get("/evidence/upload").await;
        let up = lead
            .upload("/evidence/upload", "file", name, bytes, &[("title", name)])
            .await;
        assert_eq!(up.status, 303, "{name}: {}", up.body);
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM evidence ORDER BY uploaded_at DESC LIMIT 1")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        lead.get(&strand).await;
        let linked = lead
            .post(
                &format!("{strand}/evidence"),
                &[("evidence", &id.to_string())],
            )
            .await;
        assert_eq!(linked.status, 303);
    }
    // The stored name has no reordering characters.
    let stored: Vec<String> = sqlx::query_scalar("SELECT file_name FROM evidence")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|n| !n.contains('\u{202E}')), "{stored:?}");
    let bytes = lead
        .download(&format!("/assessments/{}/handbook.zip", w.assessment))
        .await
        .bytes()
        .await
        .unwrap();
    let file = crate::helpers::temp_dir("zip").join("handbook.zip");
    std::fs::write(&file, &bytes).unwrap();
    let listing = String::from_utf8_lossy(
        &std::process::Command::new("unzip")
            .arg("-Z1")
            .arg(&file)
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    let names: Vec<&str> = listing.lines().collect();
    for expected in [
        "strand 1.1/notes.html.txt",
        "strand 1.1/run.bat.txt",
        "strand 1.1/invoicefdp.exe.pdf",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    // Only the handbook's own document is a web page in the archive.
    assert!(
        !names
            .iter()
            .filter(|n| n.starts_with("strand "))
            .any(|n| { n.ends_with(".html") || n.ends_with(".bat") || n.ends_with(".exe") }),
        "{names:?}"
    );
}
