//! A handbook's review as the pages show it: its stage, assessor and visit, the timeline of its
//! steps, and the comments on its strands. The review workflow writes these; the handbook's pages
//! read them here, so neither imports the other's handlers.

use super::Stage;
use crate::auth::{Roles, Scoped};
use crate::dates::uk_time_sql;
use crate::domain::AssessmentId;
use crate::error::AppError;
use chrono::NaiveDateTime;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

pub struct ReviewState {
    pub stage: Stage,
    pub school_id: Uuid,
    pub assessor_id: Option<Uuid>,
    pub assessor: Option<String>,
    /// The visit's date and time, UK local time.
    pub visit_at: Option<NaiveDateTime>,
}

impl ReviewState {
    /// "Tuesday 12 January 2027 at 09:30"
    pub fn visit_label(&self) -> Option<String> {
        self.visit_at.map(crate::dates::visit)
    }
}

/// The review state of assessment `id` of `tenant` (row-level security keeps it to the tenant).
pub async fn state(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<ReviewState, AppError> {
    let row: (String, Uuid, Option<Uuid>, Option<String>, Option<NaiveDateTime>) = sqlx::query_as(
        "SELECT a.stage, a.school_id, a.assessor_id, u.name, a.visit_at
         FROM assessment a LEFT JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.assessor_id
         WHERE a.tenant_id = $1 AND a.id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(ReviewState {
        stage: Stage::parse(&row.0)
            .ok_or_else(|| anyhow::anyhow!("assessment {id} has an unknown stage {}", row.0))?,
        school_id: row.1,
        assessor_id: row.2,
        assessor: row.3,
        visit_at: row.4,
    })
}

/// Refuses (409, with the reason) unless the signed-in person may change the handbook now.
pub async fn ensure_editable<R: Roles>(
    s: &mut Scoped<R>,
    id: AssessmentId,
) -> Result<Stage, AppError> {
    let st = state(&mut s.tx, s.tenant, id).await?;
    match st.stage.locked_reason(s.user.role) {
        None => Ok(st.stage),
        Some(why) => Err(AppError::Locked(why)),
    }
}

/// One step of the timeline.
#[derive(sqlx::FromRow)]
pub struct TimelineItem {
    pub kind: String,
    pub who: String,
    pub when: String,
    pub message: String,
}

impl TimelineItem {
    pub fn what(&self) -> &'static str {
        match self.kind.as_str() {
            "sent_to_head" => "Sent to the head teacher",
            "returned" => "Returned to the Attendance Lead",
            "submitted" => "Approved and submitted to the assessor",
            "reopened" => "Reopened",
            "assessor_set" => "Assessor assigned",
            "visit_set" => "Visit date set",
            "awarded" => "Award agreed",
            "acknowledged" => "Outcome acknowledged by the head teacher",
            "renewed" => "Started as a renewal",
            "withdrawn" => "Withdrawn from the cohort",
            _ => "Changed",
        }
    }
}

/// Every step so far, oldest first.
pub async fn timeline(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<Vec<TimelineItem>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT e.kind, coalesce(u.name, 'The service') AS who, ",
        uk_time_sql!("e.created_at"),
        " AS when, e.message
         FROM assessment_event e LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.actor_id
         WHERE e.tenant_id = $1 AND e.assessment_id = $2 ORDER BY e.id"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_all(conn)
    .await
}

/// Records a step of the timeline.
pub async fn record_step(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
    kind: &str,
    actor: Uuid,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO assessment_event (tenant_id, assessment_id, kind, actor_id, message) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(id)
    .bind(kind)
    .bind(actor)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Comment {
    pub author: String,
    pub role: String,
    pub when: String,
    pub body: String,
}

impl Comment {
    pub fn role_label(&self) -> &'static str {
        self.role
            .parse::<crate::auth::Role>()
            .map_or("", |r| r.label())
    }
}

/// The comments on one strand, oldest first.
pub async fn comments(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
    strand: &str,
) -> Result<Vec<Comment>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT u.name AS author, u.role, ",
        uk_time_sql!("c.created_at"),
        " AS when, c.body
         FROM strand_comment c JOIN app_user u ON u.tenant_id = c.tenant_id AND u.id = c.author_id
         WHERE c.tenant_id = $1 AND c.assessment_id = $2 AND c.strand_key = $3
         ORDER BY c.created_at, c.id"
    ))
    .bind(tenant)
    .bind(id)
    .bind(strand)
    .fetch_all(conn)
    .await
}

/// How many comments each strand has.
pub async fn comment_counts(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT strand_key, count(*) FROM strand_comment WHERE tenant_id = $1 AND assessment_id = $2 GROUP BY strand_key",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// How late the latest submission was, in working days, if it was late.
pub async fn late_by(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<Option<i32>, sqlx::Error> {
    let late: Option<Option<i32>> = sqlx::query_scalar(
        "SELECT late_by FROM submission WHERE tenant_id = $1 AND assessment_id = $2
         ORDER BY submitted_at DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(late.flatten().filter(|n| *n > 0))
}

/// "Submitted late by 2 working days"
pub fn late_label(n: i32) -> String {
    if n == 1 {
        "Submitted late by 1 working day".to_string()
    } else {
        format!("Submitted late by {n} working days")
    }
}
