//! The completed handbook as a document, laid out like the printed handbook's evidence tables
//! (theme by theme: strand, statements, actions and evidence, level claimed, impact): a
//! print-friendly page, and a ZIP holding that document with every linked evidence file, in a
//! folder per strand, for the assessor.

use super::pdf::{self, Block, Para};
use super::{AssessmentRow, claims, entries, zip};
use crate::auth::{Roles, SchoolStaff, Scoped};
use crate::best_fit_setting;
use crate::content;
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::framework;
use crate::layout::Layout;
use crate::store::ContentHash;
use crate::web::Path;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

pub struct DocStrand {
    pub label: String,
    /// (level name, statement) for the levels this strand has.
    pub statements: Vec<(String, String)>,
    pub actions: String,
    pub level: String,
    pub impact: String,
    pub documents: Vec<String>,
}

pub struct DocTheme {
    pub number: u32,
    pub title: String,
    pub fit: String,
    pub reason: String,
    pub strands: Vec<DocStrand>,
}

/// Everything the exported handbook shows.
pub struct HandbookDoc {
    pub a: AssessmentRow,
    pub framework: String,
    pub generated: String,
    pub overall: String,
    pub overall_reason: String,
    pub themes: Vec<DocTheme>,
}

#[derive(sqlx::FromRow)]
pub struct LinkedFile {
    pub strand_key: String,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub sha256: String,
}

async fn linked_files(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: AssessmentId,
) -> Result<Vec<LinkedFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.strand_key, e.title, e.file_name, e.content_type, e.sha256
         FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND e.deleted_at IS NULL
         ORDER BY l.strand_key, e.title",
    )
    .bind(tenant)
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// The handbook of assessment `id` for a person of its school (404 for anyone else), and the
/// evidence files linked to its strands.
pub async fn build<R: Roles>(
    s: &mut Scoped<R>,
    id: AssessmentId,
) -> Result<(HandbookDoc, Vec<LinkedFile>), AppError> {
    let h = id.load(s).await?;
    let entries = entries(&mut s.tx, s.tenant, id).await?;
    let files = linked_files(&mut s.tx, s.tenant, id).await?;
    let rule = best_fit_setting::in_force(&mut s.tx, s.tenant, &h.fw).await?;
    let fit = framework::best_fit(&h.fw, &rule.rule, &claims(&entries));
    let level_name = |key: Option<&str>| {
        key.and_then(|k| h.fw.level(k))
            .map_or_else(|| "None".to_string(), |l| l.name.clone())
    };
    let fit_name = |key: Option<&str>| {
        key.and_then(|k| h.fw.level(k))
            .map_or_else(|| "Not yet".to_string(), |l| l.name.clone())
    };
    let mut documents: HashMap<&str, Vec<String>> = HashMap::new();
    for f in &files {
        documents
            .entry(f.strand_key.as_str())
            .or_default()
            .push(format!("{} ({})", f.title, f.file_name));
    }
    let themes =
        h.fw.themes
            .iter()
            .zip(&fit.themes)
            .map(|(theme, tf)| DocTheme {
                number: theme.number,
                title: theme.title.clone(),
                fit: fit_name(tf.level.as_deref()),
                reason: tf.reason.clone(),
                strands: theme
                    .strands
                    .iter()
                    .map(|s| {
                        let e = entries.get(&s.key);
                        DocStrand {
                            // The number with the platform's title, told apart where the
                            // handbook prints a number twice: "4.5 (charter): The …".
                            label: format!("{}: {}", s.reference(), s.title),
                            statements: h
                                .fw
                                .statements_in_order(s)
                                .into_iter()
                                .filter_map(|(l, t)| t.map(|t| (l.name.clone(), t.to_string())))
                                .collect(),
                            actions: e.map(|e| e.actions.clone()).unwrap_or_default(),
                            level: level_name(e.and_then(|e| e.claimed_level.as_deref())),
                            impact: e.map(|e| e.impact.clone()).unwrap_or_default(),
                            documents: documents.get(s.key.as_str()).cloned().unwrap_or_default(),
                        }
                    })
                    .collect(),
            })
            .collect();
    let doc = HandbookDoc {
        framework: format!("{} ({})", h.fw.name, h.fw.version),
        generated: crate::dates::uk_today(&mut s.tx).await?,
        overall: fit_name(fit.overall.as_deref()),
        // Whose rule suggested it, in the same paragraph as the suggestion.
        overall_reason: format!("{} {}", fit.reason, rule.attribution()),
        themes,
        a: h.a,
    };
    Ok((doc, files))
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/print.html")]
pub struct PrintPage {
    layout: Layout,
    doc: HandbookDoc,
}

pub async fn get_print(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<AssessmentId>,
) -> Result<PrintPage, AppError> {
    let (doc, _) = build(&mut s, id).await?;
    Ok(PrintPage {
        layout: s.layout("/handbook"),
        doc,
    })
}

/// The same document as a file on its own (styles inside it), for the ZIP.
#[derive(Template)]
#[template(path = "handbook/standalone.html")]
struct Standalone<'a> {
    doc: &'a HandbookDoc,
}

