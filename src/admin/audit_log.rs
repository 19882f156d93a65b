//! The audit log of an authority, for tenant admins and LA officers: newest first, filtered by
//! school and person, each event in words (see `audit_words`), and downloadable as CSV with every
//! field as stored. Strand saves link to the revision that holds their texts, shown here too.

use super::audit_words::{self as words, Change, Facts, Names};
use crate::auth::{Officers, Scoped};
use crate::dates::uk_time_sql;
use crate::error::AppError;
use crate::layout::Layout;
use crate::state::AppState;
use crate::web::{Path, Query};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Rows shown (and downloaded) at most; narrow with the filters to see older events.
const LIMIT: i64 = 500;

/// Who reads the audit log and the revisions it links to.

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    school: String,
    #[serde(default)]
    person: String,
}

impl Filter {
    fn school(&self) -> Option<Uuid> {
        self.school.parse().ok()
    }

    fn person(&self) -> Option<Uuid> {
        self.person.parse().ok()
    }

    fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("school", &self.school)
            .append_pair("person", &self.person)
            .finish()
    }
}

/// One stored event as the page and the CSV read it: the CSV's columns exactly as before, and
/// the pieces the page puts into words.
#[derive(sqlx::FromRow)]
pub struct Entry {
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub school: String,
    pub subject: String,
    pub before: String,
    pub after: String,
    occurred_in_words: String,
    occurred_iso: String,
    actor_name: Option<String>,
    actor_email: Option<String>,
    subject_type: Option<String>,
    subject_id: Option<String>,
    subject_name: Option<String>,
    before_json: Option<Value>,
    after_json: Option<Value>,
}

impl Entry {
    /// The event in words, for the page.
    fn line(&self, names: &Names) -> Line {
        let actor = words::actor(self.actor_name.as_deref(), self.actor_email.as_deref());
        let facts = Facts {
            action: &self.action,
            actor: &actor,
            subject_type: self.subject_type.as_deref(),
            subject_id: self.subject_id.as_deref(),
            subject_name: self.subject_name.as_deref(),
            school: (!self.school.is_empty()).then_some(self.school.as_str()),
            before: self.before_json.as_ref(),
            after: self.after_json.as_ref(),
        };
        Line {
            when: self.occurred_in_words.clone(),
            when_iso: self.occurred_iso.clone(),
            sentence: words::sentence(&facts, names),
            school: self.school.clone(),
            changes: words::changes(&facts, names),
        }
    }
}

/// One row of the page.
pub struct Line {
    pub when: String,
    pub when_iso: String,
    pub sentence: String,
    pub school: String,
    pub changes: Vec<Change>,
}

#[derive(sqlx::FromRow)]
pub struct Choice {
    pub id: Uuid,
    pub label: String,
}

/// The newest events that pass the filter, with the names of the people, documents, cohorts and
/// authorities they are about (as they are called today; the event's own record otherwise).
async fn entries(
    conn: &mut PgConnection,
    tenant: Uuid,
    f: &Filter,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(concat!(
        "WITH ev AS (
             SELECT e.*,
                    CASE WHEN e.subject_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         THEN e.subject_id::uuid END AS subject_uuid
             FROM audit_event e
             WHERE e.tenant_id = $1
               AND ($2::uuid IS NULL OR e.school_id = $2)
               AND ($3::uuid IS NULL OR e.actor_id = $3 OR (e.subject_type = 'user' AND e.subject_id = $3::text))
             ORDER BY e.id DESC
             LIMIT $4
         )
         SELECT to_char(e.occurred_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD HH24:MI:SS') AS occurred_at,
                ", uk_time_sql!("e.occurred_at"), " AS occurred_in_words,
                to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS occurred_iso,
                coalesce(u.name || ' (' || e.actor_email || ')', e.actor_email, 'system') AS actor,
                u.name AS actor_name,
                e.actor_email,
                e.action,
                coalesce(s.name, '') AS school,
                coalesce(e.subject_type || ' ' || e.subject_id, '') AS subject,
                coalesce(e.before::text, '') AS before,
                coalesce(e.after::text, '') AS after,
                e.subject_type,
                e.subject_id,
                CASE e.subject_type
                    WHEN 'user' THEN su.name
                    WHEN 'evidence' THEN sd.title
                    WHEN 'cohort' THEN sc.name
                    WHEN 'assessment' THEN ac.name
                    WHEN 'school' THEN s.name
                    WHEN 'tenant' THEN st.name
                END AS subject_name,
                e.before AS before_json,
                e.after AS after_json
         FROM ev e
         LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.actor_id
         LEFT JOIN school s ON s.tenant_id = e.tenant_id AND s.id = e.school_id
         LEFT JOIN app_user su ON e.subject_type = 'user' AND su.tenant_id = e.tenant_id AND su.id = e.subject_uuid
         LEFT JOIN evidence sd ON e.subject_type = 'evidence' AND sd.tenant_id = e.tenant_id AND sd.id = e.subject_uuid
         LEFT JOIN cohort sc ON e.subject_type = 'cohort' AND sc.tenant_id = e.tenant_id AND sc.id = e.subject_uuid
         LEFT JOIN assessment sa ON e.subject_type = 'assessment' AND sa.tenant_id = e.tenant_id AND sa.id = e.subject_uuid
         LEFT JOIN cohort ac ON ac.tenant_id = sa.tenant_id AND ac.id = sa.cohort_id
         LEFT JOIN tenant st ON e.subject_type = 'tenant' AND st.id = e.tenant_id AND st.id = e.subject_uuid
         ORDER BY e.id DESC"
    ))
    .bind(tenant)
    .bind(f.school())
    .bind(f.person())
    .bind(LIMIT)
    .fetch_all(conn)
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    layout: Layout,
    lines: Vec<Line>,
    schools: Vec<Choice>,
    people: Vec<Choice>,
    school: String,
    person: String,
    csv_link: String,
    limit: i64,
}

