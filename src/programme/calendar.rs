//! The authority's closure days (INSET days, holidays), kept by its LA officers: the list, adding
//! one, removing one. With weekends and the bank holidays of the authority's nation, they are not
//! working days when deadlines before visits are counted (`crate::calendar`).

use crate::auth::{Officers, Scoped};
use crate::calendar::Calendar;
use crate::closure_days::{self, ClosureDay};
use crate::dates::weekday_date;
use crate::domain::ClosureDayId;
use crate::error::AppError;
use crate::forms::{DateInput, Errors, parse_real_date};
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub const DESCRIPTION_LIMIT: usize = 200;

/// The field of the date's first box, where its errors are shown and linked.
const DATE_FIELD: &str = "closure_date-day";

/// What an officer types.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClosureDayForm {
    #[serde(default, rename = "closure_date-day")]
    day: String,
    #[serde(default, rename = "closure_date-month")]
    month: String,
    #[serde(default, rename = "closure_date-year")]
    year: String,
    #[serde(default)]
    description: String,
}

impl ClosureDayForm {
    fn date_input(&self) -> DateInput {
        DateInput::new(&self.day, &self.month, &self.year)
    }

    /// The date and description, or a message per field: the date must be a real weekday of a
    /// year whose bank holidays are known, not a bank holiday (counted already) nor a closure
    /// day already; the description is needed, up to `DESCRIPTION_LIMIT` characters.
    pub fn validate(
        &self,
        calendar: &Calendar,
        errors: &mut Errors,
    ) -> Option<(NaiveDate, String)> {
        let date = match parse_real_date(&self.date_input(), DATE_FIELD, "Date of the closure day")
        {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                errors.add(DATE_FIELD, "Enter the date of the closure day");
                None
            }
            Err((field, message)) => {
                errors.add(field, message);
                None
            }
        };
        if let Some(d) = date {
            let years = calendar.years();
            if !calendar.covers(d) {
                errors.add(
                    DATE_FIELD,
                    format!(
                        "Date of the closure day must be in {} to {}, the years whose bank holidays are known",
                        years.start(),
                        years.end()
                    ),
                );
            } else if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                errors.add(
                    DATE_FIELD,
                    format!(
                        "{} is at a weekend, so it is not a working day already: enter a weekday",
                        weekday_date(d)
                    ),
                );
            } else if let Some(h) = calendar.bank_holiday(d) {
                errors.add(
                    DATE_FIELD,
                    format!(
                        "{} is a bank holiday ({}), so it is not a working day already: enter another day",
                        weekday_date(d),
                        h.title
                    ),
                );
            } else if calendar.is_closure_day(d) {
                errors.add(DATE_FIELD, already(d));
            }
        }
        let description = self.description.trim();
        let n = description.chars().count();
        if description.is_empty() {
            errors.add("description", "Enter a description, such as INSET day");
        } else if n > DESCRIPTION_LIMIT {
            errors.add(
                "description",
                format!("Description must be {DESCRIPTION_LIMIT} characters or fewer; it is {n}"),
            );
        }
        match (date, errors.is_empty()) {
            (Some(d), true) => Some((d, description.to_string())),
            _ => None,
        }
    }
}

fn already(d: NaiveDate) -> String {
    format!("{} is already a closure day", weekday_date(d))
}

/// A closure day as listed.
pub struct Row {
    pub id: Uuid,
    pub date: String,
    pub description: String,
    pub added_by: String,
}

/// A bank holiday as listed.
pub struct Holiday {
    pub date: String,
    pub title: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "programme/calendar.html")]
pub struct CalendarPage {
    layout: Layout,
    days: Vec<Row>,
    /// "England and Wales".
    nation: &'static str,
    first_year: i32,
    last_year: i32,
    /// Bank holidays from today to the last year known.
    holidays: Vec<Holiday>,
    errors: Errors,
    date: DateInput,
    description: String,
    description_hint: String,
}

async fn page(
    s: &mut Scoped<Officers>,
    errors: Errors,
    form: &ClosureDayForm,
) -> Result<CalendarPage, AppError> {
    let calendar = Calendar::load(s).await?;
    let days: Vec<ClosureDay> = closure_days::list(&mut s.tx, s.tenant).await?;
    let today: NaiveDate = sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Europe/London')::date")
        .fetch_one(&mut *s.tx)
        .await?;
    let years = calendar.years();
    Ok(CalendarPage {
        layout: s.layout("/calendar"),
        days: days
            .into_iter()
            .map(|d| Row {
                id: d.id,
                date: weekday_date(d.day),
                description: d.description,
                added_by: d.added_by.unwrap_or_default(),
            })
            .collect(),
        nation: calendar.division().label(),
        first_year: *years.start(),
        last_year: *years.end(),
        holidays: calendar
            .bank_holidays_from(today)
            .map(|h| Holiday {
                date: weekday_date(h.date),
                title: h.title.clone(),
            })
            .collect(),
        errors,
        date: form.date_input(),
        description: form.description.trim().to_string(),
        description_hint: format!("For example, INSET day. Up to {DESCRIPTION_LIMIT} characters."),
    })
}

