//! The Attendance Lead's handbook: overview with the suggested best fit, theme pages, and the
//! strand page where the school writes its actions and evidence, claims a level and records
//! impact. Head teachers of the school see and may edit the same handbook.
//!
//! No lost work: every strand carries a version; a save against a stale version is refused with
//! both texts shown, and every attempt (saved or refused) is kept in `strand_revision`.

pub mod export;
pub mod pdf;
pub mod strand;
pub mod zip;

pub use crate::assessment::{AssessmentRow, Handbook};

use crate::assessment::{self, Stage, deadline, review};
use crate::auth::{Role, SchoolStaff, Scoped};
use crate::best_fit_setting;
use crate::dates::uk_time_sql;
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::framework::{self, Framework, Theme};
use crate::layout::Layout;
use crate::web::{Path, see_other};
use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// Characters allowed in each long text, stated on the page and enforced here.
pub const TEXT_LIMIT: usize = 20_000;

#[derive(sqlx::FromRow, Clone, Default)]
pub struct Entry {
    pub strand_key: String,
    pub actions: String,
    pub impact: String,
    pub claimed_level: Option<String>,
    pub version: i32,
    pub saved_at: String,
    pub saved_by: Option<String>,
}

const ENTRY_COLUMNS: &str = concat!(
    "SELECT e.strand_key, e.actions, e.impact, e.claimed_level, e.version, ",
    uk_time_sql!("e.updated_at"),
    " AS saved_at, u.name AS saved_by
     FROM strand_entry e LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.updated_by"
);

pub async fn entries(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: impl Into<Uuid>,
) -> Result<HashMap<String, Entry>, sqlx::Error> {
    let rows: Vec<Entry> = sqlx::query_as(&format!(
        "{ENTRY_COLUMNS} WHERE e.tenant_id = $1 AND e.assessment_id = $2"
    ))
    .bind(tenant)
    .bind(assessment.into())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|e| (e.strand_key.clone(), e))
        .collect())
}

pub async fn entry(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: impl Into<Uuid>,
    strand: &str,
) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ENTRY_COLUMNS} WHERE e.tenant_id = $1 AND e.assessment_id = $2 AND e.strand_key = $3"
    ))
    .bind(tenant)
    .bind(assessment.into())
    .bind(strand)
    .fetch_optional(conn)
    .await
}

/// Claimed levels for the best-fit rule.
pub fn claims(entries: &HashMap<String, Entry>) -> BTreeMap<String, String> {
    entries
        .values()
        .filter_map(|e| e.claimed_level.clone().map(|l| (e.strand_key.clone(), l)))
        .collect()
}

