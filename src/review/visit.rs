//! The LA officer's side of the review: assigning the assessor and setting the visit of a
//! school's handbook (lead and head are emailed whenever either changes), and reopening a
//! submitted handbook with a reason.

use super::SCHOOL_ROLES;
use super::notice::{self, Notice};
use super::{MESSAGE_LIMIT, link, move_stage};
use crate::assessment::Stage;
use crate::assessment::deadline;
use crate::assessment::review::{self, record_step};

use crate::auth::{Officers, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::forms::{DateInput, Errors, parse_real_date, parse_time};
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, NaiveTime};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// A handbook of the officer's authority.
#[derive(sqlx::FromRow)]
pub struct Visited {
    pub id: Uuid,
    pub school_id: Uuid,
    pub school: String,
    pub cohort_id: Uuid,
    pub cohort: String,
}

impl AssessmentId {
    /// Any handbook of the officer's own authority; 404 for another authority's.
    pub async fn load_for_officer(self, s: &mut Scoped<Officers>) -> Result<Visited, AppError> {
        sqlx::query_as(
            "SELECT a.id, a.school_id, s.name AS school, a.cohort_id, c.name AS cohort
             FROM assessment a
             JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
             JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
             WHERE a.tenant_id = $1 AND a.id = $2",
        )
        .bind(s.tenant)
        .bind(self)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)
    }
}

#[derive(sqlx::FromRow, Clone)]
pub struct AssessorOption {
    pub id: Uuid,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/visit.html")]
pub struct VisitPage {
    layout: Layout,
    v: Visited,
    stage: Stage,
    assessors: Vec<AssessorOption>,
    errors: Errors,
    assessor: String,
    date: DateInput,
    time: String,
    reason: String,
    /// The date hint: the authority's notice in working days.
    date_hint: String,
}

async fn assessors(s: &mut Scoped<Officers>) -> Result<Vec<AssessorOption>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name FROM app_user WHERE tenant_id = $1 AND role = 'assessor' AND active ORDER BY name",
    )
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?)
}

async fn visit_page(s: &mut Scoped<Officers>, id: AssessmentId) -> Result<VisitPage, AppError> {
    let v = id.load_for_officer(s).await?;
    let st = review::state(&mut s.tx, s.tenant, id).await?;
    let (date, time) = match st.visit_at {
        Some(at) => (
            DateInput::new(
                &at.format("%-d").to_string(),
                &at.format("%-m").to_string(),
                &at.format("%Y").to_string(),
            ),
            at.format("%H:%M").to_string(),
        ),
        None => (DateInput::default(), String::new()),
    };
    Ok(VisitPage {
        layout: s.layout("/cohorts"),
        v,
        stage: st.stage,
        assessors: assessors(s).await?,
        errors: Errors::default(),
        assessor: st.assessor_id.map(|a| a.to_string()).unwrap_or_default(),
        date,
        time,
        reason: String::new(),
        date_hint: format!(
            "For example, 12 3 2027. The school must submit its handbook at least {} working days before.",
            deadline::notice_days(&mut s.tx, s.tenant).await?
        ),
    })
}

pub async fn get_visit(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
) -> Result<VisitPage, AppError> {
    visit_page(&mut s, id).await
}

#[derive(Deserialize, Default)]
pub struct VisitForm {
    #[serde(default)]
    assessor: String,
    #[serde(default, rename = "visit-day")]
    day: String,
    #[serde(default, rename = "visit-month")]
    month: String,
    #[serde(default, rename = "visit-year")]
    year: String,
    #[serde(default)]
    time: String,
}

