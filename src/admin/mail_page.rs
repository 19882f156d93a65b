//! The platform operator's mail page: email the service could not deliver (given up, or still
//! being retried), and mail written to files when no SMTP server is configured.

use crate::audit;
use crate::auth::Operator;
use crate::dates::{self, uk_time_sql};
use crate::error::AppError;
use crate::layout::Layout;
use crate::mail::{self, WrittenMail};
use crate::web::{Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// The most undelivered messages listed; the counts above the table cover them all.
const UNDELIVERED_SHOWN: i64 = 200;

#[derive(Template, WebTemplate)]
#[template(path = "admin/mail.html")]
pub struct MailPage {
    layout: Layout,
    smtp: bool,
    folder: String,
    /// Messages given up (`dead`).
    given_up: i64,
    /// Messages that failed at least once and will be tried again.
    retrying: i64,
    undelivered: Vec<Undelivered>,
    /// Each file with when it was written, in words.
    mails: Vec<(WrittenMail, String)>,
}

/// One message not delivered (yet).
#[derive(sqlx::FromRow)]
pub struct Undelivered {
    id: Uuid,
    to_address: String,
    subject: String,
    status: String,
    attempts: i32,
    last_error: String,
    queued: String,
    next_attempt: String,
}

impl Undelivered {
    fn given_up(&self) -> bool {
        self.status == "dead"
    }
}

pub async fn get_mail(op: Operator) -> Result<MailPage, AppError> {
    let state = &op.state;
    let data_dir = state.config.data_dir.clone();
    // Reading the folder blocks: keep it off the async runtime.
    let mails = tokio::task::spawn_blocking(move || mail::written_mail(&data_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    // The outbox spans tenants, so it is read as the system role (the operator has no tenant).
    let mut conn = state.db.system().acquire().await?;
    let (given_up, retrying): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'dead'), \
                count(*) FILTER (WHERE status IN ('pending', 'sending') AND attempts > 0) \
         FROM outbox WHERE status <> 'sent'",
    )
    .fetch_one(&mut *conn)
    .await?;
    // Given up first (only the operator can do something about those), newest first.
    let undelivered: Vec<Undelivered> = sqlx::query_as(concat!(
        "SELECT id, to_address, subject, status, attempts, coalesce(last_error, '') AS last_error, ",
        uk_time_sql!("created_at"),
        " AS queued, ",
        uk_time_sql!("next_attempt_at"),
        " AS next_attempt \
         FROM outbox \
         WHERE status = 'dead' OR (status IN ('pending', 'sending') AND attempts > 0) \
         ORDER BY status = 'dead' DESC, created_at DESC \
         LIMIT $1"
    ))
    .bind(UNDELIVERED_SHOWN)
    .fetch_all(&mut *conn)
    .await?;
    let moments: Vec<_> = mails.iter().map(|m| m.modified).collect();
    let written = dates::uk_times(&mut conn, &moments).await?;
    let mails = mails.into_iter().zip(written).collect();
    Ok(MailPage {
        layout: op.layout("/operator/mail"),
        smtp: state.config.smtp_url.is_some(),
        folder: mail::mail_dir(&state.config.data_dir).display().to_string(),
        given_up,
        retrying,
        undelivered,
        mails,
    })
}

/// Tries a given-up message again from its first attempt (once the SMTP settings are mended, say).
/// A message that is no longer given up is left as it is.
pub async fn post_retry(op: Operator, Path(id): Path<Uuid>) -> Result<Response, AppError> {
    let mut tx = op.state.db.system().begin().await?;
    let retried = retry(&mut tx, &op, Some(id)).await?;
    if retried == 0 {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1)")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(AppError::NotFound);
        }
    }
    tx.commit().await?;
    let flash = if retried == 0 {
        "mail-not-given-up"
    } else {
        "mail-retried"
    };
    Ok(redirect_with_flash(&op.state, "/operator/mail", flash))
}

/// Tries every given-up message again.
pub async fn post_retry_all(op: Operator) -> Result<Response, AppError> {
    let mut tx = op.state.db.system().begin().await?;
    let retried = retry(&mut tx, &op, None).await?;
    tx.commit().await?;
    // Another operator may have tried them all a moment ago.
    let flash = if retried == 0 {
        "mail-none-given-up"
    } else {
        "mail-retried-all"
    };
    Ok(redirect_with_flash(&op.state, "/operator/mail", flash))
}

/// A message put back in the queue.
#[derive(sqlx::FromRow)]
struct Retried {
    id: Uuid,
    tenant_id: Option<Uuid>,
    to_address: String,
    subject: String,
    last_error: Option<String>,
}

/// Puts message `id` (or every one) back in the queue if it was given up, with an audit event
/// for each; returns how many.
async fn retry(conn: &mut PgConnection, op: &Operator, id: Option<Uuid>) -> Result<u64, AppError> {
    let retried: Vec<Retried> = sqlx::query_as(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), \
                locked_until = NULL \
         WHERE status = 'dead' AND ($1::uuid IS NULL OR id = $1) \
         RETURNING id, tenant_id, to_address, subject, last_error",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for Retried {
        id,
        tenant_id: tenant,
        to_address: to,
        subject,
        last_error,
    } in &retried
    {
        audit::record(
            conn,
            &audit::Event::new("mail.retried")
                .tenant(*tenant)
                .actor(Some(op.user.id), &op.user.email)
                .subject("outbox", id)
                .before(json!({"status": "given up", "last_error": last_error}))
                .after(json!({"to": to, "subject": subject})),
        )
        .await?;
    }
    Ok(retried.len() as u64)
}
