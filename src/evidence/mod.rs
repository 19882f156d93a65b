//! The school's evidence library: Attendance Leads and head teachers upload documents (checked by
//! content, held in the object store once per distinct file), describe them, link each to any
//! number of strands of the school's handbook, download and delete them. Every change is audited.
//!
//! Pupils' personal data: a text or CSV file is read before it is kept. When something looks like
//! a Unique Pupil Number or a date of birth beside a name, nothing is stored; the upload page comes
//! back with the details still filled in, says what was found, and asks for the file again, either
//! corrected or with a box ticked to confirm it holds no pupil data. A confirmation counts only for
//! the very file that was warned about (the page carries its SHA-256), and is written to the audit
//! log. Browsers cannot keep a chosen file across pages, and holding an unconfirmed file would mean
//! keeping the very data the warning is about, so asking again is the honest way.

pub mod content;
pub mod rules;
pub mod store;

pub use store::Store;

use crate::app::AppState;
use crate::audit;
use crate::auth::routes::redirect_with_flash;
use crate::auth::{Ctx, CurrentUser};
use crate::error::AppError;
use crate::forms::{DateInput, Errors};
use crate::handbook::{self, SCHOOL_ROLES, pupil_data};
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use content::Kind;
use rules::{Details, ValidDetails};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use store::ContentHash;
use uuid::Uuid;

/// Multipart text fields (title, description, date parts) are read up to this many bytes; more
/// than that cannot be valid anyway and is cut off for the validation message.
const TEXT_FIELD_LIMIT: usize = 16 * 1024;
/// Room above the file limit for the form's other fields and the multipart framing, for the
/// route's body limit.
pub const FORM_OVERHEAD: usize = 256 * 1024;

#[derive(sqlx::FromRow)]
pub struct EvidenceRow {
    pub id: Uuid,
    pub title: String,
    pub evidence_date: Option<NaiveDate>,
    pub description: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
    pub uploaded_at: String,
}

impl EvidenceRow {
    pub fn date(&self) -> String {
        show_date(self.evidence_date)
    }

    pub fn type_label(&self) -> &'static str {
        content::type_label(&self.content_type)
    }

    pub fn size(&self) -> String {
        rules::human_size(self.size_bytes)
    }
}

fn show_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(
        || "Not given".to_string(),
        |d| d.format("%-d %B %Y").to_string(),
    )
}

/// The document `id` of the person's own school; 404 for any other school's or tenant's, and for
/// a deleted one.
pub async fn load(
    conn: &mut PgConnection,
    user: &CurrentUser,
    id: Uuid,
) -> Result<EvidenceRow, AppError> {
    user.require(SCHOOL_ROLES)?;
    let tenant = user.tenant()?;
    let school = user.school_id.ok_or(AppError::NotFound)?;
    sqlx::query_as(
        "SELECT e.id, e.title, e.evidence_date, e.description, e.file_name, e.content_type, e.size_bytes, e.sha256,
                u.name AS uploaded_by,
                to_char(e.uploaded_at AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY \"at\" HH24:MI') AS uploaded_at
         FROM evidence e LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.uploaded_by
         WHERE e.tenant_id = $1 AND e.id = $2 AND e.school_id = $3 AND e.deleted_at IS NULL",
    )
    .bind(tenant)
    .bind(id)
    .bind(school)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)
}

fn audit_event(action: &str, user: &CurrentUser, tenant: Uuid, evidence: Uuid) -> audit::Event {
    audit::Event::new(action)
        .tenant(Some(tenant))
        .actor(Some(user.id), &user.email)
        .school(user.school_id)
        .subject("evidence", evidence)
}

// ---------------------------------------------------------------------------------------------
// The library

pub struct LibraryItem {
    pub id: Uuid,
    pub title: String,
    pub date: String,
    pub kind: &'static str,
    pub size: String,
    pub strands: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "evidence/library.html")]
pub struct LibraryPage {
    layout: Layout,
    school: String,
    items: Vec<LibraryItem>,
}

