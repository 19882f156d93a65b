//! The outbox worker: claims due rows, sends them, records what happened.
//!
//! A row's life: `pending` → (claimed) `sending` → `sent`; a failed attempt goes back to
//! `pending` with a later `next_attempt_at`, and the last allowed failure (or a recipient no
//! retry can mend) makes it `dead`. Claiming is one short transaction that takes rows with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same row, and gives them a lease
//! (`locked_until`). Sending happens after that commit, so no transaction or row lock is held
//! while a mail server is slow. A worker that dies mid-batch leaves rows in `sending`; once their
//! lease runs out another worker takes them again, counting it as an attempt.
//!
//! The outcome of an attempt is written only if the row still carries the attempt number it was
//! claimed with, so a worker whose lease was taken over cannot overwrite the newer attempt's
//! record (success is the exception: a message that did go out is marked sent whatever else
//! happened to the row).

use super::Transport;
use super::transport::build_email;
use lettre::message::Mailbox;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long to wait when nothing is due, or after a database error.
    pub poll_interval: Duration,
    /// Rows claimed at a time.
    pub batch: i64,
    /// How long a claimed row is reserved for this worker before another may take it.
    pub lease: Duration,
    /// Attempts before a row is given up as `dead`.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; it doubles after each further failure.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub longest_retry: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            poll_interval: Duration::from_secs(1),
            batch: 10,
            lease: Duration::from_secs(5 * 60),
            max_attempts: 8,
            first_retry: Duration::from_secs(30),
            longest_retry: Duration::from_secs(60 * 60),
        }
    }
}

impl WorkerOptions {
    /// The wait after failed attempt number `attempt` (1-based): `first_retry`, doubling, at most
    /// `longest_retry`. With the defaults (30 s to an hour, 8 attempts) a message is retried for
    /// about an hour before it is given up.
    pub(crate) fn backoff(&self, attempt: i32) -> Duration {
        let doublings = attempt.saturating_sub(1).clamp(0, 20) as u32;
        self.first_retry
            .saturating_mul(1 << doublings)
            .min(self.longest_retry)
    }
}

/// The longest one message may take to send. Bounded by the lease so that a message is never
/// still being sent when its lease runs out and another worker takes it again.
fn send_timeout(lease: Duration) -> Duration {
    (lease / 2).min(Duration::from_secs(120))
}

/// Stored errors are for people to read; a server that answers with a novel is cut short.
const MAX_ERROR_CHARS: usize = 2000;

/// Database writes of an outcome are retried this many times before the row is left to its
/// lease (and so possibly sent again).
const RECORD_TRIES: u32 = 5;

/// Starts a worker on the runtime. It runs until `shutdown` becomes true (or its sender is
/// dropped), finishing the message in hand and handing the rest of its batch back.
///
/// `from` is the sender mailbox (`AQM_MAIL_FROM`); if it does not parse, every attempt fails
/// with that error (`start` refuses such a setting before any worker runs).
pub fn spawn_worker(
    pool: PgPool,
    transport: Arc<Transport>,
    from: String,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let from = from
        .parse::<Mailbox>()
        .map_err(|e| format!("AQM_MAIL_FROM {from:?} is not a valid mailbox: {e}"));
    let worker = Worker {
        pool,
        transport,
        from,
        options,
        shutdown,
    };
    tokio::spawn(worker.run())
}

struct Worker {
    pool: PgPool,
    transport: Arc<Transport>,
    from: Result<Mailbox, String>,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
}

/// A claimed row: what to send, and the attempt number it was claimed with.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    to_address: String,
    subject: String,
    body_text: String,
    body_html: String,
    attachment_name: Option<String>,
    attachment_type: Option<String>,
    attachment: Option<Vec<u8>>,
    attempts: i32,
}

enum Outcome {
    Sent,
    /// Worth trying again later, unless the attempts are used up.
    Failed(String),
    /// No retry can help.
    Dead(String),
}