/// The date and time of a visit from its form fields, or the errors to show next to them. A date
/// in the past is refused unless it is the visit's current date (the form is saved again on the
/// day).
pub fn parse_visit_when(
    day: &str,
    month: &str,
    year: &str,
    time: &str,
    today: chrono::NaiveDate,
    current: Option<NaiveDateTime>,
    errors: &mut Errors,
) -> Option<NaiveDateTime> {
    let date_input = DateInput::new(day, month, year);
    let date = match parse_real_date(&date_input, "visit-day", "The visit date") {
        Ok(Some(d)) if d < today && Some(d) != current.map(|v| v.date()) => {
            errors.add("visit-day", "The visit date must be today or in the future");
            None
        }
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("visit-day", "Enter the date of the visit");
            None
        }
        Err((field, message)) => {
            errors.add(field, message);
            None
        }
    };
    let time = match parse_time(time) {
        Some(t)
            if t >= NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default()
                && t <= NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default() =>
        {
            Some(t)
        }
        Some(_) => {
            errors.add("time", "The visit must start between 07:00 and 18:00");
            None
        }
        None => {
            errors.add("time", "Enter the start time like 09:30");
            None
        }
    };
    Some(NaiveDateTime::new(date?, time?))
}

/// Who assesses a handbook and when: written, reminders rescheduled, the timeline and the audit
/// log told, and the school's lead and head emailed of what changed. Used by the officer's form
/// and the assessor's scheduling page alike.
pub async fn set_visit<R: crate::auth::Roles>(
    s: &mut Scoped<R>,
    v: &Visited,
    before: &review::ReviewState,
    assessor: &AssessorOption,
    visit_at: NaiveDateTime,
) -> Result<(), AppError> {
    let id = AssessmentId(v.id);
    sqlx::query(
        "UPDATE assessment SET assessor_id = $3, visit_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(assessor.id)
    .bind(visit_at)
    .execute(&mut *s.tx)
    .await?;
    let after = review::state(&mut s.tx, s.tenant, id).await?;
    if before.visit_at != Some(visit_at) && !after.stage.is_settled() {
        super::reminders::schedule(&mut s.tx, s.tenant, id, after.visit_at).await?;
    }
    let assessor_changed = before.assessor_id != Some(assessor.id);
    let visit_changed = before.visit_at != Some(visit_at);
    if assessor_changed {
        record_step(
            &mut s.tx,
            s.tenant,
            id,
            "assessor_set",
            s.user.id,
            &assessor.name,
        )
        .await?;
    }
    if visit_changed {
        let when = after.visit_label().unwrap_or_default();
        record_step(&mut s.tx, s.tenant, id, "visit_set", s.user.id, &when).await?;
    }
    if !(assessor_changed || visit_changed) {
        return Ok(());
    }
    let who = if s.user.role == crate::auth::Role::Assessor {
        "Your assessor has"
    } else {
        "Your local authority has"
    };
    let mut paragraphs = vec![format!(
        "{who} {} the Attendance Quality Mark assessment of {} (cohort {}).",
        if before.assessor_id.is_none() {
            "arranged"
        } else {
            "changed"
        },
        v.school,
        v.cohort
    )];
    paragraphs.push(format!("Assessor: {}.", assessor.name));
    paragraphs.push(format!(
        "Visit: {}.",
        after.visit_label().unwrap_or_default()
    ));
    let (dl, _, _) = deadline::load(&mut s.tx, s.tenant, after.visit_at).await?;
    if let (Some(date), Some(rule), false) = (dl.date_label(), dl.rule(), after.stage.is_settled())
    {
        paragraphs.push(format!(
            "Submission deadline: {date}. {rule} The head teacher submits it from the service."
        ));
    }
    let people = notice::school_staff(&mut s.tx, s.tenant, v.school_id, &SCHOOL_ROLES).await?;
    for person in &people {
        let n = Notice {
            name: String::new(),
            subject: format!(
                "Your assessment visit: {}",
                after.visit_label().unwrap_or_default()
            ),
            paragraphs: paragraphs.clone(),
            link: Some((
                "Open the handbook".into(),
                link(s, &format!("/assessments/{id}")),
            )),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, person, n).await?;
    }
    let set = s
        .event("visit.set")
        .school(Some(v.school_id))
        .subject("assessment", id)
        .before(json!({"assessor": before.assessor, "visit": before.visit_label()}))
        .after(json!({"assessor": assessor.name, "visit": after.visit_label()}));
    s.record(set).await?;
    Ok(())
}

/// Sets the assessor and the visit; lead and head are emailed of what changed.
pub async fn post_visit(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
    Form(form): Form<VisitForm>,
) -> Result<Response, AppError> {
    let mut page = visit_page(&mut s, id).await?;
    let before = review::state(&mut s.tx, s.tenant, id).await?;
    if before.stage == Stage::Withdrawn {
        return Err(AppError::Locked(
            "The school has been withdrawn from its cohort: no visit can be arranged.",
        ));
    }
    let mut errors = Errors::default();
    let assessor = Uuid::parse_str(form.assessor.trim())
        .ok()
        .and_then(|a| page.assessors.iter().find(|o| o.id == a).cloned());
    if assessor.is_none() {
        errors.add("assessor", "Choose the assessor who will visit");
    }
    let today = crate::dates::uk_date(&mut s.tx).await?;
    let when = parse_visit_when(
        &form.day,
        &form.month,
        &form.year,
        &form.time,
        today,
        before.visit_at,
        &mut errors,
    );
    let (Some(assessor), Some(visit_at), true) = (assessor, when, errors.is_empty()) else {
        page.errors = errors;
        page.assessor = form.assessor;
        page.date = DateInput::new(&form.day, &form.month, &form.year);
        page.time = form.time;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    set_visit(&mut s, &page.v, &before, &assessor, visit_at).await?;
    let back = format!("/cohorts/{}", page.v.cohort_id);
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(&state, &back, "visit-set"))
}

#[derive(Deserialize, Default)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

/// Reopens a submitted handbook so the school can change it; the reason is recorded and shown.
pub async fn post_reopen(
    mut s: Scoped<Officers>,
    Path(id): Path<AssessmentId>,
    Form(form): Form<ReopenForm>,
) -> Result<Response, AppError> {
    let mut page = visit_page(&mut s, id).await?;
    let reason = form.reason.trim().to_string();
    let problem = if reason.is_empty() {
        Some("Enter the reason for reopening the handbook".to_string())
    } else if reason.chars().count() > MESSAGE_LIMIT {
        Some(format!(
            "The reason must be {MESSAGE_LIMIT} characters or fewer"
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        page.errors.add("reason", message);
        page.reason = form.reason;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    move_stage(&mut s, id, &[Stage::Submitted], Stage::Returned).await?;
    record_step(&mut s.tx, s.tenant, id, "reopened", s.user.id, &reason).await?;
    let visit_at = review::state(&mut s.tx, s.tenant, id).await?.visit_at;
    super::reminders::schedule(&mut s.tx, s.tenant, id, visit_at).await?;
    let v = &page.v;
    let people = notice::school_staff(&mut s.tx, s.tenant, v.school_id, &SCHOOL_ROLES).await?;
    for person in &people {
        let n = Notice {
            name: String::new(),
            subject: format!("Your handbook has been reopened: {}", v.school),
            paragraphs: vec![
                format!(
                    "{} has reopened the handbook of {} so that it can be changed, for this reason:",
                    s.user.name, v.school
                ),
                reason.clone(),
                "When it is ready, the head teacher submits it again.".into(),
            ],
            link: Some((
                "Open the handbook".into(),
                link(&s, &format!("/assessments/{id}")),
            )),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, person, n).await?;
    }
    let reopened = s
        .event("handbook.reopened")
        .school(Some(v.school_id))
        .subject("assessment", id)
        .after(json!({"stage": Stage::Returned.as_str(), "reason": reason}));
    s.record(reopened).await?;
    let back = format!("/cohorts/{}", page.v.cohort_id);
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(&state, &back, "reopened"))
}
