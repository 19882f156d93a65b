//! Each role's home page after sign-in: the person's work, one click away, and only what works
//! today. School staff see their handbook's progress and a way into it.

use crate::assessment;
use crate::auth::{Role, SignedIn};
use crate::error::AppError;
use crate::layout::Layout;
use crate::visit::caseload::Assigned;
use askama::Template;
use askama_web::WebTemplate;
use uuid::Uuid;

pub struct HomeLink {
    pub href: String,
    pub label: &'static str,
    pub description: String,
}

/// The school's open handbook, for the home page's "Continue" button.
pub struct HandbookProgress {
    pub href: String,
    pub cohort: String,
    pub written: i64,
    pub claimed: i64,
    pub strands: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "home/home.html")]
pub struct HomePage {
    layout: Layout,
    heading: String,
    caption: String,
    intro: &'static str,
    facts: Vec<(&'static str, String)>,
    handbook: Option<HandbookProgress>,
    /// Shown to school staff whose school has no open handbook yet.
    not_enrolled: bool,
    /// The assessor's schools.
    assigned: Option<Vec<Assigned>>,
    links: Vec<HomeLink>,
}

fn link(href: &str, label: &'static str, description: &str) -> HomeLink {
    HomeLink {
        href: href.to_string(),
        label,
        description: description.to_string(),
    }
}

/// What each role does here, and where it goes to do it.
fn intro_and_links(role: Role) -> (&'static str, Vec<HomeLink>) {
    match role {
        Role::AttendanceLead => (
            "You fill in your school's handbook against the six key themes, claim a level for each strand, and link evidence from your school's library.",
            vec![
                link(
                    "/evidence",
                    "Evidence library",
                    "Upload your school's documents once and link each to the strands it supports.",
                ),
                link(
                    "/practice",
                    "Good practice",
                    "How other schools of your authority meet each strand, and whom to ask. Offer your own from any strand.",
                ),
                link(
                    "/frameworks",
                    "Read the criteria",
                    "The Bronze, Silver and Gold statements of every strand, with prompts and possible sources of evidence.",
                ),
            ],
        ),
        Role::HeadTeacher => (
            "You read and can edit your school's handbook with the Attendance Lead, and you manage who is your school's Attendance Lead.",
            vec![
                link(
                    "/evidence",
                    "Evidence library",
                    "The documents your school has uploaded, and the strands each supports.",
                ),
                link(
                    "/practice",
                    "Good practice",
                    "How other schools of your authority meet each strand, and whom to ask. Offer your own from any strand.",
                ),
                link(
                    "/people",
                    "Attendance Leads",
                    "Invite a colleague as Attendance Lead, or end the access of one who has left.",
                ),
                link(
                    "/frameworks",
                    "Read the criteria",
                    "The Bronze, Silver and Gold statements of every strand.",
                ),
            ],
        ),
        Role::Assessor => (
            "The schools your local authority has assigned to you are listed here, what needs you first. Open a school to read its submitted handbook, arrange the visit, record the levels you agree during the visit and agree the award.",
            vec![
                link(
                    "/visits",
                    "Your visits",
                    "Every school assigned to you, with its visit, deadline and award.",
                ),
                link(
                    "/practice",
                    "Good practice",
                    "Practice the authority's schools share, by strand.",
                ),
                link(
                    "/frameworks",
                    "Read the criteria",
                    "The statements you assess against.",
                ),
            ],
        ),
        Role::LaOfficer => (
            "You run the programme for your authority: cohorts, events and enrolment, the city-wide dashboard, attendance data, schools, people, and the record of what changed.",
            vec![
                link(
                    "/dashboard",
                    "Dashboard",
                    "Every school's progress, awards, the themes schools find hardest, visits, submissions at risk and the programme's impact on attendance.",
                ),
                link(
                    "/cohorts",
                    "Cohorts",
                    "Open a cohort, enrol schools, set the launch, CPD and celebration events and take their registers.",
                ),
                link(
                    "/attendance",
                    "Attendance data",
                    "Import the DfE absence file, enter termly figures and set each school's targets.",
                ),
                link(
                    "/practice",
                    "Good practice",
                    "Review the practice schools offer, publish it to the resource base, and feature entries for the celebration booklet.",
                ),
                link(
                    "/calendar",
                    "Closure days",
                    "INSET days and holidays, which deadlines before visits do not count as working days.",
                ),
                link("/schools", "Schools", "The schools of your authority."),
                link(
                    "/people",
                    "People",
                    "Invite Attendance Leads, head teachers and assessors.",
                ),
                link(
                    "/audit",
                    "Audit log",
                    "Every sign-in, invitation and change, filtered by school or person.",
                ),
            ],
        ),
        Role::TenantAdmin => (
            "You manage the schools, user accounts and settings of your authority.",
            vec![
                link(
                    "/schools",
                    "Schools",
                    "Import schools from a Get information about schools extract.",
                ),
                link(
                    "/people",
                    "People",
                    "Invite people, change roles, deactivate accounts.",
                ),
                link(
                    "/settings/best-fit",
                    "Best-fit rule",
                    "How many strands and themes each level needs for the level suggested to schools: your authority's rule, or the platform's default.",
                ),
                link(
                    "/audit",
                    "Audit log",
                    "Every sign-in, invitation and change, filtered by school or person.",
                ),
            ],
        ),
        Role::PlatformOperator => (
            "You create local authorities (tenants) and look after the service.",
            vec![
                link(
                    "/operator/tenants",
                    "Authorities",
                    "Add an authority and invite its first administrator.",
                ),
                link(
                    "/operator/mail",
                    "Mail",
                    "Email not delivered, and email written to files when no mail server is configured.",
                ),
            ],
        ),
    }
}

/// The progress of the school's open handbook, if it has one.
async fn progress(
    conn: &mut sqlx::PgConnection,
    signed: &SignedIn,
    tenant: Uuid,
    school: Uuid,
) -> Result<Option<HandbookProgress>, AppError> {
    let Some(id) = assessment::open_of_school(&mut *conn, tenant, school).await? else {
        return Ok(None);
    };
    let (cohort, key, version, written, claimed): (String, String, String, i64, i64) =
        sqlx::query_as(
            "SELECT c.name, a.framework_key, a.framework_version,
                    (SELECT count(*) FROM strand_entry e WHERE e.tenant_id = a.tenant_id AND e.assessment_id = a.id AND e.written),
                    (SELECT count(*) FROM strand_entry e WHERE e.tenant_id = a.tenant_id AND e.assessment_id = a.id AND e.claimed_level IS NOT NULL)
             FROM assessment a JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
             WHERE a.tenant_id = $1 AND a.id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let strands = signed
        .state
        .catalogue
        .get(&key, &version)
        .map_or(0, |fw| fw.strands().count());
    Ok(Some(HandbookProgress {
        href: format!("/assessments/{id}"),
        cohort,
        written,
        claimed,
        strands,
    }))
}

/// Every role has a home, the operator (who belongs to no tenant) included, so this handler takes
/// `SignedIn` rather than `Scoped<R>` and opens the tenant's transaction itself for the roles
/// that have one.
pub async fn get_home(signed: SignedIn) -> Result<HomePage, AppError> {
    let user = &signed.user;
    let (intro, links) = intro_and_links(user.role);
    let mut facts = Vec::new();
    let mut handbook = None;
    let mut not_enrolled = false;
    let mut assigned = None;
    match (user.role, user.tenant_id) {
        (Role::PlatformOperator, _) => {
            // The operator works across tenants: the login role's pool.
            let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant")
                .fetch_one(signed.state.db.system())
                .await?;
            facts.push(("Authorities", tenants.to_string()));
        }
        (Role::LaOfficer | Role::TenantAdmin, Some(tenant)) => {
            let mut tx = signed.state.db.tenant_tx(tenant).await?;
            let (schools, active, invited): (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM school WHERE tenant_id = $1 AND status = 'open'),
                        (SELECT count(*) FROM app_user WHERE tenant_id = $1 AND active AND password_hash IS NOT NULL),
                        (SELECT count(*) FROM app_user WHERE tenant_id = $1 AND active AND password_hash IS NULL)",
            )
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            facts.push(("Open schools", schools.to_string()));
            facts.push(("Active accounts", active.to_string()));
            facts.push(("Invited, not yet signed in", invited.to_string()));
        }
        (Role::AttendanceLead | Role::HeadTeacher, Some(tenant)) => {
            facts.push(("School", user.school_name.clone().unwrap_or_default()));
            if let Some(school) = user.school_id {
                let mut tx = signed.state.db.tenant_tx(tenant).await?;
                handbook = progress(&mut tx, &signed, tenant, school).await?;
                tx.commit().await?;
                not_enrolled = handbook.is_none();
            }
        }
        (Role::Assessor, Some(tenant)) => {
            let mut tx = signed.state.db.tenant_tx(tenant).await?;
            assigned = Some(
                crate::visit::caseload::assigned_to(
                    &mut tx,
                    &signed.state.catalogue,
                    tenant,
                    user.id,
                )
                .await?,
            );
            tx.commit().await?;
        }
        _ => {}
    }
    let caption = match (&user.tenant_name, &user.school_name) {
        (_, Some(school)) => school.clone(),
        (Some(tenant), None) => tenant.clone(),
        (None, None) => "Attendance Quality Mark".to_string(),
    };
    Ok(HomePage {
        layout: signed.layout("/home"),
        heading: format!("{} home", user.role.label()),
        caption,
        intro,
        facts,
        handbook,
        not_enrolled,
        assigned,
        links,
    })
}
