//! The Attendance Lead's handbook: overview with the suggested best fit, theme pages, and the
//! strand page where the school writes its actions and evidence, claims a level and records
//! impact. Head teachers of the school see and may edit the same handbook.
//!
//! No lost work: every strand carries a version; a save against a stale version is refused with
//! both texts shown, and every attempt (saved or refused) is kept in `strand_revision`.

pub mod export;
pub mod pdf;
pub mod pupil_data;
pub mod zip;

use crate::app::AppState;
use crate::audit;
use crate::auth::{Ctx, CurrentUser, Role};
use crate::error::AppError;
use crate::forms::Errors;
use crate::framework::{self, Framework, Strand, Theme};
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// People who read and write a school's handbook.
pub const SCHOOL_ROLES: &[Role] = &[Role::AttendanceLead, Role::HeadTeacher];
/// Characters allowed in each long text, stated on the page and enforced here.
pub const TEXT_LIMIT: usize = 20_000;

#[derive(sqlx::FromRow, Clone)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub school_id: Uuid,
    pub school_name: String,
    pub cohort_name: String,
    pub framework_key: String,
    pub framework_version: String,
}

/// An assessment the signed-in person may work on, with its pinned framework.
pub struct Handbook {
    pub a: AssessmentRow,
    pub fw: Arc<Framework>,
}

/// The assessment `id`, if it belongs to the person's own school; 404 for any other.
pub async fn load(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<Handbook, AppError> {
    user.require(SCHOOL_ROLES)?;
    let tenant = user.tenant()?;
    let school = user.school_id.ok_or(AppError::NotFound)?;
    let a: AssessmentRow = sqlx::query_as(
        "SELECT a.id, a.school_id, s.name AS school_name, c.name AS cohort_name, a.framework_key, a.framework_version
         FROM assessment a
         JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         WHERE a.tenant_id = $1 AND a.id = $2 AND a.school_id = $3",
    )
    .bind(tenant)
    .bind(id)
    .bind(school)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let fw = state
        .catalogue
        .get(&a.framework_key, &a.framework_version)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "framework {} {} is not loaded",
                a.framework_key,
                a.framework_version
            )
        })?;
    Ok(Handbook { a, fw })
}

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

const ENTRY_COLUMNS: &str = "SELECT e.strand_key, e.actions, e.impact, e.claimed_level, e.version,
        to_char(e.updated_at AT TIME ZONE 'Europe/London', 'DD/MM/YYYY \"at\" HH24:MI') AS saved_at,
        u.name AS saved_by
     FROM strand_entry e LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.updated_by";

pub async fn entries(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: Uuid,
) -> Result<HashMap<String, Entry>, sqlx::Error> {
    let rows: Vec<Entry> = sqlx::query_as(&format!(
        "{ENTRY_COLUMNS} WHERE e.tenant_id = $1 AND e.assessment_id = $2"
    ))
    .bind(tenant)
    .bind(assessment)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|e| (e.strand_key.clone(), e))
        .collect())
}

