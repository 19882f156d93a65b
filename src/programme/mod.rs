//! The LA officer's programme: cohorts, and enrolling schools in them. Enrolling opens the
//! school's handbook (its assessment), pinned to the framework version in force that day. The
//! authority's closure days, which deadlines skip, are kept in `calendar`.

pub mod calendar;

use crate::assessment::{Stage, deadline};
use crate::auth::{Officers, Scoped};
use crate::domain::{AssessmentId, CohortId, CohortName, SchoolId};
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use crate::web::{Form, Path, Query, see_other};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub struct CohortRow {
    pub id: Uuid,
    pub name: String,
    pub schools: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "programme/cohorts.html")]
pub struct CohortsPage {
    layout: Layout,
    cohorts: Vec<CohortRow>,
    errors: Errors,
    cohort_name: String,
}

async fn cohorts(conn: &mut PgConnection, tenant: Uuid) -> Result<Vec<CohortRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, (SELECT count(*) FROM assessment a WHERE a.tenant_id = c.tenant_id AND a.cohort_id = c.id) AS schools
         FROM cohort c WHERE c.tenant_id = $1 ORDER BY c.name DESC",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await
}

pub async fn get_cohorts(mut s: Scoped<Officers>) -> Result<CohortsPage, AppError> {
    let cohorts = cohorts(&mut s.tx, s.tenant).await?;
    Ok(CohortsPage {
        layout: s.layout("/cohorts"),
        cohorts,
        errors: Errors::default(),
        cohort_name: String::new(),
    })
}

#[derive(Deserialize)]
pub struct CohortForm {
    #[serde(default)]
    name: String,
}

pub async fn post_cohort(
    mut s: Scoped<Officers>,
    Form(form): Form<CohortForm>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let id = CohortId(Uuid::new_v4());
    if let Ok(name) = CohortName::parse(&form.name).map_err(|m| errors.add("name", m)) {
        let done = sqlx::query("INSERT INTO cohort (id, tenant_id, name) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, name) DO NOTHING")
            .bind(id)
            .bind(s.tenant)
            .bind(name.as_str())
            .execute(&mut *s.tx)
            .await?;
        if done.rows_affected() == 0 {
            errors.add("name", "A cohort with this name already exists");
        } else {
            let created = s
                .event("cohort.created")
                .subject("cohort", id)
                .after(json!({"name": name.as_str()}));
            s.record(created).await?;
        }
    }
    if !errors.is_empty() {
        let cohorts = cohorts(&mut s.tx, s.tenant).await?;
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            CohortsPage {
                layout: s.layout("/cohorts"),
                cohorts,
                errors,
                cohort_name: form.name.trim().to_string(),
            },
        )
            .into_response());
    }
    s.commit().await?;
    Ok(see_other(&format!("/cohorts/{id}")))
}

#[derive(sqlx::FromRow)]
pub struct Enrolled {
    pub assessment_id: Uuid,
    pub school: String,
    pub urn: i32,
    pub stage: String,
    pub assessor: Option<String>,
    pub visit_at: Option<chrono::NaiveDateTime>,
    pub late_by: Option<i32>,
    /// The submission deadline in words, filled in from the calendar.
    #[sqlx(skip)]
    pub deadline: String,
    /// What the school missed at the programme's events so far.
    #[sqlx(skip)]
    pub missed: Vec<String>,
}

impl Enrolled {
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::InProgress)
    }

    pub fn late(&self) -> Option<String> {
        self.late_by
            .filter(|n| *n > 0)
            .map(crate::assessment::review::late_label)
    }

    /// "Tuesday 12 January 2027 at 09:30"
    pub fn visit(&self) -> String {
        self.visit_at
            .map_or_else(|| "Not arranged".to_string(), crate::dates::visit)
    }
}

#[derive(sqlx::FromRow)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub urn: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "programme/cohort.html")]
pub struct CohortPage {
    layout: Layout,
    id: Uuid,
    name: String,
    enrolled: Vec<Enrolled>,
    candidates: Vec<Candidate>,
    errors: Errors,
    /// The school just enrolled, for the success banner.
    just_enrolled: Option<String>,
}

