//! People of an authority: list, invite, change role, deactivate.
//!
//! Who may do what:
//! - tenant admins: everyone in their authority, any role but platform operator;
//! - LA officers: invite and deactivate Attendance Leads, head teachers and assessors;
//! - head teachers: the Attendance Leads of their own school (hand the role to a colleague).

use crate::accounts::{self, AddError, Invited, NewPerson};
use crate::auth::links::{self, Purpose};
use crate::auth::{Administrators, CurrentUser, PeopleManagers, Role, Scoped, session};
use crate::domain::{EmailAddress, PersonId, PersonName, SchoolId};
use crate::error::AppError;
use crate::forms::Errors;
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
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
    tenant: Uuid,
    user: &CurrentUser,
) -> Result<Vec<Person>, AppError> {
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
async fn managed_person<R>(s: &mut Scoped<R>, id: PersonId) -> Result<Person, AppError> {
    let person = visible_people(&mut s.tx, s.tenant, &s.user)
        .await?
        .into_iter()
        .find(|p| p.id == id.0)
        .ok_or(AppError::NotFound)?;
    let role: Role = person.role.parse().map_err(|_| AppError::NotFound)?;
    if !grantable(s.user.role).contains(&role) {
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

pub async fn get_people(mut s: Scoped<PeopleManagers>) -> Result<PeoplePage, AppError> {
    let people = visible_people(&mut s.tx, s.tenant, &s.user).await?;
    let user = &s.user;
    Ok(PeoplePage {
        layout: s.layout("/people"),
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
    tenant: Uuid,
) -> Result<Vec<SchoolOption>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name, urn FROM school WHERE tenant_id = $1 AND status = 'open' ORDER BY name",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?)
}

fn invite_page(
    layout: Layout,
    user: &CurrentUser,
    schools: Vec<SchoolOption>,
    errors: Errors,
    form: InviteForm,
) -> InvitePage {
    InvitePage {
        layout,
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

pub async fn get_invite(mut s: Scoped<PeopleManagers>) -> Result<InvitePage, AppError> {
    let schools = school_options(&mut s.tx, s.tenant).await?;
    let form = InviteForm {
        role: if s.user.role == Role::HeadTeacher {
            Role::AttendanceLead.as_str().to_string()
        } else {
            String::new()
        },
        ..InviteForm::default()
    };
    Ok(invite_page(
        s.layout("/people"),
        &s.user,
        schools,
        Errors::default(),
        form,
    ))
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
    mut s: Scoped<PeopleManagers>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let tenant = s.tenant;
    let schools = school_options(&mut s.tx, tenant).await?;
    let user = s.user.clone();
    let mut errors = Errors::default();
    let name = PersonName::parse(&form.name)
        .map_err(|m| errors.add("name", m))
        .ok();
    let email = EmailAddress::parse(&form.email);
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
            let chosen = SchoolId::parse(&form.school)
                .map(Uuid::from)
                .filter(|id| schools.iter().any(|s| s.id == *id));
            if chosen.is_none() {
                errors.add("school", "Select the school this person works at");
            }
            chosen
        }
    };
    let valid = errors.is_empty().then_some((name, email, role));
    let Some((Some(name), Some(email), Some(role))) = valid else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            invite_page(s.layout("/people"), &user, schools, errors, form),
        )
            .into_response());
    };
    let added = accounts::invite_person(
        &mut s.tx,
        &NewPerson {
            tenant: Some(tenant),
            email: &email,
            name: &name,
            role,
            school,
            password_hash: None,
        },
    )
    .await;
    let (id, new_account) = match added {
        Ok(Invited::New(id)) => (id, true),
        // Elsewhere looks like success here: the same page, list entry and audit event.
        Ok(Invited::TakenElsewhere(id)) => (id, false),
        Ok(Invited::TakenHere) | Err(AddError::EmailTaken) => {
            errors.add(
                "email",
                "This email address already has an account. Each person has one account",
            );
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                invite_page(s.layout("/people"), &user, schools, errors, form),
            )
                .into_response());
        }
        Err(AddError::Invalid(problem)) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "invite refused after validation: {problem}"
            )));
        }
        Err(AddError::Database(e)) => return Err(e.into()),
    };
    let school_name = school
        .and_then(|sc| schools.iter().find(|o| o.id == sc))
        .map(|sc| sc.name.clone());
    let invited_as = match (&school_name, &user.tenant_name) {
        (Some(sc), _) => format!("{} at {sc}", role.label()),
        (None, Some(t)) => format!("{} for {t}", role.label()),
        (None, None) => role.label().to_string(),
    };
    if new_account {
        links::create_and_send(
            &mut s.tx,
            &s.state.config.base_url(),
            id,
            Some(tenant),
            email.as_str(),
            name.as_str(),
            Purpose::Invitation,
            &invited_as,
        )
        .await?;
    } else {
        let inviter = user.tenant_name.clone().unwrap_or_default();
        links::send_already_registered(
            &mut s.tx,
            &s.state.config.base_url(),
            tenant,
            email.as_str(),
            name.as_str(),
            &invited_as,
            &inviter,
        )
        .await?;
    }
    let invited = s.event("user.invited").school(school).subject("user", id).after(
        json!({"name": name.as_str(), "email": email.as_str(), "role": role.as_str(), "school_id": school}),
    );
    s.record(invited).await?;
    let state = s.state.clone();
    s.commit().await?;
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
    mut s: Scoped<PeopleManagers>,
    Path(id): Path<PersonId>,
) -> Result<PersonPage, AppError> {
    let person = managed_person(&mut s, id).await?;
    let schools = school_options(&mut s.tx, s.tenant).await?;
    Ok(person_page(
        s.layout("/people"),
        &s.user,
        person,
        schools,
        Errors::default(),
    ))
}