async fn entry(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: Uuid,
    strand: &str,
) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ENTRY_COLUMNS} WHERE e.tenant_id = $1 AND e.assessment_id = $2 AND e.strand_key = $3"
    ))
    .bind(tenant)
    .bind(assessment)
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
pub async fn get_handbook(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(SCHOOL_ROLES)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let open: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM assessment WHERE tenant_id = $1 AND school_id = $2 AND status = 'open'",
    )
    .bind(tenant)
    .bind(user.school_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match open {
        Some(id) => Redirect::to(&format!("/assessments/{id}")).into_response(),
        None => NoHandbookPage {
            layout: ctx.layout("/handbook"),
        }
        .into_response(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/none.html")]
pub struct NoHandbookPage {
    layout: Layout,
}

pub struct StrandRow {
    pub key: String,
    pub label: String,
    pub claimed: String,
    pub written: bool,
    pub evidence: i64,
}

/// One line per strand of a theme: claimed level, whether anything is written, documents linked.
fn strand_rows(
    fw: &Framework,
    theme: &Theme,
    entries: &HashMap<String, Entry>,
    evidence: &HashMap<String, i64>,
) -> Vec<StrandRow> {
    theme
        .strands
        .iter()
        .map(|s| {
            let e = entries.get(&s.key);
            StrandRow {
                key: s.key.clone(),
                label: s.label.clone(),
                claimed: e
                    .and_then(|e| e.claimed_level.as_deref())
                    .and_then(|l| fw.level(l))
                    .map_or_else(|| "None".to_string(), |l| l.name.clone()),
                written: e.is_some_and(|e| !e.actions.trim().is_empty()),
                evidence: evidence.get(&s.key).copied().unwrap_or(0),
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
    best_fit_rule: String,
}

fn level_name(fw: &Framework, key: Option<&str>) -> String {
    key.and_then(|k| fw.level(k))
        .map_or_else(|| "Not yet".to_string(), |l| l.name.clone())
}

async fn evidence_counts(
    conn: &mut PgConnection,
    tenant: Uuid,
    assessment: Uuid,
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
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<OverviewPage, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let h = load(&mut tx, &state, &user, id).await?;
    let entries = entries(&mut tx, tenant, id).await?;
    let evidence = evidence_counts(&mut tx, tenant, id).await?;
    tx.commit().await?;
    let fit = framework::best_fit(&h.fw, &claims(&entries));
    let themes =
        h.fw.themes
            .iter()
            .zip(&fit.themes)
            .map(|(theme, tf)| {
                let strands = strand_rows(&h.fw, theme, &entries, &evidence);
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
        layout: ctx.layout("/handbook"),
        fw_name: format!("{} ({})", h.fw.name, h.fw.version),
        overall: level_name(&h.fw, fit.overall.as_deref()),
        overall_reason: fit.reason,
        best_fit_rule: h.fw.best_fit.summary.clone(),
        themes,
        a: h.a,
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
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, number)): Path<(Uuid, u32)>,
) -> Result<ThemePage, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let h = load(&mut tx, &state, &user, id).await?;
    let entries = entries(&mut tx, tenant, id).await?;
    let evidence = evidence_counts(&mut tx, tenant, id).await?;
    tx.commit().await?;
    let theme =
        h.fw.themes
            .iter()
            .find(|t| t.number == number)
            .ok_or(AppError::NotFound)?
            .clone();
    let rows = strand_rows(&h.fw, &theme, &entries, &evidence);
    Ok(ThemePage {
        layout: ctx.layout("/handbook"),
        cpd: h.fw.cpd_for_theme(number).map(|c| c.name.clone()),
        a: h.a,
        theme,
        rows,
    })
}

/// A statement column on the strand page.
pub struct Statement {
    pub level_key: String,
    pub level_name: String,
    pub text: Option<String>,
}

pub struct Conflict {
    pub actions: String,
    pub impact: String,
    pub level: String,
    pub saved_by: String,
    pub saved_at: String,
}

#[derive(sqlx::FromRow)]
pub struct LinkedEvidence {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "handbook/strand.html")]
pub struct StrandPage {
    layout: Layout,
    a: AssessmentRow,
    theme_number: u32,
    theme_title: String,
    key: String,
    label: String,
    statements: Vec<Statement>,
    prompts: Vec<String>,
    sources: Vec<String>,
    levels: Vec<(String, String)>,
    actions: String,
    impact: String,
    level: String,
    version: i32,
    last_saved: Option<String>,
    errors: Errors,
    pupil_data: Vec<String>,
    conflict: Option<Conflict>,
    prev: Option<(String, String)>,
    next: Option<(String, String)>,
    limit: usize,
    linked: Vec<LinkedEvidence>,
    library: Vec<LinkedEvidence>,
}

fn find_strand<'a>(fw: &'a Framework, key: &str) -> Option<(&'a Theme, &'a Strand, usize)> {
    fw.strands()
        .enumerate()
        .find(|(_, (_, s))| s.key == key)
        .map(|(i, (t, s))| (t, s, i))
}

async fn strand_page(
    conn: &mut PgConnection,
    ctx: &Ctx,
    h: &Handbook,
    tenant: Uuid,
    key: &str,
    current: Option<Entry>,
) -> Result<StrandPage, AppError> {
    let (theme, strand, index) = find_strand(&h.fw, key).ok_or(AppError::NotFound)?;
    let all: Vec<&Strand> = h.fw.strands().map(|(_, s)| s).collect();
    let neighbour = |i: Option<usize>| {
        i.and_then(|i| all.get(i))
            .map(|s| (s.key.clone(), s.label.clone()))
    };
    let linked = sqlx::query_as(
        "SELECT e.id, e.title, e.file_name FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND l.strand_key = $3 AND e.deleted_at IS NULL ORDER BY e.title",
    )
    .bind(tenant)
    .bind(h.a.id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    let library = sqlx::query_as(
        "SELECT e.id, e.title, e.file_name FROM evidence e
         WHERE e.tenant_id = $1 AND e.school_id = $2 AND e.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM evidence_link l WHERE l.tenant_id = e.tenant_id AND l.evidence_id = e.id AND l.assessment_id = $3 AND l.strand_key = $4)
         ORDER BY e.title",
    )
    .bind(tenant)
    .bind(h.a.school_id)
    .bind(h.a.id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    let e = current.unwrap_or_default();
    Ok(StrandPage {
        layout: ctx.layout("/handbook"),
        a: h.a.clone(),
        theme_number: theme.number,
        theme_title: theme.title.clone(),
        key: strand.key.clone(),
        label: strand.label.clone(),
        statements: h
            .fw
            .statements_in_order(strand)
            .into_iter()
            .map(|(l, t)| Statement {
                level_key: l.key.clone(),
                level_name: l.name.clone(),
                text: t.map(str::to_string),
            })
            .collect(),
        prompts: theme.prompts.clone(),
        sources: theme.evidence_sources.clone(),
        levels: h
            .fw
            .levels
            .iter()
            .filter(|l| strand.statements.contains_key(&l.key))
            .map(|l| (l.key.clone(), l.name.clone()))
            .collect(),
        last_saved: (e.version > 0).then(|| match &e.saved_by {
            Some(by) => format!("Last saved {} by {by}", e.saved_at),
            None => format!("Last saved {}", e.saved_at),
        }),
        actions: e.actions,
        impact: e.impact,
        level: e.claimed_level.unwrap_or_default(),
        version: e.version,
        errors: Errors::default(),
        pupil_data: Vec::new(),
        conflict: None,
        prev: neighbour(index.checked_sub(1)),
        next: neighbour(Some(index + 1)),
        limit: TEXT_LIMIT,
        linked,
        library,
    })
}

pub async fn get_strand(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, key)): Path<(Uuid, String)>,
) -> Result<StrandPage, AppError> {
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let h = load(&mut tx, &state, &user, id).await?;
    let current = entry(&mut tx, tenant, id, &key).await?;
    let page = strand_page(&mut tx, &ctx, &h, tenant, &key, current).await?;
    tx.commit().await?;
    Ok(page)
}

#[derive(Deserialize, Default)]
pub struct StrandForm {
    #[serde(default)]
    actions: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    version: i32,
    /// Ticked when the person has checked that what looks like pupil data is not.
    #[serde(default)]
    not_pupil_data: Option<String>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Saves a strand (the Save button, or autosave asking for JSON).
pub async fn post_strand(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    headers: HeaderMap,
    Path((id, key)): Path<(Uuid, String)>,
    Form(form): Form<StrandForm>,
) -> Result<Response, AppError> {
    let json_reply = wants_json(&headers);
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let h = load(&mut tx, &state, &user, id).await?;
    let (_, strand, _) = find_strand(&h.fw, &key).ok_or(AppError::NotFound)?;

    let mut errors = Errors::default();
    for (field, text, what) in [
        ("actions", &form.actions, "Actions and evidence"),
        ("impact", &form.impact, "Evidence of impact"),
    ] {
        let n = text.chars().count();
        if n > TEXT_LIMIT {
            errors.add(field, format!("{what} must be {TEXT_LIMIT} characters or fewer; it is {n}. Nothing has been saved yet"));
        }
    }
    let level = match form.level.as_str() {
        "" => None,
        l if strand.statements.contains_key(l) => Some(l.to_string()),
        _ => {
            errors.add("level", "Select a level this strand has, or none");
            None
        }
    };
    let findings: Vec<String> = if form.not_pupil_data.is_some() {
        Vec::new()
    } else {
        let year = chrono::Utc::now().year();
        pupil_data::find(&form.actions, year)
            .into_iter()
            .chain(pupil_data::find(&form.impact, year))
            .map(|f| f.describe())
            .collect()
    };
    if !errors.is_empty() || !findings.is_empty() {
        tx.commit().await?;
        if json_reply {
            let message = if findings.is_empty() {
                errors
                    .iter()
                    .map(|(_, m)| m.clone())
                    .collect::<Vec<_>>()
                    .join(". ")
            } else {
                "This may contain pupils' personal data. Press Save to check it".to_string()
            };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({"status": "invalid", "message": message})),
            )
                .into_response());
        }
        let mut tx = state.db.tenant_tx(tenant).await?;
        let current = entry(&mut tx, tenant, id, &key).await?;
        let mut page = strand_page(&mut tx, &ctx, &h, tenant, &key, current).await?;
        tx.commit().await?;
        page.actions = form.actions;
        page.impact = form.impact;
        page.level = form.level;
        page.version = form.version;
        page.errors = errors;
        page.pupil_data = findings;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let before = entry(&mut tx, tenant, id, &key).await?;
    let saved = if form.version == 0 {
        sqlx::query(
            "INSERT INTO strand_entry (tenant_id, assessment_id, strand_key, actions, impact, claimed_level, version, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (assessment_id, strand_key) DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(&key)
        .bind(&form.actions)
        .bind(&form.impact)
        .bind(&level)
        .bind(user.id)
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE strand_entry SET actions = $5, impact = $6, claimed_level = $7, version = version + 1,
                    updated_at = now(), updated_by = $8
             WHERE tenant_id = $1 AND assessment_id = $2 AND strand_key = $3 AND version = $4",
        )
        .bind(tenant)
        .bind(id)
        .bind(&key)
        .bind(form.version)
        .bind(&form.actions)
        .bind(&form.impact)
        .bind(&level)
        .bind(user.id)
        .execute(&mut *tx)
        .await?
    }
    .rows_affected()
        == 1;
    let revision: i64 = sqlx::query_scalar(
        "INSERT INTO strand_revision (tenant_id, assessment_id, strand_key, based_on_version, actions, impact, claimed_level, outcome, saved_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant)
    .bind(id)
    .bind(&key)
    .bind(form.version)
    .bind(&form.actions)
    .bind(&form.impact)
    .bind(&level)
    .bind(if saved { "saved" } else { "conflict" })
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;

    if !saved {
        // Someone saved in between: keep both, show both, overwrite nothing.
        let theirs = entry(&mut tx, tenant, id, &key).await?.unwrap_or_default();
        tx.commit().await?;
        if json_reply {
            return Ok((
                StatusCode::CONFLICT,
                axum::Json(json!({"status": "conflict", "message": "Someone else saved this strand. Press Save to see both versions"})),
            )
                .into_response());
        }
        let mut tx = state.db.tenant_tx(tenant).await?;
        let mut page = strand_page(&mut tx, &ctx, &h, tenant, &key, Some(theirs.clone())).await?;
        tx.commit().await?;
        page.conflict = Some(Conflict {
            level: level_name(&h.fw, theirs.claimed_level.as_deref()),
            actions: theirs.actions,
            impact: theirs.impact,
            saved_by: theirs.saved_by.unwrap_or_else(|| "someone".into()),
            saved_at: theirs.saved_at,
        });
        // The form holds the person's own text, ready to save over theirs on purpose.
        page.actions = form.actions;
        page.impact = form.impact;
        page.level = form.level;
        return Ok((StatusCode::CONFLICT, page).into_response());
    }

    let mut event = audit::Event::new("strand.saved")
        .tenant(Some(tenant))
        .actor(Some(user.id), &user.email)
        .school(Some(h.a.school_id))
        .subject("strand", format!("{id}/{key}"))
        // The texts live in the revision; the log keeps a reference to it, not a second copy.
        .after(json!({"revision": revision, "claimed_level": level}));
    if let Some(b) = &before {
        event = event.before(json!({"claimed_level": b.claimed_level}));
    }
    audit::record(&mut tx, &event).await?;
    if form.not_pupil_data.is_some() {
        audit::record(
            &mut tx,
            &audit::Event::new("pupil_data.confirmed_absent")
                .tenant(Some(tenant))
                .actor(Some(user.id), &user.email)
                .school(Some(h.a.school_id))
                .subject("strand", format!("{id}/{key}")),
        )
        .await?;
    }
    let now = entry(&mut tx, tenant, id, &key).await?.unwrap_or_default();
    tx.commit().await?;
    if json_reply {
        return Ok(axum::Json(
            json!({"status": "saved", "version": now.version, "saved_at": now.saved_at}),
        )
        .into_response());
    }
    Ok(crate::auth::routes::redirect_with_flash(
        &state,
        &format!("/assessments/{id}/strands/{key}"),
        "strand-saved",
    ))
}
