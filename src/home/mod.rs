//! Each role's home page after sign-in: what the person can do here, and nothing else.

use crate::app::AppState;
use crate::auth::{Ctx, CurrentUser, Role};
use crate::error::AppError;
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

pub struct HomeLink {
    pub href: &'static str,
    pub label: &'static str,
    pub description: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "home/home.html")]
pub struct HomePage {
    layout: Layout,
    heading: String,
    caption: String,
    intro: &'static str,
    facts: Vec<(&'static str, String)>,
    links: Vec<HomeLink>,
}

fn link(href: &'static str, label: &'static str, description: &'static str) -> HomeLink {
    HomeLink {
        href,
        label,
        description,
    }
}

pub async fn get_home(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<HomePage, AppError> {
    let mut facts = Vec::new();
    let (intro, links) = match user.role {
        Role::AttendanceLead => (
            "You fill in your school's handbook against the six key themes, map evidence to the criteria and send it to your head teacher.",
            vec![link(
                "/frameworks",
                "Read the criteria",
                "The Bronze, Silver and Gold statements of every strand, with prompts and possible sources of evidence.",
            )],
        ),
        Role::HeadTeacher => (
            "You read your school's handbook, comment on it, and approve it for the assessor. You can also hand the Attendance Lead role to a colleague.",
            vec![
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
            "You see the schools assigned to you, read their handbooks and evidence before each visit, and agree the award with the school.",
            vec![link(
                "/frameworks",
                "Read the criteria",
                "The statements you assess against.",
            )],
        ),
        Role::LaOfficer => (
            "You run the programme for your authority: schools, people, and the record of what changed.",
            vec![
                link(
                    "/cohorts",
                    "Cohorts",
                    "Open a cohort and enrol schools: enrolling opens a school's handbook.",
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
            "You manage the schools and user accounts of your authority.",
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
                    "Add an authority and invite its first tenant admin.",
                ),
                link(
                    "/operator/mail",
                    "Mail",
                    "Email written to files when no mail server is configured.",
                ),
            ],
        ),
    };
    match user.role {
        Role::LaOfficer | Role::TenantAdmin => {
            let tenant = user.tenant()?;
            let mut tx = state.db.tenant_tx(tenant).await?;
            let (schools, people): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM school WHERE tenant_id = $1 AND status = 'open'),
                        (SELECT count(*) FROM app_user WHERE tenant_id = $1 AND active)",
            )
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            facts.push(("Open schools", schools.to_string()));
            facts.push(("Active accounts", people.to_string()));
        }
        Role::AttendanceLead | Role::HeadTeacher => {
            facts.push(("School", user.school_name.clone().unwrap_or_default()));
        }
        Role::PlatformOperator => {
            let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant")
                .fetch_one(state.db.system())
                .await?;
            facts.push(("Authorities", tenants.to_string()));
        }
        Role::Assessor => {}
    }
    let caption = match (&user.tenant_name, &user.school_name) {
        (_, Some(school)) => school.clone(),
        (Some(tenant), None) => tenant.clone(),
        (None, None) => "Attendance Quality Mark".to_string(),
    };
    Ok(HomePage {
        layout: ctx.layout("/home"),
        heading: format!("{} home", user.role.label()),
        caption,
        intro,
        facts,
        links,
    })
}
