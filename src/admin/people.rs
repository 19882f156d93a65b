//! People of an authority: list, invite, change role, deactivate.
//!
//! Who may do what:
//! - tenant admins: everyone in their authority, any role but platform operator;
//! - LA officers: invite and deactivate Attendance Leads, head teachers and assessors;
//! - head teachers: the Attendance Leads of their own school (hand the role to a colleague).

use crate::app::AppState;
use crate::audit;
use crate::auth::links::{self, Purpose};
use crate::auth::routes::redirect_with_flash;
use crate::auth::{Ctx, CurrentUser, Role, session};
use crate::error::AppError;
use crate::forms::{Errors, parse_email};
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// Roles `inviter` may give.
pub fn grantable(inviter: Role) -> &'static [Role] {
    match inviter {
        Role::TenantAdmin => &[
            Role::AttendanceLead,
            Role::HeadTeacher,
            Role::Assessor,
            Role::LaOfficer,
            Role::TenantAdmin,
        ],
        Role::LaOfficer => &[Role::AttendanceLead, Role::HeadTeacher, Role::Assessor],
        Role::HeadTeacher => &[Role::AttendanceLead],
        _ => &[],
    }
}

const MANAGERS: &[Role] = &[Role::TenantAdmin, Role::LaOfficer, Role::HeadTeacher];

#[derive(sqlx::FromRow, Clone)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub school_id: Option<Uuid>,
    pub school_name: Option<String>,
    pub active: bool,
    pub has_password: bool,
}

impl Person {
    pub fn role_label(&self) -> &'static str {
        self.role.parse::<Role>().map_or("Unknown", |r| r.label())
    }

    pub fn status(&self) -> &'static str {
        match (self.active, self.has_password) {
            (false, _) => "Deactivated",
            (true, false) => "Invited",
            (true, true) => "Active",
        }
    }
}

/// The people `user` may see: the whole authority, or for a head teacher their own school.
async fn visible_people(
    conn: &mut PgConnection,
    user: &CurrentUser,
) -> Result<Vec<Person>, AppError> {
    let tenant = user.tenant()?;
    let school_only = (user.role == Role::HeadTeacher)
        .then_some(user.school_id)
        .flatten();
    let people = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.school_id, s.name AS school_name, u.active,
                u.password_hash IS NOT NULL AS has_password
         FROM app_user u LEFT JOIN school s ON s.tenant_id = u.tenant_id AND s.id = u.school_id
         WHERE u.tenant_id = $1 AND ($2::uuid IS NULL OR u.school_id = $2)
         ORDER BY u.active DESC, s.name NULLS FIRST, u.name",
    )
    .bind(tenant)
    .bind(school_only)
    .fetch_all(conn)
    .await?;
    Ok(people)
}

/// One person `user` may manage, or 404: another tenant's or another school's id is not found.
async fn managed_person(
    conn: &mut PgConnection,
    user: &CurrentUser,
    id: Uuid,
) -> Result<Person, AppError> {
    let person = visible_people(conn, user)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)?;
    let role: Role = person.role.parse().map_err(|_| AppError::NotFound)?;
    if !grantable(user.role).contains(&role) {
        return Err(AppError::NotFound);
    }
    Ok(person)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/people.html")]
pub struct PeoplePage {
    layout: Layout,
    heading: &'static str,
    people: Vec<Person>,
    me: Uuid,
    can_invite: bool,
}

pub async fn get_people(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<PeoplePage, AppError> {
    user.require(MANAGERS)?;
    let mut tx = state.db.tenant_tx(user.tenant()?).await?;
    let people = visible_people(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(PeoplePage {
        layout: ctx.layout("/people"),
        heading: if user.role == Role::HeadTeacher {
            "Attendance Leads"
        } else {
            "People"
        },
        people,
        me: user.id,
        can_invite: true,
    })
}

#[derive(sqlx::FromRow, Clone)]
pub struct SchoolOption {
    pub id: Uuid,
    pub name: String,
    pub urn: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/invite.html")]
pub struct InvitePage {
    layout: Layout,
    errors: Errors,
    roles: Vec<Role>,
    schools: Vec<SchoolOption>,
    /// A head teacher invites for their own school only: no school to choose.
    fixed_school: Option<String>,
    full_name: String,
    email: String,
    role: String,
    school: String,
}

async fn school_options(
    conn: &mut PgConnection,
    user: &CurrentUser,
) -> Result<Vec<SchoolOption>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name, urn FROM school WHERE tenant_id = $1 AND status = 'open' ORDER BY name",
    )
    .bind(user.tenant()?)
    .fetch_all(conn)
    .await?)
}

fn invite_page(
    ctx: &Ctx,
    user: &CurrentUser,
    schools: Vec<SchoolOption>,
    errors: Errors,
    form: InviteForm,
) -> InvitePage {
    InvitePage {
        layout: ctx.layout("/people"),
        errors,
        roles: grantable(user.role).to_vec(),
        schools,
        fixed_school: (user.role == Role::HeadTeacher)
            .then(|| user.school_name.clone().unwrap_or_default()),
        full_name: form.name,
        email: form.email,
        role: form.role,
        school: form.school,
    }
}

