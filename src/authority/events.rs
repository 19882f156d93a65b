//! The programme's events for a cohort, as the handbook describes them: the launch (the head
//! teacher attends with the Attendance Lead), CPD 1 to 3 (two key themes each) and the award and
//! celebration event. Each has a date, time, place and capacity; invitations go by email to the
//! leads and heads of the cohort's schools; the register records who from each school came, and
//! schools that missed the launch or a CPD session are flagged on the cohort page.

use crate::auth::{Officers, Scoped};
use crate::domain::CohortId;
use crate::error::AppError;
use crate::forms::{DateInput, Errors, parse_real_date, parse_time};
use crate::layout::Layout;
use crate::review::notice::{self, Notice, Recipient};
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Launch,
    Cpd1,
    Cpd2,
    Cpd3,
    Celebration,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Launch,
        Kind::Cpd1,
        Kind::Cpd2,
        Kind::Cpd3,
        Kind::Celebration,
    ];

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Launch => "launch",
            Kind::Cpd1 => "cpd1",
            Kind::Cpd2 => "cpd2",
            Kind::Cpd3 => "cpd3",
            Kind::Celebration => "celebration",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Launch => "Launch",
            Kind::Cpd1 => "CPD 1: key themes 1 and 2",
            Kind::Cpd2 => "CPD 2: key themes 3 and 4",
            Kind::Cpd3 => "CPD 3: key themes 5 and 6",
            Kind::Celebration => "Award and celebration event",
        }
    }

    /// Who from each school is expected, in the handbook's words.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Launch => "The head teacher must attend with the Attendance Lead.",
            Kind::Cpd1 | Kind::Cpd2 | Kind::Cpd3 => "The Attendance Lead attends.",
            Kind::Celebration => "Schools are invited to celebrate their awards.",
        }
    }
}

/// What a school that came as recorded missed at a past event, if anything (pure): the launch
/// needs both the head teacher and the lead; a CPD session someone from the school; the
/// celebration is not required.
pub fn missed(kind: Kind, lead: bool, head: bool) -> Option<String> {
    match kind {
        Kind::Launch if !lead && !head => Some("Missed the launch".to_string()),
        Kind::Launch if !head => Some("Head teacher missed the launch".to_string()),
        Kind::Launch if !lead => Some("Attendance Lead missed the launch".to_string()),
        Kind::Cpd1 | Kind::Cpd2 | Kind::Cpd3 if !lead && !head => Some(format!(
            "Missed {}",
            kind.title().split(':').next().unwrap_or("")
        )),
        _ => None,
    }
}

#[derive(sqlx::FromRow, Clone)]
pub struct EventRow {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub cohort: String,
    pub kind: String,
    pub starts_at: NaiveDateTime,
    pub place: String,
    pub capacity: i32,
    pub invited: bool,
    pub register_taken: bool,
    pub past: bool,
}

impl EventRow {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Launch)
    }

    pub fn when(&self) -> String {
        crate::dates::visit(self.starts_at)
    }
}

const EVENT_SELECT: &str =
    "SELECT e.id, e.cohort_id, c.name AS cohort, e.kind, e.starts_at, e.place, e.capacity,
        e.invited_at IS NOT NULL AS invited, e.register_taken_at IS NOT NULL AS register_taken,
        e.starts_at < (now() AT TIME ZONE 'Europe/London') AS past
     FROM programme_event e JOIN cohort c ON c.tenant_id = e.tenant_id AND c.id = e.cohort_id";

pub async fn of_cohort(
    conn: &mut PgConnection,
    tenant: Uuid,
    cohort: Uuid,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{EVENT_SELECT} WHERE e.tenant_id = $1 AND e.cohort_id = $2 ORDER BY e.starts_at"
    ))
    .bind(tenant)
    .bind(cohort)
    .fetch_all(conn)
    .await
}

