//! Authorities (tenants): created by the platform operator, from the operator's page or the CLI.

use crate::app::AppState;
use crate::audit;
use crate::auth::links::{self, Purpose};
use crate::auth::routes::redirect_with_flash;
use crate::auth::{Ctx, CurrentUser, Role};
use crate::error::AppError;
use crate::forms::{Errors, parse_email};
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

pub const NATIONS: &[(&str, &str)] = &[("england", "England"), ("wales", "Wales")];

/// Why a slug is refused, or `None`: lower-case letters and digits in words joined by hyphens,
/// as it appears in addresses and commands.
pub fn slug_problem(slug: &str) -> Option<&'static str> {
    if slug.is_empty() {
        return Some("Enter a short name, like liverpool");
    }
    if slug.len() > 40 {
        return Some("Short name must be 40 characters or fewer");
    }
    let ok = slug.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    (!ok).then_some(
        "Short name must be lower-case letters and digits, with single hyphens between words",
    )
}

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
    slug: &str,
    name: &str,
    nation: &str,
    actor: Option<(Uuid, &str)>,
) -> Result<Uuid, CreateError> {
    if let Some(p) = slug_problem(slug) {
        return Err(CreateError::Invalid(p));
    }
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
    layout: Layout,
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

async fn page(
    state: &AppState,
    ctx: &Ctx,
    errors: Errors,
    form: TenantForm,
) -> Result<TenantsPage, AppError> {
    let tenants = sqlx::query_as(
        "SELECT t.slug, t.name, t.nation, t.is_demo,
                (SELECT count(*) FROM school s WHERE s.tenant_id = t.id) AS schools,
                (SELECT count(*) FROM app_user u WHERE u.tenant_id = t.id AND u.active) AS people
         FROM tenant t ORDER BY t.name",
    )
    .fetch_all(state.db.system())
    .await?;
    Ok(TenantsPage {
        layout: ctx.layout("/operator/tenants"),
        tenants,
        errors,
        form,
        nations: NATIONS,
    })
}

pub async fn get_tenants(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<TenantsPage, AppError> {
    user.require(&[Role::PlatformOperator])?;
    page(&state, &ctx, Errors::default(), TenantForm::default()).await
}

pub async fn post_tenant(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<TenantForm>,
) -> Result<Response, AppError> {
    user.require(&[Role::PlatformOperator])?;
    let mut errors = Errors::default();
    let slug = form.slug.trim().to_string();
    if let Some(p) = slug_problem(&slug) {
        errors.add("slug", p);
    }
    if form.name.trim().is_empty() {
        errors.add("name", "Enter the authority's name");
    }
    if !NATIONS.iter().any(|(k, _)| *k == form.nation) {
        errors.add("nation", "Select England or Wales");
    }
    let admin_email = parse_email(&form.admin_email);
    if admin_email.is_none() {
        errors.add("admin_email", "Enter the email address of the authority's first tenant admin, like name@council.gov.uk");
    }
    if form.admin_name.trim().is_empty() {
        errors.add("admin_name", "Enter the first tenant admin's full name");
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &ctx, errors, form).await?,
        )
            .into_response());
    }
    let admin_email = admin_email.unwrap_or_default();
    let mut tx = state.db.system().begin().await?;
    let tenant = match create(
        &mut tx,
        &slug,
        &form.name,
        &form.nation,
        Some((user.id, &user.email)),
    )
    .await
    {
        Ok(id) => id,
        Err(CreateError::SlugTaken(_)) => {
            errors.add("slug", "An authority already uses this short name");
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &ctx, errors, form).await?,
            )
                .into_response());
        }
        Err(CreateError::Invalid(p)) => {
            errors.add("slug", p);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &ctx, errors, form).await?,
            )
                .into_response());
        }
        Err(CreateError::Database(e)) => return Err(e.into()),
    };
    let admin = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO app_user (id, tenant_id, email, name, role) VALUES ($1, $2, $3, $4, 'tenant_admin')
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(admin)
    .bind(tenant)
    .bind(&admin_email)
    .bind(form.admin_name.trim())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        errors.add(
            "admin_email",
            "This email address already has an account. Each person has one account",
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &ctx, errors, form).await?,
        )
            .into_response());
    }
    let invited_as = format!("Tenant admin for {}", form.name.trim());
    links::create_and_send(
        &mut tx,
        &state.config.base_url(),
        admin,
        Some(tenant),
        &admin_email,
        form.admin_name.trim(),
        Purpose::Invitation,
        &invited_as,
    )
    .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("user.invited")
            .tenant(Some(tenant))
            .actor(Some(user.id), &user.email)
            .subject("user", admin)
            .after(json!({"name": form.admin_name.trim(), "email": admin_email, "role": "tenant_admin"})),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/operator/tenants",
        "tenant-added",
    ))
}

#[cfg(test)]
mod tests {
    use super::slug_problem;

    #[test]
    fn slugs() {
        assert_eq!(slug_problem("liverpool"), None);
        assert_eq!(slug_problem("rhondda-cynon-taf"), None);
        assert!(slug_problem("Liverpool").is_some());
        assert!(slug_problem("a--b").is_some());
        assert!(slug_problem("-a").is_some());
        assert!(slug_problem("").is_some());
    }
}
