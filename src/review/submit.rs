//! Approving and submitting: the head teacher's confirmation page, the frozen snapshot of the
//! handbook, the email to the assessor with the handbook PDF, and the assessor's view of what was
//! submitted.

use super::notice::{self, Notice, Recipient};
use super::{link, move_stage};
use crate::assessment::deadline;
use crate::assessment::review::{self, record_step};
use crate::assessment::{Handbook, Stage};
use crate::auth::{Assessors, HeadTeachers, Scoped};
use crate::best_fit_setting;
use crate::dates::{self, uk_time_sql};
use crate::domain::{AssessmentId, SubmissionId};
use crate::error::AppError;
use crate::framework;
use crate::handbook::{self, export, level_name};
use crate::layout::Layout;
use crate::mail::Attachment;
use crate::web::{Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// What was submitted, frozen: read back by the assessor's page.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub school: String,
    pub cohort: String,
    pub framework: String,
    pub overall: String,
    pub overall_reason: String,
    pub themes: Vec<SnapshotTheme>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SnapshotTheme {
    pub number: u32,
    pub title: String,
    pub fit: String,
    pub reason: String,
    pub strands: Vec<SnapshotStrand>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SnapshotStrand {
    pub key: String,
    pub label: String,
    pub actions: String,
    pub impact: String,
    pub claimed_level: Option<String>,
    pub claimed: String,
    pub documents: Vec<SnapshotDocument>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SnapshotDocument {
    #[serde(skip)]
    pub strand_key: String,
    pub title: String,
    pub file_name: String,
    pub sha256: String,
}

/// The handbook as it stands in this transaction.
async fn snapshot(s: &mut Scoped<HeadTeachers>, h: &Handbook) -> Result<Snapshot, AppError> {
    let id = AssessmentId(h.a.id);
    let entries = handbook::entries(&mut s.tx, s.tenant, id).await?;
    let documents: Vec<SnapshotDocument> = sqlx::query_as(
        "SELECT l.strand_key, e.title, e.file_name, e.sha256
         FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND e.deleted_at IS NULL
         ORDER BY l.strand_key, e.title",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_all(&mut *s.tx)
    .await?;
    let rule = best_fit_setting::in_force(&mut s.tx, s.tenant, &h.fw).await?;
    let fit = framework::best_fit(&h.fw, &rule.rule, &handbook::claims(&entries));
    let themes =
        h.fw.themes
            .iter()
            .zip(&fit.themes)
            .map(|(t, tf)| SnapshotTheme {
                number: t.number,
                title: t.title.clone(),
                fit: level_name(&h.fw, tf.level.as_deref()),
                reason: tf.reason.clone(),
                strands: t
                    .strands
                    .iter()
                    .map(|st| {
                        let e = entries.get(&st.key);
                        let claimed_level = e.and_then(|e| e.claimed_level.clone());
                        SnapshotStrand {
                            key: st.key.clone(),
                            label: st.label.clone(),
                            actions: e.map(|e| e.actions.clone()).unwrap_or_default(),
                            impact: e.map(|e| e.impact.clone()).unwrap_or_default(),
                            claimed: claimed_level
                                .as_deref()
                                .and_then(|k| h.fw.level(k))
                                .map_or_else(|| "None".to_string(), |l| l.name.clone()),
                            claimed_level,
                            documents: documents
                                .iter()
                                .filter(|d| d.strand_key == st.key)
                                .cloned()
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect();
    Ok(Snapshot {
        school: h.a.school_name.clone(),
        cohort: h.a.cohort_name.clone(),
        framework: format!("{} ({})", h.fw.name, h.fw.version),
        overall: level_name(&h.fw, fit.overall.as_deref()),
        overall_reason: format!("{} {}", fit.reason, rule.attribution()),
        themes,
    })
}

/// The assigned assessor, who must exist before a handbook can be submitted.
async fn assessor(
    s: &mut Scoped<HeadTeachers>,
    id: AssessmentId,
) -> Result<Option<(Uuid, Recipient)>, AppError> {
    let row: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, u.email FROM assessment a
         JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.assessor_id AND u.active
         WHERE a.tenant_id = $1 AND a.id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?;
    Ok(row.map(|(id, name, email)| (id, Recipient { name, email })))
}

#[derive(Template, WebTemplate)]
#[template(path = "review/submit.html")]
pub struct SubmitPage {
    layout: Layout,
    id: AssessmentId,
    school: String,
    cohort: String,
    assessor: Option<String>,
    visit: Option<String>,
    deadline: String,
    written: usize,
    strands: usize,
    overall: String,
}

async fn submit_page(
    s: &mut Scoped<HeadTeachers>,
    id: AssessmentId,
) -> Result<SubmitPage, AppError> {
    let h = id.load(s).await?;
    let st = review::state(&mut s.tx, s.tenant, id).await?;
    if !st.stage.with_head() {
        return Err(AppError::Locked(
            "The handbook is not with you for review at the moment.",
        ));
    }
    let snap = snapshot(s, &h).await?;
    let (dl, _, _) = deadline::load(&mut s.tx, s.tenant, st.visit_at).await?;
    let all: Vec<&SnapshotStrand> = snap.themes.iter().flat_map(|t| &t.strands).collect();
    Ok(SubmitPage {
        layout: s.layout("/handbook"),
        id,
        school: snap.school.clone(),
        cohort: snap.cohort.clone(),
        assessor: st.assessor.clone(),
        visit: st.visit_label(),
        deadline: dl.describe(),
        written: all.iter().filter(|x| !x.actions.trim().is_empty()).count(),
        strands: all.len(),
        overall: snap.overall,
    })
}

/// The head's confirmation page: what will be sent, to whom.
pub async fn get_submit(
    mut s: Scoped<HeadTeachers>,
    Path(id): Path<AssessmentId>,
) -> Result<SubmitPage, AppError> {
    submit_page(&mut s, id).await
}

/// Approves and submits: freezes the snapshot, stops further edits, and emails the assessor a
/// link and the handbook PDF.
pub async fn post_submit(
    mut s: Scoped<HeadTeachers>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    let Some((assessor_id, assessor)) = assessor(&mut s, id).await? else {
        // The page says so; nothing changes until the authority assigns one.
        let page = submit_page(&mut s, id).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    move_stage(&mut s, id, &[Stage::WithHead], Stage::Submitted).await?;
    let snap = snapshot(&mut s, &h).await?;
    let st = review::state(&mut s.tx, s.tenant, id).await?;
    // A late submission is accepted, and flagged with how late it is.
    let (dl, cal, today) = deadline::load(&mut s.tx, s.tenant, st.visit_at).await?;
    let late_by = dl
        .date()
        .and_then(|d| cal.working_days_late(d, today).ok())
        .and_then(|n| i32::try_from(n).ok());
    let submission = SubmissionId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO submission (id, tenant_id, assessment_id, submitted_by, visit_at, deadline, late_by, snapshot)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(submission)
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .bind(st.visit_at)
    .bind(dl.date())
    .bind(late_by)
    .bind(sqlx::types::Json(&snap))
    .execute(&mut *s.tx)
    .await?;
    // No reminder of a deadline that has been met.
    super::reminders::cancel(&mut s.tx, s.tenant, id).await?;
    record_step(&mut s.tx, s.tenant, id, "submitted", s.user.id, "").await?;
    // The same document the school can print, laid out at this moment: it is what was frozen.
    let (doc, _) = export::build(&mut s, id).await?;
    let pdf = export::render_pdf(&doc).await?;
    let visit = st
        .visit_label()
        .unwrap_or_else(|| "not arranged yet".to_string());
    let mut paragraphs = vec![format!(
        "{}, head teacher, has approved and submitted the Attendance Quality Mark handbook of {} for your assessment visit ({visit}).",
        s.user.name, snap.school
    )];
    if let (Some(n), Some(d)) = (late_by.filter(|n| *n > 0), dl.date_label()) {
        paragraphs.push(format!("{}: the deadline was {d}.", review::late_label(n)));
    }
    paragraphs.push("The handbook is attached as a PDF. The submitted version, with its evidence documents, is also in the service.".into());
    let late_subject = if late_by.is_some_and(|n| n > 0) {
        " (late)"
    } else {
        ""
    };
    let n = Notice {
        name: String::new(),
        subject: format!(
            "Handbook submitted{late_subject}: {}, cohort {}",
            snap.school, snap.cohort
        ),
        paragraphs,
        link: Some((
            "Read the submitted handbook".into(),
            link(&s, &format!("/submissions/{submission}")),
        )),
        attachment: Some(Attachment {
            name: format!("{}.pdf", export::base_name(&doc)),
            content_type: "application/pdf".into(),
            bytes: pdf,
        }),
    };
    notice::send(&mut s.tx, s.tenant, &assessor, n).await?;
    let submitted = s
        .event("handbook.submitted")
        .subject("assessment", id)
        .after(json!({"stage": Stage::Submitted.as_str(), "submission": submission, "assessor": assessor_id, "late_by_working_days": late_by}));
    s.record(submitted).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}"),
        "submitted",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "review/submission.html")]
pub struct SubmissionPage {
    layout: Layout,
    snap: Snapshot,
    late: Option<String>,
    deadline: Option<String>,
    submitted_by: String,
    submitted_at: String,
}

/// What a school submitted, for the assessor assigned to it; 404 for anyone else's.
pub async fn get_submission(
    mut s: Scoped<Assessors>,
    Path(id): Path<SubmissionId>,
) -> Result<SubmissionPage, AppError> {
    let row: (
        sqlx::types::Json<Snapshot>,
        String,
        String,
        Option<i32>,
        Option<chrono::NaiveDate>,
    ) = sqlx::query_as(concat!(
        "SELECT sub.snapshot, u.name, ",
        uk_time_sql!("sub.submitted_at"),
        ", sub.late_by, sub.deadline
         FROM submission sub
         JOIN assessment a ON a.tenant_id = sub.tenant_id AND a.id = sub.assessment_id
         JOIN app_user u ON u.tenant_id = sub.tenant_id AND u.id = sub.submitted_by
         WHERE sub.tenant_id = $1 AND sub.id = $2 AND a.assessor_id = $3"
    ))
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(SubmissionPage {
        layout: s.layout("/home"),
        snap: row.0.0,
        submitted_by: row.1,
        submitted_at: row.2,
        late: row.3.filter(|n| *n > 0).map(review::late_label),
        deadline: row.4.map(dates::weekday_date),
    })
}
