//! The assessor's side of the programme and what follows the visit: the caseload, scheduling the
//! visit, visit mode (agreed levels and notes per strand, kept through lost Wi-Fi), agreeing the
//! award, the certificate and report with their public verification, renewal, and the
//! authority's moderation of its assessors' judgements.
//!
//! - `caseload`: the assessor's schools, what needs their attention first.
//! - `schedule`: the assessor sets or moves the visit.
//! - `judge`: visit mode, theme by theme.
//! - `award`: the suggested best fit from the agreed levels and the award recorded.
//! - `outcome`: the award as school, assessor and officer read it; the head's acknowledgement;
//!   certificate, report and the public verification page.
//! - `renewal`: a new handbook from an awarded one.
//! - `moderation`: claimed against agreed, per strand and per assessor.

pub mod award;
pub mod caseload;
pub mod judge;
pub mod moderation;
pub mod outcome;
pub mod renewal;
pub mod schedule;

use crate::assessment::Stage;
use crate::auth::{Assessors, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::framework::Framework;
use crate::review::visit::Visited;
use chrono::NaiveDateTime;
use std::sync::Arc;
use uuid::Uuid;

/// A handbook assigned to the signed-in assessor, with its framework.
pub struct Assessed {
    pub v: Visited,
    pub stage: Stage,
    pub visit_at: Option<NaiveDateTime>,
    pub fw: Arc<Framework>,
    /// The latest submission, once the head has submitted.
    pub submission: Option<Uuid>,
}

impl Assessed {
    pub fn id(&self) -> AssessmentId {
        AssessmentId(self.v.id)
    }
}

#[derive(sqlx::FromRow)]
struct AssessedRow {
    id: Uuid,
    school_id: Uuid,
    school: String,
    cohort_id: Uuid,
    cohort: String,
    stage: String,
    visit_at: Option<NaiveDateTime>,
    framework_key: String,
    framework_version: String,
    submission: Option<Uuid>,
}

impl AssessmentId {
    /// The handbook if the signed-in assessor is the one assigned to it; 404 for every other
    /// (another assessor's, another authority's).
    pub async fn load_for_assessor(self, s: &mut Scoped<Assessors>) -> Result<Assessed, AppError> {
        let r: AssessedRow = sqlx::query_as(
            "SELECT a.id, a.school_id, s.name AS school, a.cohort_id, c.name AS cohort, a.stage,
                    a.visit_at, a.framework_key, a.framework_version,
                    (SELECT sub.id FROM submission sub WHERE sub.tenant_id = a.tenant_id AND sub.assessment_id = a.id
                     ORDER BY sub.submitted_at DESC LIMIT 1) AS submission
             FROM assessment a
             JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
             JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
             WHERE a.tenant_id = $1 AND a.id = $2 AND a.assessor_id = $3",
        )
        .bind(s.tenant)
        .bind(self)
        .bind(s.user.id)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)?;
        let fw = s
            .state
            .catalogue
            .get(&r.framework_key, &r.framework_version)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "framework {} {} is not loaded",
                    r.framework_key,
                    r.framework_version
                )
            })?;
        Ok(Assessed {
            v: Visited {
                id: r.id,
                school_id: r.school_id,
                school: r.school,
                cohort_id: r.cohort_id,
                cohort: r.cohort,
            },
            stage: Stage::parse(&r.stage)
                .ok_or_else(|| anyhow::anyhow!("assessment {self} has an unknown stage"))?,
            visit_at: r.visit_at,
            fw,
            submission: r.submission,
        })
    }
}

/// The agreed level of a strand as stored: a level key, `NONE` for none of the levels.
pub const NONE: &str = "none";
/// The award outcome that is no level.
pub const NOT_YET: &str = "not_yet";

/// How a stored agreed level or outcome reads: "Silver", "None of the levels", "Not yet".
pub fn level_words(fw: &Framework, key: Option<&str>) -> String {
    match key {
        None => "Not judged yet".to_string(),
        Some(NONE) => "None of the levels".to_string(),
        Some(NOT_YET) => "Not yet".to_string(),
        Some(k) => fw
            .level(k)
            .map_or_else(|| k.to_string(), |l| l.name.clone()),
    }
}
