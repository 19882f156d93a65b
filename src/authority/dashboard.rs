//! The officer's city-wide dashboard: schools by status, awards by level and phase, each key
//! theme's average claimed and agreed level, upcoming visits, submissions at risk or late, awards
//! expiring soon, the impact view, and a school table that filters and sorts. Every chart has
//! the same figures as a table beside it, and every table downloads as CSV or XLSX with the
//! filters on screen applied.

use super::chart::Chart;
use super::table::{Cell, Format, Table, download};
use crate::admin::school_types::Phase;
use crate::assessment::{Stage, deadline};
use crate::auth::{Officers, Scoped};
use crate::error::AppError;
use crate::layout::Layout;
use crate::visit::{NONE, NOT_YET};
use crate::web::Query;
use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Where a school is in the programme, as the dashboard counts it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    NotStarted,
    InProgress,
    WithHead,
    Submitted,
    VisitBooked,
    /// Awarded a level: its rank (0 the lowest) and name.
    Awarded(usize, String),
    NotYetAwarded,
    Withdrawn,
}

impl Status {
    /// From the handbook's stage, whether anything is written, its visit and its award (pure).
    pub fn of(stage: Stage, written: i64, visit: bool, award: Option<(usize, String)>) -> Status {
        match stage {
            Stage::Withdrawn => Status::Withdrawn,
            Stage::Awarded => match award {
                Some((rank, name)) => Status::Awarded(rank, name),
                None => Status::NotYetAwarded,
            },
            Stage::Submitted if visit => Status::VisitBooked,
            Stage::Submitted => Status::Submitted,
            Stage::WithHead => Status::WithHead,
            Stage::InProgress | Stage::Returned if written == 0 => Status::NotStarted,
            Stage::InProgress | Stage::Returned => Status::InProgress,
        }
    }

    pub fn key(&self) -> String {
        match self {
            Status::NotStarted => "not_started".into(),
            Status::InProgress => "in_progress".into(),
            Status::WithHead => "with_head".into(),
            Status::Submitted => "submitted".into(),
            Status::VisitBooked => "visit_booked".into(),
            Status::Awarded(_, name) => format!("awarded_{}", name.to_lowercase()),
            Status::NotYetAwarded => "not_yet_awarded".into(),
            Status::Withdrawn => "withdrawn".into(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Status::NotStarted => "Not started".into(),
            Status::InProgress => "In progress".into(),
            Status::WithHead => "With the head teacher".into(),
            Status::Submitted => "Submitted".into(),
            Status::VisitBooked => "Submitted, visit booked".into(),
            Status::Awarded(_, name) => format!("Awarded {name}"),
            Status::NotYetAwarded => "Not yet awarded".into(),
            Status::Withdrawn => "Withdrawn".into(),
        }
    }
}

/// Little written: fewer than half of the strands have actions and evidence.
pub fn little_written(written: i64, strands: usize) -> bool {
    (written as f64) < strands as f64 / 2.0
}

/// A submission at risk: its deadline within 10 working days and little written; or late.
/// (pure; `standing` from the calendar.)
pub fn risk(settled: bool, standing: Option<&deadline::Standing>, little: bool) -> Option<String> {
    if settled {
        return None;
    }
    match standing? {
        deadline::Standing::Late(n) => Some(format!(
            "Late: the deadline passed {n} working day{} ago",
            if *n == 1 { "" } else { "s" }
        )),
        deadline::Standing::Left(n) if *n <= 10 && little => Some(format!(
            "At risk: {n} working day{} left and less than half written",
            if *n == 1 { "" } else { "s" }
        )),
        _ => None,
    }
}

#[derive(sqlx::FromRow)]
struct Raw {
    id: Uuid,
    school: String,
    urn: i32,
    phase: String,
    cohort_id: Uuid,
    cohort: String,
    stage: String,
    visit_at: Option<NaiveDateTime>,
    assessor_id: Option<Uuid>,
    assessor: Option<String>,
    outcome: Option<String>,
    expires_on: Option<NaiveDate>,
    framework_key: String,
    framework_version: String,
    written: i64,
}

pub struct SchoolLine {
    pub id: Uuid,
    pub school: String,
    pub urn: i32,
    pub phase: String,
    pub phase_label: &'static str,
    pub cohort_id: Uuid,
    pub cohort: String,
    pub status: Status,
    pub level: Option<String>,
    pub assessor_id: Option<Uuid>,
    pub assessor: String,
    pub visit_at: Option<NaiveDateTime>,
    pub deadline: Option<NaiveDate>,
    pub deadline_words: String,
    pub written: i64,
    pub strands: usize,
    pub risk: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

/// The filters and the sort of the school table, from the query string.
#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub assessor: String,
    #[serde(default)]
    pub cohort: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub format: Option<Format>,
}

impl Filter {
    pub fn keeps(&self, l: &SchoolLine) -> bool {
        (self.status.is_empty() || l.status.key() == self.status)
            && (self.level.is_empty()
                || l.level.as_deref().map(str::to_lowercase).as_deref()
                    == Some(self.level.as_str())
                || (self.level == NOT_YET && l.status == Status::NotYetAwarded))
            && (self.phase.is_empty() || l.phase == self.phase)
            && (self.assessor.is_empty()
                || l.assessor_id.map(|a| a.to_string()).as_deref() == Some(self.assessor.as_str()))
            && (self.cohort.is_empty() || l.cohort_id.to_string() == self.cohort)
    }

