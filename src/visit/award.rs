//! Agreeing the award: the best fit suggested from the levels agreed during the visit, beside the
//! one the school's claims suggested; the assessor records Bronze, Silver, Gold or not yet, with
//! a reason when it differs from the suggestion, and strengths and areas for development per key
//! theme. The school is emailed the certificate and the report.

use super::judge::{agreed, judgements};
use super::{Assessed, NOT_YET, level_words, outcome};
use crate::assessment::Stage;
use crate::assessment::review::record_step;
use crate::auth::{Assessors, Scoped};
use crate::best_fit_setting;
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::framework::{self, BestFit, Framework};
use crate::handbook::{self, TEXT_LIMIT};
use crate::layout::Layout;
use crate::review::notice::{self, Notice};
use crate::review::{SCHOOL_ROLES, link};
use crate::web::{Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::RawForm;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Months, NaiveDate};
use serde_json::json;
use std::collections::HashMap;

/// The award's expiry: `years` after the day it was agreed (29 February gives 28 February).
pub fn expiry(awarded_on: NaiveDate, years: u32) -> NaiveDate {
    awarded_on
        .checked_add_months(Months::new(years * 12))
        .unwrap_or(NaiveDate::MAX)
}

/// Problems with an award form (pure): an outcome from the list, and a reason whenever the
/// outcome differs from the suggestion.
pub fn check(fw: &Framework, outcome: &str, suggested: &str, reason: &str) -> Errors {
    let mut errors = Errors::default();
    if outcome != NOT_YET && fw.level(outcome).is_none() {
        errors.add("outcome", "Choose the award");
    } else if outcome != suggested && reason.trim().is_empty() {
        errors.add(
            "reason",
            "Enter the reason for an award that differs from the suggested best fit",
        );
    }
    if reason.chars().count() > TEXT_LIMIT {
        errors.add(
            "reason",
            format!("The reason must be {TEXT_LIMIT} characters or fewer"),
        );
    }
    errors
}

/// A best fit's overall level as an outcome key.
pub fn as_outcome(fit: &BestFit) -> String {
    fit.overall.clone().unwrap_or_else(|| NOT_YET.to_string())
}

pub struct ThemeRow {
    pub number: u32,
    pub title: String,
    pub claimed: String,
    pub agreed: String,
    pub agreed_reason: String,
    pub strengths: String,
    pub development: String,
}

