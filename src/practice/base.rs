//! The resource base: every signed-in lead, head, assessor and officer of the authority browses
//! the published practice by key theme and strand, phase and award, searches its words, reads an
//! entry with its documents, and asks the school about it through the service (the contact's
//! email address is shown only if they chose so).

use super::{ENTRY_SELECT, Entry, Status, documents};
use crate::admin::school_types::Phase;
use crate::auth::{Members, Scoped};
use crate::domain::{DocumentId, PracticeId};
use crate::error::AppError;
use crate::evidence::{EvidenceRow, FILE_COLUMNS};
use crate::forms::Errors;
use crate::layout::Layout;
use crate::review::notice::{self, Notice, Recipient};
use crate::web::{Form, Path, Query, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

#[derive(Deserialize, Default, Clone)]
pub struct Browse {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub strand: String,
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub level: String,
}

/// Search words longer than this are cut: a search box, not a document.
const QUERY_LIMIT: usize = 200;

#[derive(Template, WebTemplate)]
#[template(path = "practice/resource_base.html")]
pub struct BasePage {
    layout: Layout,
    f: Browse,
    entries: Vec<Entry>,
    themes: Vec<(u32, String)>,
    strands: Vec<(String, String)>,
    phases: Vec<(&'static str, &'static str)>,
    levels: Vec<(String, String)>,
    filtered: bool,
    is_officer: bool,
    /// Other authorities' shared entries, when this authority shares too.
    wide: Option<Vec<super::wide::WideEntry>>,
}

pub async fn get_base(
    mut s: Scoped<Members>,
    Query(f): Query<Browse>,
) -> Result<BasePage, AppError> {
    let q: String = f.q.trim().chars().take(QUERY_LIMIT).collect();
    let theme: Option<i32> = f.theme.trim().parse().ok();
    let phase = Phase::ALL
        .iter()
        .find(|p| p.as_str() == f.phase)
        .map(|p| p.as_str());
    let level = (!f.level.is_empty()).then_some(f.level.as_str());
    let strand = (!f.strand.is_empty()).then_some(f.strand.as_str());
    // Published only, whatever the viewer's role: the base shows nothing else.
    let entries: Vec<Entry> = sqlx::query_as(&format!(
        "SELECT * FROM ({ENTRY_SELECT}
           WHERE p.tenant_id = $1 AND p.status = 'published'
             AND ($2 = '' OR p.search @@ websearch_to_tsquery('english', $2))
             AND ($3::int IS NULL OR p.theme_number = $3)
             AND ($4::text IS NULL OR p.strand_key = $4)
             AND ($5::text IS NULL OR s.phase = $5)
           ORDER BY CASE WHEN $2 = '' THEN 0 ELSE ts_rank(p.search, websearch_to_tsquery('english', $2)) END DESC,
                    p.theme_number, p.strand_key, s.name) x
         WHERE $6::text IS NULL OR coalesce(x.award, 'none') = $6"
    ))
    .bind(s.tenant)
    .bind(&q)
    .bind(theme)
    .bind(strand)
    .bind(phase)
    .bind(level)
    .fetch_all(&mut *s.tx)
    .await?;
    let fw = {
        let key: String = sqlx::query_scalar("SELECT framework_key FROM tenant WHERE id = $1")
            .bind(s.tenant)
            .fetch_one(&mut *s.tx)
            .await?;
        s.state.catalogue.current(&key)
    };
    let (themes, strands, levels) = match &fw {
        Some(fw) => (
            fw.themes
                .iter()
                .map(|t| (t.number, t.title.clone()))
                .collect(),
            fw.strands()
                .map(|(_, st)| (st.key.clone(), format!("{}: {}", st.reference(), st.title)))
                .collect(),
            fw.levels
                .iter()
                .rev()
                .map(|l| (l.key.clone(), l.name.clone()))
                .chain([("none".to_string(), "No award yet".to_string())])
                .collect(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let wide = if super::wide::opted_in(&mut s.tx, s.tenant).await? {
        Some(super::wide::entries(s.state.db.system(), s.tenant, &q, theme, strand, phase).await?)
    } else {
        None
    };
    Ok(BasePage {
        wide,
        is_officer: matches!(
            s.user.role,
            crate::auth::Role::LaOfficer | crate::auth::Role::TenantAdmin
        ),
        layout: s.layout("/practice"),
        filtered: !(q.is_empty()
            && theme.is_none()
            && strand.is_none()
            && phase.is_none()
            && level.is_none()),
        f: Browse { q, ..f },
        entries,
        themes,
        strands,
        phases: Phase::ALL.iter().map(|p| (p.as_str(), p.label())).collect(),
        levels,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "practice/entry.html")]
pub struct EntryPage {
    layout: Layout,
    e: Entry,
    docs: Vec<(Uuid, String, String, String, String)>,
    own_school: bool,
    is_officer: bool,
    errors: Errors,
    message: String,
}

async fn entry_page(
    s: &mut Scoped<Members>,
    id: PracticeId,
    errors: Errors,
    message: String,
) -> Result<EntryPage, AppError> {
    let e = id.load(s).await?;
    let docs = documents(&mut s.tx, s.tenant, e.id).await?;
    Ok(EntryPage {
        layout: s.layout("/practice"),
        own_school: s.user.school_id == Some(e.school_id),
        is_officer: matches!(
            s.user.role,
            crate::auth::Role::LaOfficer | crate::auth::Role::TenantAdmin
        ),
        e,
        docs,
        errors,
        message,
    })
}

pub async fn get_entry(
    mut s: Scoped<Members>,
    Path(id): Path<PracticeId>,
) -> Result<EntryPage, AppError> {
    entry_page(&mut s, id, Errors::default(), String::new()).await
}

pub async fn get_document(
    mut s: Scoped<Members>,
    Path((id, doc)): Path<(PracticeId, DocumentId)>,
) -> Result<Response, AppError> {
    id.load(&mut s).await?;
    let e: EvidenceRow = sqlx::query_as(&format!(
        "{FILE_COLUMNS}
         FROM practice_document d JOIN evidence e ON e.tenant_id = d.tenant_id AND e.id = d.evidence_id
         WHERE d.tenant_id = $1 AND d.practice_id = $2 AND d.evidence_id = $3 AND e.deleted_at IS NULL"
    ))
    .bind(s.tenant)
    .bind(id)
    .bind(doc)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let state = s.state.clone();
    drop(s);
    crate::evidence::document::file_response(&state, &e).await
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    message: String,
}

pub const MESSAGE_LIMIT: usize = 2_000;

/// "Contact this school": the message is emailed to the contact with the sender's name and
/// address, so they can answer; the contact's own address stays hidden unless they chose to show it.
pub async fn post_contact(
    mut s: Scoped<Members>,
    Path(id): Path<PracticeId>,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let message = form.message.trim().to_string();
    let mut errors = Errors::default();
    if e.status() != Status::Published {
        errors.add("message", "Only published practice can be asked about");
    } else if message.is_empty() {
        errors.add("message", "Write your message to the school");
    } else if message.chars().count() > MESSAGE_LIMIT {
        errors.add(
            "message",
            format!("Your message must be {MESSAGE_LIMIT} characters or fewer"),
        );
    }
    if !errors.is_empty() {
        let page = entry_page(&mut s, id, errors, message).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query(
        "INSERT INTO practice_contact (id, tenant_id, practice_id, sender_id, message) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .bind(&message)
    .execute(&mut *s.tx)
    .await?;
    let from = match &s.user.school_name {
        Some(school) => format!("{} ({}, {})", s.user.name, s.user.role.label(), school),
        None => format!("{} ({})", s.user.name, s.user.role.label()),
    };
    let n = Notice {
        name: String::new(),
        subject: format!(
            "A question about your practice on strand {}",
            e.strand_label
        ),
        paragraphs: vec![
            format!(
                "{from} read your school's practice on strand {} and writes:",
                e.strand_label
            ),
            message,
            format!("To answer, write to {} at {}.", s.user.name, s.user.email),
        ],
        link: Some((
            "Read the entry".to_string(),
            crate::review::link(&s, &format!("/practice/{id}")),
        )),
        attachment: None,
    };
    let to = Recipient {
        name: e.contact.clone(),
        email: e.contact_email.clone(),
    };
    notice::send(&mut s.tx, s.tenant, &to, n).await?;
    let asked = s
        .event("practice.contacted")
        .subject("practice", id)
        .after(json!({"school_id": e.school_id}));
    s.record(asked).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/practice/{id}"),
        "practice-contacted",
    ))
}
