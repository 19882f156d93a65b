//! How long the authority's awards are valid, set by its administrators at `/settings/award`
//! (default 3 years). An award's expiry is fixed when it is agreed: a later change applies to
//! awards agreed from then on.

use crate::auth::{Administrators, Scoped};
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use crate::web::{Form, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

pub const MAX_YEARS: i32 = 10;

#[derive(Template, WebTemplate)]
#[template(path = "admin/award.html")]
pub struct AwardSettingPage {
    layout: Layout,
    years: String,
    errors: Errors,
}

async fn current(s: &mut Scoped<Administrators>) -> Result<i32, AppError> {
    Ok(
        sqlx::query_scalar("SELECT award_validity_years FROM tenant WHERE id = $1")
            .bind(s.tenant)
            .fetch_one(&mut *s.tx)
            .await?,
    )
}

pub async fn get_award_setting(
    mut s: Scoped<Administrators>,
) -> Result<AwardSettingPage, AppError> {
    let years = current(&mut s).await?;
    Ok(AwardSettingPage {
        layout: s.layout("/settings/award"),
        years: years.to_string(),
        errors: Errors::default(),
    })
}

#[derive(Deserialize, Default)]
pub struct AwardSettingForm {
    #[serde(default)]
    years: String,
}

/// Whole years from 1 to 10 (pure).
pub fn parse_years(input: &str) -> Result<i32, String> {
    match input.trim().parse::<i32>() {
        Ok(n) if (1..=MAX_YEARS).contains(&n) => Ok(n),
        _ => Err(format!(
            "Enter a whole number of years from 1 to {MAX_YEARS}"
        )),
    }
}

pub async fn post_award_setting(
    mut s: Scoped<Administrators>,
    Form(form): Form<AwardSettingForm>,
) -> Result<Response, AppError> {
    let years = match parse_years(&form.years) {
        Ok(n) => n,
        Err(message) => {
            let mut errors = Errors::default();
            errors.add("years", message);
            let page = AwardSettingPage {
                layout: s.layout("/settings/award"),
                years: form.years,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let before = current(&mut s).await?;
    sqlx::query("UPDATE tenant SET award_validity_years = $2 WHERE id = $1")
        .bind(s.tenant)
        .bind(years)
        .execute(&mut *s.tx)
        .await?;
    if before != years {
        let ev = s
            .event("award_validity.changed")
            .before(json!({"years": before}))
            .after(json!({"years": years}));
        s.record(ev).await?;
    }
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/settings/award",
        "award-setting-saved",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_whole_years_from_one_to_ten() {
        assert_eq!(parse_years("3"), Ok(3));
        assert_eq!(parse_years(" 10 "), Ok(10));
        assert!(parse_years("0").is_err());
        assert!(parse_years("11").is_err());
        assert!(parse_years("2.5").is_err());
        assert!(parse_years("").is_err());
    }
}
