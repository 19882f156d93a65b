//! The handbook: enrolment opens it, the lead and head fill in strands, the best fit follows the
//! claims, stale saves are refused with both texts kept, and pupil data is caught before saving.

use crate::helpers::{TestApp, TestUser, Visitor, spawn_app};
use aqm::auth::Role;
use uuid::Uuid;

pub struct World {
    pub tenant: Uuid,
    pub school: Uuid,
    pub other_school: Uuid,
    pub assessment: Uuid,
    pub other_assessment: Uuid,
    pub lead: TestUser,
    pub head: TestUser,
    pub other_lead: TestUser,
    pub officer: TestUser,
}

/// The id in the location of a redirect to /assessments/<id>.
async fn enrol(officer: &mut Visitor, cohort_path: &str, school: Uuid) {
    officer.get(cohort_path).await;
    let done = officer
        .post(
            &format!("{cohort_path}/enrol"),
            &[("school", &school.to_string())],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
}

/// A tenant with two schools enrolled in cohort 2026/27 through the officer's pages.
pub async fn world(app: &TestApp) -> World {
    let build = crate::world::Builder::new(app);
    let tenant = build.tenant("liverpool").await;
    let school = build.school(tenant, 100001, "Riverside Primary").await;
    let other_school = build.school(tenant, 100002, "Hilltop Primary").await;
    let mut people = build
        .people(&[
            (
                "officer",
                "officer@example.org",
                Some(tenant),
                Role::LaOfficer,
                None,
            ),
            (
                "lead",
                "lead@example.org",
                Some(tenant),
                Role::AttendanceLead,
                Some(school),
            ),
            (
                "head",
                "head@example.org",
                Some(tenant),
                Role::HeadTeacher,
                Some(school),
            ),
            (
                "other",
                "other@example.org",
                Some(tenant),
                Role::AttendanceLead,
                Some(other_school),
            ),
        ])
        .await;
    let mut take = |key: &str| people.remove(key).expect("added above");
    let (officer, lead, head, other_lead) =
        (take("officer"), take("lead"), take("head"), take("other"));
    let mut o = app.signed_in(&officer).await;
    o.get("/cohorts").await;
    let made = o.post("/cohorts", &[("name", "2026/27")]).await;
    assert_eq!(made.status, 303);
    let cohort_path = made.location.unwrap();
    enrol(&mut o, &cohort_path, school).await;
    enrol(&mut o, &cohort_path, other_school).await;
    let id = |s: Uuid| async move {
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM assessment WHERE school_id = $1")
            .bind(s)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    World {
        tenant,
        school,
        other_school,
        assessment: id(school).await,
        other_assessment: id(other_school).await,
        lead,
        head,
        other_lead,
        officer,
    }
}

fn strand(w: &World, key: &str) -> String {
    format!("/assessments/{}/strands/{key}", w.assessment)
}

#[tokio::test]
async fn enrolment_opens_one_handbook_pinned_to_the_current_framework() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (key, version): (String, String) =
        sqlx::query_as("SELECT framework_key, framework_version FROM assessment WHERE id = $1")
            .bind(w.assessment)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((key.as_str(), version.as_str()), ("laqm", "v1"));
    // A school with an open handbook cannot be enrolled again.
    let mut o = app.signed_in(&w.officer).await;
    let cohort: Uuid = sqlx::query_scalar("SELECT id FROM cohort")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    o.get(&format!("/cohorts/{cohort}")).await;
    let again = o
        .post(
            &format!("/cohorts/{cohort}/enrol"),
            &[("school", &w.school.to_string())],
        )
        .await;
    assert_eq!(again.status, 422);
    let duplicate = o.post("/cohorts", &[("name", "2026/27")]).await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.body.contains("already exists"));

    let mut lead = app.signed_in(&w.lead).await;
    let go = lead.get("/handbook").await;
    assert_eq!(go.location, Some(format!("/assessments/{}", w.assessment)));
    let overview = lead.get(&format!("/assessments/{}", w.assessment)).await;
    assert_eq!(overview.status, 200);
    assert!(
        overview
            .body
            .contains("Suggested best fit overall: Not yet")
    );
    assert_eq!(overview.body.matches("Not started").count(), 40);
}

