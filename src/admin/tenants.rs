//! Authorities (tenants): created by the platform operator, from the operator's page or the CLI.

use crate::accounts::{self, AddError, NewPerson};
use crate::audit;
use crate::auth::links::{self, Purpose};
use crate::auth::{Operator, Role};
use crate::domain::{EmailAddress, PersonName, TenantSlug};
use crate::error::AppError;
use crate::forms::Errors;
use crate::web::{Form, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

pub const NATIONS: &[(&str, &str)] = &[("england", "England"), ("wales", "Wales")];

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an authority with the short name \"{0}\" already exists")]
    SlugTaken(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates an authority (run by the operator's tools, with the unrestricted connection).
pub async fn create(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    name: &str,
    nation: &str,
    actor: Option<(Uuid, &str)>,
) -> Result<Uuid, CreateError> {
    let slug = slug.as_str();
    if name.trim().is_empty() {
        return Err(CreateError::Invalid("Enter the authority's name"));
    }
    if !NATIONS.iter().any(|(k, _)| *k == nation) {
        return Err(CreateError::Invalid("Nation must be england or wales"));
    }
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO tenant (id, slug, name, nation) VALUES ($1, $2, $3, $4) ON CONFLICT (slug) DO NOTHING",
    )
    .bind(id)
    .bind(slug)
    .bind(name.trim())
    .bind(nation)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(CreateError::SlugTaken(slug.to_string()));
    }
    audit::record(
        conn,
        &audit::Event::new("tenant.created")
            .tenant(Some(id))
            .actor(actor.map(|a| a.0), actor.map_or("command line", |a| a.1))
            .subject("tenant", id)
            .after(json!({"slug": slug, "name": name.trim(), "nation": nation})),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub nation: String,
    pub schools: i64,
    pub people: i64,
    pub is_demo: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tenants.html")]
pub struct TenantsPage {
    layout: crate::layout::Layout,
    tenants: Vec<TenantRow>,
    errors: Errors,
    form: TenantForm,
    nations: &'static [(&'static str, &'static str)],
}

#[derive(Deserialize, Default)]
pub struct TenantForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    nation: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    admin_email: String,
}

async fn page(op: &Operator, errors: Errors, form: TenantForm) -> Result<TenantsPage, AppError> {
    let tenants = sqlx::query_as(
        "SELECT t.slug, t.name, t.nation, t.is_demo,
                (SELECT count(*) FROM school s WHERE s.tenant_id = t.id) AS schools,
                (SELECT count(*) FROM app_user u WHERE u.tenant_id = t.id AND u.active) AS people
         FROM tenant t ORDER BY t.name",
    )
    .fetch_all(op.state.db.system())
    .await?;
    Ok(TenantsPage {
        layout: op.layout("/operator/tenants"),
        tenants,
        errors,
        form,
        nations: NATIONS,
    })
}

pub async fn get_tenants(op: Operator) -> Result<TenantsPage, AppError> {
    page(&op, Errors::default(), TenantForm::default()).await
}

pub async fn post_tenant(op: Operator, Form(form): Form<TenantForm>) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let slug = TenantSlug::parse(&form.slug)
        .map_err(|p| errors.add("slug", p))
        .ok();
    if form.name.trim().is_empty() {
        errors.add("name", "Enter the authority's name");
    }
    if !NATIONS.iter().any(|(k, _)| *k == form.nation) {
        errors.add("nation", "Select England or Wales");
    }
    let admin_email = EmailAddress::parse(&form.admin_email);
    if admin_email.is_none() {
        errors.add("admin_email", "Enter the email address of the authority's first administrator, like name@council.gov.uk");
    }
    let admin_name = PersonName::parse(&form.admin_name)
        .map_err(|_| {
            errors.add(
                "admin_name",
                "Enter the first administrator's full name, up to 200 characters",
            )
        })
        .ok();
    let valid = errors.is_empty().then_some((slug, admin_email, admin_name));
    let Some((Some(slug), Some(admin_email), Some(admin_name))) = valid else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&op, errors, form).await?,
        )
            .into_response());
    };
    let mut tx = op.state.db.system().begin().await?;
    let tenant = match create(
        &mut tx,
        &slug,
        &form.name,
        &form.nation,
        Some((op.user.id, &op.user.email)),
    )
    .await
    {
        Ok(id) => id,
        Err(CreateError::SlugTaken(_)) => {
            errors.add("slug", "An authority already uses this short name");
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&op, errors, form).await?,
            )
                .into_response());
        }
        Err(CreateError::Invalid(p)) => {
            errors.add("name", p);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&op, errors, form).await?,
            )
                .into_response());
        }
        Err(CreateError::Database(e)) => return Err(e.into()),
    };
    let added = accounts::add_person(
        &mut tx,
        &NewPerson {
            tenant: Some(tenant),
            email: &admin_email,
            name: &admin_name,
            role: Role::TenantAdmin,
            school: None,
            password_hash: None,
        },
    )
    .await;
    let admin = match added {
        Ok(id) => id,
        Err(AddError::EmailTaken) => {
            errors.add(
                "admin_email",
                "This email address already has an account. Each person has one account",
            );
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&op, errors, form).await?,
            )
                .into_response());
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let invited_as = format!("{} for {}", Role::TenantAdmin.label(), form.name.trim());
    links::create_and_send(
        &mut tx,
        &op.state.config.base_url(),
        admin,
        Some(tenant),
        admin_email.as_str(),
        admin_name.as_str(),
        Purpose::Invitation,
        &invited_as,
    )
    .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("user.invited")
            .tenant(Some(tenant))
            .actor(Some(op.user.id), &op.user.email)
            .subject("user", admin)
            .after(json!({"name": admin_name.as_str(), "email": admin_email.as_str(), "role": "tenant_admin"})),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &op.state,
        "/operator/tenants",
        "tenant-added",
    ))
}