/// Per school of the cohort, what it missed at the events already held whose register was taken.
pub async fn warnings(
    conn: &mut PgConnection,
    tenant: Uuid,
    cohort: Uuid,
) -> Result<HashMap<Uuid, Vec<String>>, sqlx::Error> {
    let rows: Vec<(Uuid, String, Option<bool>, Option<bool>)> = sqlx::query_as(
        "SELECT a.school_id, e.kind, r.lead_attended, r.head_attended
         FROM programme_event e
         JOIN assessment a ON a.tenant_id = e.tenant_id AND a.cohort_id = e.cohort_id AND a.stage <> 'withdrawn'
         LEFT JOIN event_attendance r ON r.tenant_id = e.tenant_id AND r.event_id = e.id AND r.school_id = a.school_id
         WHERE e.tenant_id = $1 AND e.cohort_id = $2 AND e.register_taken_at IS NOT NULL
         ORDER BY e.starts_at",
    )
    .bind(tenant)
    .bind(cohort)
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (school, kind, lead, head) in rows {
        let Some(kind) = Kind::parse(&kind) else {
            continue;
        };
        if let Some(m) = missed(kind, lead.unwrap_or(false), head.unwrap_or(false)) {
            out.entry(school).or_default().push(m);
        }
    }
    Ok(out)
}

async fn cohort_name(s: &mut Scoped<Officers>, id: CohortId) -> Result<String, AppError> {
    sqlx::query_scalar("SELECT name FROM cohort WHERE tenant_id = $1 AND id = $2")
        .bind(s.tenant)
        .bind(id)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/events.html")]
pub struct EventsPage {
    layout: Layout,
    cohort_id: Uuid,
    cohort: String,
    events: Vec<EventRow>,
    kinds: Vec<(Kind, bool)>,
    errors: Errors,
    form: EventForm,
    date: DateInput,
}

async fn events_page(
    s: &mut Scoped<Officers>,
    id: CohortId,
    errors: Errors,
    form: EventForm,
) -> Result<EventsPage, AppError> {
    let cohort = cohort_name(s, id).await?;
    let events = of_cohort(&mut s.tx, s.tenant, id.0).await?;
    let set: HashSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let kinds = Kind::ALL
        .into_iter()
        .map(|k| (k, set.contains(k.as_str())))
        .collect();
    Ok(EventsPage {
        layout: s.layout("/cohorts"),
        cohort_id: id.0,
        cohort,
        kinds,
        date: DateInput::new(&form.day, &form.month, &form.year),
        events,
        errors,
        form,
    })
}

pub async fn get_events(
    mut s: Scoped<Officers>,
    Path(id): Path<CohortId>,
) -> Result<EventsPage, AppError> {
    events_page(&mut s, id, Errors::default(), EventForm::default()).await
}

#[derive(Deserialize, Default)]
pub struct EventForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default, rename = "when-day")]
    pub day: String,
    #[serde(default, rename = "when-month")]
    pub month: String,
    #[serde(default, rename = "when-year")]
    pub year: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub capacity: String,
}

/// The event's fields, or the errors to show next to them (pure).
pub fn check(form: &EventForm, errors: &mut Errors) -> Option<(Kind, NaiveDateTime, String, i32)> {
    let kind = Kind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", "Choose which event this is");
    }
    let date = match parse_real_date(
        &DateInput::new(&form.day, &form.month, &form.year),
        "when-day",
        "The event's date",
    ) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("when-day", "Enter the date of the event");
            None
        }
        Err((field, message)) => {
            errors.add(field, message);
            None
        }
    };
    let time = parse_time(&form.time);
    if time.is_none() {
        errors.add("time", "Enter the start time like 09:30");
    }
    let place = form.place.trim();
    if place.is_empty() {
        errors.add("place", "Enter where the event takes place");
    } else if place.chars().count() > 200 {
        errors.add("place", "The place must be 200 characters or fewer");
    }
    let capacity = form
        .capacity
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|c| (1..=10_000).contains(c));
    if capacity.is_none() {
        errors.add(
            "capacity",
            "Enter how many people can attend, a whole number from 1 to 10,000",
        );
    }
    Some((
        kind?,
        NaiveDateTime::new(date?, time?),
        place.to_string(),
        capacity?,
    ))
}

