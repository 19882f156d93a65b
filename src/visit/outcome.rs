//! The award once agreed: the page the school, its assessor and the authority's officers read
//! (outcome, dates, claimed against agreed per strand, strengths and areas for development), the
//! head teacher's acknowledgement, the certificate and report PDFs, and the public verification
//! page, which shows only the certificate's facts and whether the award is current.

use super::judge::judgements;
use super::{NOT_YET, level_words};
use crate::assessment::review::record_step;
use crate::auth::{Ctx, HeadTeachers, Members, Role, Scoped};
use crate::dates::{self, uk_time_sql};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::framework::{Catalogue, Framework};
use crate::handbook::export::plain_file_name;
use crate::handbook::pdf::{self, Block, Para};
use crate::handbook::{self, level_name};
use crate::layout::Layout;
use crate::state::AppState;
use crate::web::{Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use std::sync::Arc;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct AwardRow {
    outcome: String,
    suggested: String,
    claimed: String,
    reason: String,
    awarded_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    verify_code: Option<String>,
    assessor: String,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<String>,
    school_id: Uuid,
    school: String,
    cohort: String,
    authority: String,
    framework_key: String,
    framework_version: String,
    current: bool,
}

pub struct ThemeOutcome {
    pub number: u32,
    pub title: String,
    pub strengths: String,
    pub development: String,
    pub strands: Vec<StrandOutcome>,
}

pub struct StrandOutcome {
    pub reference: String,
    pub title: String,
    pub claimed: String,
    pub agreed: String,
    pub notes: String,
    pub differs: bool,
}

/// An award with everything its pages and documents show.
pub struct AwardView {
    pub id: AssessmentId,
    pub school_id: Uuid,
    pub school: String,
    pub cohort: String,
    pub authority: String,
    pub framework: String,
    pub outcome: String,
    pub is_level: bool,
    pub suggested: String,
    pub claimed: String,
    pub reason: String,
    pub awarded_on: String,
    pub expires_on: Option<String>,
    pub current: bool,
    pub verify_code: Option<String>,
    pub assessor: String,
    pub acknowledged: Option<(String, String)>,
    pub themes: Vec<ThemeOutcome>,
}

fn framework(catalogue: &Catalogue, key: &str, version: &str) -> Result<Arc<Framework>, AppError> {
    catalogue.get(key, version).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("framework {key} {version} is not loaded"))
    })
}

