//! The operator's command line: set up an authority, its people and schools without the web
//! pages. Runs with the unrestricted connection; every change is audited as "command line".

use super::tenants;
use crate::accounts::{self, AddError, NewPerson};
use crate::audit;
use crate::auth::links::{self, Purpose};
use crate::auth::{Role, password};
use crate::domain::{EmailAddress, PersonName, TenantSlug};
use anyhow::{Context, bail};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub const ACTOR: &str = "command line";

pub async fn add_tenant(
    pool: &PgPool,
    slug: &str,
    name: &str,
    nation: &str,
) -> anyhow::Result<Uuid> {
    let slug = TenantSlug::parse(slug).map_err(|p| anyhow::anyhow!("--slug: {p}"))?;
    let mut tx = pool.begin().await?;
    let id = tenants::create(&mut tx, &slug, name, nation, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// The tenant with `slug`, or an error listing the ones there are.
pub async fn tenant_by_slug(conn: &mut PgConnection, slug: &str) -> anyhow::Result<Uuid> {
    if let Some(id) = sqlx::query_scalar("SELECT id FROM tenant WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    let known: Vec<String> = sqlx::query_scalar("SELECT slug FROM tenant ORDER BY slug")
        .fetch_all(&mut *conn)
        .await?;
    if known.is_empty() {
        bail!(
            "no authority has the short name \"{slug}\"; there are none yet: add one with `aqm tenant add`"
        )
    }
    bail!(
        "no authority has the short name \"{slug}\" (known: {})",
        known.join(", ")
    )
}

pub struct NewUser<'a> {
    pub tenant: Option<&'a str>,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub school_urn: Option<i32>,
    pub password: Option<&'a str>,
}

pub enum Added {
    WithPassword,
    /// The set-password link to hand to the person.
    Link(String),
}

pub async fn add_user(pool: &PgPool, base_url: &str, u: NewUser<'_>) -> anyhow::Result<Added> {
    let role: Role = u.role.parse().map_err(|_| {
        anyhow::anyhow!(
            "unknown role \"{}\" (roles: {})",
            u.role,
            Role::ALL.map(|r| r.as_str()).join(", ")
        )
    })?;
    let email = EmailAddress::parse(u.email)
        .with_context(|| format!("\"{}\" is not an email address", u.email))?;
    let name = PersonName::parse(u.name).map_err(|p| anyhow::anyhow!("--name: {p}"))?;
    let mut tx = pool.begin().await?;
    let tenant = match (role, u.tenant) {
        (Role::PlatformOperator, None) => None,
        (Role::PlatformOperator, Some(_)) => {
            bail!("a platform operator belongs to no authority: leave out --tenant")
        }
        (_, Some(slug)) => Some(tenant_by_slug(&mut tx, slug).await?),
        (_, None) => bail!("a {} belongs to an authority: give --tenant", role.label()),
    };
    let school = match (role.is_school_role(), u.school_urn, tenant) {
        (true, Some(urn), Some(t)) => Some(
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM school WHERE tenant_id = $1 AND urn = $2",
            )
            .bind(t)
            .bind(urn)
            .fetch_optional(&mut *tx)
            .await?
            .with_context(|| {
                format!(
                    "no school with URN {urn} in authority \"{}\"",
                    u.tenant.unwrap_or_default()
                )
            })?,
        ),
        (true, None, _) => bail!("a {} belongs to a school: give --school URN", role.label()),
        (false, Some(_), _) => bail!(
            "a {} belongs to no school: leave out --school",
            role.label()
        ),
        _ => None,
    };
    let hash = match u.password {
        Some(p) => {
            if let Some(weak) = password::weakness(p, email.as_str(), name.as_str()) {
                bail!("{weak}");
            }
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let added = accounts::add_person(
        &mut tx,
        &NewPerson {
            tenant,
            email: &email,
            name: &name,
            role,
            school,
            password_hash: hash.as_deref(),
        },
    )
    .await;
    let id = match added {
        Ok(id) => id,
        Err(AddError::EmailTaken) => bail!("{email} already has an account"),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        &audit::Event::new("user.added")
            .tenant(tenant)
            .actor(None, ACTOR)
            .school(school)
            .subject("user", id)
            .after(json!({"name": name.as_str(), "email": email.as_str(), "role": role.as_str(), "school_id": school})),
    )
    .await?;
    let added = if hash.is_some() {
        Added::WithPassword
    } else {
        let token = links::create_token(&mut tx, id, tenant, Purpose::Invitation).await?;
        Added::Link(format!("{base_url}/set-password/{token}"))
    };
    tx.commit().await?;
    Ok(added)
}

/// Imports a GIAS extract for the authority `slug`, all or nothing.
pub async fn import_schools(pool: &PgPool, slug: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let records = match super::school_import::parse_gias(bytes) {
        Ok(r) => r,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            bail!("nothing imported: {}", lines.join("; "))
        }
    };
    let mut tx = pool.begin().await?;
    let tenant = tenant_by_slug(&mut tx, slug).await?;
    let summary = super::school_import::import(&mut tx, tenant, None, ACTOR, &records).await?;
    tx.commit().await?;
    Ok(format!(
        "imported {} schools into {slug}: {} added, {} updated, {} unchanged",
        records.len(),
        summary.added,
        summary.updated,
        summary.unchanged
    ))
}
