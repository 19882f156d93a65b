//! The audit log reads in words: who did what to which strand, school or person, changes as
//! field: before → after with long texts shortened, strand saves linked to the revision that
//! holds their texts, and the CSV keeping every field as stored.

use crate::evidence::{PDF, upload, uploaded_id};
use crate::handbook::{World, world};
use crate::helpers::{TestApp, Visitor, html_escape, spawn_app};
use aqm::auth::Role;
use uuid::Uuid;

fn strand(w: &World, key: &str) -> String {
    format!("/assessments/{}/strands/{key}", w.assessment)
}

/// A text of about 400 characters, its last words a marker that must not reach the log page.
fn long_text(opening: &str) -> String {
    let mut text = format!("{opening} ");
    while text.len() < 400 {
        text.push_str("Every absence is followed up on the first day with a call home. ");
    }
    text.push_str("THE-END-OF-THE-TEXT");
    text
}

/// (action, after) of the tenant's strand saves, oldest first.
async fn strand_saves(
    app: &TestApp,
    tenant: Uuid,
) -> Vec<(Option<serde_json::Value>, serde_json::Value)> {
    sqlx::query_as(
        "SELECT before, after FROM audit_event WHERE tenant_id = $1 AND action = 'strand.saved' ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// What people in a school and in the authority's office do in a morning, each through the
/// real pages, so that every kind of event a tenant's log holds is in it.
pub async fn a_mornings_work(app: &TestApp, w: &World) -> (Visitor, Uuid) {
    let admin = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let mut a = app.signed_in(&admin).await;
    a.get("/people/invite").await;
    let school = w.school.to_string();
    let invited = a
        .post(
            "/people/invite",
            &[
                ("name", "Jane Lead"),
                ("email", "jane@example.org"),
                ("role", "attendance_lead"),
                ("school", &school),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    let jane: Uuid = sqlx::query_scalar("SELECT id FROM app_user WHERE email = 'jane@example.org'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    a.get(&format!("/people/{jane}")).await;
    let changed = a
        .post(
            &format!("/people/{jane}/role"),
            &[("role", "head_teacher"), ("school", &school)],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    a.get(&format!("/people/{jane}")).await;
    let gone = a.post(&format!("/people/{jane}/deactivate"), &[]).await;
    assert_eq!(gone.status, 303, "{}", gone.body);

    // A mistyped password first.
    let mut lead = app.visitor();
    assert_eq!(
        lead.sign_in(&w.lead.email, "not the password").await.status,
        422
    );
    let mut lead = app.signed_in(&w.lead).await;
    let doc = uploaded_id(
        &upload(
            &mut lead,
            "policy.pdf",
            PDF,
            "Attendance policy",
            &[
                ("evidence_date-day", "1"),
                ("evidence_date-month", "9"),
                ("evidence_date-year", "2026"),
            ],
        )
        .await,
    );
    lead.get(&format!("/evidence/{doc}")).await;
    let linked = lead
        .post(&format!("/evidence/{doc}/links"), &[("strand", "1.2")])
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    lead.get(&strand(w, "1.2")).await;
    let unlinked = lead
        .post(&format!("{}/evidence/{doc}/unlink", strand(w, "1.2")), &[])
        .await;
    assert_eq!(unlinked.status, 303, "{}", unlinked.body);
    lead.get(&format!("/evidence/{doc}")).await;
    let deleted = lead.post(&format!("/evidence/{doc}/delete"), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);

    let actions = long_text("Governors receive a termly attendance report.");
    lead.get(&strand(w, "1.2")).await;
    let first = lead
        .post(
            &strand(w, "1.2"),
            &[
                ("version", "0"),
                ("actions", &actions),
                ("level", "bronze"),
                ("impact", "Persistent absence fell."),
            ],
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    lead.get(&strand(w, "1.2")).await;
    let second = lead
        .post(
            &strand(w, "1.2"),
            &[
                ("version", "1"),
                ("actions", &actions),
                ("level", "silver"),
                ("impact", "Persistent absence fell by a third."),
            ],
        )
        .await;
    assert_eq!(second.status, 303, "{}", second.body);
    (app.signed_in(&w.officer).await, doc)
}

#[tokio::test]
async fn the_audit_log_reads_in_words() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (mut officer, _) = a_mornings_work(&app, &w).await;
    let page = officer.get("/audit").await;
    assert_eq!(page.status, 200);
    let body = &page.body;

    let officer_name = "Person officer@example.org";
    let lead = "Person lead@example.org";
    let admin = "Person admin@example.org";
    for sentence in [
        format!("{officer_name} signed in"),
        format!("{lead} failed to sign in"),
        format!("{officer_name} created cohort 2026/27"),
        format!("{officer_name} opened the handbook of Riverside Primary for cohort 2026/27"),
        format!("{admin} invited Jane Lead as Attendance Lead"),
        format!("{admin} changed the role of Jane Lead"),
        format!("{admin} deactivated the account of Jane Lead"),
        format!("{lead} uploaded “Attendance policy” to the evidence library"),
        format!("{lead} linked “Attendance policy” to strand 1.2"),
        format!("{lead} unlinked “Attendance policy” from strand 1.2"),
        format!("{lead} deleted “Attendance policy” from the evidence library"),
        format!("{lead} saved strand 1.2"),
    ] {
        assert!(
            body.contains(&html_escape(&sentence)),
            "missing: {sentence}\n{body}"
        );
    }
    // Changes as field: before → after, in words.
    for change in [
        "Role:</span> Attendance Lead <span aria-hidden=\"true\">→</span><span class=\"govuk-visually-hidden\"> changed to </span> Head teacher",
        "Account:</span> Active <span aria-hidden=\"true\">→</span><span class=\"govuk-visually-hidden\"> changed to </span> Deactivated",
        "Level claimed:</span> Bronze <span aria-hidden=\"true\">→</span><span class=\"govuk-visually-hidden\"> changed to </span> Silver",
        "Date of the evidence:</span> 1 September 2026",
        "School:</span> Riverside Primary",
    ] {
        assert!(body.contains(change), "missing change: {change}\n{body}");
    }

    // No event codes, no JSON, no identifiers.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT action FROM audit_event WHERE tenant_id = $1")
            .bind(w.tenant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(actions.len() >= 12, "{actions:?}");
    for action in &actions {
        assert!(!body.contains(action.as_str()), "event code {action} shown");
    }
    assert!(!body.contains("{&#34;"), "raw JSON shown");
    assert!(!body.contains(&w.assessment.to_string()), "an id shown");
    // Dates in words, UK time.
    let (words, iso): (String, String) = sqlx::query_as(
        "SELECT to_char(now() AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY \"at\"'),
                to_char(now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(body.contains(&words), "{words}");
    assert!(!body.contains(&format!(">{iso}")), "{iso} shown");

    // A strand save keeps a reference to its revision and the level, not a second copy of the
    // texts; the page links to the revision, which holds them.
    let saves = strand_saves(&app, w.tenant).await;
    assert_eq!(saves.len(), 2);
    let (before, after) = &saves[1];
    assert_eq!(after["claimed_level"], "silver");
    assert_eq!(before.as_ref().unwrap()["claimed_level"], "bronze");
    for (b, a) in &saves {
        for text in ["actions", "impact"] {
            assert!(a.get(text).is_none(), "{a}");
            assert!(b.as_ref().and_then(|b| b.get(text)).is_none());
        }
    }
    let revision = after["revision"].as_i64().expect("a revision id");
    let (rev_actions, rev_level): (String, Option<String>) =
        sqlx::query_as("SELECT actions, claimed_level FROM strand_revision WHERE id = $1")
            .bind(revision)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(rev_actions.ends_with("THE-END-OF-THE-TEXT"));
    assert_eq!(rev_level.as_deref(), Some("silver"));
    let link = format!("/audit/revisions/{revision}");
    assert!(body.contains(&format!("href=\"{link}\"")), "{body}");
    assert!(!body.contains("THE-END-OF-THE-TEXT"));

    let shown = officer.get(&link).await;
    assert_eq!(shown.status, 200);
    for text in [
        "Strand 1.2",
        "Riverside Primary",
        "2026/27",
        lead,
        "Silver",
        &rev_actions,
        "Persistent absence fell by a third.",
    ] {
        assert!(
            shown.body.contains(&html_escape(text)),
            "revision page lacks {text}\n{}",
            shown.body
        );
    }
    // From one revision to the one it replaced.
    let first = saves[0].1["revision"].as_i64().unwrap();
    assert!(
        shown
            .body
            .contains(&format!("href=\"/audit/revisions/{first}\""))
    );

    // The CSV keeps every field as stored: codes, ids and the JSON.
    let csv = officer.download("/audit.csv").await.text().await.unwrap();
    assert!(csv.starts_with("When,Who,What,School,Subject,Before,After\r\n"));
    for field in [
        "\"strand.saved\"",
        "\"sign_in.succeeded\"",
        &format!("\"strand {}/1.2\"", w.assessment),
        &format!("\"\"revision\"\": {revision}"),
        "\"\"claimed_level\"\": \"\"silver\"\"",
    ] {
        assert!(csv.contains(field), "CSV lacks {field}\n{csv}");
    }
}

/// A strand save as the log recorded it before revisions were referenced: both whole texts.
pub async fn old_strand_event(app: &TestApp, w: &World, key: &str, before: &str, after: &str) {
    sqlx::query(
        "INSERT INTO audit_event (tenant_id, actor_id, actor_email, action, school_id, subject_type, subject_id, before, after)
         VALUES ($1, $2, 'lead@example.org', 'strand.saved', $3, 'strand', $4, $5, $6)",
    )
    .bind(w.tenant)
    .bind(w.lead.id)
    .bind(w.school)
    .bind(format!("{}/{key}", w.assessment))
    .bind(serde_json::json!({"actions": before, "impact": "", "claimed_level": null}))
    .bind(serde_json::json!({"actions": after, "impact": "Fewer late marks.", "claimed_level": "gold"}))
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn old_strand_events_that_copied_the_texts_read_shortened() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let before = long_text("We wrote to every family in September.");
    let after = long_text("We now phone every family on the first morning.");
    old_strand_event(&app, &w, "2.1", &before, &after).await;
    let mut officer = app.signed_in(&w.officer).await;
    let page = officer.get("/audit").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("Person lead@example.org saved strand 2.1"));
    assert!(!body.contains("THE-END-OF-THE-TEXT"), "a whole text shown");
    assert!(!body.contains("{&#34;"), "raw JSON shown");
    for text in [
        "Actions and evidence:</span> We wrote to every family in September.",
        "<span class=\"govuk-visually-hidden\"> changed to </span> We now phone every family on the first morning.",
        "Evidence of impact:</span> Nothing written <span aria-hidden=\"true\">→</span><span class=\"govuk-visually-hidden\"> changed to </span> Fewer late marks.",
        "Level claimed:</span> None yet <span aria-hidden=\"true\">→</span><span class=\"govuk-visually-hidden\"> changed to </span> Gold",
    ] {
        assert!(body.contains(text), "missing {text}\n{body}");
    }
    // Each long text stops after about 100 characters, and says so.
    let start = body.find("We now phone every family").unwrap();
    let shown = &body[start..start + body[start..].find('<').unwrap()];
    assert!(shown.ends_with('…'), "{shown}");
    assert!(shown.chars().count() <= 101, "{shown}");
    // The CSV still has the whole texts it was given.
    let csv = officer.download("/audit.csv").await.text().await.unwrap();
    assert!(csv.matches("THE-END-OF-THE-TEXT").count() == 2);
}
