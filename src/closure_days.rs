//! An authority's closure days and its working-day calendar: the record the officer's closure
//! days page keeps and every workflow that counts working days (the handbook's deadline before
//! a visit) loads, so none of them imports another's handlers to reach it.

use crate::auth::{Roles, Scoped};
use crate::calendar::{Calendar, Division};
use crate::error::AppError;
use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

/// One closure day, with who added it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosureDay {
    pub id: Uuid,
    pub day: NaiveDate,
    pub description: String,
    /// The name of the person who added it, while their account exists.
    pub added_by: Option<String>,
    pub added_at: chrono::DateTime<chrono::Utc>,
}

/// The tenant's closure days, in date order.
pub async fn list(conn: &mut PgConnection, tenant: Uuid) -> Result<Vec<ClosureDay>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, d.day, d.description, u.name AS added_by, d.added_at
         FROM closure_day d
         LEFT JOIN app_user u ON u.tenant_id = d.tenant_id AND u.id = d.added_by
         WHERE d.tenant_id = $1 ORDER BY d.day",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await
}

impl Calendar {
    /// The working days of the signed-in person's authority: the bank holidays of its nation
    /// and its closure days.
    pub async fn load<R: Roles>(s: &mut Scoped<R>) -> Result<Calendar, AppError> {
        Calendar::of_tenant(&mut s.tx, s.tenant).await
    }

    /// The same, inside a transaction of `tenant` (the one `Scoped` opens, or a worker's).
    pub async fn of_tenant(conn: &mut PgConnection, tenant: Uuid) -> Result<Calendar, AppError> {
        let nation: String = sqlx::query_scalar("SELECT nation FROM tenant WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut *conn)
            .await?;
        let division = Division::of_nation(&nation)
            .ok_or_else(|| anyhow::anyhow!("no bank holidays are shipped for nation {nation}"))?;
        let days: Vec<NaiveDate> =
            sqlx::query_scalar("SELECT day FROM closure_day WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut *conn)
                .await?;
        Ok(Calendar::new(division, days))
    }
}