    /// The query string of the filters, for the download links.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &self.status)
            .append_pair("level", &self.level)
            .append_pair("phase", &self.phase)
            .append_pair("assessor", &self.assessor)
            .append_pair("cohort", &self.cohort)
            .append_pair("sort", &self.sort)
            .finish()
    }

    pub fn is_filtered(&self) -> bool {
        !(self.status.is_empty()
            && self.level.is_empty()
            && self.phase.is_empty()
            && self.assessor.is_empty()
            && self.cohort.is_empty())
    }

    /// In words, for the page and the downloads' captions.
    pub fn describe(&self, d: &Data) -> String {
        let mut parts = Vec::new();
        let find = |opts: &[(String, String)], v: &str| {
            opts.iter().find(|(k, _)| k == v).map(|(_, l)| l.clone())
        };
        if let Some(l) = find(&d.statuses, &self.status) {
            parts.push(format!("status {l}"));
        }
        if let Some(l) = find(&d.levels, &self.level) {
            parts.push(format!("award {l}"));
        }
        if let Some(l) = find(&d.phases, &self.phase) {
            parts.push(format!("phase {l}"));
        }
        if let Some(l) = find(&d.assessors, &self.assessor) {
            parts.push(format!("assessor {l}"));
        }
        if let Some(l) = find(&d.cohorts, &self.cohort) {
            parts.push(format!("cohort {l}"));
        }
        if parts.is_empty() {
            "All schools".to_string()
        } else {
            format!("Schools with {}", parts.join(", "))
        }
    }
}

/// Sorts the school table (pure): by school name unless told otherwise.
pub fn sort(lines: &mut [SchoolLine], by: &str) {
    match by {
        "status" => lines.sort_by(|a, b| a.status.cmp(&b.status).then(a.school.cmp(&b.school))),
        "cohort" => lines.sort_by(|a, b| b.cohort.cmp(&a.cohort).then(a.school.cmp(&b.school))),
        "deadline" => lines.sort_by(|a, b| {
            (a.deadline.is_none(), a.deadline)
                .cmp(&(b.deadline.is_none(), b.deadline))
                .then(a.school.cmp(&b.school))
        }),
        "written" => lines.sort_by(|a, b| a.written.cmp(&b.written).then(a.school.cmp(&b.school))),
        _ => lines.sort_by(|a, b| a.school.cmp(&b.school).then(b.cohort.cmp(&a.cohort))),
    }
}