pub async fn get_calendar(mut s: Scoped<Officers>) -> Result<CalendarPage, AppError> {
    page(&mut s, Errors::default(), &ClosureDayForm::default()).await
}

pub async fn post_closure_day(
    mut s: Scoped<Officers>,
    Form(form): Form<ClosureDayForm>,
) -> Result<Response, AppError> {
    let calendar = Calendar::load(&mut s).await?;
    let mut errors = Errors::default();
    if let Some((day, description)) = form.validate(&calendar, &mut errors) {
        let id = ClosureDayId(Uuid::new_v4());
        // Two officers adding the same day at once: the second is told, as if it were listed.
        let done = sqlx::query(
            "INSERT INTO closure_day (id, tenant_id, day, description, added_by) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, day) DO NOTHING",
        )
        .bind(id)
        .bind(s.tenant)
        .bind(day)
        .bind(&description)
        .bind(s.user.id)
        .execute(&mut *s.tx)
        .await?;
        if done.rows_affected() == 0 {
            errors.add(DATE_FIELD, already(day));
        } else {
            let added = s
                .event("closure_day.added")
                .subject("closure_day", id)
                .after(json!({"date": day, "description": description}));
            s.record(added).await?;
            let state = s.state.clone();
            s.commit().await?;
            return Ok(redirect_with_flash(
                &state,
                "/calendar",
                "closure-day-added",
            ));
        }
    }
    let page = page(&mut s, errors, &form).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

pub async fn post_remove(
    mut s: Scoped<Officers>,
    Path(id): Path<ClosureDayId>,
) -> Result<Response, AppError> {
    let removed: Option<(NaiveDate, String)> = sqlx::query_as(
        "DELETE FROM closure_day WHERE tenant_id = $1 AND id = $2 RETURNING day, description",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?;
    let (day, description) = removed.ok_or(AppError::NotFound)?;
    let event = s
        .event("closure_day.removed")
        .subject("closure_day", id)
        .before(json!({"date": day, "description": description}));
    s.record(event).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/calendar",
        "closure-day-removed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Division;

    fn form(day: &str, month: &str, year: &str, description: &str) -> ClosureDayForm {
        ClosureDayForm {
            day: day.into(),
            month: month.into(),
            year: year.into(),
            description: description.into(),
        }
    }

    fn check(f: &ClosureDayForm) -> Result<(NaiveDate, String), Errors> {
        let calendar = Calendar::new(
            Division::EnglandAndWales,
            [NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()],
        );
        let mut errors = Errors::default();
        f.validate(&calendar, &mut errors).ok_or(errors)
    }

    fn date_error(f: &ClosureDayForm) -> String {
        check(f).unwrap_err().get(DATE_FIELD).unwrap().to_string()
    }

    #[test]
    fn a_closure_day_is_a_real_weekday_not_already_off_with_a_description() {
        assert_eq!(
            check(&form(" 2", "6", "2026", "  INSET day ")).unwrap(),
            (
                NaiveDate::from_ymd_opt(2026, 6, 2).unwrap(),
                "INSET day".to_string()
            )
        );
        assert_eq!(
            date_error(&form("", "", "", "INSET day")),
            "Enter the date of the closure day"
        );
        assert_eq!(
            date_error(&form("31", "6", "2026", "INSET day")),
            "Date of the closure day must be a real date"
        );
        assert_eq!(
            date_error(&form("3", "", "2026", "INSET day")),
            "Date of the closure day must include a month"
        );
        assert_eq!(
            date_error(&form("1", "6", "2026", "INSET day")),
            "Monday 1 June 2026 is already a closure day"
        );
        assert_eq!(
            date_error(&form("6", "6", "2026", "INSET day")),
            "Saturday 6 June 2026 is at a weekend, so it is not a working day already: enter a weekday"
        );
        assert_eq!(
            date_error(&form("3", "4", "2026", "INSET day")),
            "Friday 3 April 2026 is a bank holiday (Good Friday), so it is not a working day already: enter another day"
        );
        assert_eq!(
            date_error(&form("2", "1", "2029", "INSET day")),
            "Date of the closure day must be in 2025 to 2028, the years whose bank holidays are known"
        );
        let errors = check(&form("2", "6", "2026", " ")).unwrap_err();
        assert_eq!(
            errors.get("description"),
            Some("Enter a description, such as INSET day")
        );
        assert!(errors.get(DATE_FIELD).is_none());
        let long = "é".repeat(201);
        assert_eq!(
            check(&form("2", "6", "2026", &long))
                .unwrap_err()
                .get("description"),
            Some("Description must be 200 characters or fewer; it is 201")
        );
        assert!(check(&form("2", "6", "2026", &"é".repeat(200))).is_ok());
        // Both fields wrong: both messages.
        let both = check(&form("x", "6", "2026", "")).unwrap_err();
        assert_eq!(both.iter().count(), 2);
    }
}
