//! The strand page, where the school writes its actions and evidence, claims a level and records
//! impact, and the save behind it (the Save button, or autosave asking for JSON).
//!
//! A save is one function, `save`, that decides Saved, Invalid or Conflict in one transaction;
//! `post_strand` answers each outcome as JSON for autosave or as a page, in one place.

use super::{Entry, Handbook, TEXT_LIMIT, entry, level_name};
use crate::assessment::review::{self, Comment};
use crate::auth::{SchoolStaff, Scoped};
use crate::domain::{AssessmentId, LevelKey};
use crate::error::AppError;
use crate::forms::Errors;
use crate::framework::{Framework, Strand, Theme};
use crate::layout::Layout;
use crate::pupil_data;
use crate::web::{Form, Path, redirect_with_flash, wants_json};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// A statement column on the strand page.
pub struct Statement {
    pub level_key: String,
    pub level_name: String,
    pub text: Option<String>,
}

/// A refused save: the other person's saved version, and the level this person chose (this
/// person's texts stay in the form).
pub struct Conflict {
    pub actions: String,
    pub impact: String,
    pub level: String,
    pub saved_by: String,
    pub saved_at: String,
    pub your_level: String,
}

#[derive(sqlx::FromRow)]
pub struct LinkedEvidence {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/strand.html")]
pub struct StrandPage {
    layout: Layout,
    a: super::AssessmentRow,
    theme_number: u32,
    theme_title: String,
    key: String,
    /// The printed number, told apart where it is printed twice: "4.5 (charter)".
    label: String,
    /// The platform's short title of the strand.
    title: String,
    statements: Vec<Statement>,
    prompts: Vec<String>,
    sources: Vec<String>,
    levels: Vec<(String, String)>,
    actions: String,
    impact: String,
    level: String,
    version: i32,
    last_saved: Option<String>,
    errors: Errors,
    pupil_data: Vec<String>,
    conflict: Option<Conflict>,
    prev: Option<(String, String)>,
    next: Option<(String, String)>,
    limit: usize,
    linked: Vec<LinkedEvidence>,
    library: Vec<LinkedEvidence>,
    comments: Vec<Comment>,
    comment_limit: usize,
    /// A comment sent back with a message (too long, empty), kept for the person.
    pub comment_draft: String,
    /// Why the handbook cannot be changed now, if it cannot.
    locked: Option<&'static str>,
    /// Good practice: how many other schools share theirs on this strand, whether the assessor
    /// recommended sharing this school's, and where this school's own offer stands.
    sharing: crate::practice::offer::Sharing,
}

/// Characters allowed in one comment.
pub const COMMENT_LIMIT: usize = 5_000;

pub fn find_strand<'a>(fw: &'a Framework, key: &str) -> Option<(&'a Theme, &'a Strand, usize)> {
    fw.strands()
        .enumerate()
        .find(|(_, (_, s))| s.key == key)
        .map(|(i, (t, s))| (t, s, i))
}

