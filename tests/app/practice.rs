//! Good practice shared across schools: the lead offers, the head approves, the officer
//! publishes; other schools find it, read it and ask about it; the head withdraws it; the
//! officer's booklet; the pupil-data check on shared texts and documents; the assessor's
//! recommendation.

use crate::handbook::{World, world};
use crate::helpers::*;
use crate::review::mails_to;
use uuid::Uuid;

/// A text document linked to strand `key` of the world's first handbook.
async fn linked_text(app: &TestApp, w: &World, key: &str, title: &str, text: &str) -> Uuid {
    let mut lead = app.signed_in(&w.lead).await;
    // Confirmed as not pupil data at upload: the check on sharing must still stop it.
    let hash = aqm::store::ContentHash::of(text.as_bytes());
    let up = crate::evidence::upload(
        &mut lead,
        "notes.txt",
        text.as_bytes(),
        title,
        &[("not_pupil_data", "yes"), ("confirm_sha256", hash.as_str())],
    )
    .await;
    let doc = crate::evidence::uploaded_id(&up);
    let strand = format!("/assessments/{}/strands/{key}", w.assessment);
    lead.get(&strand).await;
    let linked = lead
        .post(
            &format!("{strand}/evidence"),
            &[("evidence", &doc.to_string())],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    doc
}

async fn status(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM practice WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn practice_is_offered_approved_published_found_asked_about_and_withdrawn() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let doc = linked_text(
        &app,
        &w,
        "3.5",
        "First day calling script",
        "Good morning, this is the school calling about today's absence.\n",
    )
    .await;
    let offer = format!("/assessments/{}/strands/3.5/practice", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    let page = lead.get(&offer).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("First day calling script"));
    // Nothing typed: refused next to the field.
    let empty = lead
        .post(
            &offer,
            &[("actions", " "), ("impact", ""), ("action", "send")],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Write the practice you want to share"));
    let sent = lead
        .post(
            &offer,
            &[
                (
                    "actions",
                    "We ring every family on the first day of absence, before 10am.",
                ),
                ("impact", "Persistent absence fell by a third in a year."),
                ("document", &doc.to_string()),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let id: Uuid = sqlx::query_scalar("SELECT id FROM practice")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status(&app, id).await, "with_head");
    assert!(
        mails_to(&app, &w.head.email)
            .await
            .iter()
            .any(|(s, _, _)| s.starts_with("Approve sharing strand 3.5"))
    );
    // Not yet approved: nobody outside the school sees it, not even the officer.
    let entry = format!("/practice/{id}");
    let mut other = app.signed_in(&w.other_lead).await;
    let mut officer = app.signed_in(&w.officer).await;
    assert_eq!(other.get(&entry).await.status, 404);
    assert_eq!(officer.get(&entry).await.status, 404);
    // The lead cannot approve; the head does.
    let not_head = lead
        .post(&offer, &[("actions", "x"), ("action", "approve")])
        .await;
    assert_eq!(not_head.status, 422);
    let mut head = app.signed_in(&w.head).await;
    let approved = head
        .post(
            &offer,
            &[
                (
                    "actions",
                    "We ring every family on the first day of absence, before 10am.",
                ),
                ("impact", "Persistent absence fell by a third in a year."),
                ("document", &doc.to_string()),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(status(&app, id).await, "offered");
    assert!(
        mails_to(&app, &w.officer.email)
            .await
            .iter()
            .any(|(s, _, _)| s.starts_with("Good practice offered: Riverside Primary"))
    );
    // Offered: the officer reviews it; other schools still see nothing.
    assert_eq!(other.get(&entry).await.status, 404);
    assert!(
        !other
            .get("/practice")
            .await
            .body
            .contains("Riverside Primary")
    );
    let review = officer.get("/practice/review").await;
    assert!(review.body.contains(&format!("/practice/{id}/decision")));
    let decision = format!("/practice/{id}/decision");
    officer.get(&decision).await;
    let no_message = officer
        .post(&decision, &[("decision", "changes"), ("message", "")])
        .await;
    assert_eq!(no_message.status, 422);
    assert!(no_message.body.contains("Write a message to the school"));
    let published = officer
        .post(&decision, &[("decision", "publish"), ("message", "")])
        .await;
    assert_eq!(published.status, 303);
    assert_eq!(status(&app, id).await, "published");
    // Another school finds it by its words and by its theme, and reads it.
    let found = other.get("/practice?q=first+day").await;
    assert!(
        found.body.contains(&format!("href=\"/practice/{id}\"")),
        "{}",
        found.body
    );
    assert!(
        other
            .get("/practice?theme=3")
            .await
            .body
            .contains(&format!("/practice/{id}"))
    );
    assert!(
        !other
            .get("/practice?q=zebra+crossing")
            .await
            .body
            .contains(&format!("/practice/{id}"))
    );
    assert!(
        !other
            .get("/practice?theme=1")
            .await
            .body
            .contains(&format!("/practice/{id}"))
    );
    let read = other.get(&entry).await;
    assert_eq!(read.status, 200);
    assert!(read.body.contains("before 10am"));
    assert!(
        !read.body.contains("mailto:"),
        "the contact's address stays hidden"
    );
    let file = other.download(&format!("{entry}/documents/{doc}")).await;
    assert_eq!(file.status(), 200);
    // Hilltop's own strand page counts it.
    let strand = other
        .get(&format!("/assessments/{}/strands/3.5", w.other_assessment))
        .await;
    assert!(
        strand
            .body
            .contains("1 school shares practice on this strand"),
        "{}",
        strand.body
    );
    // A question through the service reaches the contact.
    let asked = other
        .post(
            &format!("{entry}/contact"),
            &[("message", "Could we see your script?")],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let to_lead = mails_to(&app, &w.lead.email).await;
    assert!(
        to_lead
            .iter()
            .any(|(s, b, _)| s.starts_with("A question about your practice")
                && b.contains("Could we see your script?")
                && b.contains(&w.other_lead.email)),
        "{to_lead:?}"
    );
    // Another authority sees nothing.
    let mut stranger = app.stranger_officer().await;
    assert_eq!(stranger.get(&entry).await.status, 404);
    assert!(!stranger.get("/practice").await.body.contains("Riverside"));
    // Featured, in the booklet.
    let featured = officer
        .post(&format!("{entry}/feature"), &[("featured", "yes")])
        .await;
    assert_eq!(featured.status, 303);
    let booklet = officer.download("/practice/booklet.pdf").await;
    assert_eq!(booklet.headers()["content-type"], "application/pdf");
    let pdf = booklet.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    // The head withdraws it: gone at once.
    let withdrawn = head.post(&format!("{entry}/withdraw"), &[]).await;
    assert_eq!(withdrawn.status, 303);
    assert_eq!(other.get(&entry).await.status, 404);
    assert!(
        !other
            .get("/practice?q=first+day")
            .await
            .body
            .contains(&format!("/practice/{id}"))
    );
    assert_eq!(
        other
            .download(&format!("{entry}/documents/{doc}"))
            .await
            .status(),
        404
    );
    let featured_now: bool = sqlx::query_scalar("SELECT featured FROM practice WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!featured_now);
    // The school can offer it again.
    let page = lead.get(&offer).await;
    assert!(page.body.contains("Send to your head teacher for approval"));
}

#[tokio::test]
async fn the_pupil_data_check_stops_a_shared_version_or_document_with_a_pupil_number() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let offer = format!("/assessments/{}/strands/3.5/practice", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&offer).await;
    let refused = lead
        .post(
            &offer,
            &[
                ("actions", "We rang A123456789012 every morning."),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("looks like a Unique Pupil Number"));
    assert!(
        refused
            .body
            .contains("We rang A123456789012 every morning."),
        "the text is kept"
    );
    let doc = linked_text(
        &app,
        &w,
        "3.5",
        "Call log",
        "Called A123456789012 at 9:05.\n",
    )
    .await;
    lead.get(&offer).await;
    let refused = lead
        .post(
            &offer,
            &[
                ("actions", "We ring every family."),
                ("document", &doc.to_string()),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Call log: "), "{}", refused.body);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM practice")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing is kept");
    // A document that is not linked to the strand cannot ride along.
    let elsewhere = crate::world::Builder::new(&app)
        .document(w.tenant, w.school, "Unlinked plan")
        .await;
    let sent = lead
        .post(
            &offer,
            &[
                ("actions", "We ring every family."),
                ("document", &elsewhere.to_string()),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let docs: i64 = sqlx::query_scalar("SELECT count(*) FROM practice_document")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(docs, 0);
}

#[tokio::test]
async fn the_assessor_recommends_a_strength_and_the_school_sees_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = crate::review::assessor(&app, &w).await;
    crate::visit::submitted(&app, &w, &assessor).await;
    let mut a = app.signed_in(&assessor).await;
    let theme = format!("/visits/{}/themes/1", w.assessment);
    let page = a.get(&theme).await;
    assert!(
        page.body
            .contains("Recommend strand 1.1 as a strength worth sharing")
    );
    let done = a
        .post(
            &format!("/visits/{}/strands/1.1/recommend", w.assessment),
            &[("recommend", "yes")],
        )
        .await;
    assert_eq!(done.status, 303);
    let mut lead = app.signed_in(&w.lead).await;
    let strand = lead
        .get(&format!("/assessments/{}/strands/1.1", w.assessment))
        .await;
    assert!(
        strand
            .body
            .contains("Your assessor recommended this strand as a strength worth sharing")
    );
    // Another school's lead cannot recommend, nor can an assessor not assigned.
    let other = app
        .add_user(
            Some(w.tenant),
            aqm::auth::Role::Assessor,
            None,
            "other-assessor@example.org",
        )
        .await;
    let mut other = app.signed_in(&other).await;
    let refused = other
        .post(
            &format!("/visits/{}/strands/1.1/recommend", w.assessment),
            &[("recommend", "yes")],
        )
        .await;
    assert_eq!(refused.status, 404);
}

#[tokio::test]
async fn another_authority_sees_chosen_practice_only_when_both_opt_in() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                               actions, status, contact_id, created_by)
         VALUES ($1, $2, $3, $4, '3.5', 3, '3.5: Welcoming pupils back', 'A first-day welcome at the gate.',
                 'published', $5, $5)",
    )
    .bind(id)
    .bind(w.tenant)
    .bind(w.school)
    .bind(w.assessment)
    .bind(w.lead.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let admin = app
        .add_user(
            Some(w.tenant),
            aqm::auth::Role::TenantAdmin,
            None,
            "admin@example.org",
        )
        .await;
    let mut admin = app.signed_in(&admin).await;
    let mut officer = app.signed_in(&w.officer).await;
    let mut stranger = app.stranger_officer().await;
    let sefton: Uuid = sqlx::query_scalar("SELECT id FROM tenant WHERE slug = 'sefton'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let shared = format!("/practice/shared/{id}");
    let sees = |page: &Page| page.body.contains("A first-day welcome at the gate.");
    // Off by default: the officer cannot share it; nobody elsewhere sees it.
    officer.get("/practice/review").await;
    let refused = officer
        .post(&format!("/practice/{id}/platform"), &[("wide", "yes")])
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(stranger.get(&shared).await.status, 404);
    // Liverpool opts in and shares it; Sefton has not opted in: still nothing.
    admin.get("/settings/sharing").await;
    assert_eq!(
        admin
            .post("/settings/sharing", &[("share", "yes")])
            .await
            .status,
        303
    );
    officer.get("/practice/review").await;
    let done = officer
        .post(&format!("/practice/{id}/platform"), &[("wide", "yes")])
        .await;
    assert_eq!(done.status, 303);
    assert!(!sees(&stranger.get("/practice").await));
    assert_eq!(stranger.get(&shared).await.status, 404);
    // Sefton opts in too: its officer finds it, with the authority's name, and no contact.
    let sefton_admin = app
        .add_user(
            Some(sefton),
            aqm::auth::Role::TenantAdmin,
            None,
            "admin@sefton.example.org",
        )
        .await;
    let mut sefton_admin = app.signed_in(&sefton_admin).await;
    sefton_admin.get("/settings/sharing").await;
    sefton_admin
        .post("/settings/sharing", &[("share", "yes")])
        .await;
    let base = stranger.get("/practice?q=welcome").await;
    assert!(sees(&base), "{}", base.body);
    assert!(base.body.contains("From other authorities"));
    let page = stranger.get(&shared).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("liverpool") || page.body.contains("Liverpool"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&w.lead.email));
    // Their own entries never show through the shared route, and a lead of Liverpool sees it in
    // its own base, not among other authorities'.
    assert_eq!(officer.get(&shared).await.status, 404);
    // Liverpool opts out: taken back at once.
    admin.get("/settings/sharing").await;
    admin.post("/settings/sharing", &[("share", "no")]).await;
    assert_eq!(stranger.get(&shared).await.status, 404);
    let wide: bool = sqlx::query_scalar("SELECT platform_wide FROM practice WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!wide);
}
