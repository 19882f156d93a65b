//! The assessor's workflow after submission: caseload, scheduling, visit mode's judgements (the
//! newest change wins whatever order retries arrive in), agreeing the award with a reason when it
//! differs from the suggestion, the head's acknowledgement, certificate, report and the public
//! verification page, renewal, moderation figures.

use crate::handbook::{World, world};
use crate::helpers::{TestApp, TestUser, Visitor, spawn_app, spawn_app_with};
use crate::review::{assessor, in_days, mails_to, set_visit};
use aqm::auth::Role;
use uuid::Uuid;

/// The world's handbook of Riverside Primary: strand 1.1 written and claimed at Gold with a
/// document, the visit 40 days ahead with `assessor`, sent to the head and submitted.
pub async fn submitted(app: &TestApp, w: &World, assessor: &TestUser) {
    let mut o = app.signed_in(&w.officer).await;
    let set = set_visit(&mut o, w, assessor, in_days(40)).await;
    assert_eq!(set.status, 303, "{}", set.body);
    let mut lead = app.signed_in(&w.lead).await;
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);
    lead.get(&strand).await;
    let saved = lead
        .post(
            &strand,
            &[
                ("actions", "First day calls to every absent pupil's family."),
                ("impact", "Persistent absence fell from 19% to 14%."),
                ("level", "gold"),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let doc = crate::world::Builder::new(app)
        .document(w.tenant, w.school, "Attendance policy")
        .await;
    lead.get(&strand).await;
    let linked = lead
        .post(
            &format!("{strand}/evidence"),
            &[("evidence", &doc.to_string())],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    lead.get(&format!("/assessments/{}", w.assessment)).await;
    let sent = lead
        .post(&format!("/assessments/{}/send-to-head", w.assessment), &[])
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mut head = app.signed_in(&w.head).await;
    head.get(&format!("/assessments/{}/submit", w.assessment))
        .await;
    let done = head
        .post(&format!("/assessments/{}/submit", w.assessment), &[])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
}

/// Posts one strand's judgement as the queue does (JSON answer).
async fn judge(
    v: &mut Visitor,
    assessment: Uuid,
    key: &str,
    level: &str,
    notes: &str,
    stamp: i64,
) -> (u16, serde_json::Value) {
    v.post_json(
        &format!("/visits/{assessment}/strands/{key}"),
        &[
            ("level", level),
            ("notes", notes),
            ("stamp", &stamp.to_string()),
        ],
    )
    .await
}

async fn stored(app: &TestApp, assessment: Uuid, key: &str) -> (Option<String>, String) {
    sqlx::query_as(
        "SELECT agreed_level, notes FROM strand_judgement WHERE assessment_id = $1 AND strand_key = $2",
    )
    .bind(assessment)
    .bind(key)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_assessor_agrees_silver_with_a_reason_and_the_head_acknowledges_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = assessor(&app, &w).await;
    // The authority's administrator sets awards to last 2 years.
    let admin = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let mut ad = app.signed_in(&admin).await;
    ad.get("/settings/award").await;
    let bad = ad.post("/settings/award", &[("years", "12")]).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body
            .contains("Enter a whole number of years from 1 to 10")
    );
    assert_eq!(
        ad.post("/settings/award", &[("years", "2")]).await.status,
        303
    );

    submitted(&app, &w, &assessor).await;
    let mut a = app.signed_in(&assessor).await;
    // The caseload: the submitted handbook, its visit ahead, is what needs the assessor.
    let caseload = a.get("/visits").await;
    assert_eq!(caseload.status, 200);
    assert!(caseload.body.contains("Riverside Primary"));
    assert!(
        caseload
            .body
            .contains("Read the submitted handbook before the visit")
    );
    let school = a.get(&format!("/visits/{}", w.assessment)).await;
    assert!(school.body.contains("Read the submitted handbook"));
    let theme = a.get(&format!("/visits/{}/themes/1", w.assessment)).await;
    assert_eq!(theme.status, 200);
    assert!(theme.body.contains("First day calls to every absent pupil"));
    assert!(theme.body.contains("Attendance policy"));
    // The document opens for the assessor.
    let doc_href = theme
        .body
        .split(&format!("/visits/{}/documents/", w.assessment))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let file = a
        .download(&format!("/visits/{}/documents/{doc_href}", w.assessment))
        .await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF"));

    // Every strand agreed at Silver (or at its one level where it has no Silver statement); a
    // stale retry of an older change is confirmed, not applied.
    let fw = app.catalogue.get("laqm", "v1").unwrap();
    let agreed: Vec<(String, String)> = fw
        .strands()
        .map(|(_, s)| {
            let level = if s.statements.contains_key("silver") {
                "silver".to_string()
            } else {
                s.statements.keys().next().unwrap().clone()
            };
            (s.key.clone(), level)
        })
        .collect();
    for (i, (key, level)) in agreed.iter().enumerate() {
        let (status, reply) = judge(
            &mut a,
            w.assessment,
            key,
            level,
            &format!("Note on {key}"),
            1_000 + i64::try_from(i).unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["status"], "saved");
    }
    let suggestion = aqm::framework::best_fit(
        &fw,
        &aqm::framework::BestFitRule::platform_default(&fw),
        &agreed.iter().cloned().collect(),
    )
    .overall;
    let (status, reply) = judge(&mut a, w.assessment, "1.1", "bronze", "older", 5).await;
    assert_eq!(status, 200);
    assert_eq!(reply["status"], "superseded");
    assert_eq!(
        stored(&app, w.assessment, "1.1").await,
        (Some("silver".into()), "Note on 1.1".into())
    );
    let (status, _) = judge(&mut a, w.assessment, "1.1", "platinum", "x", 9_999).await;
    assert_eq!(status, 422);

    // The award: suggested from the agreed levels; an award that differs needs a reason.
    let award = a.get(&format!("/visits/{}/award", w.assessment)).await;
    assert_eq!(award.status, 200);
    let suggested_name = suggestion
        .as_deref()
        .map_or("Not yet".to_string(), |k| fw.level(k).unwrap().name.clone());
    assert!(
        award.body.contains(&format!(
            "Suggested from the levels you agreed: {suggested_name}"
        )),
        "{}",
        award.body
    );
    let path = format!("/visits/{}/award", w.assessment);
    let other = if suggestion.as_deref() == Some("gold") {
        "bronze"
    } else {
        "gold"
    };
    let refused = a.post(&path, &[("outcome", other), ("reason", "  ")]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("Enter the reason for an award that differs from the suggested best fit")
    );
    assert_eq!(stage(&app, w.assessment).await, "submitted");
    let agreed = a
        .post(
            &path,
            &[
                ("outcome", "silver"),
                ("reason", "Theme 5 rests on one term's data."),
                ("strengths-1", "Daily first-day calls are embedded."),
                (
                    "development-1",
                    "Share the attendance policy with governors.",
                ),
            ],
        )
        .await;
    assert_eq!(agreed.status, 303, "{}", agreed.body);
    assert_eq!(stage(&app, w.assessment).await, "awarded");
    let (awarded_on, expires_on, code): (chrono::NaiveDate, chrono::NaiveDate, String) =
        sqlx::query_as(
            "SELECT awarded_on, expires_on, verify_code FROM award WHERE assessment_id = $1",
        )
        .bind(w.assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        expires_on,
        awarded_on
            .checked_add_months(chrono::Months::new(24))
            .unwrap(),
        "the authority's 2 years"
    );
    // Certificate and report emailed to lead and head.
    for who in ["lead@example.org", "head@example.org"] {
        let mails = mails_to(&app, who).await;
        assert!(
            mails
                .iter()
                .any(|(s, _, att)| s.contains("certificate") && *att),
            "{who}"
        );
        assert!(
            mails
                .iter()
                .any(|(s, _, att)| s.contains("assessment report") && *att),
            "{who}"
        );
    }
    // Judgements are closed once awarded.
    let (status, _) = judge(&mut a, w.assessment, "1.2", "gold", "late", 99_999).await;
    assert_eq!(status, 409);

    // The head reads and acknowledges the outcome; the lead cannot acknowledge.
    let mut head = app.signed_in(&w.head).await;
    let outcome = head
        .get(&format!("/assessments/{}/award", w.assessment))
        .await;
    assert_eq!(outcome.status, 200);
    assert!(outcome.body.contains("Award: Silver"));
    assert!(outcome.body.contains("Daily first-day calls are embedded."));
    assert!(outcome.body.contains("Acknowledge the outcome"));
    let ack = format!("/assessments/{}/award/acknowledge", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&format!("/assessments/{}/award", w.assessment))
        .await;
    assert_eq!(lead.post(&ack, &[]).await.status, 403);
    assert_eq!(head.post(&ack, &[]).await.status, 303);
    let again = head
        .get(&format!("/assessments/{}/award", w.assessment))
        .await;
    assert!(again.body.contains("Acknowledged by"));
    for pdf in ["certificate.pdf", "report.pdf"] {
        let r = lead
            .download(&format!("/assessments/{}/{pdf}", w.assessment))
            .await;
        assert_eq!(r.status(), 200, "{pdf}");
        assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
    }

    // The public check: the facts and nothing more, to someone not signed in.
    let verify = app.get(&format!("/verify/{code}")).await;
    assert_eq!(verify.status(), 200);
    let body = verify.text().await.unwrap();
    for fact in [
        "Riverside Primary",
        "liverpool City Council",
        "Silver",
        "Current",
    ] {
        assert!(body.contains(fact), "{fact} missing");
    }
    for secret in [
        "Daily first-day calls",
        "Theme 5 rests",
        "Note on 1.1",
        "assessor@example.org",
        "First day calls",
    ] {
        assert!(!body.contains(secret), "{secret} shown publicly");
    }
    sqlx::query("UPDATE award SET expires_on = current_date - 1 WHERE assessment_id = $1")
        .bind(w.assessment)
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = app
        .get(&format!("/verify/{code}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(expired.contains("Expired"));
    assert!(expired.contains("This award expired on"));
    assert_eq!(
        app.get("/verify/0123456789abcdef0123456789abcdef")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/verify/not-a-code").await.status(), 404);
}

async fn stage(app: &TestApp, assessment: Uuid) -> String {
    sqlx::query_scalar("SELECT stage FROM assessment WHERE id = $1")
        .bind(assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_assessor_moves_the_visit_and_is_warned_of_short_notice() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = assessor(&app, &w).await;
    let mut o = app.signed_in(&w.officer).await;
    assert_eq!(
        set_visit(&mut o, &w, &assessor, in_days(40)).await.status,
        303
    );
    let before = mails_to(&app, "lead@example.org").await.len();
    let mut a = app.signed_in(&assessor).await;
    let path = format!("/visits/{}/schedule", w.assessment);
    assert_eq!(a.get(&path).await.status, 200);
    // Tomorrow leaves the school less than 5 working days: warned, nothing changes.
    let soon = in_days(1);
    let fields = |d: chrono::NaiveDate| {
        vec![
            ("visit-day", d.format("%-d").to_string()),
            ("visit-month", d.format("%-m").to_string()),
            ("visit-year", d.format("%Y").to_string()),
            ("time", "10:00".to_string()),
        ]
    };
    let f = fields(soon);
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let warned = a.post(&path, &form).await;
    assert_eq!(warned.status, 422);
    assert!(
        warned.body.contains("less than 5 working days"),
        "{}",
        warned.body
    );
    assert_eq!(mails_to(&app, "lead@example.org").await.len(), before);
    // Confirming keeps it, and the school is emailed.
    let stamp = format!("{}T10:00", soon.format("%Y-%m-%d"));
    let mut confirmed = form.clone();
    confirmed.push(("confirm", &stamp));
    let kept = a.post(&path, &confirmed).await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    let mails = mails_to(&app, "lead@example.org").await;
    assert_eq!(mails.len(), before + 1);
    assert!(
        mails
            .last()
            .unwrap()
            .1
            .contains("Your assessor has changed")
    );
    // A date well ahead needs no confirmation.
    let f = fields(in_days(60));
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(a.post(&path, &form).await.status, 303);
    // Another assessor of the authority cannot reach it.
    let other = app
        .add_user(
            Some(w.tenant),
            Role::Assessor,
            None,
            "other-assessor@example.org",
        )
        .await;
    let mut b = app.signed_in(&other).await;
    assert_eq!(b.get(&path).await.status, 404);
    assert_eq!(
        b.get(&format!("/visits/{}", w.assessment)).await.status,
        404
    );
    assert!(!b.get("/visits").await.body.contains("Riverside Primary"));
}

#[tokio::test]
async fn a_renewal_carries_texts_and_links_and_marks_new_strands() {
    // A second version of the criteria with one more strand in key theme 1.
    let criteria = crate::helpers::temp_dir("criteria");
    std::fs::create_dir_all(criteria.join("laqm")).unwrap();
    let v1 = std::fs::read_to_string(crate::helpers::criteria_dir().join("laqm/v1.toml")).unwrap();
    std::fs::write(criteria.join("laqm/v1.toml"), &v1).unwrap();
    std::fs::write(criteria.join("laqm/v2.toml"), v2_of(&v1)).unwrap();
    let dir = criteria.clone();
    let app = spawn_app_with(move |c| c.criteria_dir = dir).await;
    let w = world(&app).await;
    // The handbook starts on v1 (enrolment would take the newest version).
    sqlx::query("UPDATE assessment SET framework_version = 'v1' WHERE id = $1")
        .bind(w.assessment)
        .execute(&app.pool)
        .await
        .unwrap();
    let assessor = assessor(&app, &w).await;
    submitted(&app, &w, &assessor).await;
    // Awarded (the award's own workflow is tested above).
    sqlx::query("UPDATE assessment SET stage = 'awarded' WHERE id = $1")
        .bind(w.assessment)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
         VALUES ($1, $2, $3, 'silver', 'silver', 'silver', current_date, current_date + 1000, md5(random()::text))",
    )
    .bind(w.tenant)
    .bind(w.assessment)
    .bind(assessor.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut lead = app.signed_in(&w.lead).await;
    let outcome = lead
        .get(&format!("/assessments/{}/award", w.assessment))
        .await;
    assert!(outcome.body.contains("Start the renewal handbook"));
    let renewed = lead
        .post(&format!("/assessments/{}/renew", w.assessment), &[])
        .await;
    assert_eq!(renewed.status, 303, "{}", renewed.body);
    let new_id: Uuid = sqlx::query_scalar("SELECT id FROM assessment WHERE renewal_of = $1")
        .bind(w.assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (version, status): (String, String) =
        sqlx::query_as("SELECT framework_version, status FROM assessment WHERE id = $1")
            .bind(new_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(version, "v2");
    assert_eq!(status, "open");
    let (actions, claimed): (String, Option<String>) = sqlx::query_as(
        "SELECT actions, claimed_level FROM strand_entry WHERE assessment_id = $1 AND strand_key = '1.1'",
    )
    .bind(new_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, "First day calls to every absent pupil's family.");
    assert_eq!(claimed, None, "the school claims again");
    let links: i64 =
        sqlx::query_scalar("SELECT count(*) FROM evidence_link WHERE assessment_id = $1")
            .bind(new_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(links, 1);
    let theme = lead.get(&format!("/assessments/{new_id}/themes/1")).await;
    assert_eq!(theme.status, 200);
    assert_eq!(
        theme.body.matches("New in this version").count(),
        1,
        "{}",
        theme.body
    );
    assert!(theme.body.contains("Strand 1.9"));
    // Once renewed, it cannot be renewed again; the old handbook stays readable.
    assert_eq!(
        lead.post(&format!("/assessments/{}/renew", w.assessment), &[])
            .await
            .status,
        409
    );
    assert_eq!(
        lead.get(&format!("/assessments/{}", w.assessment))
            .await
            .status,
        200
    );
}

/// v1's text as "v2" with one more strand, 1.9, in key theme 1.
fn v2_of(v1: &str) -> String {
    let v2 = v1.replacen("version = \"v1\"", "version = \"v2\"", 1);
    // The new strand goes right after theme 1's last strand table, before theme 2 begins.
    let theme2 = v2
        .find("[[themes]]\nnumber = 2")
        .expect("theme 2 in the file");
    let strand = "[[themes.strands]]\nkey = \"1.9\"\nlabel = \"1.9\"\ntitle = \"A strand new in v2\"\n\n[themes.strands.statements]\nbronze = \"A statement new in version 2.\"\n\n";
    format!("{}{strand}{}", &v2[..theme2], &v2[theme2..])
}

#[tokio::test]
async fn moderation_shows_each_assessors_agreement_with_claims() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let ann = app
        .add_user(Some(w.tenant), Role::Assessor, None, "ann@example.org")
        .await;
    let bob = app
        .add_user(Some(w.tenant), Role::Assessor, None, "bob@example.org")
        .await;
    // Riverside (Ann): 1.1 claimed gold agreed gold, 1.2 claimed gold agreed silver,
    // 2.1 claimed bronze agreed bronze. Hilltop (Bob): 1.1 claimed bronze agreed silver,
    // 2.1 no claim agreed none.
    // (strand, claimed, agreed) per handbook.
    type Strands<'a> = &'a [(&'a str, Option<&'a str>, &'a str)];
    let rows: [(Uuid, &TestUser, Strands); 2] = [
        (
            w.assessment,
            &ann,
            &[
                ("1.1", Some("gold"), "gold"),
                ("1.2", Some("gold"), "silver"),
                ("2.1", Some("bronze"), "bronze"),
            ],
        ),
        (
            w.other_assessment,
            &bob,
            &[("1.1", Some("bronze"), "silver"), ("2.1", None, "none")],
        ),
    ];
    for (assessment, who, strands) in rows {
        sqlx::query("UPDATE assessment SET stage = 'awarded', assessor_id = $2 WHERE id = $1")
            .bind(assessment)
            .bind(who.id)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
             VALUES ($1, $2, $3, 'silver', 'silver', 'gold', current_date, current_date + 1000, md5(random()::text))",
        )
        .bind(w.tenant)
        .bind(assessment)
        .bind(who.id)
        .execute(&app.pool)
        .await
        .unwrap();
        for (key, claimed, agreed) in strands {
            sqlx::query(
                "INSERT INTO strand_entry (tenant_id, assessment_id, strand_key, claimed_level) VALUES ($1, $2, $3, $4)",
            )
            .bind(w.tenant)
            .bind(assessment)
            .bind(key)
            .bind(claimed)
            .execute(&app.pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO strand_judgement (tenant_id, assessment_id, strand_key, agreed_level, updated_by) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(w.tenant)
            .bind(assessment)
            .bind(key)
            .bind(agreed)
            .bind(who.id)
            .execute(&app.pool)
            .await
            .unwrap();
        }
    }
    let mut o = app.signed_in(&w.officer).await;
    let page = o.get("/moderation").await;
    assert_eq!(page.status, 200);
    // Ann agreed with 2 of 3 (67%): theme 1 50%, theme 2 100%; Bob 1 of 2 (50%): theme 1 0%,
    // theme 2 100% (no claim, none of the levels agreed).
    assert!(page.body.contains("67% (2 of 3)"), "{}", page.body);
    assert!(page.body.contains("50% (1 of 2)"));
    assert!(
        page.body.contains(
            "Person ann@example.org agreed with the school&#39;s claim on 2 of 3 strands (67%)"
        ) || page.body.contains(
            "Person ann@example.org agreed with the school&#x27;s claim on 2 of 3 strands (67%)"
        ),
        "{}",
        page.body
    );
    let csv = o.download("/moderation.csv").await.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(
        csv.contains(
            "\"Riverside Primary\",\"1\",\"1.2\",\"Gold\",\"Silver\",\"lower than the claim\""
        ),
        "{csv}"
    );
    assert!(
        csv.contains(
            "\"Hilltop Primary\",\"1\",\"1.1\",\"Bronze\",\"Silver\",\"higher than the claim\""
        ),
        "{csv}"
    );
    assert!(
        csv.contains(
            "\"Hilltop Primary\",\"2\",\"2.1\",\"No claim\",\"None of the levels\",\"the claim\""
        ),
        "{csv}"
    );
    // The school's staff and assessors cannot see it.
    assert_eq!(
        app.signed_in(&w.lead).await.get("/moderation").await.status,
        403
    );
    assert_eq!(
        app.signed_in(&ann).await.get("/moderation").await.status,
        403
    );
}