pub async fn get_library(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<LibraryPage, AppError> {
    user.require(SCHOOL_ROLES)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let rows: Vec<(Uuid, String, Option<NaiveDate>, String, i64, i64)> = sqlx::query_as(
        "SELECT e.id, e.title, e.evidence_date, e.content_type, e.size_bytes,
                (SELECT count(*) FROM evidence_link l WHERE l.tenant_id = e.tenant_id AND l.evidence_id = e.id)
         FROM evidence e
         WHERE e.tenant_id = $1 AND e.school_id = $2 AND e.deleted_at IS NULL
         ORDER BY e.evidence_date DESC NULLS LAST, e.uploaded_at DESC",
    )
    .bind(tenant)
    .bind(user.school_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(LibraryPage {
        layout: ctx.layout("/evidence"),
        school: user.school_name.clone().unwrap_or_default(),
        items: rows
            .into_iter()
            .map(
                |(id, title, date, content_type, size, strands)| LibraryItem {
                    id,
                    title,
                    date: show_date(date),
                    kind: content::type_label(&content_type),
                    size: rules::human_size(size),
                    strands,
                },
            )
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Uploading

#[derive(Template, WebTemplate)]
#[template(path = "evidence/upload.html")]
pub struct UploadPage {
    layout: Layout,
    errors: Errors,
    title: String,
    description: String,
    date: DateInput,
    limit_mb: u64,
    accepted: &'static str,
    /// The name of a file that was fine but must be chosen again (the page was sent back for
    /// another reason).
    choose_again: Option<String>,
    /// What looked like pupil data, and the hash of the file it was found in.
    pupil_data: Vec<String>,
    confirm_sha256: String,
    title_hint: String,
    description_limit: usize,
}

fn upload_page(ctx: &Ctx, state: &AppState) -> UploadPage {
    UploadPage {
        layout: ctx.layout("/evidence"),
        errors: Errors::default(),
        title: String::new(),
        description: String::new(),
        date: DateInput::default(),
        limit_mb: state.config.upload_limit_mb,
        accepted: content::ACCEPTED,
        choose_again: None,
        pupil_data: Vec::new(),
        confirm_sha256: String::new(),
        title_hint: format!(
            "For example, Attendance policy 2026 to 2027. Up to {} characters.",
            rules::TITLE_LIMIT
        ),
        description_limit: rules::DESCRIPTION_LIMIT,
    }
}

pub async fn get_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<UploadPage, AppError> {
    user.require(SCHOOL_ROLES)?;
    Ok(upload_page(&ctx, &state))
}

/// A file as it arrived: the name the browser gave it, its bytes and their hash.
struct Received {
    name: String,
    bytes: Vec<u8>,
    hash: ContentHash,
}

#[derive(Default)]
struct UploadForm {
    details: Details,
    file: Option<Received>,
    confirm_sha256: String,
    not_pupil_data: bool,
}

/// How reading the form ended.
enum Outcome {
    Complete,
    /// The file passed the limit: reading stopped there.
    TooLarge,
    /// The request broke off or was not a proper form.
    Broken,
}

/// Reads the multipart form, the file chunk by chunk so that no more than `limit` bytes of it
/// are ever held: the moment it passes the limit, reading stops.
async fn read_form(multipart: &mut Multipart, limit: usize, form: &mut UploadForm) -> Outcome {
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Outcome::Complete,
            Err(e) => return broken(&e),
        };
        let name = field.name().unwrap_or_default().to_string();
        let result = match name.as_str() {
            "file" => read_file(field, limit, form).await,
            "title" => read_text(field).await.map(|t| form.details.title = t),
            "description" => read_text(field).await.map(|t| form.details.description = t),
            "evidence_date-day" => read_text(field).await.map(|t| form.details.date.day = t),
            "evidence_date-month" => read_text(field).await.map(|t| form.details.date.month = t),
            "evidence_date-year" => read_text(field).await.map(|t| form.details.date.year = t),
            "confirm_sha256" => read_text(field).await.map(|t| form.confirm_sha256 = t),
            "not_pupil_data" => read_text(field).await.map(|_| form.not_pupil_data = true),
            // Anything else is skipped unread by the next `next_field`.
            _ => Ok(()),
        };
        match result {
            Ok(()) => {}
            Err(ReadError::TooLarge) => return Outcome::TooLarge,
            Err(ReadError::Multipart(e)) => return broken(&e),
        }
    }
}

fn broken(e: &MultipartError) -> Outcome {
    // The route's body limit (a little above the file limit) shows up here as 413.
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Outcome::TooLarge
    } else {
        tracing::info!(error = %e, "evidence upload broken off");
        Outcome::Broken
    }
}

enum ReadError {
    TooLarge,
    Multipart(MultipartError),
}

impl From<MultipartError> for ReadError {
    fn from(e: MultipartError) -> Self {
        ReadError::Multipart(e)
    }
}

async fn read_file(
    mut field: Field<'_>,
    limit: usize,
    form: &mut UploadForm,
) -> Result<(), ReadError> {
    let name = field.file_name().unwrap_or_default().to_string();
    let mut bytes = Vec::new();
    let mut hasher = Sha256::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        hasher.update(&chunk);
        bytes.extend_from_slice(&chunk);
    }
    // A form sent with no file chosen still has the part, with no name and no bytes.
    if !name.is_empty() || !bytes.is_empty() {
        form.file = Some(Received {
            name: rules::clean_file_name(Some(&name)),
            bytes,
            hash: ContentHash::from_hasher(hasher),
        });
    }
    Ok(())
}

async fn read_text(mut field: Field<'_>) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        let room = TEXT_FIELD_LIMIT.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Pupil data in a text file, read in pieces of whole lines so a large file never becomes one
/// huge character array. Runs off the async threads; a failure refuses the upload rather than
/// letting an unread file through.
async fn find_pupil_data(text: String) -> anyhow::Result<Vec<pupil_data::Finding>> {
    let year = chrono::Utc::now().year();
    tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        let mut piece = String::new();
        for line in text.split_inclusive('\n') {
            piece.push_str(line);
            if piece.len() >= 64 * 1024 {
                found.extend(pupil_data::find(&piece, year));
                piece.clear();
            }
        }
        found.extend(pupil_data::find(&piece, year));
        found
    })
    .await
    .map_err(|e| anyhow::anyhow!("the pupil data check failed: {e}"))
}