/// What an empty field shows in the PDF (as the print page's template does).
const NOT_WRITTEN: &str = "Not written yet.";

/// The document as PDF blocks: the order and wording of the print page, each key theme from a
/// new page with its evidence table (strand, statements, actions and evidence, level claimed,
/// impact).
fn blocks(doc: &HandbookDoc) -> Vec<Block> {
    let or_not_written = |text: &str| {
        if text.trim().is_empty() {
            NOT_WRITTEN.to_string()
        } else {
            text.to_string()
        }
    };
    let mut b = vec![
        Block::Heading(1, "Attendance Quality Mark handbook".into()),
        Block::Para(Para::plain(format!(
            "{}, cohort {}. Criteria: {}. Produced {}.",
            doc.a.school_name, doc.a.cohort_name, doc.framework, doc.generated
        ))),
        Block::Para(Para::labelled(
            format!("Suggested best fit overall: {}.", doc.overall),
            &doc.overall_reason,
        )),
    ];
    let column = |title: &str, share: f32| pdf::Column {
        title: title.to_string(),
        share,
    };
    for t in &doc.themes {
        b.push(Block::PageBreak);
        b.push(Block::Heading(
            2,
            format!("Key theme {}: {}", t.number, t.title),
        ));
        b.push(Block::Para(Para::labelled(
            format!("Suggested best fit: {}.", t.fit),
            &t.reason,
        )));
        let rows = t
            .strands
            .iter()
            .map(|s| {
                let mut actions = vec![Para::plain(or_not_written(&s.actions))];
                if !s.documents.is_empty() {
                    actions.push(Para::bold("Documents:"));
                    actions.extend(s.documents.iter().map(Para::plain));
                }
                vec![
                    vec![Para::plain(&s.label)],
                    s.statements
                        .iter()
                        .map(|(level, text)| Para::labelled(format!("{level}:"), text))
                        .collect(),
                    actions,
                    vec![Para::plain(&s.level)],
                    vec![Para::plain(or_not_written(&s.impact))],
                ]
            })
            .collect();
        b.push(Block::Table(pdf::Table {
            columns: vec![
                // The print stylesheet's widths (.aqm-export__*), in per cent.
                // The strand column holds its title: wide enough for "responsibilities".
                column("Strand", 13.0),
                column("Statements", 30.0),
                column("Actions and evidence", 24.0),
                column("Level claimed", 9.0),
                column("Evidence of impact / anticipated evidence", 24.0),
            ],
            rows,
        }));
    }
    b
}

pub async fn render_pdf(doc: &HandbookDoc) -> Result<Vec<u8>, AppError> {
    let title = format!(
        "Attendance Quality Mark handbook – {}, {}",
        doc.a.school_name, doc.a.cohort_name
    );
    let footer = format!(
        "{}, cohort {} – handbook",
        doc.a.school_name, doc.a.cohort_name
    );
    let blocks = blocks(doc);
    // Laying out and subsetting fonts is CPU work: keep it off the async runtime.
    tokio::task::spawn_blocking(move || pdf::render(&title, &footer, &blocks))
        .await
        .map_err(|e| anyhow::anyhow!(e))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("PDF: {e}")))
}

pub async fn get_pdf(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let (doc, _) = build(&mut s, id).await?;
    // Nothing more to read: the connection goes back before the PDF is laid out.
    drop(s);
    let bytes = render_pdf(&doc).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.pdf\"", base_name(&doc)),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A file name made of the school and cohort, safe anywhere.
pub fn base_name(doc: &HandbookDoc) -> String {
    plain_file_name(&format!(
        "handbook {} {}",
        doc.a.school_name, doc.a.cohort_name
    ))
}

