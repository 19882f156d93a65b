//! Demonstration data: a clearly labelled demo authority with a dozen schools, one account per
//! role, the first school enrolled in cohort 2026/27 with its handbook open and the cohort's
//! events, an earlier cohort already awarded, and made-up absence figures. Made by
//! `aqm demo`, and on the first start of the embedded database when it is empty.

use crate::accounts::{self, AddError, NewPerson};
use crate::audit;
use crate::auth::{Role, password};
use crate::domain::{EmailAddress, PersonName};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub const SLUG: &str = "demo";
pub const NAME: &str = "Demo City Council (demonstration data)";

/// Invented schools: (URN, name, phase). URNs 9999xx are not used by real schools in England.
const SCHOOLS: &[(i32, &str, &str)] = &[
    (999901, "Riverside Primary School (demo)", "primary"),
    (999902, "Hilltop Primary School (demo)", "primary"),
    (
        999903,
        "St Anne's Catholic Primary School (demo)",
        "primary",
    ),
    (999904, "Parkfield Infant School (demo)", "primary"),
    (999905, "Meadow Lane Junior School (demo)", "primary"),
    (999906, "Dockside Academy (demo)", "secondary"),
    (999907, "Northgate High School (demo)", "secondary"),
    (999908, "Westbrook College (demo)", "secondary"),
    (999909, "Oakwood Special School (demo)", "special"),
    (
        999910,
        "Harbour Learning Centre (demo)",
        "alternative_provision",
    ),
    (999911, "Little Acorns Nursery School (demo)", "nursery"),
    (999912, "Cityview All-Through School (demo)", "all_through"),
];

/// One account per role: (role, email, name). The school roles belong to the first school.
pub const ACCOUNTS: &[(Role, &str, &str)] = &[
    (Role::AttendanceLead, "lead@aqm-demo.test", "Alex Lead"),
    (Role::HeadTeacher, "head@aqm-demo.test", "Sam Head"),
    (Role::Assessor, "assessor@aqm-demo.test", "Robin Assessor"),
    (Role::LaOfficer, "officer@aqm-demo.test", "Jo Officer"),
    (Role::TenantAdmin, "admin@aqm-demo.test", "Chris Admin"),
    (
        Role::PlatformOperator,
        "operator@aqm-demo.test",
        "Pat Operator",
    ),
];

/// True when the database has no authority and no account: a new installation.
pub async fn is_empty(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM tenant) AND NOT EXISTS (SELECT 1 FROM app_user)",
    )
    .fetch_one(pool)
    .await
}