impl Worker {
    async fn run(mut self) {
        loop {
            if self.stopping() {
                break;
            }
            let mut more_waiting = false;
            match self.claim().await {
                Ok(batch) => {
                    more_waiting = batch.len() as i64 >= self.options.batch;
                    self.send_batch(batch).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "mail: cannot claim outbox rows; will retry");
                }
            }
            if self.stopping() {
                break;
            }
            // A full batch suggests a backlog: go straight on rather than wait.
            if more_waiting {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll_interval) => {}
                changed = self.shutdown.changed() => {
                    // A dropped sender means nobody can ask us to stop any more: stop now.
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::debug!("mail: worker stopped");
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }

    /// Gives up rows whose sender vanished on their last attempt, then claims a batch. Both skip
    /// rows another worker's claim has locked, so concurrent claims never wait for each other.
    async fn claim(&self) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let given_up = sqlx::query(
            "UPDATE outbox SET status = 'dead', locked_until = NULL, \
                 last_error = concat_ws(' / ', last_error, \
                     'the last attempt never finished: the worker sending it stopped') \
             WHERE id IN ( \
                 SELECT id FROM outbox \
                 WHERE status = 'sending' AND locked_until < now() AND attempts >= $1 \
                 FOR UPDATE SKIP LOCKED \
             )",
        )
        .bind(self.options.max_attempts)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if given_up > 0 {
            tracing::error!(
                rows = given_up,
                "mail: gave up messages whose last attempt never finished"
            );
        }
        let batch = sqlx::query_as::<_, Claimed>(
            "UPDATE outbox o \
             SET status = 'sending', attempts = o.attempts + 1, \
                 locked_until = now() + make_interval(secs => $2) \
             FROM ( \
                 SELECT id FROM outbox \
                 WHERE (status = 'pending' AND next_attempt_at <= now()) \
                    OR (status = 'sending' AND locked_until < now() AND attempts < $3) \
                 ORDER BY next_attempt_at \
                 LIMIT $1 \
                 FOR UPDATE SKIP LOCKED \
             ) due \
             WHERE o.id = due.id \
             RETURNING o.id, o.to_address, o.subject, o.body_text, o.body_html, \
                 o.attachment_name, o.attachment_type, o.attachment, o.attempts",
        )
        .bind(self.options.batch)
        .bind(self.options.lease.as_secs_f64())
        .bind(self.options.max_attempts)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(batch)
    }

    async fn send_batch(&self, batch: Vec<Claimed>) {
        let claimed_at = Instant::now();
        let timeout = send_timeout(self.options.lease);
        let mut rows = batch.into_iter();
        while let Some(row) = rows.next() {
            // Stop between messages when asked, and before a send could outlast the lease.
            let lease_left = self.options.lease.saturating_sub(claimed_at.elapsed());
            if self.stopping() || lease_left < timeout {
                let rest: Vec<Claimed> = std::iter::once(row).chain(rows).collect();
                self.release(&rest).await;
                return;
            }
            let outcome = self.attempt(&row, timeout).await;
            self.record(&row, outcome).await;
        }
    }

    async fn attempt(&self, row: &Claimed, timeout: Duration) -> Outcome {
        let from = match &self.from {
            Ok(from) => from,
            Err(e) => return Outcome::Failed(e.clone()),
        };
        let attachment = match (&row.attachment_name, &row.attachment_type, &row.attachment) {
            (Some(name), Some(content_type), Some(bytes)) => Some(super::Attachment {
                name: name.clone(),
                content_type: content_type.clone(),
                bytes: bytes.clone(),
            }),
            _ => None,
        };
        let msg = super::Message {
            to: row.to_address.clone(),
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            attachment,
        };
        let email = match build_email(row.id, from, &msg) {
            Ok(email) => email,
            Err(e) => return Outcome::Dead(e),
        };
        match tokio::time::timeout(timeout, self.transport.send(email)).await {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(e)) if e.permanent => Outcome::Dead(e.text),
            Ok(Err(e)) => Outcome::Failed(e.text),
            Err(_) => Outcome::Failed(format!(
                "no answer from the mail server within {} s",
                timeout.as_secs()
            )),
        }
    }

    /// Logs the outcome once and writes it, retrying through a short database outage: an
    /// unrecorded success would be sent again once the lease ran out.
    async fn record(&self, row: &Claimed, outcome: Outcome) {
        let next = next_state(outcome, row.attempts, &self.options);
        match &next {
            Next::Sent => tracing::debug!(id = %row.id, attempt = row.attempts, "mail: sent"),
            Next::Retry { wait, error } => tracing::warn!(
                id = %row.id,
                attempt = row.attempts,
                retry_in_s = wait.as_secs(),
                error = %error,
                "mail: sending failed; will retry"
            ),
            Next::Dead { error } => tracing::error!(
                id = %row.id,
                attempt = row.attempts,
                error = %error,
                "mail: giving up on this message"
            ),
        }
        for try_number in 1..=RECORD_TRIES {
            match self.write(row, &next).await {
                Ok(0) => {
                    tracing::warn!(
                        id = %row.id,
                        "mail: another worker took this message over after its lease ran out"
                    );
                    return;
                }
                Ok(_) => return,
                Err(e) if try_number < RECORD_TRIES => {
                    tracing::error!(
                        id = %row.id,
                        error = %e,
                        "mail: cannot record the outcome; will retry"
                    );
                    tokio::time::sleep(self.options.poll_interval).await;
                }
                Err(e) => tracing::error!(
                    id = %row.id,
                    error = %e,
                    "mail: cannot record the outcome; the message will be tried again when its \
                     lease runs out"
                ),
            }
        }
    }

    /// Writes `next`; returns the rows changed (0 when the row is no longer this attempt's).
    async fn write(&self, row: &Claimed, next: &Next) -> Result<u64, sqlx::Error> {
        let query = match next {
            Next::Sent => sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = now(), locked_until = NULL, \
                     last_error = NULL \
                 WHERE id = $1 AND status <> 'sent'",
            )
            .bind(row.id),
            Next::Retry { wait, error } => sqlx::query(
                "UPDATE outbox SET status = 'pending', locked_until = NULL, last_error = $3, \
                     next_attempt_at = now() + make_interval(secs => $4) \
                 WHERE id = $1 AND status = 'sending' AND attempts = $2",
            )
            .bind(row.id)
            .bind(row.attempts)
            .bind(shorten(error))
            .bind(wait.as_secs_f64()),
            Next::Dead { error } => sqlx::query(
                "UPDATE outbox SET status = 'dead', locked_until = NULL, last_error = $3 \
                 WHERE id = $1 AND status = 'sending' AND attempts = $2",
            )
            .bind(row.id)
            .bind(row.attempts)
            .bind(shorten(error)),
        };
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    /// Hands back rows claimed but not attempted, uncounted and due at once, so another worker
    /// can send them without waiting for the lease. On failure the lease frees them later anyway.
    async fn release(&self, rows: &[Claimed]) {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let attempts: Vec<i32> = rows.iter().map(|r| r.attempts).collect();
        let released = sqlx::query(
            "UPDATE outbox o SET status = 'pending', locked_until = NULL, attempts = o.attempts - 1 \
             FROM unnest($1::uuid[], $2::int[]) AS r(id, attempts) \
             WHERE o.id = r.id AND o.attempts = r.attempts AND o.status = 'sending'",
        )
        .bind(&ids)
        .bind(&attempts)
        .execute(&self.pool)
        .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "mail: cannot hand back unsent messages; their lease will free them");
        }
    }
}