fn person_page(
    layout: Layout,
    user: &CurrentUser,
    person: Person,
    schools: Vec<SchoolOption>,
    errors: Errors,
) -> PersonPage {
    PersonPage {
        layout,
        errors,
        can_change_role: user.role == Role::TenantAdmin && person.active && person.id != user.id,
        can_deactivate: person.active && person.id != user.id,
        roles: grantable(user.role).to_vec(),
        schools,
        person,
    }
}

pub async fn post_deactivate(
    mut s: Scoped<PeopleManagers>,
    Path(id): Path<PersonId>,
) -> Result<Response, AppError> {
    let tenant = s.tenant;
    let person = managed_person(&mut s, id).await?;
    if person.id == s.user.id {
        return Err(AppError::NotFound);
    }
    if person.active {
        sqlx::query("UPDATE app_user SET active = false, updated_at = now() WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *s.tx)
            .await?;
        // Access ends at once: every open session goes, and unused links stop working.
        session::revoke_all(&mut s.tx, id.0).await?;
        sqlx::query("UPDATE user_token SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
            .bind(tenant)
            .bind(id)
            .execute(&mut *s.tx)
            .await?;
        let deactivated = s
            .event("user.deactivated")
            .school(person.school_id)
            .subject("user", id)
            .before(json!({"active": true}))
            .after(json!({"active": false}));
        s.record(deactivated).await?;
    }
    let state = s.state.clone();
    s.commit().await?;
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
    mut s: Scoped<Administrators>,
    Path(id): Path<PersonId>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let tenant = s.tenant;
    let person = managed_person(&mut s, id).await?;
    let schools = school_options(&mut s.tx, tenant).await?;
    let user = s.user.clone();
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
            let chosen = SchoolId::parse(&form.school)
                .map(Uuid::from)
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
            person_page(s.layout("/people"), &user, person, schools, errors),
        )
            .into_response());
    };
    sqlx::query("UPDATE app_user SET role = $3, school_id = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(role.as_str())
        .bind(school)
        .execute(&mut *s.tx)
        .await?;
    let changed = s
        .event("user.role_changed")
        .school(school.or(person.school_id))
        .subject("user", id)
        .before(json!({"role": person.role, "school_id": person.school_id}))
        .after(json!({"role": role.as_str(), "school_id": school}));
    s.record(changed).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(&state, "/people", "role-changed"))
}