pub async fn post_event(
    mut s: Scoped<Officers>,
    Path(id): Path<CohortId>,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    cohort_name(&mut s, id).await?;
    let mut errors = Errors::default();
    let Some((kind, at, place, capacity)) = check(&form, &mut errors) else {
        let page = events_page(&mut s, id, errors, form).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let event: Uuid = sqlx::query_scalar(
        "INSERT INTO programme_event (id, tenant_id, cohort_id, kind, starts_at, place, capacity)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, cohort_id, kind) DO UPDATE SET starts_at = $5, place = $6, capacity = $7
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(s.tenant)
    .bind(id)
    .bind(kind.as_str())
    .bind(at)
    .bind(&place)
    .bind(capacity)
    .fetch_one(&mut *s.tx)
    .await?;
    let saved = s
        .event("event.saved")
        .subject("programme_event", event)
        .after(
            json!({"kind": kind.as_str(), "starts_at": at, "place": place, "capacity": capacity}),
        );
    s.record(saved).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/cohorts/{id}/events"),
        "event-saved",
    ))
}

async fn load_event(s: &mut Scoped<Officers>, id: Uuid) -> Result<EventRow, AppError> {
    sqlx::query_as(&format!(
        "{EVENT_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"
    ))
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
pub struct RegisterLine {
    pub school_id: Uuid,
    pub school: String,
    pub lead: bool,
    pub head: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "authority/event.html")]
pub struct EventPage {
    layout: Layout,
    e: EventRow,
    lines: Vec<RegisterLine>,
    expected: &'static str,
    attended: usize,
}

pub async fn get_event(
    mut s: Scoped<Officers>,
    Path(id): Path<Uuid>,
) -> Result<EventPage, AppError> {
    let e = load_event(&mut s, id).await?;
    let lines: Vec<RegisterLine> = sqlx::query_as(
        "SELECT s.id AS school_id, s.name AS school,
                coalesce(r.lead_attended, false) AS lead, coalesce(r.head_attended, false) AS head
         FROM assessment a JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         LEFT JOIN event_attendance r ON r.tenant_id = a.tenant_id AND r.event_id = $3 AND r.school_id = a.school_id
         WHERE a.tenant_id = $1 AND a.cohort_id = $2 AND a.stage <> 'withdrawn'
         ORDER BY s.name",
    )
    .bind(s.tenant)
    .bind(e.cohort_id)
    .bind(e.id)
    .fetch_all(&mut *s.tx)
    .await?;
    let attended = lines
        .iter()
        .map(|l| usize::from(l.lead) + usize::from(l.head))
        .sum();
    Ok(EventPage {
        layout: s.layout("/cohorts"),
        expected: e.kind().expected(),
        e,
        lines,
        attended,
    })
}

/// The register form: a checkbox `lead:<school>` and `head:<school>` for each who came.
pub async fn post_register(
    mut s: Scoped<Officers>,
    Path(id): Path<Uuid>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let e = load_event(&mut s, id).await?;
    let schools: Vec<Uuid> = sqlx::query_scalar(
        "SELECT school_id FROM assessment WHERE tenant_id = $1 AND cohort_id = $2 AND stage <> 'withdrawn'",
    )
    .bind(s.tenant)
    .bind(e.cohort_id)
    .fetch_all(&mut *s.tx)
    .await?;
    let ticked: HashSet<(String, Uuid)> = fields
        .iter()
        .filter_map(|(k, _)| {
            let (who, school) = k.split_once(':')?;
            Some((who.to_string(), school.parse().ok()?))
        })
        .collect();
    let mut count = 0;
    for school in &schools {
        let lead = ticked.contains(&("lead".to_string(), *school));
        let head = ticked.contains(&("head".to_string(), *school));
        count += usize::from(lead) + usize::from(head);
        sqlx::query(
            "INSERT INTO event_attendance (tenant_id, event_id, school_id, lead_attended, head_attended, recorded_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, event_id, school_id)
             DO UPDATE SET lead_attended = $4, head_attended = $5, recorded_by = $6, recorded_at = now()",
        )
        .bind(s.tenant)
        .bind(e.id)
        .bind(school)
        .bind(lead)
        .bind(head)
        .bind(s.user.id)
        .execute(&mut *s.tx)
        .await?;
    }
    sqlx::query(
        "UPDATE programme_event SET register_taken_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant)
    .bind(e.id)
    .execute(&mut *s.tx)
    .await?;
    let taken = s
        .event("event.register")
        .subject("programme_event", e.id)
        .after(json!({"kind": e.kind, "attended": count}));
    s.record(taken).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/events/{id}"),
        "register-saved",
    ))
}

