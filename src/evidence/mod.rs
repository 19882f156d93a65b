//! The school's evidence library: Attendance Leads and head teachers upload documents (checked by
//! content, held in the object store once per distinct file), describe them, link each to any
//! number of strands of the school's handbook, download and delete them. Every change is audited.
//!
//! - `library`: the list of the school's documents.
//! - `upload`: the upload form, its streamed multipart reader and the pupil-data check.
//! - `document`: one document's page, its download and its deletion.
//! - `links`: linking documents and strands, from either side.
//! - `rules`: titles, dates, names, sizes; what a file is comes from `crate::content`.

pub mod document;
pub mod library;
pub mod links;
pub mod rules;
pub mod upload;

pub use crate::content;
pub use upload::FORM_OVERHEAD;

use crate::audit;
use crate::auth::{Roles, SchoolStaff, Scoped};
use crate::dates::{self, uk_time_sql};
use crate::domain::DocumentId;
use crate::error::AppError;
use chrono::NaiveDate;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub struct EvidenceRow {
    pub id: Uuid,
    pub title: String,
    pub evidence_date: Option<NaiveDate>,
    pub description: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
    pub uploaded_at: String,
}

/// The columns of an `EvidenceRow` to send as a file from a page other than the library's (its
/// uploader and upload time are not shown there), for a query `FROM evidence e ...`.
pub const FILE_COLUMNS: &str =
    "SELECT e.id, e.title, e.evidence_date, e.description, e.file_name, e.content_type,
        e.size_bytes, e.sha256, NULL::text AS uploaded_by, '' AS uploaded_at";

impl EvidenceRow {
    pub fn date(&self) -> String {
        show_date(self.evidence_date)
    }

    pub fn type_label(&self) -> &'static str {
        content::type_label(&self.content_type)
    }

    pub fn size(&self) -> String {
        rules::human_size(self.size_bytes)
    }
}

fn show_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "Not given".to_string(), dates::date)
}

impl DocumentId {
    /// The document of the person's own school; 404 for any other school's or tenant's, and for
    /// a deleted one.
    pub async fn load<R: Roles>(self, s: &mut Scoped<R>) -> Result<EvidenceRow, AppError> {
        let school = s.school()?;
        sqlx::query_as(concat!(
            "SELECT e.id, e.title, e.evidence_date, e.description, e.file_name, e.content_type, e.size_bytes, e.sha256,
                    u.name AS uploaded_by, ",
            uk_time_sql!("e.uploaded_at"),
            " AS uploaded_at
             FROM evidence e LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.uploaded_by
             WHERE e.tenant_id = $1 AND e.id = $2 AND e.school_id = $3 AND e.deleted_at IS NULL"
        ))
        .bind(s.tenant)
        .bind(self)
        .bind(school)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)
    }
}

/// An audit event about document `evidence`.
fn event(s: &Scoped<SchoolStaff>, action: &str, evidence: Uuid) -> audit::Event {
    s.event(action).subject("evidence", evidence)
}
