//! The head teacher's review: the officer assigns an assessor and a visit, the lead sends the
//! handbook to the head, the head comments and returns it, the lead answers and sends it again,
//! the head approves and submits; the assessor is emailed the PDF; the school can no longer edit;
//! the timeline shows every step; the snapshot does not follow later changes.

use crate::handbook::{World, world};
use crate::helpers::{TestApp, TestUser, Visitor, spawn_app};
use aqm::auth::Role;
use uuid::Uuid;

/// Rows of the outbox sent to `address` (the mailbox as written: `"Name" <address>`).
pub async fn mails_to(app: &TestApp, address: &str) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "SELECT subject, body_text, attachment IS NOT NULL FROM outbox WHERE to_address LIKE '%<' || $1 || '>' ORDER BY created_at",
    )
    .bind(address)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn stage(app: &TestApp, assessment: Uuid) -> String {
    sqlx::query_scalar("SELECT stage FROM assessment WHERE id = $1")
        .bind(assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub async fn assessor(app: &TestApp, w: &World) -> TestUser {
    app.add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await
}

/// A date `days` from today (UK), for a visit.
pub fn in_days(days: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(1)).date_naive() + chrono::Duration::days(days)
}

/// "12 March 2027 at 09:30", as the pages write a visit.
fn visit_words(d: chrono::NaiveDate) -> String {
    format!("{} at 09:30", d.format("%-d %B %Y"))
}

/// The officer's form: assessor and visit on `day`, for the handbook of `w.school`.
pub async fn set_visit(
    o: &mut Visitor,
    w: &World,
    assessor: &TestUser,
    day: chrono::NaiveDate,
) -> crate::helpers::Page {
    let path = format!("/assessments/{}/visit", w.assessment);
    o.get(&path).await;
    o.post(
        &path,
        &[
            ("assessor", &assessor.id.to_string()),
            ("visit-day", &day.format("%-d").to_string()),
            ("visit-month", &day.format("%-m").to_string()),
            ("visit-year", &day.format("%Y").to_string()),
            ("time", "09:30"),
        ],
    )
    .await
}

#[tokio::test]
async fn a_handbook_goes_from_lead_to_head_and_back_then_to_the_assessor() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = assessor(&app, &w).await;
    let overview = format!("/assessments/{}", w.assessment);

    // The officer assigns the assessor and the visit; lead and head are emailed.
    let mut o = app.signed_in(&w.officer).await;
    let bad = o
        .post(
            &format!("/assessments/{}/visit", w.assessment),
            &[
                ("assessor", ""),
                ("visit-day", "31"),
                ("visit-month", "2"),
                ("visit-year", "2031"),
                ("time", "25:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Choose the assessor who will visit"));
    assert!(bad.body.contains("The visit date must be a real date"));
    assert!(bad.body.contains("Enter the start time like 09:30"));
    let visit = in_days(40);
    let set = set_visit(&mut o, &w, &assessor, visit).await;
    assert_eq!(set.status, 303, "{}", set.body);
    let cohort = o.get(set.location.as_deref().unwrap()).await;
    assert!(cohort.body.contains(&visit_words(visit)), "{}", cohort.body);
    assert!(cohort.body.contains("Deadline: "), "{}", cohort.body);
    assert!(cohort.body.contains("working days left"));
    assert!(cohort.body.contains("assessor@example.org") || cohort.body.contains("In progress"));
    assert_eq!(mails_to(&app, "lead@example.org").await.len(), 1);
    assert_eq!(mails_to(&app, "head@example.org").await.len(), 1);
    // The assessor's home lists the school with its visit and deadline.
    let home = app.signed_in(&assessor).await.get("/home").await;
    assert!(home.body.contains("Schools assigned to you"));
    assert!(home.body.contains("Riverside Primary"));
    assert!(home.body.contains("working days left"), "{}", home.body);
    // Saving the same again emails no one.
    set_visit(&mut o, &w, &assessor, visit).await;
    assert_eq!(mails_to(&app, "lead@example.org").await.len(), 1);

    // The lead writes and sends the handbook to the head.
    let mut lead = app.signed_in(&w.lead).await;
    let strand = format!("{overview}/strands/1.1");
    lead.get(&strand).await;
    let saved = lead
        .post(
            &strand,
            &[
                ("actions", "Our plan names attendance."),
                ("level", "bronze"),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = lead.get(&overview).await;
    assert!(page.body.contains("Send to the head teacher"));
    // The deadline is on the school's page from the moment a visit exists.
    assert!(page.body.contains("Submission deadline"));
    assert!(page.body.contains("working days left"), "{}", page.body);
    // Only the lead sends, only the head submits.
    let mut head = app.signed_in(&w.head).await;
    head.get(&overview).await;
    assert_eq!(
        head.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        lead.post(&format!("{overview}/submit"), &[]).await.status,
        403
    );
    assert_eq!(
        lead.post(&format!("{overview}/return"), &[("message", "x")])
            .await
            .status,
        403
    );
    let sent = lead.post(&format!("{overview}/send-to-head"), &[]).await;
    assert_eq!(sent.status, 303);
    assert_eq!(stage(&app, w.assessment).await, "with_head");
    let to_head = mails_to(&app, "head@example.org").await;
    assert!(
        to_head
            .last()
            .unwrap()
            .0
            .contains("ready for you to review")
    );
    // While it is with the head, the lead's save is refused and the text comes back.
    lead.get(&strand).await;
    let refused = lead
        .post(
            &strand,
            &[("actions", "A change the lead typed"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("A change the lead typed"));
    assert!(
        refused
            .body
            .contains("The handbook is with your head teacher")
    );

    // The head comments on two strands and returns it with a message.
    for key in ["1.1", "1.2"] {
        let path = format!("{overview}/strands/{key}");
        head.get(&path).await;
        let empty = head
            .post(&format!("{path}/comments"), &[("comment", "  ")])
            .await;
        assert_eq!(empty.status, 422);
        assert!(empty.body.contains("Enter a comment"));
        let c = head
            .post(
                &format!("{path}/comments"),
                &[("comment", &format!("Say more about {key}, please."))],
            )
            .await;
        assert_eq!(c.status, 303);
    }
    let lead_view = lead.get(&strand).await;
    assert!(lead_view.body.contains("Say more about 1.1, please."));
    assert!(lead_view.body.contains("Sam Head") || lead_view.body.contains("Head teacher"));
    let counted = lead.get(&overview).await;
    assert!(counted.body.contains("(1 comment)"), "{}", counted.body);
    head.get(&format!("{overview}/return")).await;
    let no_message = head
        .post(&format!("{overview}/return"), &[("message", "")])
        .await;
    assert_eq!(no_message.status, 422);
    assert!(no_message.body.contains("Enter a message"));
    let returned = head
        .post(
            &format!("{overview}/return"),
            &[("message", "Please add the governors' minutes.")],
        )
        .await;
    assert_eq!(returned.status, 303);
    assert_eq!(stage(&app, w.assessment).await, "returned");
    let to_lead = mails_to(&app, "lead@example.org").await;
    assert!(
        to_lead
            .last()
            .unwrap()
            .1
            .contains("Please add the governors' minutes.")
    );

    // The lead answers and sends it again; the head approves and submits.
    lead.get(&strand).await;
    let answered = lead
        .post(
            &strand,
            &[
                (
                    "actions",
                    "Our plan names attendance. Minutes of 3 March attached.",
                ),
                ("level", "bronze"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    lead.get(&overview).await;
    assert_eq!(
        lead.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        303
    );
    let confirm = head.get(&format!("{overview}/submit")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Approve and submit to the assessor"));
    let submitted = head.post(&format!("{overview}/submit"), &[]).await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_eq!(stage(&app, w.assessment).await, "submitted");

    // The assessor's email has a link and the PDF attached.
    let to_assessor = mails_to(&app, "assessor@example.org").await;
    assert_eq!(to_assessor.len(), 1);
    let (subject, text, attached) = &to_assessor[0];
    assert!(subject.contains("Handbook submitted"));
    assert!(attached);
    let pdf: Vec<u8> = sqlx::query_scalar(
        "SELECT attachment FROM outbox WHERE to_address LIKE '%assessor@example.org>'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let start = text.find(&app.address).unwrap();
    let link = text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_string();
    let mut a = app.signed_in(&assessor).await;
    let snapshot = a.get(&link).await;
    assert_eq!(snapshot.status, 200);
    assert!(snapshot.body.contains("Minutes of 3 March attached."));
    // No one else reads it: the lead may not use the page, another assessor does not find it.
    assert_eq!(lead.get(&link).await.status, 403);
    let other = app
        .add_user(
            Some(w.tenant),
            Role::Assessor,
            None,
            "other-assessor@example.org",
        )
        .await;
    assert_eq!(app.signed_in(&other).await.get(&link).await.status, 404);

    // The school can no longer edit: saves, links and autosave are refused, nothing is lost.
    lead.get(&strand).await;
    let after = lead
        .post(&strand, &[("actions", "Too late"), ("version", "2")])
        .await;
    assert_eq!(after.status, 409);
    assert!(after.body.contains("Too late"));
    let mut h2 = app.signed_in(&w.head).await;
    h2.get(&strand).await;
    assert_eq!(
        h2.post(&strand, &[("actions", "Head too"), ("version", "2")])
            .await
            .status,
        409
    );
    let text: String = sqlx::query_scalar(
        "SELECT actions FROM strand_entry WHERE assessment_id = $1 AND strand_key = '1.1'",
    )
    .bind(w.assessment)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        text,
        "Our plan names attendance. Minutes of 3 March attached."
    );

    // The timeline shows every step, with the head's message.
    let timeline = lead.get(&overview).await.body;
    for step in [
        "Assessor assigned",
        "Visit date set",
        "Sent to the head teacher",
        "Returned to the Attendance Lead",
        "Please add the governors&#39; minutes.",
        "Approved and submitted to the assessor",
    ] {
        assert!(timeline.contains(step), "timeline lacks {step}");
    }

    // The officer reopens it with a reason; the snapshot stays as submitted.
    let visit = format!("/assessments/{}/visit", w.assessment);
    o.get(&visit).await;
    let no_reason = o
        .post(
            &format!("/assessments/{}/reopen", w.assessment),
            &[("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, 422);
    let reopened = o
        .post(
            &format!("/assessments/{}/reopen", w.assessment),
            &[("reason", "The wrong year's data was attached.")],
        )
        .await;
    assert_eq!(reopened.status, 303);
    assert_eq!(stage(&app, w.assessment).await, "returned");
    lead.get(&strand).await;
    let changed = lead
        .post(&strand, &[("actions", "A later draft"), ("version", "2")])
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let still = a.get(&link).await;
    assert!(still.body.contains("Minutes of 3 March attached."));
    assert!(!still.body.contains("A later draft"));
    assert!(
        lead.get(&overview)
            .await
            .body
            .contains("The wrong year&#39;s data was attached.")
    );
    // A submission is never changed, even by the owner of the table.
    assert!(
        sqlx::query("UPDATE submission SET snapshot = '{}'")
            .execute(&app.pool)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_head_cannot_submit_before_an_assessor_is_assigned() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let overview = format!("/assessments/{}", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&overview).await;
    assert_eq!(
        lead.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        303
    );
    let mut head = app.signed_in(&w.head).await;
    let page = head.get(&format!("{overview}/submit")).await;
    assert!(page.body.contains("has not assigned an assessor"));
    let refused = head.post(&format!("{overview}/submit"), &[]).await;
    assert_eq!(refused.status, 422);
    assert_eq!(stage(&app, w.assessment).await, "with_head");
    // Sending twice is refused: it has moved on.
    assert_eq!(
        lead.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn each_reminder_is_written_once_however_many_workers_run_and_restart() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = assessor(&app, &w).await;
    let mut o = app.signed_in(&w.officer).await;
    assert_eq!(
        set_visit(&mut o, &w, &assessor, in_days(40)).await.status,
        303
    );
    let scheduled: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM reminder WHERE assessment_id = $1 AND done_at IS NULL ORDER BY due_on",
    )
    .bind(w.assessment)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(scheduled, ["ten_days", "five_days", "deadline_day"]);
    // Moving the visit replaces the reminders still to come.
    assert_eq!(
        set_visit(&mut o, &w, &assessor, in_days(45)).await.status,
        303
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM reminder WHERE done_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 3);
    // Their days arrive: two workers at once, then a restarted one.
    sqlx::query("UPDATE reminder SET due_on = (now() AT TIME ZONE 'Europe/London')::date")
        .execute(&app.pool)
        .await
        .unwrap();
    let base = app.address.clone();
    let (a, b) = tokio::join!(
        aqm::review::reminders::send_due(app.db.system(), &base, 50),
        aqm::review::reminders::send_due(app.db.system(), &base, 50),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let again = aqm::review::reminders::send_due(app.db.system(), &base, 50)
        .await
        .unwrap();
    assert_eq!(again, 0);
    // The app's own worker may have run too: still each once.
    let emails: Vec<(String,)> = sqlx::query_as(
        "SELECT to_address FROM outbox WHERE subject LIKE 'Reminder:%' ORDER BY to_address",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        emails.len(),
        6,
        "3 reminders to the lead and the head: {emails:?}"
    );
    assert!(a + b <= 3);
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM reminder WHERE outcome = 'sent'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(done, 3);
}

#[tokio::test]
async fn submission_cancels_the_reminders_and_a_late_one_is_flagged() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = assessor(&app, &w).await;
    let mut o = app.signed_in(&w.officer).await;
    // A visit two days away: the deadline has passed already.
    let visit = in_days(2);
    assert_eq!(set_visit(&mut o, &w, &assessor, visit).await.status, 303);
    let overview = format!("/assessments/{}", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    let page = lead.get(&overview).await;
    assert!(
        page.body.contains("working days ago") || page.body.contains("working day ago"),
        "{}",
        page.body
    );
    assert_eq!(
        lead.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        303
    );
    let mut head = app.signed_in(&w.head).await;
    head.get(&format!("{overview}/submit")).await;
    assert_eq!(
        head.post(&format!("{overview}/submit"), &[]).await.status,
        303
    );
    // Late by the working days from the deadline to today, as the calendar counts them.
    let cal =
        aqm::calendar::Calendar::new(aqm::calendar::Division::of_nation("england").unwrap(), []);
    let today: chrono::NaiveDate =
        sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Europe/London')::date")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let deadline = cal.deadline(visit, 5).unwrap();
    let expected = cal.working_days_late(deadline, today).unwrap();
    assert!(expected >= 1);
    let stored: Option<i32> = sqlx::query_scalar("SELECT late_by FROM submission")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, Some(expected as i32));
    let flag = if expected == 1 {
        "Submitted late by 1 working day".to_string()
    } else {
        format!("Submitted late by {expected} working days")
    };
    // Flagged to the officer on the cohort page, and to the assessor in the email and the page.
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT cohort_id FROM assessment WHERE id = $1")
        .bind(w.assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        o.get(&format!("/cohorts/{cohort}"))
            .await
            .body
            .contains(&flag)
    );
    let mail = mails_to(&app, "assessor@example.org").await;
    assert!(mail[0].0.contains("(late)"));
    assert!(mail[0].1.contains(&flag));
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM submission")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let page = app
        .signed_in(&assessor)
        .await
        .get(&format!("/submissions/{id}"))
        .await;
    assert!(page.body.contains(&flag));
    // No reminder is left to send for a handbook that has been submitted.
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM reminder WHERE done_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
}