pub async fn get_invite(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<InvitePage, AppError> {
    user.require(MANAGERS)?;
    let mut tx = state.db.tenant_tx(user.tenant()?).await?;
    let schools = school_options(&mut tx, &user).await?;
    tx.commit().await?;
    let form = InviteForm {
        role: if user.role == Role::HeadTeacher {
            Role::AttendanceLead.as_str().to_string()
        } else {
            String::new()
        },
        ..InviteForm::default()
    };
    Ok(invite_page(&ctx, &user, schools, Errors::default(), form))
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    school: String,
}

pub async fn post_invite(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    user.require(MANAGERS)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let schools = school_options(&mut tx, &user).await?;
    let mut errors = Errors::default();
    let name = form.name.trim().to_string();
    if name.is_empty() {
        errors.add("name", "Enter the person's full name");
    } else if name.chars().count() > 200 {
        errors.add("name", "Name must be 200 characters or fewer");
    }
    let email = parse_email(&form.email);
    if email.is_none() {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@school.org",
        );
    }
    let role = form
        .role
        .parse::<Role>()
        .ok()
        .filter(|r| grantable(user.role).contains(r));
    if role.is_none() {
        errors.add("role", "Select a role");
    }
    let school = match (role, user.role) {
        (None, _) => None,
        (Some(r), _) if !r.is_school_role() => None,
        (_, Role::HeadTeacher) => user.school_id,
        _ => {
            let chosen = form
                .school
                .parse::<Uuid>()
                .ok()
                .filter(|id| schools.iter().any(|s| s.id == *id));
            if chosen.is_none() {
                errors.add("school", "Select the school this person works at");
            }
            chosen
        }
    };
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            invite_page(&ctx, &user, schools, errors, form),
        )
            .into_response());
    }
    let (email, role) = (
        email.unwrap_or_default(),
        role.unwrap_or(Role::AttendanceLead),
    );
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO app_user (id, tenant_id, email, name, role, school_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(id)
    .bind(tenant)
    .bind(&email)
    .bind(&name)
    .bind(role.as_str())
    .bind(school)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // Sign-in is by email alone, so an address can have one account in the whole service.
        errors.add(
            "email",
            "This email address already has an account. Each person has one account",
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            invite_page(&ctx, &user, schools, errors, form),
        )
            .into_response());
    }
    let school_name = school
        .and_then(|s| schools.iter().find(|o| o.id == s))
        .map(|s| s.name.clone());
    let invited_as = match (&school_name, &user.tenant_name) {
        (Some(s), _) => format!("{} at {s}", role.label()),
        (None, Some(t)) => format!("{} for {t}", role.label()),
        (None, None) => role.label().to_string(),
    };
    links::create_and_send(
        &mut tx,
        &state.config.base_url(),
        id,
        Some(tenant),
        &email,
        &name,
        Purpose::Invitation,
        &invited_as,
    )
    .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("user.invited")
            .tenant(Some(tenant))
            .actor(Some(user.id), &user.email)
            .school(school)
            .subject("user", id)
            .after(
                json!({"name": name, "email": email, "role": role.as_str(), "school_id": school}),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(&state, "/people", "invited"))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/person.html")]
pub struct PersonPage {
    layout: Layout,
    errors: Errors,
    person: Person,
    can_change_role: bool,
    can_deactivate: bool,
    roles: Vec<Role>,
    schools: Vec<SchoolOption>,
}

pub async fn get_person(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<PersonPage, AppError> {
    user.require(MANAGERS)?;
    let mut tx = state.db.tenant_tx(user.tenant()?).await?;
    let person = managed_person(&mut tx, &user, id).await?;
    let schools = school_options(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(person_page(&ctx, &user, person, schools, Errors::default()))
}

fn person_page(
    ctx: &Ctx,
    user: &CurrentUser,
    person: Person,
    schools: Vec<SchoolOption>,
    errors: Errors,
) -> PersonPage {
    PersonPage {
        layout: ctx.layout("/people"),
        errors,
        can_change_role: user.role == Role::TenantAdmin && person.active && person.id != user.id,
        can_deactivate: person.active && person.id != user.id,
        roles: grantable(user.role).to_vec(),
        schools,
        person,
    }
}

pub async fn post_deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    user.require(MANAGERS)?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let person = managed_person(&mut tx, &user, id).await?;
    if person.id == user.id {
        return Err(AppError::NotFound);
    }
    if person.active {
        sqlx::query("UPDATE app_user SET active = false, updated_at = now() WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Access ends at once: every open session goes, and unused links stop working.
        session::revoke_all(&mut tx, id).await?;
        sqlx::query("UPDATE user_token SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            &audit::Event::new("user.deactivated")
                .tenant(Some(tenant))
                .actor(Some(user.id), &user.email)
                .school(person.school_id)
                .subject("user", id)
                .before(json!({"active": true}))
                .after(json!({"active": false})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(redirect_with_flash(&state, "/people", "deactivated"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    school: String,
}

pub async fn post_role(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    user.require(&[Role::TenantAdmin])?;
    let tenant = user.tenant()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let person = managed_person(&mut tx, &user, id).await?;
    let schools = school_options(&mut tx, &user).await?;
    if person.id == user.id || !person.active {
        return Err(AppError::NotFound);
    }
    let mut errors = Errors::default();
    let role = form
        .role
        .parse::<Role>()
        .ok()
        .filter(|r| grantable(user.role).contains(r));
    let school = match role {
        Some(r) if r.is_school_role() => {
            let chosen = form
                .school
                .parse::<Uuid>()
                .ok()
                .filter(|id| schools.iter().any(|s| s.id == *id));
            if chosen.is_none() {
                errors.add("school", "Select the school this person works at");
            }
            chosen
        }
        Some(_) => None,
        None => {
            errors.add("role", "Select a role");
            None
        }
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            person_page(&ctx, &user, person, schools, errors),
        )
            .into_response());
    };
    sqlx::query("UPDATE app_user SET role = $3, school_id = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(role.as_str())
        .bind(school)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("user.role_changed")
            .tenant(Some(tenant))
            .actor(Some(user.id), &user.email)
            .school(school.or(person.school_id))
            .subject("user", id)
            .before(json!({"role": person.role, "school_id": person.school_id}))
            .after(json!({"role": role.as_str(), "school_id": school})),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(&state, "/people", "role-changed"))
}
