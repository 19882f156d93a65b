//! The assessor sets or moves the visit. The school's lead and head are emailed, as when the
//! officer sets it. A date that leaves the school less than the authority's notice period for a
//! handbook not yet submitted is allowed only once the assessor confirms it, having been warned.

use super::Assessed;
use crate::assessment::deadline::{self, Deadline, Standing};
use crate::assessment::review;
use crate::auth::{Assessors, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::forms::{DateInput, Errors};
use crate::layout::Layout;
use crate::review::visit::{AssessorOption, parse_visit_when, set_visit};
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "visit/schedule.html")]
pub struct SchedulePage {
    layout: Layout,
    a: Assessed,
    errors: Errors,
    date: DateInput,
    time: String,
    hint: String,
    /// The warning shown before a date inside the notice period is saved.
    warning: Option<String>,
    /// The date and time the warning is about: confirming keeps exactly that one.
    confirm: String,
}

async fn page(s: &mut Scoped<Assessors>, id: AssessmentId) -> Result<SchedulePage, AppError> {
    let a = id.load_for_assessor(s).await?;
    let (date, time) = match a.visit_at {
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
    let notice = deadline::notice_days(&mut s.tx, s.tenant).await?;
    Ok(SchedulePage {
        layout: s.layout("/visits"),
        a,
        errors: Errors::default(),
        date,
        time,
        hint: format!(
            "For example, 12 3 2027. Agree the date with the school: it must submit its handbook at least {notice} working days before."
        ),
        warning: None,
        confirm: String::new(),
    })
}

pub async fn get_schedule(
    mut s: Scoped<Assessors>,
    Path(id): Path<AssessmentId>,
) -> Result<SchedulePage, AppError> {
    page(&mut s, id).await
}

#[derive(Deserialize, Default)]
pub struct ScheduleForm {
    #[serde(default, rename = "visit-day")]
    day: String,
    #[serde(default, rename = "visit-month")]
    month: String,
    #[serde(default, rename = "visit-year")]
    year: String,
    #[serde(default)]
    time: String,
    /// Present once the assessor has seen the short-notice warning and goes ahead.
    #[serde(default)]
    confirm: String,
}

/// Why a visit at this deadline is short notice for the school, if it is (pure).
pub fn short_notice(dl: &Deadline, settled: bool) -> Option<String> {
    if settled {
        return None;
    }
    match dl {
        Deadline::Known {
            standing: Standing::Late(_),
            notice_days,
            ..
        } => Some(format!(
            "This date leaves the school less than {notice_days} working days to submit its handbook, which it has not submitted yet: the deadline, {}, has already passed.",
            dl.date_label().unwrap_or_default()
        )),
        Deadline::Known {
            standing: Standing::Left(0),
            ..
        } => Some(format!(
            "This date leaves the school until today, {}, to submit its handbook, which it has not submitted yet.",
            dl.date_label().unwrap_or_default()
        )),
        _ => None,
    }
}

pub async fn post_schedule(
    mut s: Scoped<Assessors>,
    Path(id): Path<AssessmentId>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, AppError> {
    let mut p = page(&mut s, id).await?;
    let before = review::state(&mut s.tx, s.tenant, id).await?;
    let today = crate::dates::uk_date(&mut s.tx).await?;
    let mut errors = Errors::default();
    let when = parse_visit_when(
        &form.day,
        &form.month,
        &form.year,
        &form.time,
        today,
        before.visit_at,
        &mut errors,
    );
    p.date = DateInput::new(&form.day, &form.month, &form.year);
    p.time = form.time.clone();
    let Some(visit_at) = when.filter(|_| errors.is_empty()) else {
        p.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let (dl, _, _) = deadline::load(&mut s.tx, s.tenant, Some(visit_at)).await?;
    if let Some(warning) = short_notice(&dl, before.stage.is_settled()) {
        let stamp = visit_at.format("%Y-%m-%dT%H:%M").to_string();
        if form.confirm != stamp && before.visit_at != Some(visit_at) {
            p.warning = Some(warning);
            p.confirm = stamp;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
        }
    }
    let me = AssessorOption {
        id: s.user.id,
        name: s.user.name.clone(),
    };
    set_visit(&mut s, &p.a.v, &before, &me, visit_at).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/visits/{id}"),
        "visit-set",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn short_notice_only_for_a_handbook_not_yet_submitted() {
        let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let late = Deadline::Known {
            date,
            notice_days: 5,
            standing: Standing::Late(2),
        };
        assert!(
            short_notice(&late, false)
                .unwrap()
                .contains("less than 5 working days")
        );
        assert_eq!(short_notice(&late, true), None);
        let today = Deadline::Known {
            date,
            notice_days: 5,
            standing: Standing::Left(0),
        };
        assert!(short_notice(&today, false).is_some());
        let fine = Deadline::Known {
            date,
            notice_days: 5,
            standing: Standing::Left(3),
        };
        assert_eq!(short_notice(&fine, false), None);
        assert_eq!(short_notice(&Deadline::NoVisit, false), None);
    }
}
