//! The authority's closure days: officers add and remove them, each change audited, and the
//! authority's working-day calendar counts them (and no other authority's).

use crate::helpers::{html_escape, spawn_app};
use aqm::auth::Role;
use aqm::calendar::Calendar;
use chrono::NaiveDate;
use uuid::Uuid;

/// An audit event's action, subject, before and after.
type Audited = (
    String,
    Option<String>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn closure_day<'a>(
    day: &'a str,
    month: &'a str,
    year: &'a str,
    what: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("closure_date-day", day),
        ("closure_date-month", month),
        ("closure_date-year", year),
        ("description", what),
    ]
}

#[tokio::test]
async fn officers_add_and_remove_closure_days_and_each_change_is_audited() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("liverpool").await;
    let other = app.add_tenant("wirral").await;
    let officer = app
        .add_user(Some(tenant), Role::LaOfficer, None, "officer@example.org")
        .await;
    let mut o = app.signed_in(&officer).await;

    let empty = o.get("/calendar").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No closure days yet."));
    assert!(empty.body.contains("bank holidays in England and Wales"));
    assert!(empty.body.contains("Boxing Day"), "bank holidays listed");
    // The officer finds the page from the cohorts page and from home.
    assert!(o.get("/cohorts").await.body.contains("href=\"/calendar\""));
    assert!(o.get("/home").await.body.contains("href=\"/calendar\""));

    // Add: INSET day on Monday 1 June 2026.
    o.get("/calendar").await;
    let added = o
        .post("/calendar", &closure_day(" 1", "06", "2026", " INSET day "))
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some("/calendar"));
    let listed = o.get("/calendar").await;
    assert!(listed.body.contains("The closure day has been added."));
    assert!(listed.body.contains("Monday 1 June 2026"));
    assert!(listed.body.contains("INSET day"));
    assert!(listed.body.contains("Person officer@example.org"));
    let (id, description, added_by): (Uuid, String, Uuid) = sqlx::query_as(
        "SELECT id, description, added_by FROM closure_day WHERE tenant_id = $1 AND day = '2026-06-01'",
    )
    .bind(tenant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((description.as_str(), added_by), ("INSET day", officer.id));

    // The authority's calendar counts it; another authority's does not.
    let visit = date(2026, 6, 5);
    let mut tx = app.db.tenant_tx(tenant).await.unwrap();
    let calendar = Calendar::of_tenant(&mut tx, tenant).await.unwrap();
    drop(tx);
    assert_eq!(calendar.is_working_day(date(2026, 6, 1)), Ok(false));
    assert_eq!(calendar.deadline(visit, 5), Ok(date(2026, 5, 27)));
    let mut tx = app.db.tenant_tx(other).await.unwrap();
    let theirs = Calendar::of_tenant(&mut tx, other).await.unwrap();
    drop(tx);
    assert_eq!(theirs.is_working_day(date(2026, 6, 1)), Ok(true));
    assert_eq!(theirs.deadline(visit, 5), Ok(date(2026, 5, 28)));

    // The same day again is refused next to the field, keeping what was typed.
    let duplicate = o
        .post("/calendar", &closure_day("1", "6", "2026", "Second INSET"))
        .await;
    assert_eq!(duplicate.status, 422);
    let message = "Monday 1 June 2026 is already a closure day";
    assert!(duplicate.body.contains(&format!(
        "<p id=\"closure_date-error\" class=\"govuk-error-message\"><span class=\"govuk-visually-hidden\">Error:</span> {message}</p>"
    )));
    assert!(
        duplicate
            .body
            .contains(&format!("<a href=\"#closure_date-day\">{message}</a>"))
    );
    assert!(duplicate.body.contains("value=\"Second INSET\""));
    assert!(duplicate.body.contains("<title>Error: "));

    // Empty, unreal, too long, a bank holiday.
    let blank = o.post("/calendar", &closure_day("", "", "", "")).await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("Enter the date of the closure day"));
    assert!(
        blank
            .body
            .contains("Enter a description, such as INSET day")
    );
    let unreal = o
        .post("/calendar", &closure_day("30", "2", "2026", "INSET day"))
        .await;
    assert_eq!(unreal.status, 422);
    assert!(
        unreal
            .body
            .contains("Date of the closure day must be a real date")
    );
    assert!(unreal.body.contains("value=\"30\""));
    let long = "x".repeat(201);
    let too_long = o
        .post("/calendar", &closure_day("2", "6", "2026", &long))
        .await;
    assert_eq!(too_long.status, 422);
    assert!(
        too_long
            .body
            .contains("Description must be 200 characters or fewer; it is 201")
    );
    let holiday = o
        .post("/calendar", &closure_day("28", "12", "2026", "Christmas"))
        .await;
    assert_eq!(holiday.status, 422);
    assert!(holiday.body.contains(&html_escape(
        "Monday 28 December 2026 is a bank holiday (Boxing Day)"
    )));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM closure_day")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "nothing refused was stored");

    // Remove it.
    o.get("/calendar").await;
    let removed = o.post(&format!("/calendar/{id}/remove"), &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let after = o.get("/calendar").await;
    assert!(after.body.contains("The closure day has been removed."));
    assert!(after.body.contains("No closure days yet."));
    let again = o.post(&format!("/calendar/{id}/remove"), &[]).await;
    assert_eq!(again.status, 404);

    // Both changes are in the audit log, with what was added and what was removed.
    let events: Vec<Audited> = sqlx::query_as(
        "SELECT action, subject_id, before, after FROM audit_event
             WHERE tenant_id = $1 AND action LIKE 'closure_day.%' AND actor_id = $2 ORDER BY id",
    )
    .bind(tenant)
    .bind(officer.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let inset = serde_json::json!({"date": "2026-06-01", "description": "INSET day"});
    assert_eq!(
        events,
        vec![
            (
                "closure_day.added".to_string(),
                Some(id.to_string()),
                None,
                Some(inset.clone())
            ),
            (
                "closure_day.removed".to_string(),
                Some(id.to_string()),
                Some(inset),
                None
            ),
        ]
    );
    let log = o.get("/audit").await;
    for sentence in [
        "Person officer@example.org added the closure day Monday 1 June 2026",
        "Person officer@example.org removed the closure day Monday 1 June 2026",
    ] {
        assert!(
            log.body.contains(&html_escape(sentence)),
            "missing: {sentence}"
        );
    }
}
