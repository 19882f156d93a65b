//! The schools' attendance figures: the DfE's school-level absence file imported (all or
//! nothing, a year re-imported replaces that year), termly figures entered by hand, the
//! authority's targets, and the views built on them — one school by year against the authority,
//! England and its target; and the impact view on the dashboard.

use super::chart::Chart;
use super::dfe::{self, TERMS, period, period_label};
use super::impact::{self, Measure, Rates, SchoolYears};
use super::national;
use super::table::{Cell, Format, Table, download};
use crate::auth::{Actor, Officers, Scoped};
use crate::domain::SchoolId;
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use crate::web::{Form, Path, Query, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// The largest file read: a year of the national school-level file for every term.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;
/// Line errors listed on the page; the rest are counted.
const SHOWN_ERRORS: usize = 50;

/// An academic year typed by a person: "2024/25", "2024-25", "2024/2025" or "202425".
pub fn parse_year(input: &str) -> Option<i32> {
    let v = input.trim();
    if let Some(p) = period(v) {
        return Some(p);
    }
    let (a, b) = v.split_once(['/', '-'])?;
    let start: i32 = a.trim().parse().ok()?;
    let end = b.trim();
    let end: i32 = match end.len() {
        2 => end.parse().ok()?,
        4 => end.parse::<i32>().ok()? % 100,
        _ => return None,
    };
    period(&format!("{start:04}{end:02}"))
}

/// The first academic year of a cohort: the year its name starts with ("2024/25"), or the
/// academic year it was created in (from September).
pub fn cohort_start(name: &str, created: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let digits: String = name.trim().chars().take(4).collect();
    let start = match digits.parse::<i32>() {
        Ok(y) if (2000..2100).contains(&y) && digits.len() == 4 => y,
        _ if created.month() >= 9 => created.year(),
        _ => created.year() - 1,
    };
    start * 100 + (start + 1) % 100
}

/// The academic year before `p`.
pub fn previous(p: i32) -> i32 {
    (p / 100 - 1) * 100 + (p / 100) % 100
}

// ---------------------------------------------------------------------------------------------
// The attendance data page and the import

#[derive(sqlx::FromRow)]
pub struct Loaded {
    pub time_period: i32,
    pub figures: i64,
    pub schools: i64,
    pub dfe: i64,
}

impl Loaded {
    pub fn year(&self) -> String {
        period_label(self.time_period)
    }
}

pub struct ImportResult {
    pub imported: usize,
    pub years: String,
    pub replaced: u64,
    pub other_schools: usize,
    pub not_school: usize,
}

#[derive(sqlx::FromRow)]
pub struct SchoolOption {
    pub id: Uuid,
    pub name: String,
    pub urn: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/attendance.html")]
pub struct AttendancePage {
    layout: Layout,
    loaded: Vec<Loaded>,
    schools: Vec<SchoolOption>,
    national: Table,
    errors: Errors,
    line_errors: Vec<String>,
    result: Option<ImportResult>,
    limit_mb: usize,
    /// The downloads' address up to their own parameters.
    dl: &'static str,
}

pub fn national_table() -> Table {
    let mut t = Table::new(
        "england",
        "England: absence by year and phase (per cent), with sources",
        &[
            "Year",
            "Phase",
            "Overall absence",
            "Persistent absence",
            "Severe absence",
            "Note",
            "Source",
        ],
    );
    for n in national::all() {
        let note = if national::not_like_for_like(n.time_period) {
            "Not like-for-like: COVID non-attendance was not a possible session"
        } else {
            ""
        };
        t.push(vec![
            Cell::text(period_label(n.time_period)),
            Cell::text(&n.phase),
            Cell::rate(n.overall),
            Cell::rate(n.pa),
            Cell::rate(n.severe),
            Cell::text(note),
            Cell::text(&n.source),
        ]);
    }
    t
}

async fn attendance_page(
    s: &mut Scoped<Officers>,
    errors: Errors,
    line_errors: Vec<String>,
    result: Option<ImportResult>,
) -> Result<AttendancePage, AppError> {
    let loaded = sqlx::query_as(
        "SELECT time_period, count(*) AS figures, count(DISTINCT school_id) AS schools,
                count(*) FILTER (WHERE source = 'dfe') AS dfe
         FROM attendance_figure WHERE tenant_id = $1 GROUP BY time_period ORDER BY time_period DESC",
    )
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let schools = sqlx::query_as(
        "SELECT id, name, urn FROM school WHERE tenant_id = $1 AND status = 'open' ORDER BY name",
    )
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    Ok(AttendancePage {
        layout: s.layout("/attendance"),
        loaded,
        schools,
        national: national_table(),
        errors,
        line_errors,
        result,
        limit_mb: IMPORT_LIMIT / 1024 / 1024,
        dl: "/attendance?",
    })
}

pub async fn get_attendance(
    mut s: Scoped<Officers>,
    Query(q): Query<Download>,
) -> Result<Response, AppError> {
    if let Some(format) = q.format {
        return download(&national_table(), format);
    }
    Ok(attendance_page(&mut s, Errors::default(), Vec::new(), None)
        .await?
        .into_response())
}

pub async fn post_import(
    a: Actor<Officers>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let bytes = crate::web::file_field(&mut multipart, "file").await?;
    let event = a.event("attendance.imported");
    let mut s = a.begin().await?;
    let mut errors = Errors::default();
    let bytes = match bytes {
        Some(b) if !b.is_empty() => b,
        _ => {
            errors.add("file", "Select the DfE school-level absence file (CSV)");
            let page = attendance_page(&mut s, errors, Vec::new(), None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let parsed = match dfe::parse(&bytes) {
        Ok(p) => p,
        Err(message) => {
            errors.add("file", message);
            let page = attendance_page(&mut s, errors, Vec::new(), None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    if !parsed.errors.is_empty() {
        errors.add(
            "file",
            format!(
                "{} line{} of the file could not be read, so nothing was imported. Correct {} and upload the file again",
                parsed.errors.len(),
                if parsed.errors.len() == 1 { "" } else { "s" },
                if parsed.errors.len() == 1 { "it" } else { "them" }
            ),
        );
        let mut lines: Vec<String> = parsed
            .errors
            .iter()
            .take(SHOWN_ERRORS)
            .map(|e| format!("Line {}: {}", e.line, e.message))
            .collect();
        if parsed.errors.len() > SHOWN_ERRORS {
            lines.push(format!(
                "and {} more lines",
                parsed.errors.len() - SHOWN_ERRORS
            ));
        }
        let page = attendance_page(&mut s, errors, lines, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if parsed.figures.is_empty() {
        errors.add("file", "The file has no school rows to import");
        let page = attendance_page(&mut s, errors, Vec::new(), None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let urns: HashMap<i32, Uuid> =
        sqlx::query_as::<_, (i32, Uuid)>("SELECT urn, id FROM school WHERE tenant_id = $1")
            .bind(s.tenant)
            .fetch_all(&mut *s.tx)
            .await?
            .into_iter()
            .collect();
    // The last row of a school, year and term wins (a file repeats none, but a re-export may).
    let mut rows: BTreeMap<(Uuid, i32, &str), &dfe::Figure> = BTreeMap::new();
    let mut other_schools = 0;
    for f in &parsed.figures {
        match urns.get(&f.urn) {
            Some(id) => {
                rows.insert((*id, f.time_period, f.term), f);
            }
            None => other_schools += 1,
        }
    }
    let periods: Vec<i32> = parsed.periods().into_iter().collect();
    // A year imported again replaces what the earlier file said for it.
    let replaced = sqlx::query(
        "DELETE FROM attendance_figure WHERE tenant_id = $1 AND source = 'dfe' AND time_period = ANY($2)",
    )
    .bind(s.tenant)
    .bind(&periods)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    let mut school = Vec::with_capacity(rows.len());
    let (mut tp, mut term, mut overall, mut pa, mut severe, mut enrol) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for ((id, p, t), f) in &rows {
        school.push(*id);
        tp.push(*p);
        term.push(t.to_string());
        overall.push(f.overall);
        pa.push(f.pa);
        severe.push(f.severe);
        enrol.push(f.enrolments);
    }
    // One statement for the whole file: published figures replace hand-entered ones of the
    // same school, year and term.
    sqlx::query(
        "INSERT INTO attendance_figure (tenant_id, school_id, time_period, term, overall_pct, pa_pct, severe_pct, enrolments, source, recorded_by)
         SELECT $1, u.school, u.tp, u.term, u.overall, u.pa, u.severe, u.enrol, 'dfe', $2
         FROM unnest($3::uuid[], $4::int[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::int[])
              AS u(school, tp, term, overall, pa, severe, enrol)
         ON CONFLICT (tenant_id, school_id, time_period, term) DO UPDATE
         SET overall_pct = excluded.overall_pct, pa_pct = excluded.pa_pct, severe_pct = excluded.severe_pct,
             enrolments = excluded.enrolments, source = 'dfe', recorded_by = excluded.recorded_by, recorded_at = now()",
    )
    .bind(s.tenant)
    .bind(s.user.id)
    .bind(&school)
    .bind(&tp)
    .bind(&term)
    .bind(&overall)
    .bind(&pa)
    .bind(&severe)
    .bind(&enrol)
    .execute(&mut *s.tx)
    .await?;
    let years = periods
        .iter()
        .map(|p| period_label(*p))
        .collect::<Vec<_>>()
        .join(", ");
    let imported = event.after(json!({
        "years": years,
        "figures": rows.len(),
        "other_schools": other_schools,
        "replaced": replaced,
    }));
    s.record(imported).await?;
    let result = ImportResult {
        imported: rows.len(),
        years,
        replaced,
        other_schools,
        not_school: parsed.not_school,
    };
    let page = attendance_page(&mut s, Errors::default(), Vec::new(), Some(result)).await?;
    s.commit().await?;
    Ok(page.into_response())
}

// ---------------------------------------------------------------------------------------------
// One school's attendance

#[derive(sqlx::FromRow, Clone)]
pub struct FigureRow {
    pub time_period: i32,
    pub term: String,
    pub overall_pct: Option<f64>,
    pub pa_pct: Option<f64>,
    pub severe_pct: Option<f64>,
    pub source: String,
}

impl FigureRow {
    fn rank(&self) -> usize {
        // The figure that covers most of the year stands for it.
        match self.term.as_str() {
            "Academic year" => 0,
            "Autumn and spring term" => 1,
            "Summer term" => 2,
            "Spring term" => 3,
            _ => 4,
        }
    }
}

/// Per year, the school's figure that covers most of it (pure): the academic year's when there
/// is one.
pub fn by_year(rows: &[FigureRow]) -> BTreeMap<i32, FigureRow> {
    let mut out: BTreeMap<i32, FigureRow> = BTreeMap::new();
    for r in rows {
        match out.get(&r.time_period) {
            Some(best) if best.rank() <= r.rank() => {}
            _ => {
                out.insert(r.time_period, r.clone());
            }
        }
    }
    out
}

#[derive(sqlx::FromRow)]
struct SchoolFacts {
    id: Uuid,
    name: String,
    urn: i32,
    phase: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/school_attendance.html")]
pub struct SchoolAttendancePage {
    layout: Layout,
    id: Uuid,
    name: String,
    urn: i32,
    comparator: &'static str,
    years: Table,
    pa_years: Table,
    terms: Table,
    overall_chart: Chart,
    pa_chart: Chart,
    errors: Errors,
    figure: FigureForm,
    target: TargetForm,
    terms_list: [&'static str; 5],
    /// The downloads' address up to their own parameters.
    dl: String,
}

pub struct SchoolView {
    years: Table,
    pa_years: Table,
    terms: Table,
    overall_chart: Chart,
    pa_chart: Chart,
    comparator: &'static str,
}

async fn school_view(
    s: &mut Scoped<Officers>,
    school: &SchoolFacts,
) -> Result<SchoolView, AppError> {
    let rows: Vec<FigureRow> = sqlx::query_as(
        "SELECT time_period, term, overall_pct, pa_pct, severe_pct, source FROM attendance_figure
         WHERE tenant_id = $1 AND school_id = $2 ORDER BY time_period, term",
    )
    .bind(s.tenant)
    .bind(school.id)
    .fetch_all(&mut *s.tx)
    .await?;
    let authority: HashMap<i32, (Option<f64>, Option<f64>)> =
        sqlx::query_as::<_, (i32, Option<f64>, Option<f64>)>(
            "SELECT time_period, avg(overall_pct), avg(pa_pct) FROM attendance_figure
             WHERE tenant_id = $1 AND term = 'Academic year' GROUP BY time_period",
        )
        .bind(s.tenant)
        .fetch_all(&mut *s.tx)
        .await?
        .into_iter()
        .map(|(p, o, pa)| (p, (o, pa)))
        .collect();
    let targets: HashMap<i32, (Option<f64>, Option<f64>)> =
        sqlx::query_as::<_, (i32, Option<f64>, Option<f64>)>(
            "SELECT time_period, overall_pct, pa_pct FROM attendance_target WHERE tenant_id = $1 AND school_id = $2",
        )
        .bind(s.tenant)
        .bind(school.id)
        .fetch_all(&mut *s.tx)
        .await?
        .into_iter()
        .map(|(p, o, pa)| (p, (o, pa)))
        .collect();
    let comparator = national::phase_of(&school.phase);
    let best = by_year(&rows);
    let years_set: BTreeSet<i32> = best.keys().chain(targets.keys()).copied().collect();
    let mut years = Table::new(
        "school-attendance",
        format!(
            "{} (URN {}): overall absence by year against the authority, England and the target, per cent",
            school.name, school.urn
        ),
        &["Year", "School", "Authority", "England", "Target", "Note"],
    );
    let mut pa_years = Table::new(
        "school-persistent",
        format!(
            "{}: persistent and severe absence by year, per cent of pupils",
            school.name
        ),
        &[
            "Year",
            "Persistent absence",
            "Authority",
            "England",
            "Target",
            "Severe absence",
            "England severe",
        ],
    );
    let mut overall_groups = Vec::new();
    let mut pa_groups = Vec::new();
    for y in &years_set {
        let f = best.get(y);
        let n = national::get(*y, comparator).or_else(|| national::get(*y, "Total"));
        let a = authority.get(y).copied().unwrap_or((None, None));
        let t = targets.get(y).copied().unwrap_or((None, None));
        let mut notes = Vec::new();
        if let Some(f) = f
            && f.term != "Academic year"
        {
            notes.push(format!("{} only", f.term));
        }
        if national::not_like_for_like(*y) {
            notes.push("Not like-for-like (COVID)".to_string());
        }
        if national::not_published(*y) {
            notes.push("No national figures (COVID)".to_string());
        }
        let label = period_label(*y);
        let school_o = f.and_then(|f| f.overall_pct);
        let school_pa = f.and_then(|f| f.pa_pct);
        overall_groups.push((
            label.clone(),
            vec![school_o, a.0, n.and_then(|n| n.overall), t.0],
        ));
        pa_groups.push((
            label.clone(),
            vec![school_pa, a.1, n.and_then(|n| n.pa), t.1],
        ));
        years.push(vec![
            Cell::text(label.clone()),
            Cell::rate(school_o),
            Cell::rate(a.0),
            Cell::rate(n.and_then(|n| n.overall)),
            Cell::rate(t.0),
            Cell::text(notes.join("; ")),
        ]);
        pa_years.push(vec![
            Cell::text(label),
            Cell::rate(school_pa),
            Cell::rate(a.1),
            Cell::rate(n.and_then(|n| n.pa)),
            Cell::rate(t.1),
            Cell::rate(f.and_then(|f| f.severe_pct)),
            Cell::rate(n.and_then(|n| n.severe)),
        ]);
    }
    let mut terms = Table::new(
        "school-terms",
        format!("{}: every figure held, per cent", school.name),
        &[
            "Year",
            "Period",
            "Absence",
            "Persistent absence",
            "Severe absence",
            "From",
        ],
    );
    for r in &rows {
        terms.push(vec![
            Cell::text(period_label(r.time_period)),
            Cell::text(&r.term),
            Cell::rate(r.overall_pct),
            Cell::rate(r.pa_pct),
            Cell::rate(r.severe_pct),
            Cell::text(if r.source == "dfe" {
                "DfE file"
            } else {
                "Entered by hand"
            }),
        ]);
    }
    let series = ["School", "Authority average", "England", "Target"];
    Ok(SchoolView {
        overall_chart: Chart::new(
            "overall-chart",
            "Overall absence by year, per cent",
            &series,
            &overall_groups,
            "%",
            1,
        ),
        pa_chart: Chart::new(
            "pa-chart",
            "Persistent absence by year, per cent of pupils",
            &series,
            &pa_groups,
            "%",
            1,
        ),
        years,
        pa_years,
        terms,
        comparator,
    })
}

async fn school_facts(s: &mut Scoped<Officers>, id: SchoolId) -> Result<SchoolFacts, AppError> {
    sqlx::query_as("SELECT id, name, urn, phase FROM school WHERE tenant_id = $1 AND id = $2")
        .bind(s.tenant)
        .bind(id)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)
}

async fn school_page(
    s: &mut Scoped<Officers>,
    id: SchoolId,
    errors: Errors,
    figure: FigureForm,
    target: TargetForm,
) -> Result<SchoolAttendancePage, AppError> {
    let facts = school_facts(s, id).await?;
    let v = school_view(s, &facts).await?;
    Ok(SchoolAttendancePage {
        layout: s.layout("/attendance"),
        id: facts.id,
        name: facts.name,
        urn: facts.urn,
        comparator: v.comparator,
        years: v.years,
        pa_years: v.pa_years,
        terms: v.terms,
        overall_chart: v.overall_chart,
        pa_chart: v.pa_chart,
        errors,
        figure,
        target,
        terms_list: TERMS,
        dl: format!("/schools/{}/attendance?", facts.id),
    })
}

#[derive(Deserialize, Default)]
pub struct Download {
    #[serde(default)]
    table: String,
    #[serde(default)]
    format: Option<Format>,
}

pub async fn get_school(
    mut s: Scoped<Officers>,
    Path(id): Path<SchoolId>,
    Query(q): Query<Download>,
) -> Result<Response, AppError> {
    if let Some(format) = q.format {
        let facts = school_facts(&mut s, id).await?;
        let v = school_view(&mut s, &facts).await?;
        return match q.table.as_str() {
            "school-terms" => download(&v.terms, format),
            "school-persistent" => download(&v.pa_years, format),
            _ => download(&v.years, format),
        };
    }
    Ok(school_page(
        &mut s,
        id,
        Errors::default(),
        FigureForm::default(),
        TargetForm::default(),
    )
    .await?
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct FigureForm {
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub term: String,
    #[serde(default)]
    pub overall: String,
    #[serde(default)]
    pub pa: String,
    #[serde(default)]
    pub severe: String,
}

/// A rate typed by a person: empty is no figure; otherwise 0 to 100 (a trailing % is fine).
fn typed_rate(v: &str, field: &'static str, what: &str, errors: &mut Errors) -> Option<f64> {
    let t = v.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return None;
    }
    match dfe::rate(t) {
        Ok(Some(r)) => Some(r),
        _ => {
            errors.add(
                field,
                format!("{what} must be a percentage from 0 to 100, like 5.2"),
            );
            None
        }
    }
}

/// A figure entered by hand, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Entered {
    pub year: i32,
    pub term: &'static str,
    pub overall: Option<f64>,
    pub pa: Option<f64>,
    pub severe: Option<f64>,
}

/// The hand-entered figure's fields, or the errors next to them (pure).
pub fn check_figure(f: &FigureForm, errors: &mut Errors) -> Option<Entered> {
    let year = parse_year(&f.year);
    if year.is_none() {
        errors.add("year", "Enter the academic year like 2024/25");
    }
    let term = TERMS.iter().copied().find(|t| *t == f.term);
    if term.is_none() {
        errors.add("term", "Choose the period the figures cover");
    }
    let overall = typed_rate(&f.overall, "overall", "Overall absence", errors);
    let pa = typed_rate(&f.pa, "pa", "Persistent absence", errors);
    let severe = typed_rate(&f.severe, "severe", "Severe absence", errors);
    if errors.is_empty() && overall.is_none() && pa.is_none() && severe.is_none() {
        errors.add("overall", "Enter at least one figure");
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Entered {
        year: year?,
        term: term?,
        overall,
        pa,
        severe,
    })
}

pub async fn post_figure(
    mut s: Scoped<Officers>,
    Path(id): Path<SchoolId>,
    Form(form): Form<FigureForm>,
) -> Result<Response, AppError> {
    let facts = school_facts(&mut s, id).await?;
    let mut errors = Errors::default();
    let Some(Entered {
        year,
        term,
        overall,
        pa,
        severe,
    }) = check_figure(&form, &mut errors)
    else {
        let page = school_page(&mut s, id, errors, form, TargetForm::default()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    sqlx::query(
        "INSERT INTO attendance_figure (tenant_id, school_id, time_period, term, overall_pct, pa_pct, severe_pct, source, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'manual', $8)
         ON CONFLICT (tenant_id, school_id, time_period, term) DO UPDATE
         SET overall_pct = $5, pa_pct = $6, severe_pct = $7, source = 'manual', recorded_by = $8, recorded_at = now()",
    )
    .bind(s.tenant)
    .bind(facts.id)
    .bind(year)
    .bind(term)
    .bind(overall)
    .bind(pa)
    .bind(severe)
    .bind(s.user.id)
    .execute(&mut *s.tx)
    .await?;
    let entered = s
        .event("attendance.entered")
        .school(Some(facts.id))
        .subject("school", facts.id)
        .after(json!({"year": period_label(year), "term": term, "overall": overall, "pa": pa, "severe": severe}));
    s.record(entered).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/schools/{id}/attendance"),
        "figure-saved",
    ))
}

#[derive(Deserialize, Default)]
pub struct TargetForm {
    #[serde(default, rename = "target-year")]
    pub year: String,
    #[serde(default, rename = "target-overall")]
    pub overall: String,
    #[serde(default, rename = "target-pa")]
    pub pa: String,
}

/// The target's fields, or the errors next to them (pure).
pub fn check_target(
    f: &TargetForm,
    errors: &mut Errors,
) -> Option<(i32, Option<f64>, Option<f64>)> {
    let year = parse_year(&f.year);
    if year.is_none() {
        errors.add("target-year", "Enter the academic year like 2025/26");
    }
    let overall = typed_rate(&f.overall, "target-overall", "The absence target", errors);
    let pa = typed_rate(&f.pa, "target-pa", "The persistent absence target", errors);
    if errors.is_empty() && overall.is_none() && pa.is_none() {
        errors.add(
            "target-overall",
            "Enter an absence target, a persistent absence target, or both",
        );
    }
    if !errors.is_empty() {
        return None;
    }
    Some((year?, overall, pa))
}

pub async fn post_target(
    mut s: Scoped<Officers>,
    Path(id): Path<SchoolId>,
    Form(form): Form<TargetForm>,
) -> Result<Response, AppError> {
    let facts = school_facts(&mut s, id).await?;
    let mut errors = Errors::default();
    let Some((year, overall, pa)) = check_target(&form, &mut errors) else {
        let page = school_page(&mut s, id, errors, FigureForm::default(), form).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    sqlx::query(
        "INSERT INTO attendance_target (tenant_id, school_id, time_period, overall_pct, pa_pct, set_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, school_id, time_period) DO UPDATE SET overall_pct = $4, pa_pct = $5, set_by = $6, set_at = now()",
    )
    .bind(s.tenant)
    .bind(facts.id)
    .bind(year)
    .bind(overall)
    .bind(pa)
    .bind(s.user.id)
    .execute(&mut *s.tx)
    .await?;
    let set = s
        .event("attendance.target")
        .school(Some(facts.id))
        .subject("school", facts.id)
        .after(json!({"year": period_label(year), "overall": overall, "pa": pa}));
    s.record(set).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/schools/{id}/attendance"),
        "target-saved",
    ))
}

// ---------------------------------------------------------------------------------------------
// The impact view

pub struct ImpactView {
    pub table: Table,
    pub latest: Option<String>,
    pub chart: Chart,
}

pub async fn impact_view(s: &mut Scoped<Officers>) -> Result<ImpactView, AppError> {
    let figures: Vec<(Uuid, i32, Option<f64>, Option<f64>)> = sqlx::query_as(
        "SELECT school_id, time_period, overall_pct, pa_pct FROM attendance_figure
         WHERE tenant_id = $1 AND term = 'Academic year'",
    )
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    // Each school's first cohort (it joined then) and its latest award, if any.
    let joined: Vec<(Uuid, String, chrono::NaiveDate, Option<String>, String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (a.school_id) a.school_id, c.name, (c.created_at AT TIME ZONE 'Europe/London')::date,
                latest.outcome, a.framework_key, a.framework_version
         FROM assessment a JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         LEFT JOIN (SELECT DISTINCT ON (x.school_id) x.school_id, aw.outcome
                    FROM award aw JOIN assessment x ON x.tenant_id = aw.tenant_id AND x.id = aw.assessment_id
                    WHERE aw.tenant_id = $1
                    ORDER BY x.school_id, aw.awarded_on DESC) latest ON latest.school_id = a.school_id
         WHERE a.tenant_id = $1 AND a.stage <> 'withdrawn'
         ORDER BY a.school_id, c.name, c.created_at",
    )
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let catalogue = s.state.catalogue.clone();
    let mut schools: HashMap<Uuid, SchoolYears> = HashMap::new();
    for (school, year, overall, pa) in figures {
        schools
            .entry(school)
            .or_default()
            .years
            .insert(year, Rates { overall, pa });
    }
    let mut level_names: Vec<String> = Vec::new();
    for (school, cohort, created, outcome, key, version) in joined {
        let fw = catalogue.get(&key, &version);
        if let Some(fw) = &fw {
            for l in fw.levels.iter().rev() {
                if !level_names.contains(&l.name) {
                    level_names.push(l.name.clone());
                }
            }
        }
        let award = outcome
            .as_deref()
            .and_then(|o| fw.as_ref()?.level(o).map(|l| l.name.clone()))
            .unwrap_or_else(|| "Not awarded yet".to_string());
        let baseline = previous(cohort_start(&cohort, created));
        schools.entry(school).or_default().joined = Some((baseline, award));
    }
    level_names.push("Not awarded yet".to_string());
    let schools: Vec<SchoolYears> = schools.into_values().collect();
    let result = impact::impact(&schools, &level_names, |y, m| {
        let n = national::get(y, "Total")?;
        match m {
            Measure::Overall => n.overall,
            Measure::Pa => n.pa,
        }
    });
    let latest = result.latest.map(period_label);
    let mut table = Table::new(
        "impact",
        format!(
            "Change in absence and persistent absence from the year before each school joined to {} (percentage points)",
            latest.as_deref().unwrap_or("the latest year")
        ),
        &[
            "Group",
            "Schools",
            "Absence before",
            "Absence latest",
            "Absence change",
            "PA before",
            "PA latest",
            "PA change",
        ],
    );
    let mut groups = Vec::new();
    for r in &result.rows {
        let count = if r.group.starts_with("England") {
            Cell::text("All")
        } else {
            Cell::count(r.overall.schools as i64)
        };
        table.push(vec![
            Cell::text(&r.group),
            count,
            Cell::rate(r.overall.from),
            Cell::rate(r.overall.to),
            Cell::rate(r.overall.change()),
            Cell::rate(r.pa.from),
            Cell::rate(r.pa.to),
            Cell::rate(r.pa.change()),
        ]);
        // The chart shows the size of the fall: a larger bar is a larger improvement.
        // Short names in the chart, which has little room for them; the table has the full.
        let short = match r.group.as_str() {
            "Participating schools" => "Participating".to_string(),
            g if g.starts_with("All schools") => "All schools".to_string(),
            g if g.starts_with("England") => "England".to_string(),
            g => g.trim_start_matches("Participating: ").to_string(),
        };
        groups.push((
            short,
            vec![r.overall.change().map(|c| -c), r.pa.change().map(|c| -c)],
        ));
    }
    let chart = Chart::new(
        "impact-chart",
        "Fall in absence and persistent absence, percentage points (a longer bar is a larger fall; a rise shows as no bar)",
        &["Absence fall", "PA fall"],
        &groups,
        "",
        1,
    );
    Ok(ImpactView {
        table,
        latest,
        chart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_as_people_type_them() {
        assert_eq!(parse_year("2024/25"), Some(202425));
        assert_eq!(parse_year("2024-25"), Some(202425));
        assert_eq!(parse_year("2024/2025"), Some(202425));
        assert_eq!(parse_year("202425"), Some(202425));
        assert_eq!(parse_year("2024/26"), None);
        assert_eq!(parse_year("24/25"), None);
        assert_eq!(parse_year(""), None);
        assert_eq!(previous(202425), 202324);
        assert_eq!(previous(200001), 199900);
    }

    #[test]
    fn a_cohort_starts_in_the_year_its_name_says() {
        let d = |y, m| chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(cohort_start("2024/25", d(2026, 1)), 202425);
        assert_eq!(cohort_start("Spring pilot", d(2026, 10)), 202627);
        assert_eq!(cohort_start("Spring pilot", d(2026, 3)), 202526);
    }

    #[test]
    fn the_figure_covering_most_of_the_year_stands_for_it() {
        let f = |p, term: &str, o| FigureRow {
            time_period: p,
            term: term.into(),
            overall_pct: Some(o),
            pa_pct: None,
            severe_pct: None,
            source: "manual".into(),
        };
        let rows = vec![
            f(202324, "Autumn term", 4.0),
            f(202324, "Academic year", 5.0),
            f(202425, "Autumn term", 3.0),
            f(202425, "Autumn and spring term", 3.5),
        ];
        let b = by_year(&rows);
        assert_eq!(b[&202324].overall_pct, Some(5.0));
        assert_eq!(b[&202425].term, "Autumn and spring term");
    }

    #[test]
    fn figures_and_targets_say_what_is_wrong() {
        let mut e = Errors::default();
        let bad = FigureForm {
            year: "2024".into(),
            term: "Whole year".into(),
            overall: "abc".into(),
            pa: "120".into(),
            severe: String::new(),
        };
        assert!(check_figure(&bad, &mut e).is_none());
        for f in ["year", "term", "overall", "pa"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let mut e = Errors::default();
        let empty = FigureForm {
            year: "2024/25".into(),
            term: "Autumn term".into(),
            ..FigureForm::default()
        };
        assert!(check_figure(&empty, &mut e).is_none());
        assert_eq!(e.get("overall"), Some("Enter at least one figure"));
        let mut e = Errors::default();
        let ok = FigureForm {
            year: "2024/25".into(),
            term: "Autumn term".into(),
            overall: "5.2%".into(),
            pa: String::new(),
            severe: "0.4".into(),
        };
        assert_eq!(
            check_figure(&ok, &mut e),
            Some(Entered {
                year: 202425,
                term: "Autumn term",
                overall: Some(5.2),
                pa: None,
                severe: Some(0.4)
            })
        );
        let mut e = Errors::default();
        let t = TargetForm {
            year: "2025/26".into(),
            overall: "4.5".into(),
            pa: "15".into(),
        };
        assert_eq!(
            check_target(&t, &mut e),
            Some((202526, Some(4.5), Some(15.0)))
        );
        let mut e = Errors::default();
        assert!(check_target(&TargetForm::default(), &mut e).is_none());
        assert!(e.get("target-year").is_some());
    }
}