/// Makes the demo authority unless it exists; returns whether it made it.
pub async fn seed(pool: &PgPool, demo_password: &str) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let tenant = Uuid::new_v4();
    let made = sqlx::query(
        "INSERT INTO tenant (id, slug, name, nation, is_demo) VALUES ($1, $2, $3, 'england', true)
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(tenant)
    .bind(SLUG)
    .bind(NAME)
    .execute(&mut *tx)
    .await?;
    if made.rows_affected() == 0 {
        return Ok(false);
    }
    let mut first_school = None;
    for (urn, name, phase) in SCHOOLS {
        let id = Uuid::new_v4();
        first_school.get_or_insert(id);
        sqlx::query(
            "INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status) VALUES ($1, $2, $3, $4, $5, '999', 'open')",
        )
        .bind(id)
        .bind(tenant)
        .bind(urn)
        .bind(name)
        .bind(phase)
        .execute(&mut *tx)
        .await?;
    }
    let hash = password::hash(demo_password).await?;
    for (role, email, name) in ACCOUNTS {
        let tenant_id = (*role != Role::PlatformOperator).then_some(tenant);
        let school_id = role.is_school_role().then_some(first_school).flatten();
        let email = EmailAddress::parse(email)
            .ok_or_else(|| anyhow::anyhow!("demo address {email} is not valid"))?;
        let name = PersonName::parse(name).map_err(|p| anyhow::anyhow!("demo name {name}: {p}"))?;
        let added = accounts::add_person(
            &mut tx,
            &NewPerson {
                tenant: tenant_id,
                email: &email,
                name: &name,
                role: *role,
                school: school_id,
                password_hash: Some(&hash),
            },
        )
        .await;
        // An address already in use elsewhere keeps its account; the demo goes on without it.
        match added {
            Ok(_) | Err(AddError::EmailTaken) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The first school is enrolled in a cohort, so its Attendance Lead has a handbook at once.
    // The framework is the newest version the server recorded (none yet from `aqm demo` run
    // before the first start: then the officer enrols it).
    let version: Option<String> = sqlx::query_scalar(
        "SELECT version FROM framework_version WHERE framework_key = 'laqm' ORDER BY first_loaded_at DESC, version DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let (Some(version), Some(school)) = (version, first_school) {
        let cohort = Uuid::new_v4();
        sqlx::query("INSERT INTO cohort (id, tenant_id, name) VALUES ($1, $2, '2026/27')")
            .bind(cohort)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        // Its assessor is the demo assessor, visiting on a Tuesday about eight weeks ahead, so the
        // assessor's caseload has a school from the start.
        sqlx::query(
            "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version,
                                     assessor_id, visit_at)
             VALUES ($1, $2, $3, $4, 'laqm', $5,
                     (SELECT id FROM app_user WHERE tenant_id = $2 AND email = 'assessor@aqm-demo.test'),
                     date_trunc('week', current_date + 56) + interval '1 day 9 hours 30 minutes')",
        )
        .bind(Uuid::new_v4())
        .bind(tenant)
        .bind(school)
        .bind(cohort)
        .bind(&version)
        .execute(&mut *tx)
        .await?;
        programme(&mut tx, tenant, cohort, school, &version).await?;
    }
    audit::record(
        &mut tx,
        &audit::Event::new("demo.created")
            .tenant(Some(tenant))
            .actor(None, super::cli::ACTOR)
            .after(json!({"schools": SCHOOLS.len(), "accounts": ACCOUNTS.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The rest of the demo programme, so the officer's pages have something to show: the cohort's
/// five events (the launch and CPD 1 held, with registers), an earlier cohort of three schools
/// already awarded, and three years of made-up absence figures for every demo school in which the
/// schools that took part improved more.
async fn programme(
    tx: &mut sqlx::PgConnection,
    tenant: Uuid,
    cohort: Uuid,
    first_school: Uuid,
    version: &str,
) -> anyhow::Result<()> {
    let officer: Uuid = sqlx::query_scalar(
        "SELECT id FROM app_user WHERE tenant_id = $1 AND email = 'officer@aqm-demo.test'",
    )
    .bind(tenant)
    .fetch_one(&mut *tx)
    .await?;
    for (kind, at, register) in [
        ("launch", "2026-09-24 09:30", Some((true, true))),
        ("cpd1", "2026-11-12 13:30", Some((true, false))),
        ("cpd2", "2027-01-21 13:30", None),
        ("cpd3", "2027-03-11 13:30", None),
        ("celebration", "2027-07-08 15:00", None),
    ] {
        let event = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO programme_event (id, tenant_id, cohort_id, kind, starts_at, place, capacity, invited_at, register_taken_at)
             VALUES ($1, $2, $3, $4, $5::timestamp, 'Demo Town Hall, Council Chamber', 80, now(), CASE WHEN $6 THEN now() END)",
        )
        .bind(event)
        .bind(tenant)
        .bind(cohort)
        .bind(kind)
        .bind(at)
        .bind(register.is_some())
        .execute(&mut *tx)
        .await?;
        if let Some((lead, head)) = register {
            sqlx::query(
                "INSERT INTO event_attendance (tenant_id, event_id, school_id, lead_attended, head_attended, recorded_by)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(tenant)
            .bind(event)
            .bind(first_school)
            .bind(lead)
            .bind(head)
            .bind(officer)
            .execute(&mut *tx)
            .await?;
        }
    }
    // One published, featured entry of good practice from the first school, so the resource base
    // and the booklet have something to show.
    sqlx::query(
        "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                               actions, impact, status, contact_id, created_by, approved_by, approved_at, published_at, featured)
         SELECT $1, $2, $3, a.id, '3.5', 3, '3.5: Welcoming pupils back',
                'On the first day back after any absence, every pupil is greeted at the gate by a member of the attendance team and has a short back-to-school chat the same morning. Families are phoned on the first day of absence.',
                'Pupils tell us they feel missed. Repeat absences within a month fell by a quarter in the first term. (Demonstration text.)',
                'published', u.id, u.id, h.id, now(), now(), true
         FROM assessment a, app_user u, app_user h
         WHERE a.tenant_id = $2 AND a.school_id = $3 AND u.tenant_id = $2 AND u.email = 'lead@aqm-demo.test'
           AND h.tenant_id = $2 AND h.email = 'head@aqm-demo.test'",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(first_school)
    .execute(&mut *tx)
    .await?;
    // The 2024/25 cohort: three schools, awarded in July 2025.
    let earlier = Uuid::new_v4();
    sqlx::query("INSERT INTO cohort (id, tenant_id, name, created_at) VALUES ($1, $2, '2024/25', '2024-09-02')")
        .bind(earlier)
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    for (urn, level) in [(999904, "gold"), (999906, "silver"), (999909, "bronze")] {
        let assessment = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version, status, stage,
                                     assessor_id, visit_at)
             SELECT $1, $2, s.id, $3, 'laqm', $4, 'closed', 'awarded', u.id, '2025-06-17 09:30'
             FROM school s, app_user u
             WHERE s.tenant_id = $2 AND s.urn = $5 AND u.tenant_id = $2 AND u.email = 'assessor@aqm-demo.test'",
        )
        .bind(assessment)
        .bind(tenant)
        .bind(earlier)
        .bind(version)
        .bind(urn)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
             SELECT $1, $2, a.assessor_id, $3, $3, $3, '2025-07-10', '2028-07-10', md5(random()::text || $2::text)
             FROM assessment a WHERE a.tenant_id = $1 AND a.id = $2",
        )
        .bind(tenant)
        .bind(assessment)
        .bind(level)
        .execute(&mut *tx)
        .await?;
    }
    // Absence figures, per cent: made up, a little lower each year, and lower still for the
    // schools of the earlier cohort.
    for (urn, _, phase) in SCHOOLS {
        let base = match *phase {
            "secondary" => 9.0,
            "special" => 12.5,
            "alternative_provision" => 18.0,
            _ => 6.0,
        } + f64::from(urn % 5) * 0.4;
        let took_part = [999904, 999906, 999909].contains(urn);
        for (i, period) in [202324, 202425, 202526].into_iter().enumerate() {
            let step = if took_part { 0.8 } else { 0.2 } * i as f64;
            let overall = ((base - step) * 10.0).round() / 10.0;
            let pa = ((overall * 2.9) * 10.0).round() / 10.0;
            let severe = ((overall * 0.25) * 10.0).round() / 10.0;
            sqlx::query(
                "INSERT INTO attendance_figure (tenant_id, school_id, time_period, term, overall_pct, pa_pct, severe_pct, source, recorded_by)
                 SELECT $1, id, $3, 'Academic year', $4, $5, $6, 'manual', $7 FROM school WHERE tenant_id = $1 AND urn = $2",
            )
            .bind(tenant)
            .bind(urn)
            .bind(period)
            .bind(overall)
            .bind(pa.min(100.0))
            .bind(severe)
            .bind(officer)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// The sign-ins to print after seeding.
pub fn sign_ins(base_url: &str, demo_password: &str, from_env: bool) -> String {
    let mut out = format!("Demo authority \"{NAME}\": sign in at {base_url}/sign-in as\n");
    for (role, email, _) in ACCOUNTS {
        out.push_str(&format!("  {:<24} {email}\n", role.label()));
    }
    if from_env {
        out.push_str("with the password set in AQM_DEMO_PASSWORD.\n");
    } else {
        out.push_str(&format!(
            "with the password {demo_password} (set AQM_DEMO_PASSWORD to choose another).\n"
        ));
    }
    out
}