async fn cohort_page(
    s: &mut Scoped<Officers>,
    id: CohortId,
    errors: Errors,
) -> Result<CohortPage, AppError> {
    let (conn, tenant) = (&mut *s.tx, s.tenant);
    let name: String =
        sqlx::query_scalar("SELECT name FROM cohort WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
    let enrolled = sqlx::query_as(
        "SELECT a.id AS assessment_id, s.name AS school, s.urn,
                a.stage, u.name AS assessor, a.visit_at,
                (SELECT sub.late_by FROM submission sub WHERE sub.tenant_id = a.tenant_id AND sub.assessment_id = a.id
                  ORDER BY sub.submitted_at DESC LIMIT 1) AS late_by
         FROM assessment a JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         LEFT JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.assessor_id
         WHERE a.tenant_id = $1 AND a.cohort_id = $2 ORDER BY s.name",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut enrolled: Vec<Enrolled> = enrolled;
    let cal = crate::calendar::Calendar::of_tenant(&mut *conn, tenant).await?;
    let today = crate::dates::uk_date(&mut *conn).await?;
    let notice = deadline::notice_days(&mut *conn, tenant).await?;
    let mut missed = crate::authority::events::warnings(&mut *conn, tenant, id.0).await?;
    let school_of: std::collections::HashMap<Uuid, Uuid> = sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT id, school_id FROM assessment WHERE tenant_id = $1 AND cohort_id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for e in &mut enrolled {
        if let Some(school) = school_of.get(&e.assessment_id) {
            e.missed = missed.remove(school).unwrap_or_default();
        }
        e.deadline = if e.stage().is_settled() {
            String::new()
        } else {
            deadline::of_visit(&cal, e.visit_at, notice, today).describe()
        };
    }
    // Open schools without an open handbook can join.
    let candidates = sqlx::query_as(
        "SELECT s.id, s.name, s.urn FROM school s
         WHERE s.tenant_id = $1 AND s.status = 'open'
           AND NOT EXISTS (SELECT 1 FROM assessment a WHERE a.tenant_id = s.tenant_id AND a.school_id = s.id AND a.status = 'open')
         ORDER BY s.name",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?;
    Ok(CohortPage {
        layout: s.layout("/cohorts"),
        id: id.0,
        name,
        enrolled,
        candidates,
        errors,
        just_enrolled: None,
    })
}

#[derive(Deserialize, Default)]
pub struct CohortQuery {
    /// Set after enrolling: the assessment just opened.
    #[serde(default)]
    enrolled: String,
}

pub async fn get_cohort(
    mut s: Scoped<Officers>,
    Path(id): Path<CohortId>,
    Query(q): Query<CohortQuery>,
) -> Result<CohortPage, AppError> {
    let mut page = cohort_page(&mut s, id, Errors::default()).await?;
    let enrolled = AssessmentId::parse(&q.enrolled);
    page.just_enrolled = page
        .enrolled
        .iter()
        .find(|e| Some(AssessmentId(e.assessment_id)) == enrolled)
        .map(|e| e.school.clone());
    Ok(page)
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    school: String,
}

pub async fn post_enrol(
    mut s: Scoped<Officers>,
    Path(id): Path<CohortId>,
    Form(form): Form<EnrolForm>,
) -> Result<Response, AppError> {
    let tenant = s.tenant;
    // The cohort must be this tenant's (404 otherwise) before anything else is looked at.
    let page = cohort_page(&mut s, id, Errors::default()).await?;
    let school =
        SchoolId::parse(&form.school).filter(|sc| page.candidates.iter().any(|c| c.id == sc.0));
    let Some(school) = school else {
        let mut errors = Errors::default();
        errors.add("school", "Choose a school");
        let page = cohort_page(&mut s, id, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let framework_key: String =
        sqlx::query_scalar("SELECT framework_key FROM tenant WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut *s.tx)
            .await?;
    let fw = s
        .state
        .catalogue
        .current(&framework_key)
        .ok_or_else(|| anyhow::anyhow!("no version of framework {framework_key} is loaded"))?;
    let assessment = AssessmentId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(assessment)
    .bind(tenant)
    .bind(school)
    .bind(id)
    .bind(&fw.key)
    .bind(&fw.version)
    .execute(&mut *s.tx)
    .await?;
    let opened = s
        .event("assessment.opened")
        .school(Some(school.0))
        .subject("assessment", assessment)
        .after(json!({"cohort_id": id, "framework": fw.key, "version": fw.version}));
    s.record(opened).await?;
    s.commit().await?;
    Ok(see_other(&format!("/cohorts/{id}?enrolled={assessment}")))
}
