//! Uploading a document. The form is read as it arrives, the file chunk by chunk, so no more than
//! the limit is ever held and no database connection is taken while a large file comes in over a
//! slow school connection: the handler takes `Actor`, and opens its transaction only to write.
//!
//! Pupils' personal data: a text or CSV file is read before it is kept. When something looks like
//! a Unique Pupil Number or a date of birth beside a name, nothing is stored; the upload page comes
//! back with the details still filled in, says what was found, and asks for the file again, either
//! corrected or with a box ticked to confirm it holds no pupil data. A confirmation counts only for
//! the very file that was warned about (the page carries its SHA-256), and is written to the audit
//! log. Browsers cannot keep a chosen file across pages, and holding an unconfirmed file would mean
//! keeping the very data the warning is about, so asking again is the honest way.

use super::content::{self, Kind};
use super::event;
use super::rules::{self, Details, ValidDetails};
use crate::auth::{Actor, SchoolStaff, Scoped};
use crate::error::AppError;
use crate::forms::{DateInput, Errors};
use crate::layout::Layout;
use crate::pupil_data;
use crate::state::AppState;
use crate::store::ContentHash;
use crate::web::redirect_with_flash;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// Multipart text fields (title, description, date parts) are read up to this many bytes; more
/// than that cannot be valid anyway and is cut off for the validation message.
const TEXT_FIELD_LIMIT: usize = 16 * 1024;
/// Room above the file limit for the form's other fields and the multipart framing, for the
/// route's body limit.
pub const FORM_OVERHEAD: usize = 256 * 1024;

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

fn upload_page(layout: Layout, state: &AppState) -> UploadPage {
    UploadPage {
        layout,
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

pub async fn get_upload(a: Actor<SchoolStaff>) -> Result<UploadPage, AppError> {
    Ok(upload_page(a.layout("/evidence"), &a.state))
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
    // Control characters are dropped as in every other form (see `web::strip_controls`).
    Ok(crate::web::strip_controls(&String::from_utf8_lossy(&bytes)).into_owned())
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
    a: Actor<SchoolStaff>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let school = a.user.school_id.ok_or(AppError::Forbidden)?;
    let state = a.state.clone();
    let limit = state.config.upload_limit();
    let mut form = UploadForm::default();
    let outcome = read_form(&mut multipart, limit, &mut form).await;

    let mut page = upload_page(a.layout("/evidence"), &state);
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

    let id = Uuid::new_v4();
    let s = a.begin().await?;
    // Kept in a task of its own: if the request is dropped half way (the browser went away, the
    // time limit passed), storing and committing still finish together, or are undone together.
    let kept = tokio::spawn(keep(
        s,
        Upload {
            id,
            school,
            details,
            file,
            kind,
            confirmed_findings,
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("keeping an upload failed: {e}"))?;
    kept?;
    Ok(redirect_with_flash(
        &state,
        &format!("/evidence/{id}"),
        "evidence-uploaded",
    ))
}

/// An upload that passed every check, ready to keep.
struct Upload {
    id: Uuid,
    school: Uuid,
    details: ValidDetails,
    file: Received,
    kind: Kind,
    confirmed_findings: Vec<pupil_data::Finding>,
}

/// Writes the row and its audit events, stores the file, and commits. Uploads of the same content
/// take turns (files are shared by content), so a file is removed only when no committed row
/// names it and no other upload is about to: a failure after the file was written leaves no
/// orphan, and no row ever names a missing file (the row commits after the file is in place).
async fn keep(mut s: Scoped<SchoolStaff>, u: Upload) -> Result<(), AppError> {
    let state = s.state.clone();
    let Upload {
        id,
        school,
        details,
        file,
        kind,
        confirmed_findings,
    } = u;
    lock_content(&mut s.tx, &file.hash).await?;
    let already_stored = state
        .store
        .exists(&file.hash)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the evidence store: {e}"))?;
    let (tenant, by) = (s.tenant, s.user.id);
    insert(&mut s.tx, tenant, school, id, &details, &file, kind, by).await?;
    let uploaded = event(&s, "evidence.uploaded", id).after(json!({
            "title": details.title,
            "evidence_date": details.date,
            "description": details.description,
            "file_name": file.name,
            "content_type": kind.content_type(),
            "size_bytes": file.bytes.len(),
            "sha256": file.hash.as_str(),
            "already_stored": already_stored,
    }));
    s.record(uploaded).await?;
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
        let confirmed = event(&s, "pupil_data.confirmed_absent", id).after(json!({
            "sha256": file.hash.as_str(),
            "file_name": file.name,
            "findings": findings,
        }));
        s.record(confirmed).await?;
    }
    let stored_new = state
        .store
        .put(&file.hash, &file.bytes)
        .await
        .map_err(|e| anyhow::anyhow!("cannot store evidence file {}: {e}", file.hash))?;
    if let Err(e) = s.commit().await {
        if stored_new && let Err(cleanup) = remove_if_unused(&state, &file.hash).await {
            tracing::error!(error = %cleanup, hash = %file.hash, "an unused evidence file was left in the store");
        }
        return Err(e);
    }
    Ok(())
}

/// Uploads of one content take turns until their transaction ends (the lock's second key is a
/// hash of the content hash; two contents sharing it only wait for each other).
async fn lock_content(conn: &mut PgConnection, hash: &ContentHash) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CONTENT)
        .bind(hash.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The first key of `lock_content`'s advisory lock.
const LOCK_CONTENT: i32 = 0x5167_0003;

/// Removes the file of `hash` unless a row of any school names it. Run after an upload that
/// wrote it failed; takes the content's turn, so no upload of it is between storing and commit.
async fn remove_if_unused(state: &AppState, hash: &ContentHash) -> anyhow::Result<()> {
    let mut tx = state.db.system().begin().await?;
    lock_content(&mut tx, hash).await?;
    let used: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = $1)")
        .bind(hash.as_str())
        .fetch_one(&mut *tx)
        .await?;
    if !used {
        state.store.remove(hash).await?;
    }
    tx.commit().await?;
    Ok(())
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