pub struct Choice {
    pub key: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/award.html")]
pub struct AwardPage {
    layout: Layout,
    a: Assessed,
    suggested: String,
    suggested_name: String,
    suggested_reason: String,
    claimed_name: String,
    unjudged: usize,
    themes: Vec<ThemeRow>,
    choices: Vec<Choice>,
    errors: Errors,
    outcome: String,
    reason: String,
    validity_years: i32,
    /// Why the award cannot be recorded now, if it cannot.
    locked: Option<&'static str>,
}

struct Fits {
    claimed: BestFit,
    agreed: BestFit,
    unjudged: usize,
}

async fn fits(s: &mut Scoped<Assessors>, a: &Assessed) -> Result<Fits, AppError> {
    let id = a.id();
    let entries = handbook::entries(&mut s.tx, s.tenant, id).await?;
    let js = judgements(&mut s.tx, s.tenant, id).await?;
    let rule = best_fit_setting::in_force(&mut s.tx, s.tenant, &a.fw).await?;
    let unjudged =
        a.fw.strands()
            .filter(|(_, st)| js.get(&st.key).is_none_or(|j| j.agreed_level.is_none()))
            .count();
    Ok(Fits {
        claimed: framework::best_fit(&a.fw, &rule.rule, &handbook::claims(&entries)),
        agreed: framework::best_fit(&a.fw, &rule.rule, &agreed(&js)),
        unjudged,
    })
}

async fn page(s: &mut Scoped<Assessors>, id: AssessmentId) -> Result<(AwardPage, Fits), AppError> {
    let a = id.load_for_assessor(s).await?;
    let locked = match a.stage {
        Stage::Submitted => None,
        Stage::Awarded => Some("The award has already been agreed."),
        Stage::Withdrawn => Some("The school has been withdrawn from its cohort."),
        _ => Some("The award can be agreed once the head teacher has submitted the handbook."),
    };
    let f = fits(s, &a).await?;
    let validity_years: i32 =
        sqlx::query_scalar("SELECT award_validity_years FROM tenant WHERE id = $1")
            .bind(s.tenant)
            .fetch_one(&mut *s.tx)
            .await?;
    let fw = a.fw.clone();
    let themes = fw
        .themes
        .iter()
        .enumerate()
        .map(|(i, t)| ThemeRow {
            number: t.number,
            title: t.title.clone(),
            claimed: handbook::level_name(&fw, f.claimed.themes[i].level.as_deref()),
            agreed: handbook::level_name(&fw, f.agreed.themes[i].level.as_deref()),
            agreed_reason: f.agreed.themes[i].reason.clone(),
            strengths: String::new(),
            development: String::new(),
        })
        .collect();
    let mut choices: Vec<Choice> = fw
        .levels
        .iter()
        .map(|l| Choice {
            key: l.key.clone(),
            name: l.name.clone(),
        })
        .collect();
    choices.push(Choice {
        key: NOT_YET.into(),
        name: "Not yet".into(),
    });
    let suggested = as_outcome(&f.agreed);
    let page = AwardPage {
        layout: s.layout("/visits"),
        suggested_name: level_words(&fw, Some(&suggested)),
        suggested_reason: f.agreed.reason.clone(),
        claimed_name: level_words(&fw, Some(&as_outcome(&f.claimed))),
        outcome: suggested.clone(),
        suggested,
        unjudged: f.unjudged,
        themes,
        choices,
        errors: Errors::default(),
        reason: String::new(),
        validity_years,
        locked,
        a,
    };
    Ok((page, f))
}

pub async fn get_award(
    mut s: Scoped<Assessors>,
    Path(id): Path<AssessmentId>,
) -> Result<AwardPage, AppError> {
    Ok(page(&mut s, id).await?.0)
}

/// The form's fields, by name: `strengths-N` and `development-N` vary with the framework's
/// themes, so they are read from the raw body.
fn fields(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), crate::web::strip_controls(&v).into_owned()))
        .collect()
}