#[derive(sqlx::FromRow)]
struct Named {
    id: Uuid,
    name: String,
}

/// Names for the ids events keep in their before and after: the tenant's schools and cohorts,
/// and the frameworks loaded.
async fn names(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: Uuid,
) -> Result<Names, sqlx::Error> {
    let schools: Vec<Named> = sqlx::query_as("SELECT id, name FROM school WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await?;
    let cohorts: Vec<Named> = sqlx::query_as("SELECT id, name FROM cohort WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await?;
    let pairs = |rows: Vec<Named>| rows.into_iter().map(|r| (r.id, r.name)).collect();
    Ok(Names {
        schools: pairs(schools),
        cohorts: pairs(cohorts),
        frameworks: state
            .catalogue
            .all()
            .map(|fw| (fw.key.clone(), fw.name.clone()))
            .collect(),
        strands: {
            let mut refs = HashMap::new();
            for fw in state.catalogue.all() {
                for (_, strand) in fw.strands() {
                    refs.entry(strand.key.clone())
                        .or_insert_with(|| strand.reference());
                }
            }
            refs
        },
    })
}

pub async fn get_audit(
    mut s: Scoped<Officers>,
    Query(f): Query<Filter>,
) -> Result<AuditPage, AppError> {
    let tenant = s.tenant;
    let state = s.state.clone();
    let tx = &mut s.tx;
    let entries = entries(tx, tenant, &f).await?;
    let names = names(tx, &state, tenant).await?;
    let schools = sqlx::query_as("SELECT id, name || ' (' || urn || ')' AS label FROM school WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    let people = sqlx::query_as("SELECT id, name || ' (' || email || ')' AS label FROM app_user WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    Ok(AuditPage {
        layout: s.layout("/audit"),
        lines: entries.iter().map(|e| e.line(&names)).collect(),
        schools,
        people,
        csv_link: format!("/audit.csv?{}", f.query_string()),
        school: f.school,
        person: f.person,
        limit: LIMIT,
    })
}

/// A CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it.
pub fn csv_cell(value: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// A saved revision of a strand: the texts a strand save wrote, which the log links to rather
// than copies.

#[derive(sqlx::FromRow)]
pub struct Revision {
    pub strand_key: String,
    pub actions: String,
    pub impact: String,
    pub claimed_level: Option<String>,
    pub outcome: String,
    pub saved_at: String,
    pub saved_by: String,
    pub school_id: Uuid,
    pub school: String,
    pub cohort: String,
    pub framework_key: String,
    pub framework_version: String,
    /// The saved revisions of the same strand just before and after this one.
    pub previous: Option<i64>,
    pub next: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/revision.html")]
pub struct RevisionPage {
    layout: Layout,
    r: Revision,
    /// "1.2", as the handbook prints it.
    label: String,
    theme: String,
    level: String,
}

pub async fn get_revision(
    mut s: Scoped<Officers>,
    Path(id): Path<i64>,
) -> Result<RevisionPage, AppError> {
    let tenant = s.tenant;
    let r: Revision = sqlx::query_as(concat!(
        "SELECT r.strand_key, r.actions, r.impact, r.claimed_level, r.outcome,
                ", uk_time_sql!("r.saved_at"), " AS saved_at,
                coalesce(u.name, 'Someone') AS saved_by,
                a.school_id, s.name AS school, c.name AS cohort, a.framework_key, a.framework_version,
                (SELECT max(p.id) FROM strand_revision p
                  WHERE p.tenant_id = r.tenant_id AND p.assessment_id = r.assessment_id
                    AND p.strand_key = r.strand_key AND p.outcome = 'saved' AND p.id < r.id) AS previous,
                (SELECT min(n.id) FROM strand_revision n
                  WHERE n.tenant_id = r.tenant_id AND n.assessment_id = r.assessment_id
                    AND n.strand_key = r.strand_key AND n.outcome = 'saved' AND n.id > r.id) AS next
         FROM strand_revision r
         JOIN assessment a ON a.tenant_id = r.tenant_id AND a.id = r.assessment_id
         JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         LEFT JOIN app_user u ON u.tenant_id = r.tenant_id AND u.id = r.saved_by
         WHERE r.tenant_id = $1 AND r.id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let fw = s
        .state
        .catalogue
        .get(&r.framework_key, &r.framework_version);
    let found = fw
        .as_ref()
        .and_then(|fw| fw.strands().find(|(_, s)| s.key == r.strand_key));
    let (label, theme) = match found {
        Some((t, s)) => (
            format!("{}: {}", s.reference(), s.title),
            format!("{}. {}", t.number, t.title),
        ),
        None => (r.strand_key.clone(), String::new()),
    };
    let level = match (&fw, r.claimed_level.as_deref()) {
        (_, None) => "None yet".to_string(),
        (Some(fw), Some(k)) => fw
            .level(k)
            .map_or_else(|| k.to_string(), |l| l.name.clone()),
        (None, Some(k)) => k.to_string(),
    };
    Ok(RevisionPage {
        layout: s.layout("/audit"),
        r,
        label,
        theme,
        level,
    })
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
