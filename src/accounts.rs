//! Adding a person: the one way an account comes into being, whether an administrator invites
//! them, the operator creates an authority with its first administrator, the command line adds
//! them, or the demo data is made. The same values are accepted everywhere because they arrive
//! already parsed (`EmailAddress`, `PersonName`), and the role's rules are checked here.

use crate::auth::Role;
use crate::domain::{EmailAddress, PersonName};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct NewPerson<'a> {
    /// `None` only for platform operators.
    pub tenant: Option<Uuid>,
    pub email: &'a EmailAddress,
    pub name: &'a PersonName,
    pub role: Role,
    /// The school of an Attendance Lead or head teacher; `None` for every other role.
    pub school: Option<Uuid>,
    /// An argon2 hash when the password is set now; `None` sends the person a link instead.
    pub password_hash: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Sign-in is by email alone, so an address has one account in the whole service.
    #[error("this email address already has an account")]
    EmailTaken,
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Why `role` cannot be held with this tenant and school, if it cannot.
pub fn role_problem(
    role: Role,
    tenant: Option<Uuid>,
    school: Option<Uuid>,
) -> Option<&'static str> {
    match (role, tenant, school) {
        (Role::PlatformOperator, Some(_), _) => Some("a platform operator belongs to no authority"),
        (Role::PlatformOperator, None, None) => None,
        (_, None, _) => Some("this role belongs to an authority"),
        (r, Some(_), None) if r.is_school_role() => Some("this role belongs to a school"),
        (r, Some(_), Some(_)) if !r.is_school_role() => Some("this role belongs to no school"),
        _ => None,
    }
}

/// Inserts the account; returns its id.
pub async fn add_person(conn: &mut PgConnection, p: &NewPerson<'_>) -> Result<Uuid, AddError> {
    if let Some(problem) = role_problem(p.role, p.tenant, p.school) {
        return Err(AddError::Invalid(problem));
    }
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO app_user (id, tenant_id, email, name, role, school_id, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(p.tenant)
    .bind(p.email.as_str())
    .bind(p.name.as_str())
    .bind(p.role.as_str())
    .bind(p.school)
    .bind(p.password_hash)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AddError::EmailTaken);
    }
    Ok(id)
}

/// What came of an invitation.
#[derive(Debug, PartialEq, Eq)]
pub enum Invited {
    /// A new account, to be sent its invitation link.
    New(Uuid),
    /// The address already has an account in this authority: fine to say so.
    TakenHere,
    /// The address has an account in another authority, or is a platform operator's. The
    /// inviting authority must not learn that, so a stand-in row (id given) shows it an invited
    /// person like any other; it can never sign in, and the address is sent no link.
    TakenElsewhere(Uuid),
}

/// Adds a person invited from a tenant transaction (`conn` sees only `p.tenant`'s rows).
pub async fn invite_person(
    conn: &mut PgConnection,
    p: &NewPerson<'_>,
) -> Result<Invited, AddError> {
    match add_person(&mut *conn, p).await {
        Ok(id) => return Ok(Invited::New(id)),
        Err(AddError::EmailTaken) => {}
        Err(e) => return Err(e),
    }
    let here: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM app_user WHERE tenant_id = $1 AND email = $2)",
    )
    .bind(p.tenant)
    .bind(p.email.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if here {
        return Ok(Invited::TakenHere);
    }
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO app_user (id, tenant_id, email, name, role, school_id, stand_in)
         VALUES ($1, $2, $3, $4, $5, $6, true) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(p.tenant)
    .bind(p.email.as_str())
    .bind(p.name.as_str())
    .bind(p.role.as_str())
    .bind(p.school)
    .execute(&mut *conn)
    .await?;
    // Another invitation of the same address here, at the same moment, made its row first.
    if done.rows_affected() == 0 {
        return Ok(Invited::TakenHere);
    }
    Ok(Invited::TakenElsewhere(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_belong_where_they_should() {
        let t = Some(Uuid::new_v4());
        let s = Some(Uuid::new_v4());
        assert_eq!(role_problem(Role::AttendanceLead, t, s), None);
        assert!(role_problem(Role::AttendanceLead, t, None).is_some());
        assert!(role_problem(Role::LaOfficer, t, s).is_some());
        assert_eq!(role_problem(Role::LaOfficer, t, None), None);
        assert_eq!(role_problem(Role::PlatformOperator, None, None), None);
        assert!(role_problem(Role::PlatformOperator, t, None).is_some());
        assert!(role_problem(Role::Assessor, None, None).is_some());
    }
}
