//! Outgoing email through an outbox, so that email never blocks a request.
//!
//! Request code calls `enqueue` inside the transaction that makes the change the email is about:
//! the row commits or rolls back with the change, and no request waits for a mail server. A
//! worker (`spawn_worker`, started by `start`) claims due rows, sends them outside any
//! transaction, and records the outcome, with back-off between attempts and a final `dead`
//! status. Several workers, in one process or many, can share the table: rows are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease.
//!
//! - `transport`: SMTP from `AQM_SMTP_URL`, or .eml files under `<data dir>/mail` without it.
//! - `worker`: claiming, sending, retries.
//! - `written`: the list of written .eml files, for the operator's page.

mod transport;
mod worker;
mod written;

pub use transport::{MAIL_DIR, Transport, mail_dir};
pub use worker::{WorkerOptions, spawn_worker};
pub use written::{WrittenMail, written_mail};

use crate::config::Config;
use anyhow::Context;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// One email to send: one recipient, a subject, and the same content as plain text and HTML,
/// with at most one file attached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// A mailbox such as `ada@example.org` or `Ada Lovelace <ada@example.org>`.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachment: Option<Attachment>,
}

/// A file sent with an email (the handbook PDF for the assessor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Queues `msg` in the caller's transaction and returns the outbox row's id (also the basis of
/// the email's Message-ID).
///
/// From a tenant transaction (`Db::tenant_tx`) pass that tenant: row-level security refuses any
/// other value, `None` included. `None` is for mail outside a tenant, written through the system
/// pool. The id is made here because the web role may insert into the outbox but not read it, so
/// `RETURNING` is not available to it.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Option<Uuid>,
    msg: &Message,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    let a = msg.attachment.as_ref();
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, to_address, subject, body_text, body_html, attachment_name, attachment_type, attachment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(&msg.to)
    .bind(&msg.subject)
    .bind(&msg.text)
    .bind(&msg.html)
    .bind(a.map(|a| a.name.as_str()))
    .bind(a.map(|a| a.content_type.as_str()))
    .bind(a.map(|a| a.bytes.as_slice()))
    .execute(conn)
    .await?;
    Ok(id)
}

/// The process's mail worker, to be stopped before the pool is closed.
pub struct MailWorker {
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
    description: String,
}

impl MailWorker {
    /// Where mail goes, for the start-up message (no credentials).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Asks the worker to stop, lets it finish the message in hand, and waits for it.
    pub async fn stop(self) {
        // An error means the worker has already ended, which is what we want.
        let _ = self.shutdown.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "the mail worker ended abnormally");
        }
    }
}

/// Builds the transport the configuration asks for and starts one worker with the default
/// options. Fails on a malformed `AQM_SMTP_URL` or `AQM_MAIL_FROM`, or an unwritable mail folder,
/// so a bad setting stops the server at start rather than failing every email later.
pub async fn start(pool: PgPool, config: &Config) -> anyhow::Result<MailWorker> {
    config
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .with_context(|| {
            format!(
                "AQM_MAIL_FROM {:?} is not a mailbox such as \"Name <address@example.org>\"",
                config.mail_from
            )
        })?;
    let options = worker_options(config)?;
    let transport = Transport::from_config(config)?;
    let description = transport.description().to_string();
    tracing::info!("mail: {description}");
    let (shutdown, receiver) = watch::channel(false);
    let handle = spawn_worker(
        pool,
        Arc::new(transport),
        config.mail_from.clone(),
        options,
        receiver,
    );
    Ok(MailWorker {
        shutdown,
        handle,
        description,
    })
}

/// The worker's attempts and waits from the settings; a wait that is not a positive number of
/// seconds, or no attempt at all, stops the server at start.
fn worker_options(config: &Config) -> anyhow::Result<WorkerOptions> {
    let wait = |name: &str, secs: f64| {
        std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("{name} must be a positive number of seconds, not {secs}"))
    };
    let first_retry = wait("AQM_MAIL_FIRST_RETRY_SECS", config.mail_first_retry_secs)?;
    let longest_retry = wait(
        "AQM_MAIL_LONGEST_RETRY_SECS",
        config.mail_longest_retry_secs,
    )?;
    anyhow::ensure!(
        longest_retry >= first_retry,
        "AQM_MAIL_LONGEST_RETRY_SECS must not be shorter than AQM_MAIL_FIRST_RETRY_SECS"
    );
    anyhow::ensure!(
        config.mail_attempts > 0,
        "AQM_MAIL_ATTEMPTS must be at least 1"
    );
    Ok(WorkerOptions {
        max_attempts: i32::from(config.mail_attempts),
        first_retry,
        longest_retry,
        ..WorkerOptions::default()
    })
}