/// The award of assessment `id` of `tenant`; 404 when none has been agreed. Callers check who may
/// see it first.
pub async fn load_award(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
    catalogue: &Catalogue,
) -> Result<AwardView, AppError> {
    let r: AwardRow = sqlx::query_as(concat!(
        "SELECT aw.outcome, aw.suggested, aw.claimed, aw.reason, aw.awarded_on, aw.expires_on, aw.verify_code,
                u.name AS assessor, ack.name AS acknowledged_by, ",
        uk_time_sql!("aw.acknowledged_at"),
        " AS acknowledged_at, s.id AS school_id, s.name AS school, c.name AS cohort, t.name AS authority,
                a.framework_key, a.framework_version,
                coalesce(aw.expires_on >= (now() AT TIME ZONE 'Europe/London')::date, false) AS current
         FROM award aw
         JOIN assessment a ON a.tenant_id = aw.tenant_id AND a.id = aw.assessment_id
         JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         JOIN tenant t ON t.id = aw.tenant_id
         JOIN app_user u ON u.tenant_id = aw.tenant_id AND u.id = aw.assessor_id
         LEFT JOIN app_user ack ON ack.tenant_id = aw.tenant_id AND ack.id = aw.acknowledged_by
         WHERE aw.tenant_id = $1 AND aw.assessment_id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let fw = framework(catalogue, &r.framework_key, &r.framework_version)?;
    let notes: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT theme_number, strengths, development FROM award_theme
         WHERE tenant_id = $1 AND assessment_id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let entries = handbook::entries(&mut *conn, tenant, id).await?;
    let js = judgements(&mut *conn, tenant, id).await?;
    let themes = fw
        .themes
        .iter()
        .map(|t| {
            let n = notes.iter().find(|n| i64::from(n.0) == i64::from(t.number));
            ThemeOutcome {
                number: t.number,
                title: t.title.clone(),
                strengths: n.map(|n| n.1.clone()).unwrap_or_default(),
                development: n.map(|n| n.2.clone()).unwrap_or_default(),
                strands: t
                    .strands
                    .iter()
                    .map(|st| {
                        let claimed = entries.get(&st.key).and_then(|e| e.claimed_level.clone());
                        let agreed = js.get(&st.key).and_then(|j| j.agreed_level.clone());
                        StrandOutcome {
                            reference: st.reference(),
                            title: st.title.clone(),
                            claimed: level_name(&fw, claimed.as_deref()),
                            agreed: level_words(&fw, agreed.as_deref()),
                            notes: js.get(&st.key).map(|j| j.notes.clone()).unwrap_or_default(),
                            // "None of the levels" agrees with no claim.
                            differs: agreed.is_some()
                                && agreed.as_deref().filter(|a| *a != super::NONE)
                                    != claimed.as_deref(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(AwardView {
        id,
        school_id: r.school_id,
        school: r.school,
        cohort: r.cohort,
        authority: r.authority,
        framework: format!("{} ({})", fw.name, fw.version),
        is_level: r.outcome != NOT_YET,
        outcome: level_words(&fw, Some(&r.outcome)),
        suggested: level_words(&fw, Some(&r.suggested)),
        claimed: level_words(&fw, Some(&r.claimed)),
        reason: r.reason,
        awarded_on: dates::date(r.awarded_on),
        expires_on: r.expires_on.map(dates::date),
        current: r.current,
        verify_code: r.verify_code,
        assessor: r.assessor,
        acknowledged: r.acknowledged_by.zip(r.acknowledged_at),
        themes,
    })
}

/// 404 unless the signed-in person may see this handbook's award: its school's staff, its
/// assessor, the authority's officers and administrators.
async fn may_see(s: &mut Scoped<Members>, id: AssessmentId) -> Result<(), AppError> {
    let (school, assessor) = match s.user.role {
        Role::AttendanceLead | Role::HeadTeacher => (Some(s.school()?), None),
        Role::Assessor => (None, Some(s.user.id)),
        _ => (None, None),
    };
    let found: Option<bool> = sqlx::query_scalar(
        "SELECT true FROM assessment a
         WHERE a.tenant_id = $1 AND a.id = $2
           AND ($3::uuid IS NULL OR a.school_id = $3) AND ($4::uuid IS NULL OR a.assessor_id = $4)",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(school)
    .bind(assessor)
    .fetch_optional(&mut *s.tx)
    .await?;
    found.map(|_| ()).ok_or(AppError::NotFound)
}

async fn viewed(s: &mut Scoped<Members>, id: AssessmentId) -> Result<AwardView, AppError> {
    may_see(s, id).await?;
    let catalogue = s.state.catalogue.clone();
    load_award(&mut s.tx, s.tenant, id, &catalogue).await
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/outcome.html")]
pub struct OutcomePage {
    layout: Layout,
    v: AwardView,
    verify_url: Option<String>,
    can_acknowledge: bool,
    can_renew: bool,
    back: (&'static str, String),
}

pub async fn get_outcome(
    mut s: Scoped<Members>,
    Path(id): Path<AssessmentId>,
) -> Result<OutcomePage, AppError> {
    let v = viewed(&mut s, id).await?;
    let role = s.user.role;
    let renewed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM assessment WHERE tenant_id = $1 AND renewal_of = $2)",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_one(&mut *s.tx)
    .await?;
    let back = match role {
        Role::Assessor => ("/visits", format!("/visits/{id}")),
        Role::LaOfficer | Role::TenantAdmin => ("/cohorts", "/cohorts".to_string()),
        _ => ("/handbook", format!("/assessments/{id}")),
    };
    Ok(OutcomePage {
        layout: s.layout(back.0),
        verify_url: v
            .verify_code
            .as_ref()
            .map(|c| format!("{}/verify/{c}", s.state.config.base_url())),
        can_acknowledge: role == Role::HeadTeacher && v.acknowledged.is_none(),
        can_renew: role.is_school_role() && v.is_level && !renewed,
        back,
        v,
    })
}

/// The head teacher acknowledges the outcome.
pub async fn post_acknowledge(
    mut s: Scoped<HeadTeachers>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let school = s.school()?;
    let done = sqlx::query(
        "UPDATE award aw SET acknowledged_by = $3, acknowledged_at = now()
         FROM assessment a
         WHERE aw.tenant_id = $1 AND aw.assessment_id = $2 AND a.tenant_id = aw.tenant_id
           AND a.id = aw.assessment_id AND a.school_id = $4 AND aw.acknowledged_at IS NULL",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(s.user.id)
    .bind(school)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    if done != 1 {
        // Another school's, none agreed yet, or acknowledged already: nothing of it is told.
        return Err(AppError::NotFound);
    }
    record_step(&mut s.tx, s.tenant, id, "acknowledged", s.user.id, "").await?;
    let ev = s
        .event("award.acknowledged")
        .subject("assessment", id)
        .after(json!({"acknowledged_by": s.user.name}));
    s.record(ev).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}/award"),
        "award-acknowledged",
    ))
}

pub async fn render(
    title: String,
    footer: String,
    blocks: Vec<Block>,
) -> Result<Vec<u8>, AppError> {
    tokio::task::spawn_blocking(move || pdf::render(&title, &footer, &blocks))
        .await
        .map_err(|e| anyhow::anyhow!(e))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("PDF: {e}")))
}

/// The certificate's words (pure).
pub fn certificate_blocks(v: &AwardView, base_url: &str) -> Vec<Block> {
    let mut b = vec![
        Block::Heading(1, "Attendance Quality Mark".into()),
        Block::Para(Para::plain("This certifies that")),
        Block::Heading(2, v.school.clone()),
        Block::Para(Para::plain(format!(
            "has been awarded the {} Attendance Quality Mark by {}.",
            v.outcome, v.authority
        ))),
        Block::Para(Para::labelled("Awarded:", format!(" {}", v.awarded_on))),
    ];
    if let Some(e) = &v.expires_on {
        b.push(Block::Para(Para::labelled("Valid until:", format!(" {e}"))));
    }
    b.push(Block::Para(Para::labelled(
        "Criteria:",
        format!(" {}", v.framework),
    )));
    if let Some(code) = &v.verify_code {
        b.push(Block::Para(Para::plain(format!(
            "Check that this award is genuine and current at {base_url}/verify/{code}"
        ))));
    }
    b
}

/// The report's contents (pure): the outcome and why, then each key theme's strengths, areas for
/// development and strands, claimed against agreed.
pub fn report_blocks(v: &AwardView) -> Vec<Block> {
    let mut b = vec![
        Block::Heading(1, "Attendance Quality Mark assessment report".into()),
        Block::Para(Para::plain(format!(
            "{}, cohort {}, {}. Assessor: {}. Criteria: {}.",
            v.school, v.cohort, v.authority, v.assessor, v.framework
        ))),
        Block::Para(Para::labelled(
            "Award:",
            format!(" {}, agreed {}.", v.outcome, v.awarded_on),
        )),
        Block::Para(Para::labelled(
            "Suggested best fit from the agreed levels:",
            format!(" {}. From the school's claims: {}.", v.suggested, v.claimed),
        )),
    ];
    if !v.reason.trim().is_empty() {
        b.push(Block::Para(Para::labelled(
            "Reason for the award:",
            format!(" {}", v.reason),
        )));
    }
    let column = |title: &str, share: f32| pdf::Column {
        title: title.to_string(),
        share,
    };
    for t in &v.themes {
        b.push(Block::PageBreak);
        b.push(Block::Heading(
            2,
            format!("Key theme {}: {}", t.number, t.title),
        ));
        b.push(Block::Para(Para::labelled(
            "Strengths:",
            format!(
                " {}",
                if t.strengths.is_empty() {
                    "None recorded"
                } else {
                    &t.strengths
                }
            ),
        )));
        b.push(Block::Para(Para::labelled(
            "Areas for development:",
            format!(
                " {}",
                if t.development.is_empty() {
                    "None recorded"
                } else {
                    &t.development
                }
            ),
        )));
        b.push(Block::Table(pdf::Table {
            columns: vec![
                column("Strand", 0.26),
                column("Claimed", 0.12),
                column("Agreed", 0.14),
                column("Assessor's notes", 0.48),
            ],
            rows: t
                .strands
                .iter()
                .map(|s| {
                    vec![
                        vec![Para::plain(format!("{} {}", s.reference, s.title))],
                        vec![Para::plain(&s.claimed)],
                        vec![Para::plain(&s.agreed)],
                        // An empty cell would give the tagged PDF a paragraph with no text.
                        vec![Para::plain(if s.notes.trim().is_empty() {
                            "No notes"
                        } else {
                            s.notes.as_str()
                        })],
                    ]
                })
                .collect(),
        }));
    }
    b
}

pub async fn certificate_pdf(v: &AwardView, base_url: &str) -> Result<Vec<u8>, AppError> {
    render(
        format!("Attendance Quality Mark certificate – {}", v.school),
        format!("{} – certificate", v.school),
        certificate_blocks(v, base_url),
    )
    .await
}

pub async fn report_pdf(v: &AwardView) -> Result<Vec<u8>, AppError> {
    render(
        format!("Attendance Quality Mark assessment report – {}", v.school),
        format!("{}, cohort {} – assessment report", v.school, v.cohort),
        report_blocks(v),
    )
    .await
}

pub fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub async fn get_certificate(
    mut s: Scoped<Members>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let v = viewed(&mut s, id).await?;
    if !v.is_level {
        return Err(AppError::NotFound);
    }
    let base = s.state.config.base_url();
    drop(s);
    let bytes = certificate_pdf(&v, &base).await?;
    Ok(pdf_response(
        bytes,
        &plain_file_name(&format!("{} certificate", v.school)),
    ))
}

pub async fn get_report(
    mut s: Scoped<Members>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let v = viewed(&mut s, id).await?;
    drop(s);
    let bytes = report_pdf(&v).await?;
    Ok(pdf_response(
        bytes,
        &plain_file_name(&format!("{} assessment report", v.school)),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/verify.html")]
pub struct VerifyPage {
    layout: Layout,
    found: Option<Verified>,
}

/// What the public verification page shows, and nothing more.
pub struct Verified {
    pub school: String,
    pub authority: String,
    pub level: String,
    pub awarded_on: String,
    pub expires_on: String,
    pub current: bool,
}

/// `/verify/{code}`: anyone holding a certificate can check it. An unknown code says so, with the
/// same page, so codes cannot be told apart by anything but the award they name.
pub async fn get_verify(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let code = code.trim();
    #[allow(clippy::type_complexity)]
    let row: Option<(
        String,
        NaiveDate,
        NaiveDate,
        String,
        String,
        String,
        String,
        bool,
    )> = if code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit()) {
        sqlx::query_as(
                "SELECT aw.outcome, aw.awarded_on, aw.expires_on, s.name, t.name, a.framework_key, a.framework_version,
                        aw.expires_on >= (now() AT TIME ZONE 'Europe/London')::date
                 FROM award aw
                 JOIN assessment a ON a.tenant_id = aw.tenant_id AND a.id = aw.assessment_id
                 JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
                 JOIN tenant t ON t.id = aw.tenant_id
                 WHERE aw.verify_code = $1 AND aw.expires_on IS NOT NULL",
            )
            .bind(code)
            .fetch_optional(state.db.system())
            .await?
    } else {
        None
    };
    let found = match row {
        None => None,
        Some((outcome, awarded, expires, school, authority, fw_key, fw_version, current)) => {
            let fw = framework(&state.catalogue, &fw_key, &fw_version)?;
            Some(Verified {
                school,
                authority,
                level: level_words(&fw, Some(&outcome)),
                awarded_on: dates::date(awarded),
                expires_on: dates::date(expires),
                current,
            })
        }
    };
    let status = if found.is_some() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::NOT_FOUND
    };
    let page = VerifyPage {
        layout: ctx.layout("/verify"),
        found,
    };
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> AwardView {
        AwardView {
            id: AssessmentId(Uuid::nil()),
            school_id: Uuid::nil(),
            school: "Riverside Primary".into(),
            cohort: "2026/27".into(),
            authority: "Demo City Council".into(),
            framework: "LAQM (v1)".into(),
            outcome: "Silver".into(),
            is_level: true,
            suggested: "Gold".into(),
            claimed: "Gold".into(),
            reason: "Theme 5 rests on one term's data.".into(),
            awarded_on: "10 March 2027".into(),
            expires_on: Some("10 March 2030".into()),
            current: true,
            verify_code: Some("0123456789abcdef0123456789abcdef".into()),
            assessor: "Sam Assessor".into(),
            acknowledged: None,
            themes: vec![],
        }
    }

    fn text(blocks: &[Block]) -> String {
        format!("{blocks:?}")
    }

    #[test]
    fn the_certificate_names_school_authority_level_dates_and_where_to_check() {
        let t = text(&certificate_blocks(&view(), "https://aqm.example"));
        for needle in [
            "Riverside Primary",
            "Silver Attendance Quality Mark by Demo City Council",
            "10 March 2027",
            "10 March 2030",
            "https://aqm.example/verify/0123456789abcdef0123456789abcdef",
        ] {
            assert!(t.contains(needle), "{needle} missing from {t}");
        }
    }

    #[test]
    fn the_report_gives_the_reason_and_both_suggestions() {
        let t = text(&report_blocks(&view()));
        assert!(t.contains("Theme 5 rests on one term's data."));
        assert!(t.contains("Suggested best fit from the agreed levels:"));
        assert!(t.contains("From the school's claims: Gold."));
    }
}
