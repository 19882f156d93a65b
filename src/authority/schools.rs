//! The officer and one school of the programme: reading its handbook (read-only, as the school
//! wrote it) and withdrawing it from its cohort. A withdrawn school keeps its handbook, marked
//! withdrawn and read-only, and may join a later cohort.

use crate::assessment::Stage;
use crate::assessment::review::{self, record_step};
use crate::auth::{Officers, Role, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::handbook::export::{HandbookDoc, build};
use crate::layout::Layout;
use crate::review::notice::{self, Notice};
use crate::review::visit::Visited;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Template, WebTemplate)]
#[template(path = "authority/handbook.html")]
pub struct ReadPage {
    layout: Layout,
    doc: HandbookDoc,
    stage: Stage,
    cohort_id: uuid::Uuid,
}

/// The school's handbook as it stands, for the officer: the print page's tables, no forms.
pub async fn get_read(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
) -> Result<ReadPage, AppError> {
    let v = id.load_for_officer(&mut s).await?;
    let stage = review::state(&mut s.tx, s.tenant, id).await?.stage;
    let (doc, _) = build(&mut s, id).await?;
    Ok(ReadPage {
        layout: s.layout("/dashboard"),
        doc,
        stage,
        cohort_id: v.cohort_id,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/withdraw.html")]
pub struct WithdrawPage {
    layout: Layout,
    v: Visited,
    stage: Stage,
    errors: Errors,
    reason: String,
}

pub async fn get_withdraw(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
) -> Result<WithdrawPage, AppError> {
    let v = id.load_for_officer(&mut s).await?;
    let stage = review::state(&mut s.tx, s.tenant, id).await?.stage;
    Ok(WithdrawPage {
        layout: s.layout("/cohorts"),
        v,
        stage,
        errors: Errors::default(),
        reason: String::new(),
    })
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

pub const REASON_LIMIT: usize = 1000;

pub async fn post_withdraw(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, AppError> {
    let v = id.load_for_officer(&mut s).await?;
    let stage = review::state(&mut s.tx, s.tenant, id).await?.stage;
    let reason = form.reason.trim().to_string();
    let mut errors = Errors::default();
    if stage == Stage::Withdrawn {
        errors.add(
            "reason",
            "This school has already been withdrawn from the cohort",
        );
    } else if stage == Stage::Awarded {
        errors.add(
            "reason",
            "This handbook's award has been agreed: it cannot be withdrawn",
        );
    } else if reason.is_empty() {
        errors.add(
            "reason",
            "Enter why the school is withdrawn: the school sees this reason",
        );
    } else if reason.chars().count() > REASON_LIMIT {
        errors.add(
            "reason",
            format!("The reason must be {REASON_LIMIT} characters or fewer"),
        );
    }
    if !errors.is_empty() {
        let page = WithdrawPage {
            layout: s.layout("/cohorts"),
            v,
            stage,
            errors,
            reason,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query(
        "UPDATE assessment SET stage = 'withdrawn', status = 'closed', withdrawn_at = now(), withdrawn_reason = $3
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(&reason)
    .execute(&mut *s.tx)
    .await?;
    record_step(&mut s.tx, s.tenant, id, "withdrawn", s.user.id, &reason).await?;
    let link = crate::review::link(&s, &format!("/assessments/{id}"));
    for to in notice::school_staff(
        &mut s.tx,
        s.tenant,
        v.school_id,
        &[Role::AttendanceLead, Role::HeadTeacher],
    )
    .await?
    {
        let n = Notice {
            name: String::new(),
            subject: format!("{} has been withdrawn from cohort {}", v.school, v.cohort),
            paragraphs: vec![
                format!(
                    "Your local authority has withdrawn {} from the Attendance Quality Mark cohort {}.",
                    v.school, v.cohort
                ),
                format!("The reason given: {reason}"),
                "Your handbook and evidence are kept: you can still read and download them, but no longer change them.".to_string(),
            ],
            link: Some(("Read your handbook".to_string(), link.clone())),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, &to, n).await?;
    }
    let withdrawn = s
        .event("assessment.withdrawn")
        .school(Some(v.school_id))
        .subject("assessment", id)
        .before(json!({"stage": stage.as_str()}))
        .after(json!({"stage": "withdrawn", "reason": reason}));
    s.record(withdrawn).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/cohorts/{}", v.cohort_id),
        "withdrawn",
    ))
}
