//! Who may do this, and in which tenant: the extractors handlers take instead of a hand-written
//! preamble.
//!
//! - `Scoped<R>`: signed in (else the sign-in page), with a role `R` allows (else 403), inside a
//!   transaction of the person's tenant with row-level security set, carrying the page context.
//!   The handler's body is the workflow; it ends with `s.commit()` when it wrote anything (a read
//!   that is not committed is simply rolled back).
//! - `Actor<R>`: the same checks without a database connection, for a handler that must read a
//!   large request body first (the evidence upload) and opens its transaction with `begin` after.
//! - `Operator`: the platform operator, who belongs to no tenant and works across them.
//! - `SignedIn`: anyone signed in, whatever the role (the home page).
//!
//! Role sets are marker types, so the signature says who may act: `Scoped<SchoolStaff>`.

use super::{CurrentUser, Role};
use crate::audit;
use crate::error::AppError;
use crate::layout::{Layout, PageContext};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::{Postgres, Transaction};
use std::marker::PhantomData;
use uuid::Uuid;

/// A set of roles allowed to use a handler.
pub trait Roles: Send + Sync + 'static {
    const ALLOWED: &'static [Role];
}

macro_rules! roles {
    ($($(#[$doc:meta])* $name:ident => [$($role:ident),+];)+) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Roles for $name {
            const ALLOWED: &'static [Role] = &[$(Role::$role),+];
        }
    )+};
}

roles! {
    /// Attendance Leads and head teachers: the people of one school.
    SchoolStaff => [AttendanceLead, HeadTeacher];
    /// Attendance Leads only (they send the handbook to the head).
    AttendanceLeads => [AttendanceLead];
    /// Head teachers only (they return or submit the handbook).
    HeadTeachers => [HeadTeacher];
    /// Assessors only.
    Assessors => [Assessor];
    /// LA officers and authority administrators.
    Officers => [LaOfficer, TenantAdmin];
    /// Authority administrators only.
    Administrators => [TenantAdmin];
    /// Those who invite and manage people: administrators, officers, head teachers (their leads).
    PeopleManagers => [TenantAdmin, LaOfficer, HeadTeacher];
    /// Everyone who belongs to an authority.
    Members => [AttendanceLead, HeadTeacher, Assessor, LaOfficer, TenantAdmin];
}

/// The person of this request, or the sign-in page (coming back to this address afterwards).
fn current_user(parts: &Parts) -> Result<CurrentUser, AppError> {
    parts
        .extensions
        .get::<CurrentUser>()
        .cloned()
        .ok_or_else(|| {
            let back = parts.uri.path_and_query().map_or_else(
                || parts.uri.path().to_string(),
                |pq| pq.as_str().to_string(),
            );
            AppError::SignInRequired(back)
        })
}

/// A person allowed by `R`, in their tenant, before any database work.
pub struct Actor<R> {
    pub user: CurrentUser,
    pub tenant: Uuid,
    pub page: PageContext,
    pub state: AppState,
    roles: PhantomData<R>,
}

impl<R: Roles> FromRequestParts<AppState> for Actor<R> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = current_user(parts)?;
        if !R::ALLOWED.contains(&user.role) {
            return Err(AppError::Forbidden);
        }
        let tenant = user.tenant_id.ok_or(AppError::Forbidden)?;
        Ok(Actor {
            page: super::page_context(parts),
            user,
            tenant,
            state: state.clone(),
            roles: PhantomData,
        })
    }
}

impl<R: Roles> Actor<R> {
    pub fn layout(&self, current_path: &str) -> Layout {
        self.page.layout(current_path)
    }

    /// Opens the tenant's transaction.
    pub async fn begin(self) -> Result<Scoped<R>, AppError> {
        let tx = self.state.db.tenant_tx(self.tenant).await?;
        Ok(Scoped {
            user: self.user,
            tenant: self.tenant,
            page: self.page,
            state: self.state,
            tx,
            roles: PhantomData,
        })
    }

    /// An audit event by this person in this tenant (and their school, if they have one).
    pub fn event(&self, action: &str) -> audit::Event {
        event(&self.user, self.tenant, action)
    }
}

fn event(user: &CurrentUser, tenant: Uuid, action: &str) -> audit::Event {
    audit::Event::new(action)
        .tenant(Some(tenant))
        .actor(Some(user.id), &user.email)
        .school(user.school_id)
}

/// A person allowed by `R`, inside a transaction of their tenant.
pub struct Scoped<R> {
    pub user: CurrentUser,
    pub tenant: Uuid,
    pub page: PageContext,
    pub state: AppState,
    pub tx: Transaction<'static, Postgres>,
    roles: PhantomData<R>,
}

impl<R: Roles> FromRequestParts<AppState> for Scoped<R> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Actor::<R>::from_request_parts(parts, state)
            .await?
            .begin()
            .await
    }
}

impl<R: Roles> Scoped<R> {
    pub fn layout(&self, current_path: &str) -> Layout {
        self.page.layout(current_path)
    }

    /// The person's school: every school role has one; anyone else is refused.
    pub fn school(&self) -> Result<Uuid, AppError> {
        self.user.school_id.ok_or(AppError::Forbidden)
    }

    /// An audit event by this person in this tenant (and their school, if they have one).
    pub fn event(&self, action: &str) -> audit::Event {
        event(&self.user, self.tenant, action)
    }

    /// Writes `event` to the audit log in this transaction.
    pub async fn record(&mut self, event: audit::Event) -> Result<(), AppError> {
        audit::record(&mut self.tx, &event).await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), AppError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The platform operator: works across tenants with the login role's pool.
pub struct Operator {
    pub user: CurrentUser,
    pub page: PageContext,
    pub state: AppState,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = current_user(parts)?;
        if user.role != Role::PlatformOperator {
            return Err(AppError::Forbidden);
        }
        Ok(Operator {
            page: super::page_context(parts),
            user,
            state: state.clone(),
        })
    }
}

impl Operator {
    pub fn layout(&self, current_path: &str) -> Layout {
        self.page.layout(current_path)
    }
}

/// Anyone signed in, whatever their role.
pub struct SignedIn {
    pub user: CurrentUser,
    pub page: PageContext,
    pub state: AppState,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(SignedIn {
            page: super::page_context(parts),
            user: current_user(parts)?,
            state: state.clone(),
        })
    }
}

impl SignedIn {
    pub fn layout(&self, current_path: &str) -> Layout {
        self.page.layout(current_path)
    }
}
