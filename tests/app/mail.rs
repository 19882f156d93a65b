//! The outbox and its worker against real PostgreSQL: several workers over real SMTP to a local
//! sink (Debian's aiosmtpd), mail written to files without SMTP, and failures kept for a retry.

use crate::helpers::{criteria_dir, fresh_database, options, temp_dir, test_config};
use aqm::db::{self, Db};
use aqm::mail::{self, Message, Transport, WorkerOptions, spawn_worker, written_mail};
use sqlx::PgPool;
use std::collections::HashSet;
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

const FROM: &str = "Attendance Quality Mark <no-reply@aqm.invalid>";

async fn migrated_pool() -> PgPool {
    let pool = db::pool(options(&fresh_database().await))
        .await
        .expect("pool");
    db::migrate(&pool).await.expect("migrations");
    pool
}

/// Quick polling so the tests finish soon after the work does; the defaults otherwise.
fn fast() -> WorkerOptions {
    WorkerOptions {
        poll_interval: Duration::from_millis(20),
        ..WorkerOptions::default()
    }
}

fn message(n: usize) -> Message {
    Message {
        to: format!("Lead {n} <lead{n}@school.example>"),
        subject: format!("Handbook reminder {n}"),
        text: format!("Reminder number {n}."),
        html: format!("<p>Reminder number {n}.</p>"),
        attachment: None,
    }
}

/// Polls `check` until it holds, failing the test after `limit`.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many messages of the outbox have `status`.
pub(crate) async fn count(pool: &PgPool, status: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1")
        .bind(status)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A port on which nothing listens (it was free a moment ago).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd writing every message it accepts into a maildir; killed when dropped, so a failing
/// test leaves no server behind.
struct SmtpSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let python = python_with_aiosmtpd();
        let dir = temp_dir("smtp-sink");
        let maildir = dir.join("maildir");
        let port = free_port();
        let log = std::fs::File::create(dir.join("aiosmtpd.log")).unwrap();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start aiosmtpd");
        let mut sink = SmtpSink {
            child,
            port,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = sink.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("aiosmtpd.log")).unwrap_or_default();
                panic!("aiosmtpd exited with {status}: {log}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sink
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The Message-ID of every message received.
    fn message_ids(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        std::fs::read_dir(&new)
            .unwrap()
            .map(|entry| message_id(&entry.unwrap().path()))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first interpreter that can import aiosmtpd: `python3` on PATH may be a separate install
/// (pyenv, a virtualenv) that lacks Debian's python3-aiosmtpd.
pub(crate) fn python_with_aiosmtpd() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("aiosmtpd is needed: apt-get install python3-aiosmtpd")
}

pub(crate) fn message_id(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("Message-ID")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no Message-ID in {}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_send_each_of_200_messages_exactly_once_over_smtp() {
    let pool = migrated_pool().await;
    let sink = SmtpSink::start();
    let mut tx = pool.begin().await.unwrap();
    let mut ids = HashSet::new();
    for n in 0..200 {
        ids.insert(mail::enqueue(&mut tx, None, &message(n)).await.unwrap());
    }
    tx.commit().await.unwrap();

    // Three workers with transports of their own, as three processes would have.
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let transport = Arc::new(Transport::smtp(&sink.url()).unwrap());
            spawn_worker(
                pool.clone(),
                transport,
                FROM.into(),
                fast(),
                stopped.clone(),
            )
        })
        .collect();
    eventually("all 200 are sent", Duration::from_secs(120), || async {
        count(&pool, "sent").await == 200
    })
    .await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }

    let received = sink.message_ids();
    assert_eq!(received.len(), 200, "the sink received each message once");
    let distinct: HashSet<&String> = received.iter().collect();
    assert_eq!(distinct.len(), 200);
    let expected: HashSet<String> = ids.iter().map(|id| format!("<{id}@aqm.invalid>")).collect();
    assert_eq!(distinct, expected.iter().collect());
    let retried: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE attempts <> 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(retried, 0, "every message went on its first attempt");
}

