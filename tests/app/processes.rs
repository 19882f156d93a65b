//! Several processes of the service on one database, as behind a load balancer: a person signed
//! in through one is signed in on the other, each outbox message is sent once, and each due
//! reminder is sent once, whichever process's workers reach it.

use crate::handbook::world;
use crate::helpers::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn two_processes_share_sessions_and_send_each_message_and_reminder_once() {
    let first = spawn_app().await;
    let w = world(&first).await;
    let second = spawn_second(&first).await;
    assert_ne!(first.address, second.address);
    // Signed in through the first, the same cookie works on the second: sessions live in the
    // database, not in a process.
    let on_first = first.signed_in(&w.lead).await;
    let home = |app: &TestApp| {
        let v = &on_first;
        let url = format!("{}/home", app.address);
        let cookie = v.cookie_header();
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(home(&first).await, 200);
    assert_eq!(home(&second).await, 200);

    // 40 messages through the outbox: both processes' workers take from it; each is written
    // once, by one of them.
    const MESSAGES: usize = 40;
    let mut tx = first.pool.begin().await.unwrap();
    for i in 0..MESSAGES {
        aqm::mail::enqueue(
            &mut tx,
            None,
            &aqm::mail::Message {
                to: format!("\"Person {i}\" <person{i}@example.org>"),
                subject: format!("Message {i}"),
                text: "Hello".into(),
                html: "<p>Hello</p>".into(),
                attachment: None,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let written = loop {
        let (a, b) = (first.data_dir.clone(), second.data_dir.clone());
        let (a, b) = tokio::task::spawn_blocking(move || {
            (aqm::mail::written_mail(&a), aqm::mail::written_mail(&b))
        })
        .await
        .unwrap();
        let mut subjects: Vec<String> = a.iter().chain(&b).map(|m| m.subject.clone()).collect();
        if subjects.len() >= MESSAGES || Instant::now() > deadline {
            subjects.sort();
            break (subjects, a.len(), b.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (subjects, by_first, by_second) = written;
    let mut unique = subjects.clone();
    unique.dedup();
    println!(
        "outbox: {MESSAGES} messages, {by_first} sent by the first process, {by_second} by the second"
    );
    assert_eq!(subjects.len(), MESSAGES, "every message sent");
    assert_eq!(unique.len(), MESSAGES, "none sent twice");

    // Three reminders due today: the two processes' jobs run at once; each is sent once.
    for kind in ["ten_days", "five_days", "deadline_day"] {
        sqlx::query(
            "INSERT INTO reminder (tenant_id, assessment_id, kind, due_on, deadline)
             VALUES ($1, $2, $3, current_date, current_date + 10)",
        )
        .bind(w.tenant)
        .bind(w.assessment)
        .bind(kind)
        .execute(&first.pool)
        .await
        .unwrap();
    }
    let base = first.address.clone();
    let (a, b) = tokio::join!(
        aqm::review::reminders::send_due(first.db.system(), &base, 50),
        aqm::review::reminders::send_due(second.db.system(), &base, 50),
    );
    let sent = a.unwrap() + b.unwrap();
    let again = aqm::review::reminders::send_due(first.db.system(), &base, 50)
        .await
        .unwrap();
    let (done, outcomes): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE done_at IS NOT NULL), count(DISTINCT id) FILTER (WHERE outcome = 'sent')
         FROM reminder WHERE assessment_id = $1",
    )
    .bind(w.assessment)
    .fetch_one(&first.pool)
    .await
    .unwrap();
    println!("reminders: 3 due, {sent} sent by the two processes at once, {again} on a third run");
    assert_eq!((sent, again, done, outcomes), (3, 0, 3, 3));
}