/// The strand page of `key` showing `current` (the saved entry, or what a refused save sent).
async fn strand_page(
    s: &mut Scoped<SchoolStaff>,
    h: &Handbook,
    key: &str,
    current: Option<Entry>,
) -> Result<StrandPage, AppError> {
    let (theme, strand, index) = find_strand(&h.fw, key).ok_or(AppError::NotFound)?;
    let all: Vec<&Strand> = h.fw.strands().map(|(_, s)| s).collect();
    let neighbour = |i: Option<usize>| {
        i.and_then(|i| all.get(i))
            .map(|s| (s.key.clone(), s.heading()))
    };
    let linked = sqlx::query_as(
        "SELECT e.id, e.title, e.file_name FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND l.strand_key = $3 AND e.deleted_at IS NULL ORDER BY e.title",
    )
    .bind(s.tenant)
    .bind(h.a.id)
    .bind(key)
    .fetch_all(&mut *s.tx)
    .await?;
    let library = sqlx::query_as(
        "SELECT e.id, e.title, e.file_name FROM evidence e
         WHERE e.tenant_id = $1 AND e.school_id = $2 AND e.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM evidence_link l WHERE l.tenant_id = e.tenant_id AND l.evidence_id = e.id AND l.assessment_id = $3 AND l.strand_key = $4)
         ORDER BY e.title",
    )
    .bind(s.tenant)
    .bind(h.a.school_id)
    .bind(h.a.id)
    .bind(key)
    .fetch_all(&mut *s.tx)
    .await?;
    let id = crate::domain::AssessmentId(h.a.id);
    let sharing =
        crate::practice::offer::sharing(&mut s.tx, s.tenant, h.a.school_id, id, key).await?;
    let comments = review::comments(&mut s.tx, s.tenant, id, key).await?;
    let locked = review::state(&mut s.tx, s.tenant, id)
        .await?
        .stage
        .locked_reason(s.user.role);
    let e = current.unwrap_or_default();
    Ok(StrandPage {
        comments,
        comment_limit: COMMENT_LIMIT,
        comment_draft: String::new(),
        locked,
        sharing,
        layout: s.layout("/handbook"),
        a: h.a.clone(),
        theme_number: theme.number,
        theme_title: theme.title.clone(),
        key: strand.key.clone(),
        label: strand.reference(),
        title: strand.title.clone(),
        statements: h
            .fw
            .statements_in_order(strand)
            .into_iter()
            .map(|(l, t)| Statement {
                level_key: l.key.clone(),
                level_name: l.name.clone(),
                text: t.map(str::to_string),
            })
            .collect(),
        prompts: theme.prompts.clone(),
        sources: theme.evidence_sources.clone(),
        levels: h
            .fw
            .levels
            .iter()
            .filter(|l| strand.statements.contains_key(&l.key))
            .map(|l| (l.key.clone(), l.name.clone()))
            .collect(),
        last_saved: (e.version > 0).then(|| match &e.saved_by {
            Some(by) => format!("Last saved {} by {by}", e.saved_at),
            None => format!("Last saved {}", e.saved_at),
        }),
        actions: e.actions,
        impact: e.impact,
        level: e.claimed_level.unwrap_or_default(),
        version: e.version,
        errors: Errors::default(),
        pupil_data: Vec::new(),
        conflict: None,
        prev: neighbour(index.checked_sub(1)),
        next: neighbour(Some(index + 1)),
        limit: TEXT_LIMIT,
        linked,
        library,
    })
}

pub async fn get_strand(
    mut s: Scoped<SchoolStaff>,
    Path((id, key)): Path<(AssessmentId, String)>,
) -> Result<StrandPage, AppError> {
    let h = id.load(&mut s).await?;
    let current = entry(&mut s.tx, s.tenant, id, &key).await?;
    strand_page(&mut s, &h, &key, current).await
}

/// The strand page as saved, with a message next to one of its fields (the link form's).
pub async fn page_with_error(
    s: &mut Scoped<SchoolStaff>,
    h: &Handbook,
    key: &str,
    field: &'static str,
    message: &str,
) -> Result<StrandPage, AppError> {
    // (The comment form's errors come back here too, with the draft set by the caller.)
    let current = entry(&mut s.tx, s.tenant, h.a.id, key).await?;
    let mut page = strand_page(s, h, key, current).await?;
    page.errors.add(field, message);
    Ok(page)
}

#[derive(Deserialize, Default)]
pub struct StrandForm {
    #[serde(default)]
    actions: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    version: i32,
    /// Ticked when the person has checked that what looks like pupil data is not.
    #[serde(default)]
    not_pupil_data: Option<String>,
}

/// How a save ended.
enum SaveOutcome {
    /// Written: the entry as it now is.
    Saved(Entry),
    /// Not written: what is wrong with the form, or what looks like pupil data.
    Invalid {
        errors: Errors,
        pupil_data: Vec<String>,
    },
    /// Not written: someone saved a newer version first; theirs is here.
    Conflict(Entry),
}

