//! The audit log of an authority, for tenant admins and LA officers: newest first, filtered by
//! school and person, and downloadable as CSV (what you see is what you get).

use crate::auth::{Officers, Scoped};
use crate::domain::{PersonId, SchoolId};
use crate::error::AppError;
use crate::layout::Layout;
use crate::web::Query;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// Rows shown (and downloaded) at most; narrow with the filters to see older events.
const LIMIT: i64 = 500;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    school: String,
    #[serde(default)]
    person: String,
}

impl Filter {
    fn school(&self) -> Option<SchoolId> {
        SchoolId::parse(&self.school)
    }

    fn person(&self) -> Option<PersonId> {
        PersonId::parse(&self.person)
    }

    fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("school", &self.school)
            .append_pair("person", &self.person)
            .finish()
    }
}

#[derive(sqlx::FromRow)]
pub struct Entry {
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub school: String,
    pub subject: String,
    pub before: String,
    pub after: String,
}

#[derive(sqlx::FromRow)]
pub struct Choice {
    pub id: Uuid,
    pub label: String,
}

async fn entries(
    conn: &mut PgConnection,
    tenant: Uuid,
    f: &Filter,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT to_char(e.occurred_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD HH24:MI:SS') AS occurred_at,
                coalesce(u.name || ' (' || e.actor_email || ')', e.actor_email, 'system') AS actor,
                e.action,
                coalesce(s.name, '') AS school,
                coalesce(e.subject_type || ' ' || e.subject_id, '') AS subject,
                coalesce(e.before::text, '') AS before,
                coalesce(e.after::text, '') AS after
         FROM audit_event e
         LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.actor_id
         LEFT JOIN school s ON s.tenant_id = e.tenant_id AND s.id = e.school_id
         WHERE e.tenant_id = $1
           AND ($2::uuid IS NULL OR e.school_id = $2)
           AND ($3::uuid IS NULL OR e.actor_id = $3 OR (e.subject_type = 'user' AND e.subject_id = $3::text))
         ORDER BY e.id DESC
         LIMIT $4",
    )
    .bind(tenant)
    .bind(f.school())
    .bind(f.person().map(Uuid::from))
    .bind(LIMIT)
    .fetch_all(conn)
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    layout: Layout,
    entries: Vec<Entry>,
    schools: Vec<Choice>,
    people: Vec<Choice>,
    school: String,
    person: String,
    csv_link: String,
    limit: i64,
}

pub async fn get_audit(
    mut s: Scoped<Officers>,
    Query(f): Query<Filter>,
) -> Result<AuditPage, AppError> {
    let tenant = s.tenant;
    let entries = entries(&mut s.tx, tenant, &f).await?;
    let schools = sqlx::query_as("SELECT id, name || ' (' || urn || ')' AS label FROM school WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant)
        .fetch_all(&mut *s.tx)
        .await?;
    let people = sqlx::query_as("SELECT id, name || ' (' || email || ')' AS label FROM app_user WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant)
        .fetch_all(&mut *s.tx)
        .await?;
    Ok(AuditPage {
        layout: s.layout("/audit"),
        entries,
        schools,
        people,
        csv_link: format!("/audit.csv?{}", f.query_string()),
        school: f.school,
        person: f.person,
        limit: LIMIT,
    })
}

/// A CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it.
fn csv_cell(value: &str) -> String {
    let safe = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

pub async fn get_audit_csv(
    mut s: Scoped<Officers>,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let tenant = s.tenant;
    let rows = entries(&mut s.tx, tenant, &f).await?;
    drop(s);
    let mut out = String::from("When,Who,What,School,Subject,Before,After\r\n");
    for e in rows {
        let cells = [
            &e.occurred_at,
            &e.actor,
            &e.action,
            &e.school,
            &e.subject,
            &e.before,
            &e.after,
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
    }
}