pub async fn post_award(
    mut s: Scoped<Assessors>,
    Path(id): Path<AssessmentId>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (mut p, f) = page(&mut s, id).await?;
    if let Some(why) = p.locked {
        return Err(AppError::Locked(why));
    }
    let form = fields(&body);
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let outcome = get("outcome");
    let reason = get("reason").trim().to_string();
    let mut errors = check(&p.a.fw, &outcome, &p.suggested, &reason);
    for t in &mut p.themes {
        t.strengths = get(&format!("strengths-{}", t.number));
        t.development = get(&format!("development-{}", t.number));
        for (field, text) in [("strengths", &t.strengths), ("development", &t.development)] {
            if text.chars().count() > TEXT_LIMIT {
                errors.add(
                    if field == "strengths" {
                        "strengths"
                    } else {
                        "development"
                    },
                    format!(
                        "Key theme {}: the text must be {TEXT_LIMIT} characters or fewer",
                        t.number
                    ),
                );
            }
        }
    }
    if !errors.is_empty() {
        p.errors = errors;
        p.outcome = outcome;
        p.reason = reason;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let awarded_on = crate::dates::uk_date(&mut s.tx).await?;
    let is_level = outcome != NOT_YET;
    let expires_on = is_level.then(|| expiry(awarded_on, p.validity_years.unsigned_abs()));
    // 122 random bits: not guessable, and it says nothing about the school.
    let code = is_level.then(|| uuid::Uuid::new_v4().simple().to_string());
    let moved = sqlx::query(
        "UPDATE assessment SET stage = 'awarded' WHERE tenant_id = $1 AND id = $2 AND stage = 'submitted'",
    )
    .bind(s.tenant)
    .bind(id)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(AppError::Locked("The award has already been agreed."));
    }
    sqlx::query(
        "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, reason,
                            awarded_on, expires_on, verify_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .bind(&outcome)
    .bind(&p.suggested)
    .bind(as_outcome(&f.claimed))
    .bind(&reason)
    .bind(awarded_on)
    .bind(expires_on)
    .bind(&code)
    .execute(&mut *s.tx)
    .await?;
    for t in &p.themes {
        sqlx::query(
            "INSERT INTO award_theme (tenant_id, assessment_id, theme_number, strengths, development)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.tenant)
        .bind(id)
        .bind(i32::try_from(t.number).unwrap_or(i32::MAX))
        .bind(t.strengths.trim())
        .bind(t.development.trim())
        .execute(&mut *s.tx)
        .await?;
    }
    let words = level_words(&p.a.fw, Some(&outcome));
    record_step(&mut s.tx, s.tenant, id, "awarded", s.user.id, &words).await?;
    let ev = s
        .event("award.agreed")
        .school(Some(p.a.v.school_id))
        .subject("assessment", id)
        .after(
            json!({"outcome": outcome, "suggested": p.suggested, "reason": reason,
                      "awarded_on": awarded_on, "expires_on": expires_on}),
        );
    s.record(ev).await?;
    // The certificate and the report, to the school's lead and head.
    let view = outcome::load_award(&mut s.tx, s.tenant, id, &s.state.catalogue).await?;
    let mut attachments = vec![("report", outcome::report_pdf(&view).await?)];
    if is_level {
        attachments.insert(
            0,
            (
                "certificate",
                outcome::certificate_pdf(&view, &s.state.config.base_url()).await?,
            ),
        );
    }
    let people = notice::school_staff(&mut s.tx, s.tenant, p.a.v.school_id, &SCHOOL_ROLES).await?;
    let address = link(&s, &format!("/assessments/{id}/award"));
    for person in &people {
        for (what, bytes) in &attachments {
            let n = Notice {
                name: String::new(),
                subject: format!(
                    "{}: {}",
                    if *what == "certificate" {
                        "Your Attendance Quality Mark certificate"
                    } else {
                        "Your assessment report"
                    },
                    p.a.v.school
                ),
                paragraphs: vec![
                    format!(
                        "{} has agreed the Attendance Quality Mark award of {}: {words}.",
                        s.user.name, p.a.v.school
                    ),
                    format!(
                        "The {what} is attached as a PDF. The head teacher acknowledges the outcome in the service."
                    ),
                ],
                link: Some(("See the award".into(), address.clone())),
                attachment: Some(crate::mail::Attachment {
                    name: format!("{what}.pdf"),
                    content_type: "application/pdf".into(),
                    bytes: bytes.clone(),
                }),
            };
            notice::send(&mut s.tx, s.tenant, person, n).await?;
        }
    }
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}/award"),
        "award-agreed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laqm() -> std::sync::Arc<Framework> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        crate::framework::load_dir(&dir)
            .unwrap()
            .get("laqm", "v1")
            .unwrap()
    }

    #[test]
    fn expiry_is_whole_years_later() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(expiry(d(2027, 3, 10), 3), d(2030, 3, 10));
        assert_eq!(expiry(d(2028, 2, 29), 1), d(2029, 2, 28));
        assert_eq!(expiry(d(2027, 7, 1), 5), d(2032, 7, 1));
    }

    #[test]
    fn a_reason_is_required_when_the_award_differs_from_the_suggestion() {
        let fw = laqm();
        assert!(check(&fw, "silver", "silver", "").is_empty());
        let e = check(&fw, "silver", "gold", "");
        assert!(e.get("reason").is_some());
        assert!(check(&fw, "silver", "gold", "Theme 5 evidence was thin").is_empty());
        assert!(check(&fw, NOT_YET, "bronze", "").get("reason").is_some());
        assert!(check(&fw, NOT_YET, NOT_YET, "").is_empty());
        assert!(check(&fw, "platinum", "gold", "x").get("outcome").is_some());
        assert!(check(&fw, "", "gold", "").get("outcome").is_some());
    }
}