/// The form's own rules: text limits and a level the strand has.
fn validate(strand: &Strand, form: &StrandForm) -> (Errors, Option<String>) {
    let mut errors = Errors::default();
    for (field, text, what) in [
        ("actions", &form.actions, "Actions and evidence"),
        ("impact", &form.impact, "Evidence of impact"),
    ] {
        let n = text.chars().count();
        if n > TEXT_LIMIT {
            errors.add(field, format!("{what} must be {TEXT_LIMIT} characters or fewer; it is {n}. Nothing has been saved yet"));
        }
    }
    let level = LevelKey::parse_for(strand, &form.level)
        .map_err(|m| errors.add("level", m))
        .ok()
        .flatten()
        .map(|l| l.as_str().to_string());
    (errors, level)
}

/// Checks and writes one save. Every attempt that passes the checks is kept in
/// `strand_revision`, saved or refused, so no typed text is ever thrown away.
async fn save(
    s: &mut Scoped<SchoolStaff>,
    h: &Handbook,
    strand: &Strand,
    form: &StrandForm,
) -> Result<SaveOutcome, AppError> {
    let (errors, level) = validate(strand, form);
    let pupil_data: Vec<String> = if form.not_pupil_data.is_some() {
        Vec::new()
    } else {
        let year = chrono::Utc::now().year();
        pupil_data::find(&form.actions, year)
            .into_iter()
            .chain(pupil_data::find(&form.impact, year))
            .map(|f| f.describe())
            .collect()
    };
    if !errors.is_empty() || !pupil_data.is_empty() {
        return Ok(SaveOutcome::Invalid { errors, pupil_data });
    }
    let (tenant, id, key) = (s.tenant, h.a.id, strand.key.as_str());
    let before = entry(&mut s.tx, tenant, id, key).await?;
    let written = if form.version == 0 {
        sqlx::query(
            "INSERT INTO strand_entry (tenant_id, assessment_id, strand_key, actions, impact, claimed_level, version, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (assessment_id, strand_key) DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(key)
        .bind(&form.actions)
        .bind(&form.impact)
        .bind(&level)
        .bind(s.user.id)
        .execute(&mut *s.tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE strand_entry SET actions = $5, impact = $6, claimed_level = $7, version = version + 1,
                    updated_at = now(), updated_by = $8
             WHERE tenant_id = $1 AND assessment_id = $2 AND strand_key = $3 AND version = $4",
        )
        .bind(tenant)
        .bind(id)
        .bind(key)
        .bind(form.version)
        .bind(&form.actions)
        .bind(&form.impact)
        .bind(&level)
        .bind(s.user.id)
        .execute(&mut *s.tx)
        .await?
    }
    .rows_affected()
        == 1;
    let revision: i64 = sqlx::query_scalar(
        "INSERT INTO strand_revision (tenant_id, assessment_id, strand_key, based_on_version, actions, impact, claimed_level, outcome, saved_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant)
    .bind(id)
    .bind(key)
    .bind(form.version)
    .bind(&form.actions)
    .bind(&form.impact)
    .bind(&level)
    .bind(if written { "saved" } else { "conflict" })
    .bind(s.user.id)
    .fetch_one(&mut *s.tx)
    .await?;
    if !written {
        // Someone saved in between: keep both, show both, overwrite nothing.
        let theirs = entry(&mut s.tx, tenant, id, key).await?.unwrap_or_default();
        return Ok(SaveOutcome::Conflict(theirs));
    }
    let subject = format!("{id}/{key}");
    let mut event = s
        .event("strand.saved")
        .school(Some(h.a.school_id))
        .subject("strand", &subject)
        // The texts live in the revision; the log keeps a reference to it, not a second copy.
        .after(json!({"revision": revision, "claimed_level": level}));
    if let Some(b) = &before {
        event = event.before(json!({"claimed_level": b.claimed_level}));
    }
    s.record(event).await?;
    if form.not_pupil_data.is_some() {
        let confirmed = s
            .event("pupil_data.confirmed_absent")
            .school(Some(h.a.school_id))
            .subject("strand", &subject);
        s.record(confirmed).await?;
    }
    let now = entry(&mut s.tx, tenant, id, key).await?.unwrap_or_default();
    Ok(SaveOutcome::Saved(now))
}

/// Saves a strand and answers: JSON for autosave, a page (or a redirect) for the Save button.
pub async fn post_strand(
    mut s: Scoped<SchoolStaff>,
    headers: HeaderMap,
    Path((id, key)): Path<(AssessmentId, String)>,
    Form(form): Form<StrandForm>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    let (_, strand, _) = find_strand(&h.fw, &key).ok_or(AppError::NotFound)?;
    let stage = review::state(&mut s.tx, s.tenant, id).await?.stage;
    if let Some(why) = stage.locked_reason(s.user.role) {
        // Nothing is saved, and nothing typed is lost: the text comes back on the page.
        if wants_json(&headers) {
            let body = json!({"status": "locked", "message": why});
            return Ok((StatusCode::CONFLICT, axum::Json(body)).into_response());
        }
        let current = entry(&mut s.tx, s.tenant, id, &key).await?;
        let mut page = strand_page(&mut s, &h, &key, current).await?;
        page.actions = form.actions;
        page.impact = form.impact;
        page.level = form.level;
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let outcome = save(&mut s, &h, strand, &form).await?;
    if wants_json(&headers) {
        s.commit().await?;
        let (status, body) = match outcome {
            SaveOutcome::Saved(now) => (
                StatusCode::OK,
                json!({"status": "saved", "strand": key, "version": now.version, "saved_at": now.saved_at}),
            ),
            SaveOutcome::Invalid { errors, pupil_data } => {
                let message = if pupil_data.is_empty() {
                    errors
                        .iter()
                        .map(|(_, m)| m.clone())
                        .collect::<Vec<_>>()
                        .join(". ")
                } else {
                    "This may contain pupils' personal data. Press Save to check it".to_string()
                };
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"status": "invalid", "message": message}),
                )
            }
            SaveOutcome::Conflict(_) => (
                StatusCode::CONFLICT,
                json!({"status": "conflict", "strand": key, "message": "Someone else saved this strand. Press Save to see both versions"}),
            ),
        };
        return Ok((status, axum::Json(body)).into_response());
    }
    match outcome {
        SaveOutcome::Saved(_) => {
            let state = s.state.clone();
            s.commit().await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/assessments/{id}/strands/{key}"),
                "strand-saved",
            ))
        }
        SaveOutcome::Invalid { errors, pupil_data } => {
            let current = entry(&mut s.tx, s.tenant, id, &key).await?;
            let mut page = strand_page(&mut s, &h, &key, current).await?;
            s.commit().await?;
            // The form comes back with exactly what the person typed.
            page.actions = form.actions;
            page.impact = form.impact;
            page.level = form.level;
            page.version = form.version;
            page.errors = errors;
            page.pupil_data = pupil_data;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        SaveOutcome::Conflict(theirs) => {
            let mut page = strand_page(&mut s, &h, &key, Some(theirs.clone())).await?;
            s.commit().await?;
            page.conflict = Some(Conflict {
                level: level_name(&h.fw, theirs.claimed_level.as_deref()),
                actions: theirs.actions,
                impact: theirs.impact,
                saved_by: theirs.saved_by.unwrap_or_else(|| "someone".into()),
                saved_at: theirs.saved_at,
                your_level: level_name(&h.fw, Some(form.level.as_str())),
            });
            // The form holds the person's own text, ready to save over theirs on purpose.
            page.actions = form.actions;
            page.impact = form.impact;
            page.level = form.level;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}
