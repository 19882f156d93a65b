//! Demonstration data: a clearly labelled demo authority with a dozen schools, one account per
//! role, and the first school enrolled in cohort 2026/27 with its handbook open. Made by
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
