//! Placeholder until the outbox worker lands: the enqueue half of the mail API.

use sqlx::PgConnection;
use uuid::Uuid;

pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Option<Uuid>,
    msg: &Message,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO outbox (id, tenant_id, to_address, subject, body_text, body_html) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(tenant_id)
        .bind(&msg.to)
        .bind(&msg.subject)
        .bind(&msg.text)
        .bind(&msg.html)
        .execute(conn)
        .await?;
    Ok(id)
}
