//! The list of the school's documents, newest evidence first.

use super::{content, rules, show_date};
use crate::auth::{SchoolStaff, Scoped};
use crate::error::AppError;
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use uuid::Uuid;

pub struct LibraryItem {
    pub id: Uuid,
    pub title: String,
    pub date: String,
    pub kind: &'static str,
    pub size: String,
    pub strands: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "evidence/library.html")]
pub struct LibraryPage {
    layout: Layout,
    school: String,
    items: Vec<LibraryItem>,
}

pub async fn get_library(mut s: Scoped<SchoolStaff>) -> Result<LibraryPage, AppError> {
    let school = s.school()?;
    let rows: Vec<(Uuid, String, Option<NaiveDate>, String, i64, i64)> = sqlx::query_as(
        "SELECT e.id, e.title, e.evidence_date, e.content_type, e.size_bytes,
                (SELECT count(*) FROM evidence_link l WHERE l.tenant_id = e.tenant_id AND l.evidence_id = e.id)
         FROM evidence e
         WHERE e.tenant_id = $1 AND e.school_id = $2 AND e.deleted_at IS NULL
         ORDER BY e.evidence_date DESC NULLS LAST, e.uploaded_at DESC",
    )
    .bind(s.tenant)
    .bind(school)
    .fetch_all(&mut *s.tx)
    .await?;
    Ok(LibraryPage {
        layout: s.layout("/evidence"),
        school: s.user.school_name.clone().unwrap_or_default(),
        items: rows
            .into_iter()
            .map(
                |(id, title, date, content_type, size, strands)| LibraryItem {
                    id,
                    title,
                    date: show_date(date),
                    kind: content::type_label(&content_type),
                    size: rules::human_size(size),
                    strands,
                },
            )
            .collect(),
    })
}
