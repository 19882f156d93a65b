//! The schools of an authority, for tenant admins and LA officers.

use super::school_types::Phase;
use crate::auth::{Actor, Administrators, Officers, Role, Scoped};
use crate::domain::SchoolId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use crate::web::Path;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub struct SchoolRow {
    pub id: Uuid,
    pub urn: i32,
    pub name: String,
    pub phase: String,
    pub la_code: String,
    pub status: String,
    pub people: i64,
}

impl SchoolRow {
    pub fn phase_label(&self) -> &'static str {
        self.phase.parse::<Phase>().map_or("Unknown", |p| p.label())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/schools.html")]
pub struct SchoolsPage {
    layout: Layout,
    schools: Vec<SchoolRow>,
    can_import: bool,
}

const SCHOOL_COLUMNS: &str = "SELECT s.id, s.urn, s.name, s.phase, s.la_code, s.status,
        (SELECT count(*) FROM app_user u WHERE u.tenant_id = s.tenant_id AND u.school_id = s.id AND u.active) AS people
     FROM school s";

pub async fn get_schools(mut s: Scoped<Officers>) -> Result<SchoolsPage, AppError> {
    let schools = sqlx::query_as(&format!(
        "{SCHOOL_COLUMNS} WHERE s.tenant_id = $1 ORDER BY s.status DESC, s.name"
    ))
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    Ok(SchoolsPage {
        layout: s.layout("/schools"),
        schools,
        can_import: s.user.role == Role::TenantAdmin,
    })
}

#[derive(sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
}

impl Member {
    pub fn role_label(&self) -> &'static str {
        self.role.parse::<Role>().map_or("Unknown", |r| r.label())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/school.html")]
pub struct SchoolPage {
    layout: Layout,
    school: SchoolRow,
    members: Vec<Member>,
}

pub async fn get_school(
    mut s: Scoped<Officers>,
    Path(id): Path<SchoolId>,
) -> Result<SchoolPage, AppError> {
    let school: SchoolRow = sqlx::query_as(&format!(
        "{SCHOOL_COLUMNS} WHERE s.tenant_id = $1 AND s.id = $2"
    ))
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let members = sqlx::query_as(
        "SELECT id, name, email, role, active FROM app_user WHERE tenant_id = $1 AND school_id = $2 ORDER BY active DESC, role, name",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_all(&mut *s.tx)
    .await?;
    Ok(SchoolPage {
        layout: s.layout("/schools"),
        school,
        members,
    })
}

/// Largest schools file accepted: a whole-country GIAS extract is about 60 MB, an authority's a
/// few hundred KB.
pub const IMPORT_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Template, WebTemplate)]
#[template(path = "admin/school_import.html")]
pub struct ImportPage {
    layout: Layout,
    errors: Errors,
    line_errors: Vec<String>,
    result: Option<super::school_import::ImportSummary>,
    limit_mb: usize,
}

fn import_page(layout: Layout) -> ImportPage {
    ImportPage {
        layout,
        errors: Errors::default(),
        line_errors: Vec::new(),
        result: None,
        limit_mb: IMPORT_LIMIT / 1024 / 1024,
    }
}

pub async fn get_import(a: Actor<Administrators>) -> Result<ImportPage, AppError> {
    Ok(import_page(a.layout("/schools")))
}

/// Reads the whole file before any database work (it is at most `IMPORT_LIMIT`), so no
/// connection waits on the upload: the handler takes `Actor` and begins after.
pub async fn post_import(
    a: Actor<Administrators>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let bytes = crate::web::file_field(&mut multipart, "file").await?;
    let mut page = import_page(a.layout("/schools"));
    let bytes = match bytes {
        Some(b) if !b.is_empty() => b,
        _ => {
            page.errors.add("file", "Select a CSV file");
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let records = match super::school_import::parse_gias(&bytes) {
        Ok(r) => r,
        Err(errors) => {
            page.errors.add("file", "The file has problems, so nothing was imported. Correct the lines below and try again");
            page.line_errors = errors.iter().map(|e| e.to_string()).collect();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut s = a.begin().await?;
    let (tenant, actor) = (s.tenant, (s.user.id, s.user.email.clone()));
    let summary =
        super::school_import::import(&mut s.tx, tenant, Some(actor.0), &actor.1, &records).await?;
    s.commit().await?;
    page.result = Some(summary);
    Ok(page.into_response())
}
