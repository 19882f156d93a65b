//! The head teacher's review and the submission to the assessor.
//!
//! The Attendance Lead sends the handbook to the head teacher; lead and head comment on strands;
//! the head returns it with a message (the lead edits again) or approves and submits it, which
//! freezes a snapshot (`submit`) and emails the assessor a link and the handbook PDF. An LA
//! officer assigns the assessor and sets the visit (`visit`), and can reopen a submitted handbook
//! with a reason. Every step is audited and shown on the handbook's timeline.

/// Lead and head: the school's people told of visits, reopenings and deadlines.
pub const SCHOOL_ROLES: [Role; 2] = [Role::AttendanceLead, Role::HeadTeacher];

pub mod notice;
pub mod reminders;
pub mod submit;
pub mod visit;

use crate::assessment::Stage;
use crate::assessment::review::{self, record_step};
use crate::auth::{AttendanceLeads, HeadTeachers, Role, SchoolStaff, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::handbook::strand::{COMMENT_LIMIT, find_strand, page_with_error};
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use notice::Notice;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// Characters allowed in the head's message when returning the handbook.
pub const MESSAGE_LIMIT: usize = 5_000;

/// Sets the stage of `id`, but only from one of `from` (another person may have moved it first).
async fn move_stage<R: crate::auth::Roles>(
    s: &mut Scoped<R>,
    id: AssessmentId,
    from: &[Stage],
    to: Stage,
) -> Result<(), AppError> {
    let from: Vec<&str> = from.iter().map(|st| st.as_str()).collect();
    let moved = sqlx::query(
        "UPDATE assessment SET stage = $3 WHERE tenant_id = $1 AND id = $2 AND stage = ANY($4)",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(to.as_str())
    .bind(&from)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    if moved == 1 {
        Ok(())
    } else {
        Err(AppError::Locked(
            "The handbook has moved on since this page was opened. Go back to the handbook to see where it is now.",
        ))
    }
}

/// A link into the service.
pub fn link(s: &Scoped<impl crate::auth::Roles>, path: &str) -> String {
    format!("{}{path}", s.state.config.base_url())
}

/// The lead sends the handbook to the head teacher (who is emailed).
pub async fn post_send_to_head(
    mut s: Scoped<AttendanceLeads>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    move_stage(
        &mut s,
        id,
        &[Stage::InProgress, Stage::Returned],
        Stage::WithHead,
    )
    .await?;
    record_step(&mut s.tx, s.tenant, id, "sent_to_head", s.user.id, "").await?;
    let heads =
        notice::school_staff(&mut s.tx, s.tenant, h.a.school_id, &[Role::HeadTeacher]).await?;
    for head in &heads {
        let n = Notice {
            name: String::new(),
            subject: format!("{}'s handbook is ready for you to review", h.a.school_name),
            paragraphs: vec![
                format!(
                    "{} has sent you the Attendance Quality Mark handbook of {}, cohort {}, to review.",
                    s.user.name, h.a.school_name, h.a.cohort_name
                ),
                "Read each strand and comment where something should change. Then return it to the Attendance Lead, or approve it and submit it to the assessor.".into(),
            ],
            link: Some(("Open the handbook".into(), link(&s, &format!("/assessments/{id}")))),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, head, n).await?;
    }
    let sent = s
        .event("handbook.sent_to_head")
        .subject("assessment", id)
        .after(json!({"stage": Stage::WithHead.as_str(), "heads_emailed": heads.len()}));
    s.record(sent).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}"),
        "sent-to-head",
    ))
}

#[derive(Deserialize, Default)]
pub struct CommentForm {
    #[serde(default)]
    comment: String,
}

