//! The LA officer's programme: cohorts, and enrolling schools in them. Enrolling opens the
//! school's handbook (its assessment), pinned to the framework version in force that day.

use crate::app::AppState;
use crate::audit;
use crate::auth::routes::redirect_with_flash;
use crate::auth::{Ctx, CurrentUser, Role};
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

const OFFICERS: &[Role] = &[Role::LaOfficer, Role::TenantAdmin];

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

pub async fn get_cohorts(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<CohortsPage, AppError> {
    user.require(OFFICERS)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let cohorts = cohorts(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(CohortsPage {
        layout: ctx.layout("/cohorts"),
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
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<CohortForm>,
) -> Result<Response, AppError> {
    user.require(OFFICERS)?;
    let tenant = user.tenant()?;
    let name = form.name.trim().to_string();
    let mut tx = state.db.tenant_tx(tenant).await?;
    let mut errors = Errors::default();
    if name.is_empty() {
        errors.add("name", "Enter a name for the cohort, like 2026/27");
    } else if name.chars().count() > 100 {
        errors.add("name", "Name must be 100 characters or fewer");
    }
    let id = Uuid::new_v4();
    if errors.is_empty() {
        let done = sqlx::query("INSERT INTO cohort (id, tenant_id, name) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, name) DO NOTHING")
            .bind(id)
            .bind(tenant)
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            errors.add("name", "A cohort with this name already exists");
        }
    }
    if !errors.is_empty() {
        let cohorts = cohorts(&mut tx, tenant).await?;
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            CohortsPage {
                layout: ctx.layout("/cohorts"),
                cohorts,
                errors,
                cohort_name: name,
            },
        )
            .into_response());
    }
    audit::record(
        &mut tx,
        &audit::Event::new("cohort.created")
            .tenant(Some(tenant))
            .actor(Some(user.id), &user.email)
            .subject("cohort", id)
            .after(json!({"name": name})),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::response::Redirect::to(&format!("/cohorts/{id}")).into_response())
}

#[derive(sqlx::FromRow)]
pub struct Enrolled {
    pub assessment_id: Uuid,
    pub school: String,
    pub urn: i32,
    pub framework: String,
    pub status: String,
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
}

async fn cohort_page(
    conn: &mut PgConnection,
    ctx: &Ctx,
    tenant: Uuid,
    id: Uuid,
    errors: Errors,
) -> Result<CohortPage, AppError> {
    let name: String =
        sqlx::query_scalar("SELECT name FROM cohort WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
    let enrolled = sqlx::query_as(
        "SELECT a.id AS assessment_id, s.name AS school, s.urn, a.framework_key || ' ' || a.framework_version AS framework, a.status
         FROM assessment a JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         WHERE a.tenant_id = $1 AND a.cohort_id = $2 ORDER BY s.name",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
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
        layout: ctx.layout("/cohorts"),
        id,
        name,
        enrolled,
        candidates,
        errors,
    })
}

pub async fn get_cohort(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<CohortPage, AppError> {
    user.require(OFFICERS)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let page = cohort_page(&mut tx, &ctx, tenant, id, Errors::default()).await?;
    tx.commit().await?;
    Ok(page)
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    school: String,
}

pub async fn post_enrol(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Form(form): Form<EnrolForm>,
) -> Result<Response, AppError> {
    user.require(OFFICERS)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    // The cohort must be this tenant's (404 otherwise) before anything else is looked at.
    let page = cohort_page(&mut tx, &ctx, tenant, id, Errors::default()).await?;
    let school = form
        .school
        .parse::<Uuid>()
        .ok()
        .filter(|s| page.candidates.iter().any(|c| c.id == *s));
    let Some(school) = school else {
        let mut errors = Errors::default();
        errors.add(
            "school",
            "Select a school that does not already have an open handbook",
        );
        let page = cohort_page(&mut tx, &ctx, tenant, id, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let framework_key: String =
        sqlx::query_scalar("SELECT framework_key FROM tenant WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
    let fw = state
        .catalogue
        .current(&framework_key)
        .ok_or_else(|| anyhow::anyhow!("no version of framework {framework_key} is loaded"))?;
    let assessment = Uuid::new_v4();
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
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("assessment.opened")
            .tenant(Some(tenant))
            .actor(Some(user.id), &user.email)
            .school(Some(school))
            .subject("assessment", assessment)
            .after(json!({"cohort_id": id, "framework": fw.key, "version": fw.version})),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/cohorts/{id}"),
        "enrolled",
    ))
}