/// Words as a file name: ASCII letters and digits, lower case, runs of anything else as one `-`.
pub fn plain_file_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// How many handbook ZIPs one process streams at once; more wait their turn for a while, then
/// are asked to try again. Each holds little memory now, but reads evidence files for minutes.
pub const EXPORTS_AT_ONCE: usize = 4;
/// How long a ZIP download waits for its turn before the person is asked to try again.
const EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What goes into the archive, in order: the document itself, then each linked evidence file.
enum Part {
    Bytes(Vec<u8>),
    Stored(ContentHash),
}

/// The handbook and every linked evidence file, streamed as a ZIP: each file goes from the store
/// to the response chunk by chunk, so memory stays flat whatever the archive's size.
pub async fn get_zip(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let (doc, files) = build(&mut s, id).await?;
    let state = s.state.clone();
    drop(s);
    let permit = tokio::time::timeout(EXPORT_WAIT, state.exports.clone().acquire_owned())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|e| anyhow::anyhow!("the export limit closed: {e}"))?;
    let html = Standalone { doc: &doc }
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    let pdf = render_pdf(&doc).await?;
    let mut parts = vec![
        ("handbook.pdf".to_string(), Part::Bytes(pdf)),
        ("handbook.html".to_string(), Part::Bytes(html.into_bytes())),
    ];
    let mut used = std::collections::HashSet::new();
    for f in &files {
        let hash = ContentHash::parse(&f.sha256)
            .ok_or_else(|| anyhow::anyhow!("bad stored hash for {}", f.file_name))?;
        // A folder per strand key (the two strands printed 4.5 have different keys); each file
        // under the same safe name as its download, so a text file called notes.html is
        // notes.html.txt here too and opening it runs nothing.
        let file_name = zip::safe_name(&content::safe_download_name(&f.file_name, &f.content_type));
        let mut name = format!("strand {}/{file_name}", zip::safe_name(&f.strand_key));
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("strand {}/{n} {file_name}", zip::safe_name(&f.strand_key));
            n += 1;
        }
        parts.push((name, Part::Stored(hash)));
    }
    let (time, date) = zip::dos_stamp(chrono::Utc::now().naive_utc());
    // A few chunks in flight: a slow download slows the reading, it does not fill memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    let store = state.store.clone();
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = write_zip(parts, time, date, &store, &tx).await {
            tracing::warn!(error = %e, "the handbook ZIP stopped part way");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let file = format!("{}.zip", base_name(&doc));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Writes the archive of `parts` into `tx`; an error ends the download (the person's browser
/// reports it unfinished rather than saving a broken file as complete).
async fn write_zip(
    parts: Vec<(String, Part)>,
    time: u16,
    date: u16,
    store: &crate::store::Store,
    tx: &tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>,
) -> Result<(), String> {
    use futures_util::StreamExt;
    let send = |bytes: Vec<u8>| async move {
        tx.send(Ok(axum::body::Bytes::from(bytes)))
            .await
            .map_err(|_| "the download was closed".to_string())
    };
    let too_large = |_| "the handbook's files are too large for one ZIP".to_string();
    let mut z = zip::ZipStream::new(time, date);
    for (name, part) in parts {
        send(z.begin(&name).map_err(too_large)?).await?;
        match part {
            Part::Bytes(bytes) => {
                z.data(&bytes);
                send(bytes).await?;
            }
            Part::Stored(hash) => {
                let object = store
                    .get(&hash)
                    .await
                    .map_err(|e| format!("reading evidence {hash}: {e}"))?
                    .ok_or_else(|| format!("evidence file {hash} is missing from the store"))?;
                let mut chunks = object.body.into_data_stream();
                while let Some(chunk) = chunks.next().await {
                    let chunk = chunk.map_err(|e| format!("reading evidence {hash}: {e}"))?;
                    z.data(&chunk);
                    tx.send(Ok(chunk))
                        .await
                        .map_err(|_| "the download was closed".to_string())?;
                }
            }
        }
        send(z.end().map_err(too_large)?).await?;
    }
    send(z.finish().map_err(too_large)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        let doc = HandbookDoc {
            a: AssessmentRow {
                id: Uuid::nil(),
                school_id: Uuid::nil(),
                school_name: "St Anne's Primary".into(),
                cohort_name: "2026/27".into(),
                framework_key: "laqm".into(),
                framework_version: "v1".into(),
                renewal_from: None,
            },
            framework: String::new(),
            generated: String::new(),
            overall: String::new(),
            overall_reason: String::new(),
            themes: Vec::new(),
        };
        assert_eq!(base_name(&doc), "handbook-st-anne-s-primary-2026-27");
    }
}