/// Emails the invitation to the lead and head of every school in the cohort.
pub async fn post_invite(
    mut s: Scoped<Officers>,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let e = load_event(&mut s, id).await?;
    let people: Vec<(String, Recipient)> = sqlx::query_as::<_, (String, String, String)>(
        "SELECT s.name, u.name, u.email
         FROM assessment a JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         JOIN app_user u ON u.tenant_id = a.tenant_id AND u.school_id = a.school_id
         WHERE a.tenant_id = $1 AND a.cohort_id = $2 AND a.stage <> 'withdrawn'
           AND u.role IN ('attendance_lead', 'head_teacher') AND u.active AND NOT u.stand_in
         ORDER BY s.name, u.name",
    )
    .bind(s.tenant)
    .bind(e.cohort_id)
    .fetch_all(&mut *s.tx)
    .await?
    .into_iter()
    .map(|(school, name, email)| (school, Recipient { name, email }))
    .collect();
    let kind = e.kind();
    for (school, to) in &people {
        let n = Notice {
            name: String::new(),
            subject: format!("Invitation: {} ({})", kind.title(), e.when()),
            paragraphs: vec![
                format!(
                    "You are invited to the {} of the Attendance Quality Mark, cohort {}, on behalf of {school}.",
                    kind.title(),
                    e.cohort
                ),
                format!("When: {}. Where: {}.", e.when(), e.place),
                kind.expected().to_string(),
            ],
            link: None,
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, to, n).await?;
    }
    sqlx::query("UPDATE programme_event SET invited_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(s.tenant)
        .bind(e.id)
        .execute(&mut *s.tx)
        .await?;
    let invited = s
        .event("event.invited")
        .subject("programme_event", e.id)
        .after(json!({"kind": e.kind, "people": people.len()}));
    s.record(invited).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/events/{id}"),
        "invitations-sent",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_missed_what() {
        assert_eq!(missed(Kind::Launch, true, true), None);
        assert_eq!(
            missed(Kind::Launch, true, false).as_deref(),
            Some("Head teacher missed the launch")
        );
        assert_eq!(
            missed(Kind::Launch, false, true).as_deref(),
            Some("Attendance Lead missed the launch")
        );
        assert_eq!(
            missed(Kind::Launch, false, false).as_deref(),
            Some("Missed the launch")
        );
        assert_eq!(
            missed(Kind::Cpd2, false, false).as_deref(),
            Some("Missed CPD 2")
        );
        assert_eq!(missed(Kind::Cpd2, false, true), None);
        assert_eq!(missed(Kind::Celebration, false, false), None);
    }

    #[test]
    fn an_event_form_says_what_is_wrong_next_to_each_field() {
        let mut errors = Errors::default();
        let form = EventForm {
            kind: "party".into(),
            day: "31".into(),
            month: "2".into(),
            year: "2027".into(),
            time: "9".into(),
            place: " ".into(),
            capacity: "0".into(),
        };
        assert!(check(&form, &mut errors).is_none());
        for f in ["kind", "when-day", "time", "place", "capacity"] {
            assert!(errors.get(f).is_some(), "{f}");
        }
        let mut errors = Errors::default();
        let ok = EventForm {
            kind: "cpd1".into(),
            day: "14".into(),
            month: "1".into(),
            year: "2027".into(),
            time: "13:30".into(),
            place: "Town Hall".into(),
            capacity: "80".into(),
        };
        let (k, at, place, cap) = check(&ok, &mut errors).unwrap();
        assert_eq!(
            (k, at.to_string().as_str(), place.as_str(), cap),
            (Kind::Cpd1, "2027-01-14 13:30:00", "Town Hall", 80)
        );
    }
}