/// What to write after an attempt.
#[derive(Debug, PartialEq)]
enum Next {
    Sent,
    Retry { wait: Duration, error: String },
    Dead { error: String },
}

/// Attempt number `attempt` (1-based) ended with `outcome`: retry after the back-off, unless that
/// was the last attempt allowed or no retry can help.
fn next_state(outcome: Outcome, attempt: i32, options: &WorkerOptions) -> Next {
    match outcome {
        Outcome::Sent => Next::Sent,
        Outcome::Failed(error) if attempt < options.max_attempts => Next::Retry {
            wait: options.backoff(attempt),
            error,
        },
        Outcome::Failed(error) | Outcome::Dead(error) => Next::Dead { error },
    }
}

fn shorten(error: &str) -> &str {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &error[..end],
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_an_hour() {
        let options = WorkerOptions::default();
        let secs: Vec<u64> = (1..=10).map(|a| options.backoff(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(options.backoff(0).as_secs(), 30);
        assert_eq!(options.backoff(i32::MAX).as_secs(), 3600);
    }

    #[test]
    fn backoff_follows_the_configured_waits() {
        let options = WorkerOptions {
            first_retry: Duration::from_millis(200),
            longest_retry: Duration::from_secs(1),
            ..WorkerOptions::default()
        };
        let ms: Vec<u128> = (1..=5).map(|a| options.backoff(a).as_millis()).collect();
        assert_eq!(ms, [200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn default_attempts_span_about_an_hour() {
        let options = WorkerOptions::default();
        let total: u64 = (1..options.max_attempts)
            .map(|a| options.backoff(a).as_secs())
            .sum();
        assert_eq!(total, 3810);
    }

    #[test]
    fn failures_are_retried_until_the_last_attempt() {
        let failed = || Outcome::Failed("421 try later".into());
        let options = WorkerOptions::default();
        assert_eq!(
            next_state(failed(), 1, &options),
            Next::Retry {
                wait: Duration::from_secs(30),
                error: "421 try later".into()
            }
        );
        assert!(matches!(
            next_state(failed(), 7, &options),
            Next::Retry { .. }
        ));
        assert!(matches!(
            next_state(failed(), 8, &options),
            Next::Dead { .. }
        ));
        // A message that cannot be built is given up at once.
        assert!(matches!(
            next_state(Outcome::Dead("bad address".into()), 1, &options),
            Next::Dead { .. }
        ));
        assert_eq!(next_state(Outcome::Sent, 8, &options), Next::Sent);
    }

    #[test]
    fn a_send_cannot_outlast_its_lease() {
        for lease in [1, 60, 300, 3600] {
            let lease = Duration::from_secs(lease);
            assert!(send_timeout(lease) < lease);
        }
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(shorten(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(shorten("short"), "short");
    }
}
