//! The audit log: append-only (a trigger refuses updates and deletes), one row per sign-in,
//! invitation, role change, import and data change, with who, when, what, and before/after.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One event, built up field by field and written with `record` in the same transaction as the
/// change it describes.
#[derive(Debug, Default, Clone)]
pub struct Event {
    pub action: String,
    pub tenant_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub school_id: Option<Uuid>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub address: Option<String>,
}

impl Event {
    pub fn new(action: &str) -> Event {
        Event {
            action: action.to_string(),
            ..Event::default()
        }
    }

    pub fn tenant(mut self, tenant_id: Option<Uuid>) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    pub fn actor(mut self, id: Option<Uuid>, email: &str) -> Self {
        self.actor_id = id;
        self.actor_email = Some(email.to_string());
        self
    }

    pub fn school(mut self, school_id: Option<Uuid>) -> Self {
        self.school_id = school_id;
        self
    }

    pub fn subject(mut self, kind: &str, id: impl ToString) -> Self {
        self.subject_type = Some(kind.to_string());
        self.subject_id = Some(id.to_string());
        self
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }

    pub fn address(mut self, address: Option<String>) -> Self {
        self.address = address;
        self
    }
}

pub async fn record(conn: &mut PgConnection, e: &Event) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_event
            (tenant_id, actor_id, actor_email, action, school_id, subject_type, subject_id, before, after, address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.tenant_id)
    .bind(e.actor_id)
    .bind(&e.actor_email)
    .bind(&e.action)
    .bind(e.school_id)
    .bind(&e.subject_type)
    .bind(&e.subject_id)
    .bind(&e.before)
    .bind(&e.after)
    .bind(&e.address)
    .execute(conn)
    .await?;
    Ok(())
}
