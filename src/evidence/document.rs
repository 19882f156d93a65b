//! One document: its page (details, the strands it is linked to, linking it to more), its
//! download, and its deletion.

use super::{EvidenceRow, event, rules};
use crate::assessment;
use crate::auth::{SchoolStaff, Scoped};
use crate::domain::DocumentId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::framework::Strand;
use crate::layout::Layout;
use crate::store::ContentHash;
use crate::web::{Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

pub struct LinkRow {
    pub assessment: Uuid,
    pub cohort: String,
    pub strand_key: String,
    pub strand: String,
}

pub struct StrandChoice {
    pub key: String,
    pub text: String,
}

pub struct ThemeChoices {
    pub title: String,
    pub strands: Vec<StrandChoice>,
}

/// The school's open handbook, which documents are linked into from this page.
pub struct OpenHandbook {
    pub cohort: String,
    pub themes: Vec<ThemeChoices>,
}

#[derive(Template, WebTemplate)]
#[template(path = "evidence/evidence.html")]
pub struct EvidencePage {
    layout: Layout,
    e: EvidenceRow,
    links: Vec<LinkRow>,
    open: Option<OpenHandbook>,
    pub errors: Errors,
}

/// "Strand 1.1: School Development Plan", "Strand 4.5 (charter): The Liverpool Attendance Charter".
pub fn strand_text(strand: &Strand) -> String {
    strand.heading()
}

/// The page of document `e`, with its links and the strands of the open handbook to link it to.
pub async fn evidence_page(
    s: &mut Scoped<SchoolStaff>,
    e: EvidenceRow,
) -> Result<EvidencePage, AppError> {
    let school = s.school()?;
    let rows: Vec<(Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT l.assessment_id, c.name, a.framework_key, a.framework_version, l.strand_key
         FROM evidence_link l
         JOIN assessment a ON a.tenant_id = l.tenant_id AND a.id = l.assessment_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         WHERE l.tenant_id = $1 AND l.evidence_id = $2 AND a.school_id = $3
         ORDER BY a.opened_at DESC",
    )
    .bind(s.tenant)
    .bind(e.id)
    .bind(school)
    .fetch_all(&mut *s.tx)
    .await?;
    // Strands in the framework's order (1.2 before 1.10), handbook by handbook.
    let mut links: Vec<(usize, LinkRow)> = rows
        .into_iter()
        .map(|(assessment, cohort, fw_key, fw_version, key)| {
            let fw = s.state.catalogue.get(&fw_key, &fw_version);
            let place = fw.as_ref().and_then(|fw| {
                fw.strands()
                    .enumerate()
                    .find(|(_, (_, s))| s.key == key)
                    .map(|(i, (_, s))| (i, strand_text(s)))
            });
            let (order, strand) = place.unwrap_or((usize::MAX, format!("Strand {key}")));
            (
                order,
                LinkRow {
                    assessment,
                    cohort,
                    strand_key: key,
                    strand,
                },
            )
        })
        .collect();
    links.sort_by_key(|(order, l)| (l.cohort.clone(), *order));
    let links: Vec<LinkRow> = links.into_iter().map(|(_, l)| l).collect();

    let open = match assessment::open_of_school(&mut s.tx, s.tenant, school).await? {
        None => None,
        Some(id) => {
            let h = id.load(s).await?;
            let themes =
                h.fw.themes
                    .iter()
                    .map(|t| ThemeChoices {
                        title: format!("Key theme {}: {}", t.number, t.title),
                        strands: t
                            .strands
                            .iter()
                            .filter(|s| {
                                !links
                                    .iter()
                                    .any(|l| l.assessment == id.0 && l.strand_key == s.key)
                            })
                            .map(|s| StrandChoice {
                                key: s.key.clone(),
                                text: strand_text(s),
                            })
                            .collect(),
                    })
                    .filter(|t| !t.strands.is_empty())
                    .collect();
            Some(OpenHandbook {
                cohort: h.a.cohort_name,
                themes,
            })
        }
    };
    Ok(EvidencePage {
        layout: s.layout("/evidence"),
        e,
        links,
        open,
        errors: Errors::default(),
    })
}

pub async fn get_evidence(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<DocumentId>,
) -> Result<EvidencePage, AppError> {
    let e = id.load(&mut s).await?;
    evidence_page(&mut s, e).await
}

/// The file itself: always as an attachment, with the type found at upload, never sniffed.
pub async fn get_download(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<DocumentId>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let state = s.state.clone();
    // The connection goes back before the file is streamed.
    drop(s);
    file_response(&state, &e).await
}

/// A document's file as a download, whoever may read it (the school, its assessor).
pub async fn file_response(
    state: &crate::state::AppState,
    e: &EvidenceRow,
) -> Result<Response, AppError> {
    let id = e.id;
    let hash = ContentHash::parse(&e.sha256)
        .ok_or_else(|| anyhow::anyhow!("evidence {id} has a malformed hash"))?;
    let object = state
        .store
        .get(&hash)
        .await
        .map_err(|err| anyhow::anyhow!("cannot read evidence file {hash}: {err}"))?
        .ok_or_else(|| anyhow::anyhow!("evidence file {hash} of {id} is missing from the store"))?;
    let name = rules::download_name(&e.file_name, &e.content_type);
    let header = |v: &str| {
        HeaderValue::from_str(v).map_err(|err| anyhow::anyhow!("header value {v:?}: {err}"))
    };
    let mut response = Response::new(object.body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header(&e.content_type)?);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(object.len));
    headers.insert(
        header::CONTENT_DISPOSITION,
        header(&rules::content_disposition(&name))?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Should a browser render it after all, it runs nothing and reaches nothing of ours.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// Soft delete: the row is kept (marked deleted, by whom) and the file stays in the store, so the
/// audit log's account of it stays true; the document disappears from the library and every
/// strand.
pub async fn post_delete(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<DocumentId>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let done = sqlx::query(
        "UPDATE evidence SET deleted_at = now(), deleted_by = $3
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .execute(&mut *s.tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    let deleted = event(&s, "evidence.deleted", e.id).before(json!({
        "title": e.title,
        "file_name": e.file_name,
        "sha256": e.sha256,
    }));
    s.record(deleted).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(&state, "/evidence", "evidence-deleted"))
}
