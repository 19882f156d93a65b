//! Reminders of the submission deadline to the school's lead and head: 10 and 5 working days
//! before it and on the day itself.
//!
//! They live in the `reminder` table, not in memory: setting or moving the visit schedules them
//! (the ones still to come), submission cancels those not yet sent. A worker in every server
//! process claims due rows with `FOR UPDATE SKIP LOCKED` and, in the same transaction, writes
//! their emails to the outbox and marks them done, so each reminder is written exactly once
//! however many processes run and however often they restart. A reminder more than
//! `STALE_DAYS` overdue (the service was down on its day) is skipped rather than sent late, so
//! the school never gets the 10-day reminder after the 5-day one.

use super::SCHOOL_ROLES;
use super::notice::{self, Notice};
use crate::assessment::deadline::{self, Deadline};
use crate::calendar::Calendar;
use crate::domain::AssessmentId;
use crate::error::AppError;
use chrono::{NaiveDate, NaiveDateTime};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Overdue by more than this many days, a reminder is skipped.
const STALE_DAYS: i64 = 3;

/// (kind, working days before the deadline)
const KINDS: [(&str, u32); 3] = [("ten_days", 10), ("five_days", 5), ("deadline_day", 0)];

/// When each reminder of `deadline` is due (pure).
pub fn due_dates(cal: &Calendar, deadline: NaiveDate) -> Vec<(&'static str, NaiveDate)> {
    KINDS
        .iter()
        .filter_map(|&(kind, n)| {
            let due = if n == 0 {
                Some(deadline)
            } else {
                cal.working_days_before(deadline, n).ok()
            };
            due.map(|d| (kind, d))
        })
        .collect()
}

/// Drops the reminders of `id` not yet sent.
pub async fn cancel(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM reminder WHERE tenant_id = $1 AND assessment_id = $2 AND done_at IS NULL",
    )
    .bind(tenant)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules the reminders of the visit `visit_at` still to come, replacing any not yet sent.
pub async fn schedule(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: AssessmentId,
    visit_at: Option<NaiveDateTime>,
) -> Result<usize, AppError> {
    cancel(&mut *conn, tenant, id).await?;
    let (dl, cal, today) = deadline::load(&mut *conn, tenant, visit_at).await?;
    let Deadline::Known { date, .. } = dl else {
        return Ok(0);
    };
    let mut scheduled = 0;
    for (kind, due) in due_dates(&cal, date) {
        if due < today {
            continue;
        }
        let done = sqlx::query(
            "INSERT INTO reminder (tenant_id, assessment_id, kind, due_on, deadline) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, assessment_id, kind, due_on) DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(kind)
        .bind(due)
        .bind(date)
        .execute(&mut *conn)
        .await?;
        scheduled += done.rows_affected() as usize;
    }
    Ok(scheduled)
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    tenant_id: Uuid,
    assessment_id: Uuid,
    kind: String,
    due_on: NaiveDate,
    deadline: NaiveDate,
    today: NaiveDate,
    stage: String,
    school_id: Uuid,
    school: String,
    cohort: String,
}

/// Writes the emails of every reminder due today (at most `batch`), across all authorities, and
/// marks them done; returns how many were sent. Safe to run in several processes at once.
pub async fn send_due(pool: &PgPool, base_url: &str, batch: i64) -> Result<usize, AppError> {
    let mut tx = pool.begin().await?;
    let due: Vec<Due> = sqlx::query_as(
        "SELECT r.id, r.tenant_id, r.assessment_id, r.kind, r.due_on, r.deadline,
                (now() AT TIME ZONE 'Europe/London')::date AS today,
                a.stage, a.school_id, s.name AS school, c.name AS cohort
         FROM reminder r
         JOIN assessment a ON a.tenant_id = r.tenant_id AND a.id = r.assessment_id
         JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
         JOIN cohort c ON c.tenant_id = a.tenant_id AND c.id = a.cohort_id
         WHERE r.done_at IS NULL AND r.due_on <= (now() AT TIME ZONE 'Europe/London')::date
         ORDER BY r.due_on, r.id
         LIMIT $1
         FOR UPDATE OF r SKIP LOCKED",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = 0;
    for r in due {
        let settled = crate::assessment::Stage::parse(&r.stage).is_some_and(|s| s.is_settled());
        let stale = (r.today - r.due_on).num_days() > STALE_DAYS;
        let outcome = if settled || stale { "skipped" } else { "sent" };
        if outcome == "sent" {
            let deadline = crate::dates::weekday_date(r.deadline);
            let when = if r.kind == "deadline_day" {
                "today".to_string()
            } else {
                format!("on {deadline}")
            };
            let people =
                notice::school_staff(&mut tx, r.tenant_id, r.school_id, &SCHOOL_ROLES).await?;
            for person in &people {
                let n = Notice {
                    name: String::new(),
                    subject: format!("Reminder: your handbook is due {when}"),
                    paragraphs: vec![
                        format!(
                            "The Attendance Quality Mark handbook of {} (cohort {}) must reach the assessor by {deadline}, at least the required working days before the visit.",
                            r.school, r.cohort
                        ),
                        "The Attendance Lead sends it to the head teacher, who approves and submits it from the service.".into(),
                    ],
                    link: Some((
                        "Open the handbook".into(),
                        format!("{base_url}/assessments/{}", r.assessment_id),
                    )),
                    attachment: None,
                };
                notice::send(&mut tx, r.tenant_id, person, n).await?;
            }
            sent += 1;
        }
        sqlx::query("UPDATE reminder SET done_at = now(), outcome = $2 WHERE id = $1")
            .bind(r.id)
            .bind(outcome)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(sent)
}

/// The process's reminder worker, stopped with the server.
pub struct ReminderWorker {
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl ReminderWorker {
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.handle.await;
    }
}

/// Looks for due reminders every `every`, until stopped.
pub fn start(pool: PgPool, base_url: String, every: Duration) -> ReminderWorker {
    let (shutdown, mut stop) = watch::channel(false);
    let handle = tokio::spawn(async move {
        loop {
            if let Err(e) = send_due(&pool, &base_url, 50).await {
                tracing::warn!(error = %e, "sending due reminders failed; trying again later");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
        }
    });
    ReminderWorker { shutdown, handle }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Division;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn reminders_fall_10_and_5_working_days_before_and_on_the_day() {
        let cal = Calendar::new(Division::of_nation("england").unwrap(), []);
        // Deadline Wednesday 1 April 2026 (a visit on Monday 13 April).
        assert_eq!(
            due_dates(&cal, date(2026, 4, 1)),
            vec![
                ("ten_days", date(2026, 3, 18)),
                ("five_days", date(2026, 3, 25)),
                ("deadline_day", date(2026, 4, 1)),
            ]
        );
        // Deadline Tuesday 5 January 2027: back over Christmas and New Year.
        assert_eq!(
            due_dates(&cal, date(2027, 1, 5))[..2],
            [
                ("ten_days", date(2026, 12, 17)),
                ("five_days", date(2026, 12, 24)),
            ]
        );
    }
}
