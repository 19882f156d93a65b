//! The assessor's caseload: every school assigned to them with its stage, visit, deadline and late
//! flag, ordered by what needs their attention first.

use crate::assessment::review::late_label;
use crate::assessment::{Stage, deadline};
use crate::auth::{Assessors, Scoped};
use crate::error::AppError;
use crate::framework::Catalogue;
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, NaiveDateTime};
use uuid::Uuid;

/// What an assigned handbook asks of the assessor now, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attention {
    /// Visited (the day has come) and submitted: the award is to be agreed.
    RecordAward,
    /// Submitted, the visit ahead: read it before going.
    ReadBeforeVisit,
    /// No visit arranged yet.
    ArrangeVisit,
    /// Waiting for the school to submit.
    AwaitingSubmission,
    /// Awarded: nothing to do.
    Done,
}

impl Attention {
    pub fn of(stage: Stage, visit_at: Option<NaiveDateTime>, today: NaiveDate) -> Attention {
        match (stage, visit_at) {
            (Stage::Awarded, _) => Attention::Done,
            (Stage::Submitted, Some(v)) if v.date() <= today => Attention::RecordAward,
            (Stage::Submitted, _) => Attention::ReadBeforeVisit,
            (_, None) => Attention::ArrangeVisit,
            _ => Attention::AwaitingSubmission,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Attention::RecordAward => "Agree the award",
            Attention::ReadBeforeVisit => "Read the submitted handbook before the visit",
            Attention::ArrangeVisit => "Arrange the visit",
            Attention::AwaitingSubmission => "Waiting for the school to submit",
            Attention::Done => "Awarded",
        }
    }

    pub fn needs_you(self) -> bool {
        matches!(
            self,
            Attention::RecordAward | Attention::ReadBeforeVisit | Attention::ArrangeVisit
        )
    }
}

/// A school assigned to the assessor.
pub struct Assigned {
    pub id: Uuid,
    pub school: String,
    pub cohort: String,
    pub stage: Stage,
    pub visit: String,
    pub deadline: String,
    pub late: Option<String>,
    pub attention: Attention,
    /// The submitted handbook to read, once there is one.
    pub submission: Option<Uuid>,
    pub award: Option<String>,
}

/// The handbooks an assessor is assigned to, what needs them first, then by visit.
pub async fn assigned_to(
    conn: &mut sqlx::PgConnection,
    catalogue: &Catalogue,
    tenant: Uuid,
    assessor: Uuid,
) -> Result<Vec<Assigned>, AppError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        Uuid,
        String,
        String,
        String,
        Option<NaiveDateTime>,
        Option<Uuid>,
        Option<i32>,
        Option<String>,
        String,
        String,
    )> = sqlx::query_as(
        "SELECT a.id, s.name, c.name, a.stage, a.visit_at, latest.id, latest.late_by, aw.outcome,
                a.framework_key, a.framework_version
             FROM assessment a
             JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
             JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
             LEFT JOIN award aw ON aw.tenant_id = a.tenant_id AND aw.assessment_id = a.id
             LEFT JOIN LATERAL (
                 SELECT sub.id, sub.late_by FROM submission sub
                 WHERE sub.tenant_id = a.tenant_id AND sub.assessment_id = a.id
                 ORDER BY sub.submitted_at DESC LIMIT 1
             ) latest ON true
             WHERE a.tenant_id = $1 AND a.assessor_id = $2
             ORDER BY a.visit_at NULLS LAST, s.name",
    )
    .bind(tenant)
    .bind(assessor)
    .fetch_all(&mut *conn)
    .await?;
    let cal = crate::calendar::Calendar::of_tenant(&mut *conn, tenant).await?;
    let today = crate::dates::uk_date(&mut *conn).await?;
    let notice = deadline::notice_days(&mut *conn, tenant).await?;
    let mut list: Vec<(Option<NaiveDateTime>, Assigned)> = Vec::with_capacity(rows.len());
    for (id, school, cohort, stage, visit_at, submission, late_by, outcome, fw_key, fw_version) in
        rows
    {
        let stage = Stage::parse(&stage).unwrap_or(Stage::InProgress);
        let award = outcome.map(|o| match catalogue.get(&fw_key, &fw_version) {
            Some(fw) => super::level_words(&fw, Some(&o)),
            None => o,
        });
        list.push((
            visit_at,
            Assigned {
                id,
                school,
                cohort,
                visit: visit_at.map_or_else(|| "Not arranged".to_string(), crate::dates::visit),
                deadline: if stage.is_settled() {
                    "Submitted".to_string()
                } else {
                    deadline::of_visit(&cal, visit_at, notice, today).describe()
                },
                late: late_by.filter(|n| *n > 0).map(late_label),
                attention: Attention::of(stage, visit_at, today),
                stage,
                submission,
                award,
            },
        ));
    }
    list.sort_by_key(|(visit, a)| (a.attention, visit.is_none(), *visit));
    Ok(list.into_iter().map(|(_, a)| a).collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/caseload.html")]
pub struct CaseloadPage {
    layout: Layout,
    list: Vec<Assigned>,
}

/// `/visits`: the assessor's caseload.
pub async fn get_caseload(mut s: Scoped<Assessors>) -> Result<CaseloadPage, AppError> {
    let list = assigned_to(&mut s.tx, &s.state.catalogue, s.tenant, s.user.id).await?;
    Ok(CaseloadPage {
        layout: s.layout("/visits"),
        list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(9, 30, 0))
    }

    #[test]
    fn what_needs_the_assessor_first() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 10).unwrap();
        assert_eq!(
            Attention::of(Stage::Submitted, at(2027, 3, 10), today),
            Attention::RecordAward
        );
        assert_eq!(
            Attention::of(Stage::Submitted, at(2027, 3, 12), today),
            Attention::ReadBeforeVisit
        );
        assert_eq!(
            Attention::of(Stage::InProgress, None, today),
            Attention::ArrangeVisit
        );
        assert_eq!(
            Attention::of(Stage::WithHead, at(2027, 4, 1), today),
            Attention::AwaitingSubmission
        );
        assert_eq!(
            Attention::of(Stage::Awarded, at(2027, 3, 1), today),
            Attention::Done
        );
        assert!(Attention::RecordAward < Attention::ReadBeforeVisit);
        assert!(Attention::ReadBeforeVisit < Attention::AwaitingSubmission);
        assert!(!Attention::Done.needs_you());
    }
}