#[tokio::test]
async fn the_lead_completes_a_strand_and_the_best_fit_follows_the_claims() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    for key in ["1.1", "1.2", "1.3"] {
        let page = lead.get(&strand(&w, key)).await;
        assert_eq!(page.status, 200);
        let saved = lead
            .post(
                &strand(&w, key),
                &[
                    ("version", "0"),
                    ("actions", "Our policy is reviewed each year by governors."),
                    ("level", "silver"),
                    ("impact", "Attendance rose by 1.2 points."),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
    let page = lead.get(&strand(&w, "1.1")).await;
    assert!(
        page.body
            .contains("Our policy is reviewed each year by governors.")
    );
    assert!(page.body.contains("Last saved"));
    let overview = lead.get(&format!("/assessments/{}", w.assessment)).await;
    assert!(
        overview.body.contains("Suggested best fit: Silver."),
        "{}",
        overview.body
    );
    assert!(
        overview
            .body
            .contains("Silver: every strand of theme 1 is claimed at Silver or above")
    );
    // The head of the same school sees the same handbook.
    let mut head = app.signed_in(&w.head).await;
    let seen = head.get(&strand(&w, "1.2")).await;
    assert!(
        seen.body
            .contains("Our policy is reviewed each year by governors.")
    );
    // A level the strand does not have is refused (2.6 is Gold only).
    let wrong = lead
        .post(
            &strand(&w, "2.6"),
            &[("version", "0"), ("actions", "x"), ("level", "bronze")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("Select a level this strand has"));
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_event WHERE action = 'strand.saved'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 3);
}

/// Times read "2 December 2026 at 12:52", in UK time whether or not clocks have gone forward;
/// dates "2 December 2026".
#[tokio::test]
async fn times_and_dates_are_shown_in_words_in_uk_time() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&strand(&w, "1.1")).await;
    let saved = lead
        .post(
            &strand(&w, "1.1"),
            &[("version", "0"), ("actions", "Termly reports.")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    for (stored, shown) in [
        ("2026-12-02 12:52:00+00", "2 December 2026 at 12:52"),
        ("2027-07-01 11:05:00+00", "1 July 2027 at 12:05"),
    ] {
        sqlx::query("UPDATE strand_entry SET updated_at = $1::timestamptz")
            .bind(stored)
            .execute(&app.pool)
            .await
            .unwrap();
        let page = lead.get(&strand(&w, "1.1")).await;
        let expected = format!("Last saved {shown} by Person lead@example.org");
        assert!(page.body.contains(&expected), "{expected}: {}", page.body);
    }
    let today: String = sqlx::query_scalar(
        "SELECT to_char(now() AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let print = lead
        .get(&format!("/assessments/{}/print", w.assessment))
        .await;
    assert!(
        print.body.contains(&format!("Produced {today}.")),
        "{}",
        print.body
    );
}

#[tokio::test]
async fn a_stale_save_is_refused_and_both_texts_survive() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let mut head = app.signed_in(&w.head).await;
    // Both open the strand at version 0; the head saves first.
    lead.get(&strand(&w, "3.1")).await;
    head.get(&strand(&w, "3.1")).await;
    let first = head
        .post(
            &strand(&w, "3.1"),
            &[
                ("version", "0"),
                ("actions", "Head's text about first day calls."),
                ("level", "bronze"),
            ],
        )
        .await;
    assert_eq!(first.status, 303);
    let second = lead
        .post(
            &strand(&w, "3.1"),
            &[
                ("version", "0"),
                ("actions", "Lead's text about home visits."),
                ("level", "silver"),
            ],
        )
        .await;
    assert_eq!(second.status, 409);
    assert!(
        second
            .body
            .contains("saved this strand while you were editing it")
    );
    assert!(
        second
            .body
            .contains("Head&#39;s text about first day calls.")
    );
    assert!(second.body.contains("Lead&#39;s text about home visits."));
    // Both versions show their level claimed.
    assert!(
        second
            .body
            .contains(r#"<p class="govuk-body" id="their-level">Bronze</p>"#),
        "{}",
        second.body
    );
    assert!(
        second
            .body
            .contains(r#"<p class="govuk-body" id="your-level">Silver</p>"#),
        "{}",
        second.body
    );
    // Stored: the head's; kept: both attempts.
    let stored: String =
        sqlx::query_scalar("SELECT actions FROM strand_entry WHERE strand_key = '3.1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, "Head's text about first day calls.");
    let attempts: Vec<(String, String)> = sqlx::query_as(
        "SELECT outcome, actions FROM strand_revision WHERE strand_key = '3.1' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        attempts,
        vec![
            ("saved".into(), "Head's text about first day calls.".into()),
            ("conflict".into(), "Lead's text about home visits.".into())
        ]
    );
    // The conflict page's form is at the current version: saving it now is deliberate and works.
    let merged = lead
        .post(
            &strand(&w, "3.1"),
            &[("version", "1"), ("actions", "Both: calls and visits.")],
        )
        .await;
    assert_eq!(merged.status, 303);
}

#[tokio::test]
async fn autosave_answers_json_and_refuses_stale_versions_without_losing_text() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&strand(&w, "5.6")).await;
    let csrf = {
        let page = lead.get(&strand(&w, "5.6")).await;
        let marker = "name=\"csrf_token\" value=\"";
        let i = page.body.find(marker).unwrap() + marker.len();
        page.body[i..i + 64].to_string()
    };
    let send = |version: &str, text: &str| {
        let cookie = lead
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        app.client
            .post(format!("{}{}", app.address, strand(&w, "5.6")))
            .header("cookie", cookie)
            .header("accept", "application/json")
            .header("x-csrf-token", csrf.clone())
            .form(&[
                ("version", version.to_string()),
                ("actions", text.to_string()),
                ("level", "bronze".to_string()),
            ])
            .send()
    };
    let saved: serde_json::Value = send("0", "Registers checked daily.")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["status"], "saved", "{saved}");
    assert_eq!(saved["version"], 1);
    let stale = send("0", "Older text from another tab.").await.unwrap();
    assert_eq!(stale.status(), 409);
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM strand_revision WHERE actions = 'Older text from another tab.'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn long_text_and_pupil_data_are_caught_before_saving() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&strand(&w, "1.1")).await;
    let long = "a".repeat(20_001);
    let too_long = lead
        .post(&strand(&w, "1.1"), &[("version", "0"), ("actions", &long)])
        .await;
    assert_eq!(too_long.status, 422);
    assert!(
        too_long
            .body
            .contains("must be 20000 characters or fewer; it is 20001")
    );
    assert!(
        too_long.body.contains(&long),
        "the text typed is given back"
    );

    let upn = "Pupil A123456789012 improved after home visits.";
    let warned = lead
        .post(&strand(&w, "1.1"), &[("version", "0"), ("actions", upn)])
        .await;
    assert_eq!(warned.status, 422);
    assert!(warned.body.contains("looks like a Unique Pupil Number"));
    assert!(warned.body.contains(upn));
    let nothing: i64 = sqlx::query_scalar("SELECT count(*) FROM strand_entry")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(nothing, 0);
    let confirmed = lead
        .post(
            &strand(&w, "1.1"),
            &[
                ("version", "0"),
                ("actions", upn),
                ("not_pupil_data", "yes"),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_event WHERE action = 'pupil_data.confirmed_absent'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn another_school_and_another_tenant_cannot_reach_the_handbook() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let outsider_tenant = app.add_tenant("elsewhere").await;
    let outsider_school = app
        .add_school(outsider_tenant, 300001, "Far Away Primary")
        .await;
    let outsider = app
        .add_user(
            Some(outsider_tenant),
            Role::AttendanceLead,
            Some(outsider_school),
            "far@example.org",
        )
        .await;
    let mut other = app.signed_in(&w.other_lead).await;
    let mut far = app.signed_in(&outsider).await;
    let paths = [
        format!("/assessments/{}", w.assessment),
        format!("/assessments/{}/themes/1", w.assessment),
        strand(&w, "1.1"),
    ];
    for path in &paths {
        assert_eq!(other.get(path).await.status, 404, "{path}");
        assert_eq!(far.get(path).await.status, 404, "{path}");
    }
    other
        .get(&format!("/assessments/{}", w.other_assessment))
        .await;
    assert_eq!(
        other
            .post(
                &strand(&w, "1.1"),
                &[("version", "0"), ("actions", "sneaky")]
            )
            .await
            .status,
        404
    );
    assert_eq!(
        far.post(
            &strand(&w, "1.1"),
            &[("version", "0"), ("actions", "sneaky")]
        )
        .await
        .status,
        404
    );
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM strand_entry")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
    let _ = (w.tenant, w.other_school);
}

/// Each strand is shown with the platform's short title, and the two strands the handbook prints
/// as 4.5 are told apart wherever a person sees them: theme, strand, evidence and criteria pages.
#[tokio::test]
async fn strands_show_their_titles_and_the_two_printed_4_5_apart() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let community = "Strand 4.5 (community): Out in the local community";
    let charter = "Strand 4.5 (charter): The Liverpool Attendance Charter";

    let theme = lead
        .get(&format!("/assessments/{}/themes/4", w.assessment))
        .await;
    assert!(theme.body.contains(community) && theme.body.contains(charter));
    assert!(theme.body.contains("Strand 4.1: Transition"));

    let page = lead.get(&strand(&w, "4.5-charter")).await;
    assert!(
        page.body
            .contains(&format!("<h1 class=\"govuk-heading-l\">{charter}</h1>"))
    );
    assert!(page.body.contains("Bronze 4.5 (charter)"));
    // Previous and next name the neighbours the same way.
    assert!(page.body.contains(community));
    assert!(
        page.body
            .contains("Strand 4.6: Support and challenge for parents")
    );

    let done = crate::evidence::upload(
        &mut lead,
        "charter.pdf",
        crate::evidence::PDF,
        "Charter photo",
        &[],
    )
    .await;
    let id = crate::evidence::uploaded_id(&done);
    let details = lead.get(&format!("/evidence/{id}")).await;
    assert!(
        details
            .body
            .contains(&format!("<option value=\"4.5-charter\">{charter}</option>"))
    );
    assert!(details.body.contains(&format!(
        "<option value=\"4.5-community\">{community}</option>"
    )));
    let linked = lead
        .post(
            &format!("/evidence/{id}/links"),
            &[("strand", "4.5-charter")],
        )
        .await;
    assert_eq!(linked.status, 303);
    let details = lead.get(&format!("/evidence/{id}")).await;
    assert!(details.body.contains(&format!(">{charter}</a>")));
    assert!(details.body.contains(&format!(" from {charter}</span>")));

    let criteria = lead.get("/frameworks/laqm/v1").await;
    assert!(criteria.body.contains(community) && criteria.body.contains(charter));
    assert!(criteria.body.contains("are this service"));
}