/// `/handbook`: the school's open handbook, or a page saying there is none yet.
pub async fn get_handbook(mut s: Scoped<SchoolStaff>) -> Result<Response, AppError> {
    let school = s.school()?;
    Ok(
        match assessment::open_of_school(&mut s.tx, s.tenant, school).await? {
            Some(id) => see_other(&format!("/assessments/{id}")),
            None => NoHandbookPage {
                layout: s.layout("/handbook"),
            }
            .into_response(),
        },
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/none.html")]
pub struct NoHandbookPage {
    layout: Layout,
}

pub struct StrandRow {
    pub key: String,
    /// "Strand 4.5 (charter): The Liverpool Attendance Charter".
    pub heading: String,
    pub claimed: String,
    pub written: bool,
    pub evidence: i64,
    pub comments: i64,
    /// New in this version of the criteria, in a renewal.
    pub new: bool,
}

/// One line per strand of a theme: claimed level, whether anything is written, documents linked,
/// comments.
fn strand_rows(
    fw: &Framework,
    theme: &Theme,
    entries: &HashMap<String, Entry>,
    evidence: &HashMap<String, i64>,
    comments: &HashMap<String, i64>,
    new: &BTreeSet<String>,
) -> Vec<StrandRow> {
    theme
        .strands
        .iter()
        .map(|s| {
            let e = entries.get(&s.key);
            StrandRow {
                key: s.key.clone(),
                heading: s.heading(),
                claimed: e
                    .and_then(|e| e.claimed_level.as_deref())
                    .and_then(|l| fw.level(l))
                    .map_or_else(|| "None".to_string(), |l| l.name.clone()),
                written: e.is_some_and(|e| !e.actions.trim().is_empty()),
                evidence: evidence.get(&s.key).copied().unwrap_or(0),
                comments: comments.get(&s.key).copied().unwrap_or(0),
                new: new.contains(&s.key),
            }
        })
        .collect()
}

pub struct ThemeView {
    pub number: u32,
    pub title: String,
    pub strands: Vec<StrandRow>,
    pub written: usize,
    pub claimed: usize,
    pub fit: String,
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/overview.html")]
pub struct OverviewPage {
    layout: Layout,
    a: AssessmentRow,
    fw_name: String,
    themes: Vec<ThemeView>,
    overall: String,
    overall_reason: String,
    /// The rule in words, sentence by sentence.
    best_fit_rule: Vec<String>,
    /// Whose rule it is and since when.
    rule_source: String,
    review: ReviewPanel,
}

/// The review part of the overview: where the handbook is, who assesses it, every step so far,
/// and what the signed-in person can do next.
pub struct ReviewPanel {
    pub stage: Stage,
    pub assessor: Option<String>,
    pub visit: Option<String>,
    pub timeline: Vec<review::TimelineItem>,
    /// The submission deadline and the working days left, once a visit date exists.
    pub deadline: String,
    pub deadline_rule: Option<String>,
    /// The handbook was submitted after its deadline: "late by N working days".
    pub late: Option<String>,
    /// The lead may send it to the head now.
    pub can_send: bool,
    /// The head may return it or approve and submit it now.
    pub can_decide: bool,
    pub locked: Option<&'static str>,
}

async fn review_panel(
    s: &mut Scoped<SchoolStaff>,
    id: AssessmentId,
) -> Result<ReviewPanel, AppError> {
    let st = review::state(&mut s.tx, s.tenant, id).await?;
    let role = s.user.role;
    let (deadline, _, _) = deadline::load(&mut s.tx, s.tenant, st.visit_at).await?;
    let late = review::late_by(&mut s.tx, s.tenant, id).await?;
    Ok(ReviewPanel {
        deadline: deadline.describe(),
        deadline_rule: deadline.rule(),
        late: late.map(review::late_label),
        can_send: role == Role::AttendanceLead && st.stage.can_send_to_head(),
        can_decide: role == Role::HeadTeacher && st.stage.with_head(),
        locked: st.stage.locked_reason(role),
        visit: st.visit_label(),
        assessor: st.assessor.clone(),
        stage: st.stage,
        timeline: review::timeline(&mut s.tx, s.tenant, id).await?,
    })
}

pub fn level_name(fw: &Framework, key: Option<&str>) -> String {
    key.and_then(|k| fw.level(k))
        .map_or_else(|| "Not yet".to_string(), |l| l.name.clone())
}

async fn evidence_counts(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: AssessmentId,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.strand_key, count(*) FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND e.deleted_at IS NULL GROUP BY l.strand_key",
    )
    .bind(tenant)
    .bind(assessment)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn get_overview(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<AssessmentId>,
) -> Result<OverviewPage, AppError> {
    let h = id.load(&mut s).await?;
    let entries = entries(&mut s.tx, s.tenant, id).await?;
    let evidence = evidence_counts(&mut s.tx, s.tenant, id).await?;
    let comments = review::comment_counts(&mut s.tx, s.tenant, id).await?;
    let review = review_panel(&mut s, id).await?;
    let rule = best_fit_setting::in_force(&mut s.tx, s.tenant, &h.fw).await?;
    let fit = framework::best_fit(&h.fw, &rule.rule, &claims(&entries));
    let themes = h
        .fw
        .themes
        .iter()
        .zip(&fit.themes)
        .map(|(theme, tf)| {
            let strands = strand_rows(&h.fw, theme, &entries, &evidence, &comments, &h.new_strands);
            ThemeView {
                number: theme.number,
                title: theme.title.clone(),
                written: strands.iter().filter(|s| s.written).count(),
                claimed: strands.iter().filter(|s| s.claimed != "None").count(),
                strands,
                fit: level_name(&h.fw, tf.level.as_deref()),
                reason: tf.reason.clone(),
            }
        })
        .collect();
    Ok(OverviewPage {
        layout: s.layout("/handbook"),
        fw_name: format!("{} ({})", h.fw.name, h.fw.version),
        overall: level_name(&h.fw, fit.overall.as_deref()),
        overall_reason: fit.reason,
        best_fit_rule: rule.rule.explain(&h.fw),
        rule_source: rule.attribution(),
        themes,
        a: h.a,
        review,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/theme.html")]
pub struct ThemePage {
    layout: Layout,
    a: AssessmentRow,
    theme: Theme,
    rows: Vec<StrandRow>,
    cpd: Option<String>,
}

pub async fn get_theme(
    mut s: Scoped<SchoolStaff>,
    Path((id, number)): Path<(AssessmentId, u32)>,
) -> Result<ThemePage, AppError> {
    let h = id.load(&mut s).await?;
    let entries = entries(&mut s.tx, s.tenant, id).await?;
    let evidence = evidence_counts(&mut s.tx, s.tenant, id).await?;
    let comments = review::comment_counts(&mut s.tx, s.tenant, id).await?;
    let theme =
        h.fw.themes
            .iter()
            .find(|t| t.number == number)
            .ok_or(AppError::NotFound)?
            .clone();
    let rows = strand_rows(
        &h.fw,
        &theme,
        &entries,
        &evidence,
        &comments,
        &h.new_strands,
    );
    Ok(ThemePage {
        layout: s.layout("/handbook"),
        cpd: h.fw.cpd_for_theme(number).map(|c| c.name.clone()),
        a: h.a,
        theme,
        rows,
    })
}
