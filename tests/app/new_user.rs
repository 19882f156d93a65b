//! What a new user meets first: the handbook one click away, the service's own pages for a cut-off
//! link or an unreadable form, no form token in an address, and plain wording and counts.

use crate::handbook::world;
use crate::helpers::spawn_app;
use aqm::auth::Role;

#[tokio::test]
async fn an_enrolled_schools_staff_reach_the_handbook_from_home_in_one_click() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for user in [&w.lead, &w.head] {
        let mut v = app.signed_in(user).await;
        let home = v.get("/home").await;
        assert!(
            home.body.contains("Continue your handbook"),
            "{}",
            home.body
        );
        let href = format!("href=\"/assessments/{}\"", w.assessment);
        assert!(home.body.contains(&href));
        assert!(
            home.body
                .contains("0 of 40 strands have actions and evidence written")
        );
        let menu = v.get("/handbook").await;
        assert_eq!(
            menu.location,
            Some(format!("/assessments/{}", w.assessment))
        );
    }
    // A school not enrolled yet is told what will happen, and promised nothing else.
    let school = app.add_school(w.tenant, 100009, "Not Yet Primary").await;
    let lead = app
        .add_user(
            Some(w.tenant),
            Role::AttendanceLead,
            Some(school),
            "new-lead@example.org",
        )
        .await;
    let home = app.signed_in(&lead).await.get("/home").await;
    assert!(
        home.body
            .contains("opens when your local authority enrols the school")
    );
    assert!(!home.body.contains("Continue your handbook"));
    // Homes say only what works today.
    let assessor = app
        .add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await;
    let home = app.signed_in(&assessor).await.get("/home").await;
    // The award's pages exist now: the assessor's home says so and leads to them.
    assert!(home.body.contains("agree the award"));
    assert!(home.body.contains("href=\"/visits\""));
    let home = app.signed_in(&w.head).await.get("/home").await;
    assert!(!home.body.contains("approve it for the assessor"));
}

#[tokio::test]
async fn a_cut_off_id_is_the_services_own_not_found_page() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let mut officer = app.signed_in(&w.officer).await;
    for (as_lead, path) in [
        (true, "/assessments/d828db55-3ca3"),
        (true, "/evidence/abc/download"),
        (true, "/assessments/d828db55-3ca3/strands/1.1"),
        (false, "/people/xyz"),
        (false, "/cohorts/not-a-cohort"),
        (false, "/schools/12"),
    ] {
        let v = if as_lead { &mut lead } else { &mut officer };
        let page = v.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.body.contains("Page not found"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("UUID"), "{path}");
    }
    // A form whose field cannot be read gets the form error page, not a parser's message.
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);
    lead.get(&strand).await;
    let bad = lead.post(&strand, &[("version", "not a number")]).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("This form could not be read"),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains("Failed to deserialize"));
}

#[tokio::test]
async fn the_form_token_never_travels_in_an_address() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let page = lead.get("/evidence/upload").await;
    assert!(
        !page.body.contains("?csrf_token"),
        "the upload form posts the token in its address"
    );
    assert!(page.body.contains("action=\"/evidence/upload\""));
    // A token in the query string alone no longer counts.
    let token = lead.csrf();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("plan.pdf"),
    );
    let refused = app
        .client
        .post(format!(
            "{}/evidence/upload?csrf_token={token}",
            app.address
        ))
        .header("cookie", lead.cookie_header())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let mut admin = app
        .signed_in(
            &app.add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
                .await,
        )
        .await;
    let import = admin.get("/schools/import").await;
    assert!(!import.body.contains("?csrf_token"));
}

#[tokio::test]
async fn counts_and_wording_say_what_they_mean() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut o = app.signed_in(&w.officer).await;
    // Invited people are counted apart from active ones.
    o.get("/people/invite").await;
    let invited = o
        .post(
            "/people/invite",
            &[
                ("name", "Jo New"),
                ("email", "jo@example.org"),
                ("role", "assessor"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303);
    let home = o.get("/home").await;
    let fact = |label: &str| {
        let at = home
            .body
            .find(label)
            .unwrap_or_else(|| panic!("no {label}"));
        let rest = &home.body[at..];
        let start = rest.find("summary-list__value\">").unwrap() + "summary-list__value\">".len();
        rest[start..start + rest[start..].find('<').unwrap()].to_string()
    };
    assert_eq!(fact("Active accounts"), "4");
    assert_eq!(fact("Invited, not yet signed in"), "1");
    // Enrolling with no school chosen asks to choose one; success names the school.
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT id FROM cohort")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let school = app
        .add_school(w.tenant, 100010, "Meadow Lane Primary")
        .await;
    o.get(&format!("/cohorts/{cohort}")).await;
    let none = o
        .post(&format!("/cohorts/{cohort}/enrol"), &[("school", "")])
        .await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("Choose a school"));
    let done = o
        .post(
            &format!("/cohorts/{cohort}/enrol"),
            &[("school", &school.to_string())],
        )
        .await;
    let page = o.get(done.location.as_deref().unwrap()).await;
    assert!(
        page.body
            .contains("Meadow Lane Primary is enrolled and its handbook is open")
    );
    // The strand's document list starts with a choice, and Link with none chosen says so.
    let mut lead = app.signed_in(&w.lead).await;
    lead.upload(
        "/evidence/upload",
        "file",
        "plan.pdf",
        b"%PDF-1.4\n%plan\n".to_vec(),
        &[("title", "School Development Plan")],
    )
    .await;
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);
    let page = lead.get(&strand).await;
    assert!(
        page.body
            .contains("<option value=\"\" selected>Choose a document</option>")
    );
    let unchosen = lead
        .post(&format!("{strand}/evidence"), &[("evidence", "")])
        .await;
    assert_eq!(unchosen.status, 422);
    assert!(
        unchosen
            .body
            .contains("Choose a document to link to this strand")
    );
    // Previous and next strands are the pagination component, kept apart.
    let next = lead
        .get(&format!("/assessments/{}/strands/1.2", w.assessment))
        .await;
    assert!(next.body.contains("govuk-pagination--block"));
    // People read "authority administrator".
    let admin = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let home = app.signed_in(&admin).await.get("/home").await;
    assert!(home.body.contains("Authority administrator"));
    assert!(!home.body.contains("Tenant admin"));
}