/// A comment on a strand, by the lead or the head.
pub async fn post_comment(
    mut s: Scoped<SchoolStaff>,
    Path((id, key)): Path<(AssessmentId, String)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    find_strand(&h.fw, &key).ok_or(AppError::NotFound)?;
    let body = form.comment.trim();
    let problem = if body.is_empty() {
        Some("Enter a comment".to_string())
    } else if body.chars().count() > COMMENT_LIMIT {
        Some(format!(
            "A comment must be {COMMENT_LIMIT} characters or fewer; it is {}",
            body.chars().count()
        ))
    } else if body.contains('\0') {
        Some("A comment must not contain a NUL character".to_string())
    } else {
        None
    };
    if let Some(message) = problem {
        let mut page = page_with_error(&mut s, &h, &key, "comment", &message).await?;
        page.comment_draft = form.comment;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let comment = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO strand_comment (id, tenant_id, assessment_id, strand_key, author_id, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(comment)
    .bind(s.tenant)
    .bind(id)
    .bind(&key)
    .bind(s.user.id)
    .bind(body)
    .execute(&mut *s.tx)
    .await?;
    let written = s
        .event("strand.commented")
        .school(Some(h.a.school_id))
        .subject("strand", format!("{id}/{key}"))
        .after(json!({"comment": comment}));
    s.record(written).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}/strands/{key}#comments"),
        "comment-added",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "review/return.html")]
pub struct ReturnPage {
    layout: Layout,
    id: AssessmentId,
    school: String,
    errors: Errors,
    message: String,
    limit: usize,
}

/// The head's form to return the handbook with a message.
pub async fn get_return(
    mut s: Scoped<HeadTeachers>,
    Path(id): Path<AssessmentId>,
) -> Result<ReturnPage, AppError> {
    let h = id.load(&mut s).await?;
    if !review::state(&mut s.tx, s.tenant, id)
        .await?
        .stage
        .with_head()
    {
        return Err(AppError::Locked(
            "The handbook is not with you for review at the moment.",
        ));
    }
    Ok(ReturnPage {
        layout: s.layout("/handbook"),
        id,
        school: h.a.school_name,
        errors: Errors::default(),
        message: String::new(),
        limit: MESSAGE_LIMIT,
    })
}

#[derive(Deserialize, Default)]
pub struct ReturnForm {
    #[serde(default)]
    message: String,
}

/// The head returns the handbook to the lead with a message (the lead is emailed).
pub async fn post_return(
    mut s: Scoped<HeadTeachers>,
    Path(id): Path<AssessmentId>,
    Form(form): Form<ReturnForm>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    let message = form.message.trim().to_string();
    let mut errors = Errors::default();
    if message.is_empty() {
        errors.add(
            "message",
            "Enter a message saying what the Attendance Lead should change",
        );
    } else if message.chars().count() > MESSAGE_LIMIT {
        errors.add(
            "message",
            format!("The message must be {MESSAGE_LIMIT} characters or fewer"),
        );
    } else if message.contains('\0') {
        errors.add("message", "The message must not contain a NUL character");
    }
    if !errors.is_empty() {
        let page = ReturnPage {
            layout: s.layout("/handbook"),
            id,
            school: h.a.school_name,
            errors,
            message: form.message,
            limit: MESSAGE_LIMIT,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    move_stage(&mut s, id, &[Stage::WithHead], Stage::Returned).await?;
    record_step(&mut s.tx, s.tenant, id, "returned", s.user.id, &message).await?;
    let leads =
        notice::school_staff(&mut s.tx, s.tenant, h.a.school_id, &[Role::AttendanceLead]).await?;
    for lead in &leads {
        let n = Notice {
            name: String::new(),
            subject: format!("{} has returned the handbook to you", s.user.name),
            paragraphs: vec![
                format!(
                    "{} has read the handbook of {}, cohort {}, and returned it to you with this message:",
                    s.user.name, h.a.school_name, h.a.cohort_name
                ),
                message.clone(),
                "Their comments are on the strands. When you have made the changes, send it to them again.".into(),
            ],
            link: Some(("Open the handbook".into(), link(&s, &format!("/assessments/{id}")))),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, lead, n).await?;
    }
    let returned = s
        .event("handbook.returned")
        .subject("assessment", id)
        .after(json!({"stage": Stage::Returned.as_str(), "message": message}));
    s.record(returned).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}"),
        "returned",
    ))
}