#[tokio::test]
async fn without_smtp_mail_is_written_to_the_data_folder_and_listed() {
    let pool = migrated_pool().await;
    let config = test_config(&criteria_dir());
    assert!(config.smtp_url.is_none());

    // Queued by request code: as the web role, inside the tenant's transaction.
    let tenant = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO tenant (id, slug, name, nation) VALUES ($1, $2, 'Mailshire', 'england')",
    )
    .bind(tenant)
    .bind(format!("mailshire-{}", tenant.simple()))
    .execute(&pool)
    .await
    .unwrap();
    let db = Db::new(pool.clone());
    let subject = "Your school’s handbook — reminder";
    let msg = Message {
        to: "Ada Lead <ada@school.example>".into(),
        subject: subject.into(),
        text: "Please submit your handbook.".into(),
        html: "<p>Please submit your handbook.</p>".into(),
        attachment: None,
    };
    let mut tx = db.tenant_tx(tenant).await.unwrap();
    let id = mail::enqueue(&mut tx, Some(tenant), &msg).await.unwrap();
    tx.commit().await.unwrap();
    // A change that rolls back takes its email with it.
    let mut tx = db.tenant_tx(tenant).await.unwrap();
    mail::enqueue(&mut tx, Some(tenant), &message(1))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let worker = mail::start(pool.clone(), &config).await.unwrap();
    assert!(worker.description().contains("writing mail to"));
    eventually("the message is sent", Duration::from_secs(30), || async {
        count(&pool, "sent").await == 1
    })
    .await;
    worker.stop().await;

    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outbox, 1, "the rolled-back email was never queued");
    let listed = written_mail(&config.data_dir);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let written = &listed[0];
    assert_eq!(written.subject, subject);
    assert!(
        written.to.contains("<ada@school.example>"),
        "{}",
        written.to
    );
    assert!(written.file_name.ends_with(".eml"));
    let path = mail::mail_dir(&config.data_dir).join(&written.file_name);
    assert_eq!(message_id(&path), format!("<{id}@aqm.invalid>"));
}

#[tokio::test]
async fn a_refused_connection_keeps_the_message_for_a_later_attempt() {
    let pool = migrated_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let id = mail::enqueue(&mut conn, None, &message(1)).await.unwrap();
    drop(conn);
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{}", free_port())).unwrap();
    let (stop, stopped) = watch::channel(false);
    let worker = spawn_worker(
        pool.clone(),
        Arc::new(transport),
        FROM.into(),
        fast(),
        stopped,
    );
    eventually(
        "the attempt is recorded",
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar::<_, bool>(
                "SELECT status = 'pending' AND attempts = 1 FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        },
    )
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();

    let (last_error, wait_s, locked): (Option<String>, f64, bool) = sqlx::query_as(
        "SELECT last_error, extract(epoch FROM next_attempt_at - now())::float8, \
             locked_until IS NOT NULL \
         FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let last_error = last_error.expect("the failure is recorded");
    assert!(!last_error.is_empty());
    assert!(
        (20.0..=30.0).contains(&wait_s),
        "the first retry waits about 30 s, not {wait_s} s"
    );
    assert!(!locked, "the row is free for the next attempt");
}

#[tokio::test]
async fn the_last_allowed_failure_gives_the_message_up() {
    let pool = migrated_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let id = mail::enqueue(&mut conn, None, &message(1)).await.unwrap();
    drop(conn);
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{}", free_port())).unwrap();
    let (stop, stopped) = watch::channel(false);
    let options = WorkerOptions {
        max_attempts: 1,
        ..fast()
    };
    let worker = spawn_worker(
        pool.clone(),
        Arc::new(transport),
        FROM.into(),
        options,
        stopped,
    );
    eventually("the message is dead", Duration::from_secs(30), || async {
        count(&pool, "dead").await == 1
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn messages_left_sending_by_a_vanished_worker_are_taken_again_when_the_lease_runs_out() {
    let pool = migrated_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let id = mail::enqueue(&mut conn, None, &message(1)).await.unwrap();
    let last = mail::enqueue(&mut conn, None, &message(2)).await.unwrap();
    drop(conn);
    // As a worker that claimed the rows and then died would have left them, leases over; the
    // second was on its last allowed attempt.
    sqlx::query(
        "UPDATE outbox SET status = 'sending', \
             attempts = CASE WHEN id = $2 THEN $3 ELSE 1 END, \
             locked_until = now() - interval '1 second'",
    )
    .bind(id)
    .bind(last)
    .bind(WorkerOptions::default().max_attempts)
    .execute(&pool)
    .await
    .unwrap();
    let data = temp_dir("mail-lease");
    let transport = Transport::files(&mail::mail_dir(&data)).unwrap();
    let (stop, stopped) = watch::channel(false);
    let worker = spawn_worker(
        pool.clone(),
        Arc::new(transport),
        FROM.into(),
        fast(),
        stopped,
    );
    eventually("the message is sent", Duration::from_secs(30), || async {
        count(&pool, "sent").await == 1
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2, "the vanished worker's attempt counts");
    assert_eq!(written_mail(&data).len(), 1);
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM outbox WHERE id = $1")
            .bind(last)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "dead");
    assert!(error.contains("never finished"), "{error}");
}