/// What to show of the findings: the first few, and how many more there are.
fn describe_findings(found: &[pupil_data::Finding]) -> Vec<String> {
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = found.iter().take(SHOWN).map(|f| f.describe()).collect();
    if found.len() > SHOWN {
        lines.push(format!("and {} more", found.len() - SHOWN));
    }
    lines
}

pub async fn post_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    user.require(SCHOOL_ROLES)?;
    let tenant = user.tenant()?;
    let school = user.school_id.ok_or(AppError::NotFound)?;
    let limit = state.config.upload_limit();
    let mut form = UploadForm::default();
    let outcome = read_form(&mut multipart, limit, &mut form).await;

    let mut page = upload_page(&ctx, &state);
    page.title = form.details.title.clone();
    page.description = form.details.description.clone();
    page.date = form.details.date.clone();
    match outcome {
        Outcome::Complete => {}
        Outcome::TooLarge => {
            page.errors.add(
                "file",
                format!(
                    "The selected file must be smaller than {} MB",
                    state.config.upload_limit_mb
                ),
            );
            // The rest of the upload is left unread; closing the connection tells the browser.
            let mut response = (StatusCode::PAYLOAD_TOO_LARGE, page).into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(response);
        }
        Outcome::Broken => {
            page.errors.add(
                "file",
                "The upload did not finish. Select the file and try again",
            );
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    }

    let mut errors = Errors::default();
    // Today in the UK, which is never more than an hour ahead of UTC: a date that is already
    // today there is not refused as in the future.
    let today = (chrono::Utc::now() + chrono::Duration::hours(1)).date_naive();
    let details = form.details.validate(today, &mut errors);
    let kind = match &form.file {
        None => {
            errors.add("file", "Select a file to upload");
            None
        }
        Some(f) => match content::classify(&f.bytes) {
            Ok(kind) => Some(kind),
            Err(refusal) => {
                errors.add("file", refusal.to_string());
                None
            }
        },
    };
    // A file that was fine must still be chosen again when the page goes back: say which.
    let fine_file = kind.and(form.file.as_ref()).map(|f| f.name.clone());
    let (Some(details), Some(kind), Some(file)) = (details, kind, form.file) else {
        page.choose_again = fine_file;
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    let mut confirmed_findings = Vec::new();
    if kind.is_text() {
        let text = content::decode_text(&file.bytes)
            .map(|(t, _)| t)
            .unwrap_or_default();
        let found = find_pupil_data(text).await?;
        let confirmed = form.not_pupil_data && form.confirm_sha256 == file.hash.as_str();
        if !found.is_empty() && !confirmed {
            page.pupil_data = describe_findings(&found);
            page.confirm_sha256 = file.hash.to_string();
            page.choose_again = Some(file.name);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        confirmed_findings = found;
    }

    // The file goes into the store before its row exists, so no row ever names a missing file.
    let stored_new = state
        .store
        .put(&file.hash, &file.bytes)
        .await
        .map_err(|e| anyhow::anyhow!("cannot store evidence file {}: {e}", file.hash))?;
    let id = Uuid::new_v4();
    let mut tx = state.db.tenant_tx(tenant).await?;
    insert(&mut tx, tenant, school, id, &details, &file, kind, user.id).await?;
    audit::record(
        &mut tx,
        &audit_event("evidence.uploaded", &user, tenant, id).after(json!({
            "title": details.title,
            "evidence_date": details.date,
            "description": details.description,
            "file_name": file.name,
            "content_type": kind.content_type(),
            "size_bytes": file.bytes.len(),
            "sha256": file.hash.as_str(),
            "already_stored": !stored_new,
        })),
    )
    .await?;
    if !confirmed_findings.is_empty() {
        // What was found is described by kind and count only: the audit log must not become a
        // copy of the pupil data it is about.
        let upns = confirmed_findings
            .iter()
            .filter(|f| matches!(f, pupil_data::Finding::Upn(_)))
            .count();
        let findings = json!({
            "unique_pupil_numbers": upns,
            "dates_of_birth": confirmed_findings.len() - upns,
        });
        audit::record(
            &mut tx,
            &audit_event("pupil_data.confirmed_absent", &user, tenant, id).after(json!({
                "sha256": file.hash.as_str(),
                "file_name": file.name,
                "findings": findings,
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/evidence/{id}"),
        "evidence-uploaded",
    ))
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    conn: &mut PgConnection,
    tenant: Uuid,
    school: Uuid,
    id: Uuid,
    details: &ValidDetails,
    file: &Received,
    kind: Kind,
    by: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO evidence (id, tenant_id, school_id, title, evidence_date, description, file_name, content_type, size_bytes, sha256, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(tenant)
    .bind(school)
    .bind(&details.title)
    .bind(details.date)
    .bind(&details.description)
    .bind(&file.name)
    .bind(kind.content_type())
    .bind(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))
    .bind(file.hash.as_str())
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One document: details, links, download, delete

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
    errors: Errors,
}

/// "Strand 1.1: The School Development Plan references the importance of attendance…"
fn strand_text(fw: &crate::framework::Framework, strand: &crate::framework::Strand) -> String {
    let first = fw
        .statements_in_order(strand)
        .into_iter()
        .find_map(|(_, t)| t)
        .unwrap_or("");
    let mut text: String = first.chars().take(90).collect();
    if first.chars().count() > 90 {
        text = format!("{}…", text.trim_end());
    }
    format!("Strand {}: {text}", strand.label)
}

async fn open_assessment(
    conn: &mut PgConnection,
    tenant: Uuid,
    school: Option<Uuid>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM assessment WHERE tenant_id = $1 AND school_id = $2 AND status = 'open'",
    )
    .bind(tenant)
    .bind(school)
    .fetch_optional(conn)
    .await
}

async fn evidence_page(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    e: EvidenceRow,
) -> Result<EvidencePage, AppError> {
    let tenant = user.tenant()?;
    let rows: Vec<(Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT l.assessment_id, c.name, a.framework_key, a.framework_version, l.strand_key
         FROM evidence_link l
         JOIN assessment a ON a.tenant_id = l.tenant_id AND a.id = l.assessment_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         WHERE l.tenant_id = $1 AND l.evidence_id = $2 AND a.school_id = $3
         ORDER BY a.opened_at DESC",
    )
    .bind(tenant)
    .bind(e.id)
    .bind(user.school_id)
    .fetch_all(&mut *conn)
    .await?;
    // Strands in the framework's order (1.2 before 1.10), handbook by handbook.
    let mut links: Vec<(usize, LinkRow)> = rows
        .into_iter()
        .map(|(assessment, cohort, fw_key, fw_version, key)| {
            let fw = state.catalogue.get(&fw_key, &fw_version);
            let place = fw.as_ref().and_then(|fw| {
                fw.strands()
                    .enumerate()
                    .find(|(_, (_, s))| s.key == key)
                    .map(|(i, (_, s))| (i, strand_text(fw, s)))
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

    let open = match open_assessment(&mut *conn, tenant, user.school_id).await? {
        None => None,
        Some(id) => {
            let h = handbook::load(&mut *conn, state, user, id).await?;
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
                                    .any(|l| l.assessment == id && l.strand_key == s.key)
                            })
                            .map(|s| StrandChoice {
                                key: s.key.clone(),
                                text: strand_text(&h.fw, s),
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
        layout: ctx.layout("/evidence"),
        e,
        links,
        open,
        errors: Errors::default(),
    })
}

pub async fn get_evidence(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<EvidencePage, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let e = load(&mut tx, &user, id).await?;
    let page = evidence_page(&mut tx, &state, &ctx, &user, e).await?;
    tx.commit().await?;
    Ok(page)
}

/// The file itself: always as an attachment, with the type found at upload, never sniffed.
pub async fn get_download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let e = load(&mut tx, &user, id).await?;
    tx.commit().await?;
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
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let e = load(&mut tx, &user, id).await?;
    let done = sqlx::query(
        "UPDATE evidence SET deleted_at = now(), deleted_by = $3
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(tenant)
    .bind(id)
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &audit_event("evidence.deleted", &user, tenant, id).before(json!({
            "title": e.title,
            "file_name": e.file_name,
            "sha256": e.sha256,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(&state, "/evidence", "evidence-deleted"))
}

// ---------------------------------------------------------------------------------------------
// Links between documents and strands

/// Links document `evidence` to strand `key` of `assessment`; false when it already was.
async fn link(
    conn: &mut PgConnection,
    user: &CurrentUser,
    tenant: Uuid,
    evidence: Uuid,
    assessment: Uuid,
    key: &str,
) -> Result<bool, AppError> {
    let added = sqlx::query(
        "INSERT INTO evidence_link (tenant_id, evidence_id, assessment_id, strand_key, linked_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(evidence)
    .bind(assessment)
    .bind(key)
    .bind(user.id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if added {
        audit::record(
            conn,
            &audit_event("evidence.linked", user, tenant, evidence)
                .after(json!({"assessment": assessment, "strand": key})),
        )
        .await?;
    }
    Ok(added)
}

#[derive(Deserialize)]
pub struct LinkFromStrand {
    #[serde(default)]
    evidence: String,
}

/// From the strand page: link a document of the library to this strand.
pub async fn post_strand_link(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(Uuid, String)>,
    Form(form): Form<LinkFromStrand>,
) -> Result<Response, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let h = handbook::load(&mut tx, &state, &user, id).await?;
    if !h.fw.strands().any(|(_, s)| s.key == key) {
        return Err(AppError::NotFound);
    }
    let evidence = Uuid::parse_str(form.evidence.trim()).map_err(|_| AppError::NotFound)?;
    let e = load(&mut tx, &user, evidence).await?;
    link(&mut tx, &user, tenant, e.id, id, &key).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}/strands/{key}"),
        "evidence-linked",
    ))
}

#[derive(Deserialize)]
pub struct Unlink {
    /// "evidence" when sent from the document's page, to go back there; else the strand page.
    #[serde(default)]
    from: String,
}

pub async fn post_strand_unlink(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key, evidence)): Path<(Uuid, String, Uuid)>,
    Form(form): Form<Unlink>,
) -> Result<Response, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    handbook::load(&mut tx, &state, &user, id).await?;
    let e = load(&mut tx, &user, evidence).await?;
    let removed = sqlx::query(
        "DELETE FROM evidence_link
         WHERE tenant_id = $1 AND evidence_id = $2 AND assessment_id = $3 AND strand_key = $4",
    )
    .bind(tenant)
    .bind(e.id)
    .bind(id)
    .bind(&key)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 1 {
        audit::record(
            &mut tx,
            &audit_event("evidence.unlinked", &user, tenant, e.id)
                .before(json!({"assessment": id, "strand": key})),
        )
        .await?;
    }
    tx.commit().await?;
    let back = if form.from == "evidence" {
        format!("/evidence/{evidence}")
    } else {
        format!("/assessments/{id}/strands/{key}")
    };
    Ok(redirect_with_flash(&state, &back, "evidence-unlinked"))
}

#[derive(Deserialize)]
pub struct LinkFromEvidence {
    #[serde(default)]
    strand: String,
}

/// From the document's page: link it to a strand of the school's open handbook.
pub async fn post_evidence_link(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Form(form): Form<LinkFromEvidence>,
) -> Result<Response, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let e = load(&mut tx, &user, id).await?;
    let Some(assessment) = open_assessment(&mut tx, tenant, user.school_id).await? else {
        return Err(AppError::NotFound);
    };
    let h = handbook::load(&mut tx, &state, &user, assessment).await?;
    let key = form.strand.trim();
    if !h.fw.strands().any(|(_, s)| s.key == key) {
        let mut page = evidence_page(&mut tx, &state, &ctx, &user, e).await?;
        tx.commit().await?;
        page.errors
            .add("strand", "Select the strand to link this document to");
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    link(&mut tx, &user, tenant, e.id, assessment, key).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/evidence/{id}"),
        "evidence-linked",
    ))
}