/// A key theme's average claimed and agreed levels, and over how many strands.
pub struct ThemeLevels {
    pub number: u32,
    pub title: String,
    pub claimed: Option<f64>,
    pub claims: usize,
    pub agreed: Option<f64>,
    pub judged: usize,
}

/// Strands with one claimed level (or one agreed level): framework key and version, strand,
/// claimed or agreed, and how many.
type StrandLevels = (String, String, String, Option<String>, Option<String>, i64);

/// Everything the dashboard shows; the page and the downloads are both made from it.
pub struct Data {
    pub lines: Vec<SchoolLine>,
    pub statuses: Vec<(String, String)>,
    pub levels: Vec<(String, String)>,
    pub phases: Vec<(String, String)>,
    pub assessors: Vec<(String, String)>,
    pub cohorts: Vec<(String, String)>,
    pub themes: Vec<ThemeLevels>,
    pub today: NaiveDate,
}

async fn load(s: &mut Scoped<Officers>) -> Result<Data, AppError> {
    let tenant = s.tenant;
    let raw: Vec<Raw> = sqlx::query_as(
        "SELECT a.id, s.name AS school, s.urn, s.phase, c.id AS cohort_id, c.name AS cohort, a.stage, a.visit_at,
                a.assessor_id, u.name AS assessor, aw.outcome, aw.expires_on, a.framework_key, a.framework_version,
                coalesce(w.written, 0) AS written
         FROM assessment a
         JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         LEFT JOIN (SELECT assessment_id, count(*) AS written FROM strand_entry
                    WHERE tenant_id = $1 AND written GROUP BY assessment_id) w ON w.assessment_id = a.id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         LEFT JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.assessor_id
         LEFT JOIN award aw ON aw.tenant_id = a.tenant_id AND aw.assessment_id = a.id
         WHERE a.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let cal = crate::calendar::Calendar::of_tenant(&mut s.tx, tenant).await?;
    let today = crate::dates::uk_date(&mut s.tx).await?;
    let notice = deadline::notice_days(&mut s.tx, tenant).await?;
    let catalogue = s.state.catalogue.clone();
    let mut lines = Vec::with_capacity(raw.len());
    let mut level_names: BTreeMap<usize, String> = BTreeMap::new();
    for r in raw {
        let Some(fw) = catalogue.get(&r.framework_key, &r.framework_version) else {
            continue;
        };
        for (i, l) in fw.levels.iter().enumerate() {
            level_names.entry(i).or_insert_with(|| l.name.clone());
        }
        let stage = Stage::parse(&r.stage).unwrap_or(Stage::InProgress);
        let award = r
            .outcome
            .as_deref()
            .filter(|o| *o != NOT_YET && *o != NONE)
            .and_then(|o| Some((fw.level_rank(o)?, fw.level(o)?.name.clone())));
        let status = Status::of(stage, r.written, r.visit_at.is_some(), award.clone());
        let strands = fw.strands().count();
        let d = if stage.is_settled() {
            deadline::Deadline::NoVisit
        } else {
            deadline::of_visit(&cal, r.visit_at, notice, today)
        };
        let standing = match &d {
            deadline::Deadline::Known { standing, .. } => Some(standing),
            _ => None,
        };
        let risk = risk(
            stage.is_settled(),
            standing,
            little_written(r.written, strands),
        );
        lines.push(SchoolLine {
            id: r.id,
            phase_label: r.phase.parse::<Phase>().map_or("Unknown", |p| p.label()),
            phase: r.phase,
            school: r.school,
            urn: r.urn,
            cohort_id: r.cohort_id,
            cohort: r.cohort,
            level: award.map(|a| a.1),
            status,
            assessor_id: r.assessor_id,
            assessor: r.assessor.unwrap_or_else(|| "Not assigned".to_string()),
            visit_at: r.visit_at,
            deadline: d.date(),
            deadline_words: if stage.is_settled() {
                "Met".to_string()
            } else {
                d.describe()
            },
            written: r.written,
            strands,
            risk,
            expires_on: r.expires_on,
        });
    }
    // Each key theme's average claimed and agreed level, as ranks 1.. (no claim and "none of
    // the levels" count as 0), over every handbook of the authority.
    // Counted in the database: one row per framework, strand and level, not one per strand of
    // every handbook. Claims and agreed levels are averaged apart, so they are counted apart.
    let levels: Vec<StrandLevels> = sqlx::query_as(
        "SELECT a.framework_key, a.framework_version, e.strand_key, e.claimed_level, NULL::text, count(*)
         FROM strand_entry e JOIN assessment a ON a.tenant_id = e.tenant_id AND a.id = e.assessment_id
         WHERE e.tenant_id = $1 AND e.claimed_level IS NOT NULL AND a.stage <> 'withdrawn'
         GROUP BY 1, 2, 3, 4
         UNION ALL
         SELECT a.framework_key, a.framework_version, j.strand_key, NULL::text, j.agreed_level, count(*)
         FROM strand_judgement j JOIN assessment a ON a.tenant_id = j.tenant_id AND a.id = j.assessment_id
         WHERE j.tenant_id = $1 AND j.agreed_level IS NOT NULL AND a.stage <> 'withdrawn'
         GROUP BY 1, 2, 3, 5",
    )
    .bind(tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let mut per: BTreeMap<u32, (String, f64, usize, f64, usize)> = BTreeMap::new();
    for fw in catalogue.all() {
        for t in &fw.themes {
            per.entry(t.number)
                .or_insert_with(|| (t.title.clone(), 0.0, 0, 0.0, 0));
        }
    }
    for (key, version, strand, claimed, agreed, n) in levels {
        let Some(fw) = catalogue.get(&key, &version) else {
            continue;
        };
        let Some((t, _)) = fw.strands().find(|(_, st)| st.key == strand) else {
            continue;
        };
        let rank = |k: &str| fw.level_rank(k).map_or(0.0, |r| (r + 1) as f64);
        let e = per
            .entry(t.number)
            .or_insert_with(|| (t.title.clone(), 0.0, 0, 0.0, 0));
        let n = n as usize;
        if let Some(c) = claimed {
            e.1 += rank(&c) * n as f64;
            e.2 += n;
        }
        if let Some(a) = agreed {
            e.3 += rank(&a) * n as f64;
            e.4 += n;
        }
    }
    let themes = per
        .into_iter()
        .map(|(n, (title, c, cn, a, an))| {
            let avg = |sum: f64, n: usize| (n > 0).then(|| sum / n as f64);
            ThemeLevels {
                number: n,
                title,
                claimed: avg(c, cn),
                claims: cn,
                agreed: avg(a, an),
                judged: an,
            }
        })
        .collect();
    let mut statuses: Vec<Status> = vec![
        Status::NotStarted,
        Status::InProgress,
        Status::WithHead,
        Status::Submitted,
        Status::VisitBooked,
    ];
    statuses.extend(
        level_names
            .iter()
            .rev()
            .map(|(r, n)| Status::Awarded(*r, n.clone())),
    );
    statuses.extend([Status::NotYetAwarded, Status::Withdrawn]);
    let mut assessors: BTreeMap<String, String> = BTreeMap::new();
    let mut cohorts: BTreeMap<String, String> = BTreeMap::new();
    for l in &lines {
        if let Some(a) = l.assessor_id {
            assessors.insert(a.to_string(), l.assessor.clone());
        }
        cohorts.insert(l.cohort_id.to_string(), l.cohort.clone());
    }
    let mut assessors: Vec<(String, String)> = assessors.into_iter().collect();
    assessors.sort_by(|a, b| a.1.cmp(&b.1));
    let mut cohorts: Vec<(String, String)> = cohorts.into_iter().collect();
    cohorts.sort_by(|a, b| b.1.cmp(&a.1));
    let mut levels: Vec<(String, String)> = level_names
        .values()
        .rev()
        .map(|n| (n.to_lowercase(), n.clone()))
        .collect();
    levels.push((NOT_YET.to_string(), "Not yet awarded".to_string()));
    Ok(Data {
        lines,
        statuses: statuses.iter().map(|s| (s.key(), s.label())).collect(),
        levels,
        phases: Phase::ALL
            .iter()
            .map(|p| (p.as_str().to_string(), p.label().to_string()))
            .collect(),
        assessors,
        cohorts,
        themes,
        today,
    })
}

fn level_words(avg: Option<f64>) -> Cell {
    avg.map_or(Cell::Empty, |v| Cell::Number(v, 1))
}

/// The tables of the dashboard, over the schools the filters keep.
pub struct Tables {
    pub status: Table,
    pub awards: Table,
    pub themes: Table,
    pub visits: Table,
    pub risk: Table,
    pub expiring: Table,
    pub schools: Table,
}

pub fn tables(d: &Data, f: &Filter, lines: &[&SchoolLine]) -> Tables {
    let filtered = f.describe(d);
    let mut status = Table::new(
        "status",
        format!("Schools by status ({filtered})"),
        &["Status", "Schools"],
    );
    for (key, label) in &d.statuses {
        let n = lines.iter().filter(|l| &l.status.key() == key).count();
        status.push(vec![Cell::text(label), Cell::count(n as i64)]);
    }
    // Awards by level (rows) and phase (columns).
    let phases: Vec<&(String, String)> = d
        .phases
        .iter()
        .filter(|(k, _)| lines.iter().any(|l| &l.phase == k))
        .collect();
    let mut cols: Vec<&str> = vec!["Award"];
    cols.extend(phases.iter().map(|(_, l)| l.as_str()));
    cols.push("All phases");
    let mut awards = Table::new(
        "awards",
        format!("Awards by level and phase ({filtered})"),
        &cols,
    );
    for (key, label) in &d.levels {
        let of = |l: &&&SchoolLine| {
            if key == NOT_YET {
                l.status == Status::NotYetAwarded
            } else {
                l.level.as_deref().map(str::to_lowercase).as_deref() == Some(key.as_str())
            }
        };
        let mut row = vec![Cell::text(label)];
        for (p, _) in &phases {
            row.push(Cell::count(
                lines.iter().filter(|l| &l.phase == p).filter(of).count() as i64,
            ));
        }
        row.push(Cell::count(lines.iter().filter(of).count() as i64));
        awards.push(row);
    }
    let mut themes = Table::new(
        "themes",
        "Average level claimed and agreed by key theme, across the authority (1 = the first level, 0 = no level)",
        &[
            "Key theme",
            "Average claimed",
            "Strands claimed",
            "Average agreed",
            "Strands judged",
        ],
    );
    for th in &d.themes {
        themes.push(vec![
            Cell::text(format!("{}. {}", th.number, th.title)),
            level_words(th.claimed),
            Cell::count(th.claims as i64),
            level_words(th.agreed),
            Cell::count(th.judged as i64),
        ]);
    }
    let today = d.today.and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut upcoming: Vec<&&SchoolLine> = lines
        .iter()
        .filter(|l| {
            l.visit_at.is_some_and(|v| v >= today)
                && !matches!(
                    l.status,
                    Status::Awarded(..) | Status::NotYetAwarded | Status::Withdrawn
                )
        })
        .collect();
    upcoming.sort_by_key(|l| l.visit_at);
    let mut visits = Table::new(
        "visits",
        format!("Upcoming visits ({filtered})"),
        &["School", "Visit", "Assessor", "Status"],
    );
    for l in upcoming {
        visits.push_linked(
            format!("/assessments/{}/visit", l.id),
            vec![
                Cell::text(&l.school),
                Cell::text(l.visit_at.map(crate::dates::visit).unwrap_or_default()),
                Cell::text(&l.assessor),
                Cell::text(l.status.label()),
            ],
        );
    }
    let mut risk = Table::new(
        "at-risk",
        format!("Submissions at risk or late ({filtered})"),
        &["School", "Deadline", "Strands written", "Why"],
    );
    for l in lines.iter().filter(|l| l.risk.is_some()) {
        risk.push_linked(
            format!("/assessments/{}/read", l.id),
            vec![
                Cell::text(&l.school),
                Cell::text(&l.deadline_words),
                Cell::text(format!("{} of {}", l.written, l.strands)),
                Cell::text(l.risk.clone().unwrap_or_default()),
            ],
        );
    }
    let horizon = d
        .today
        .checked_add_months(chrono::Months::new(6))
        .unwrap_or(d.today);
    let mut exp: Vec<&&SchoolLine> = lines
        .iter()
        .filter(|l| l.expires_on.is_some_and(|e| e >= d.today && e <= horizon))
        .collect();
    exp.sort_by_key(|l| l.expires_on);
    let mut expiring = Table::new(
        "expiring",
        format!("Awards expiring in the next 6 months ({filtered})"),
        &["School", "Award", "Expires"],
    );
    for l in exp {
        expiring.push_linked(
            format!("/assessments/{}/award", l.id),
            vec![
                Cell::text(&l.school),
                Cell::text(l.level.clone().unwrap_or_default()),
                Cell::text(
                    l.expires_on
                        .map(crate::dates::weekday_date)
                        .unwrap_or_default(),
                ),
            ],
        );
    }
    let mut schools = Table::new(
        "schools",
        format!(
            "{filtered}: {} handbook{}",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        ),
        &[
            "School",
            "URN",
            "Phase",
            "Cohort",
            "Status",
            "Assessor",
            "Visit",
            "Deadline",
            "Strands written",
        ],
    );
    for l in lines {
        schools.push_linked(
            format!("/assessments/{}/read", l.id),
            vec![
                Cell::text(&l.school),
                Cell::count(l.urn),
                Cell::text(l.phase_label),
                Cell::text(&l.cohort),
                Cell::text(l.status.label()),
                Cell::text(&l.assessor),
                Cell::text(
                    l.visit_at
                        .map_or_else(|| "Not arranged".to_string(), crate::dates::visit),
                ),
                Cell::text(&l.deadline_words),
                Cell::text(format!("{} of {}", l.written, l.strands)),
            ],
        );
    }
    Tables {
        status,
        awards,
        themes,
        visits,
        risk,
        expiring,
        schools,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    f: Filter,
    /// The downloads' address up to their own parameters: the filters on screen.
    dl: String,
    filtered: bool,
    d: Data,
    t: Tables,
    status_chart: Chart,
    awards_chart: Chart,
    themes_chart: Chart,
    impact: super::attendance::ImpactView,
    sorts: &'static [(&'static str, &'static str)],
}

/// The orders the school table can take.
const SORTS: &[(&str, &str)] = &[
    ("school", "School name"),
    ("status", "Status"),
    ("cohort", "Cohort, newest first"),
    ("deadline", "Deadline, soonest first"),
    ("written", "Strands written, fewest first"),
];

fn charts(t: &Tables) -> (Chart, Chart, Chart) {
    let figure = |c: &Cell| match c {
        Cell::Number(v, _) => Some(*v),
        _ => None,
    };
    let status = Chart::new(
        "status-chart",
        "Schools by status",
        &["Schools"],
        &t.status
            .rows
            .iter()
            .map(|r| (r[0].shown(), vec![figure(&r[1])]))
            .collect::<Vec<_>>(),
        "",
        0,
    );
    let awards = Chart::new(
        "awards-chart",
        "Awards by level, all phases",
        &["Schools"],
        &t.awards
            .rows
            .iter()
            .map(|r| (r[0].shown(), vec![r.last().and_then(figure)]))
            .collect::<Vec<_>>(),
        "",
        0,
    );
    let themes = Chart::new(
        "themes-chart",
        "Average level claimed and agreed by key theme",
        &["Claimed", "Agreed"],
        &t.themes
            .rows
            .iter()
            // The chart names the theme by number (the table beside it has the title): a
            // title would run into the bars.
            .map(|r| {
                let shown = r[0].shown();
                let number = shown.split('.').next().unwrap_or("").to_string();
                (
                    format!("Key theme {number}"),
                    vec![figure(&r[1]), figure(&r[3])],
                )
            })
            .collect::<Vec<_>>(),
        "",
        1,
    );
    (status, awards, themes)
}

pub async fn get_dashboard(
    mut s: Scoped<Officers>,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let mut d = load(&mut s).await?;
    let impact = super::attendance::impact_view(&mut s).await?;
    sort(&mut d.lines, &f.sort);
    let kept: Vec<&SchoolLine> = d.lines.iter().filter(|l| f.keeps(l)).collect();
    let t = tables(&d, &f, &kept);
    if let Some(format) = f.format {
        let table = match f.table.as_str() {
            "status" => &t.status,
            "awards" => &t.awards,
            "themes" => &t.themes,
            "visits" => &t.visits,
            "at-risk" => &t.risk,
            "expiring" => &t.expiring,
            "schools" => &t.schools,
            "impact" => &impact.table,
            _ => return Err(AppError::NotFound),
        };
        return download(table, format);
    }
    let (status_chart, awards_chart, themes_chart) = charts(&t);
    use axum::response::IntoResponse;
    Ok(DashboardPage {
        layout: s.layout("/dashboard"),
        dl: format!("/dashboard?{}&", f.query()),
        filtered: f.is_filtered(),
        f,
        d,
        t,
        status_chart,
        awards_chart,
        themes_chart,
        impact,
        sorts: SORTS,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use deadline::Standing;

    #[test]
    fn status_from_stage_writing_visit_and_award() {
        assert_eq!(
            Status::of(Stage::InProgress, 0, false, None),
            Status::NotStarted
        );
        assert_eq!(
            Status::of(Stage::Returned, 3, true, None),
            Status::InProgress
        );
        assert_eq!(
            Status::of(Stage::WithHead, 3, false, None),
            Status::WithHead
        );
        assert_eq!(
            Status::of(Stage::Submitted, 40, false, None),
            Status::Submitted
        );
        assert_eq!(
            Status::of(Stage::Submitted, 40, true, None),
            Status::VisitBooked
        );
        let gold = Status::of(Stage::Awarded, 40, true, Some((2, "Gold".into())));
        assert_eq!(gold.key(), "awarded_gold");
        assert_eq!(gold.label(), "Awarded Gold");
        assert_eq!(
            Status::of(Stage::Awarded, 40, true, None),
            Status::NotYetAwarded
        );
        assert_eq!(
            Status::of(Stage::Withdrawn, 1, true, None),
            Status::Withdrawn
        );
    }

    #[test]
    fn at_risk_within_ten_working_days_with_little_written_or_late() {
        assert!(little_written(19, 40));
        assert!(!little_written(20, 40));
        assert_eq!(
            risk(false, Some(&Standing::Left(10)), true).as_deref(),
            Some("At risk: 10 working days left and less than half written")
        );
        assert_eq!(risk(false, Some(&Standing::Left(11)), true), None);
        assert_eq!(risk(false, Some(&Standing::Left(3)), false), None);
        assert_eq!(
            risk(false, Some(&Standing::Late(1)), false).as_deref(),
            Some("Late: the deadline passed 1 working day ago")
        );
        assert_eq!(risk(true, Some(&Standing::Late(4)), true), None);
        assert_eq!(risk(false, None, true), None);
    }
}
