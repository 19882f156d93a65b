//! A school's handbook in one cohort (an assessment), pinned to a framework version: the record
//! the handbook, the evidence library, the exports and the review all load, so none of them
//! imports another's handlers to reach it.
//!
//! - `stage`: where the handbook is in its life and who may change it there (pure).
//! - `review`: its review state, timeline and strand comments, read by the handbook's pages and
//!   written by the review workflow.
//! - `deadline`: the submission deadline from the visit, the notice and the working-day calendar.

pub mod deadline;
pub mod review;
pub mod stage;

pub use stage::Stage;

use crate::auth::{Roles, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::framework::Framework;
use sqlx::PgConnection;
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

#[derive(sqlx::FromRow, Clone)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub school_id: Uuid,
    pub school_name: String,
    pub cohort_name: String,
    pub framework_key: String,
    pub framework_version: String,
    /// The framework version of the handbook this one renews, if it is a renewal.
    pub renewal_from: Option<String>,
}

/// An assessment with its pinned framework.
pub struct Handbook {
    pub a: AssessmentRow,
    pub fw: Arc<Framework>,
    /// Strands of a renewal's framework that the renewed handbook's version did not have: they
    /// start empty and are marked new.
    pub new_strands: BTreeSet<String>,
}

impl AssessmentId {
    /// The assessment, if it belongs to the signed-in person's own school (or, for an officer,
    /// to their authority); 404 for any other school's or tenant's.
    pub async fn load<R: Roles>(self, s: &mut Scoped<R>) -> Result<Handbook, AppError> {
        // The school's own staff see their school's handbooks; the authority's officers (on
        // their read-only pages) any handbook of the authority.
        let school = match s.user.role {
            crate::auth::Role::LaOfficer | crate::auth::Role::TenantAdmin => None,
            _ => Some(s.school()?),
        };
        let a: AssessmentRow = sqlx::query_as(
            "SELECT a.id, a.school_id, s.name AS school_name, c.name AS cohort_name, a.framework_key, a.framework_version,
                    (SELECT p.framework_version FROM assessment p
                     WHERE p.tenant_id = a.tenant_id AND p.id = a.renewal_of) AS renewal_from
             FROM assessment a
             JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
             JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
             WHERE a.tenant_id = $1 AND a.id = $2 AND ($3::uuid IS NULL OR a.school_id = $3)",
        )
        .bind(s.tenant)
        .bind(self)
        .bind(school)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)?;
        let fw = s
            .state
            .catalogue
            .get(&a.framework_key, &a.framework_version)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "framework {} {} is not loaded",
                    a.framework_key,
                    a.framework_version
                )
            })?;
        let new_strands = new_strands(&s.state.catalogue, &fw, a.renewal_from.as_deref());
        Ok(Handbook { a, fw, new_strands })
    }
}

/// The strands of `fw` that its renewed handbook's version (`from`) did not have (pure).
pub fn new_strands(
    catalogue: &crate::framework::Catalogue,
    fw: &Framework,
    from: Option<&str>,
) -> BTreeSet<String> {
    let Some(prev) = from.and_then(|v| catalogue.get(&fw.key, v)) else {
        return BTreeSet::new();
    };
    fw.strands()
        .filter(|(_, st)| prev.strand(&st.key).is_none())
        .map(|(_, st)| st.key.clone())
        .collect()
}

/// The school's open handbook, if it has one (a school has at most one open at a time).
pub async fn open_of_school(
    conn: &mut PgConnection,
    tenant: Uuid,
    school: Uuid,
) -> Result<Option<AssessmentId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM assessment WHERE tenant_id = $1 AND school_id = $2 AND status = 'open'",
    )
    .bind(tenant)
    .bind(school)
    .fetch_optional(conn)
    .await
}
