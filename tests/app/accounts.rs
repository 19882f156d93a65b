//! Sign-in, sessions, CSRF, invitations and resets, deactivation, and row-level security.

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use aqm::auth::Role;
use uuid::Uuid;

struct World {
    tenant: Uuid,
    school: Uuid,
}

async fn world(app: &TestApp) -> World {
    let build = crate::world::Builder::new(app);
    let tenant = build.tenant("liverpool").await;
    let school = build.school(tenant, 100001, "Riverside Primary").await;
    World { tenant, school }
}

#[tokio::test]
async fn each_role_signs_in_and_lands_on_its_own_home() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // (role, heading, the pages of its work its menu must lead to, a page it must not offer)
    let cases = [
        (
            Role::AttendanceLead,
            "Attendance Lead home",
            &["/handbook", "/evidence", "/frameworks"][..],
            "/people",
        ),
        (
            Role::HeadTeacher,
            "Head teacher home",
            &["/handbook", "/evidence", "/people"][..],
            "/audit",
        ),
        (
            Role::Assessor,
            "Assessor home",
            &["/frameworks"][..],
            "/people",
        ),
        (
            Role::LaOfficer,
            "LA officer home",
            &["/cohorts", "/schools", "/people", "/audit"][..],
            "/operator/tenants",
        ),
        (
            Role::TenantAdmin,
            "Authority administrator home",
            &["/schools", "/people", "/settings/best-fit", "/audit"][..],
            "/operator/tenants",
        ),
        (
            Role::PlatformOperator,
            "Platform operator home",
            &["/operator/tenants", "/operator/mail"][..],
            "/people",
        ),
    ];
    for (i, (role, heading, work, forbidden_link)) in cases.into_iter().enumerate() {
        let tenant = (role != Role::PlatformOperator).then_some(w.tenant);
        let school = role.is_school_role().then_some(w.school);
        let user = app
            .add_user(tenant, role, school, &format!("person{i}@example.org"))
            .await;
        let mut v = app.visitor();
        let page = v.sign_in(&user.email, PASSWORD).await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/home"));
        let home = v.get("/home").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains(heading), "{role:?}: {}", home.body);
        // The menu leads to the role's work, one click away, and each of those pages opens.
        let nav_start = home.body.find("govuk-service-navigation").expect("a menu");
        let nav_end = home.body[nav_start..]
            .find("</nav>")
            .map_or(home.body.len(), |e| nav_start + e);
        let nav = &home.body[nav_start..nav_end];
        for href in work {
            assert!(
                nav.contains(&format!("href=\"{href}\"")),
                "{role:?}'s menu does not lead to {href}"
            );
            let page = v.get(href).await;
            assert!(
                page.status == 200 || page.status == 303,
                "{role:?}: {href} answered {}",
                page.status
            );
        }
        // Navigation offers only what the role may do.
        assert!(
            !home.body.contains(&format!("href=\"{forbidden_link}\"")),
            "{role:?} is offered {forbidden_link}"
        );
        let out = v.post("/sign-out", &[]).await;
        assert_eq!(out.status, 303);
        let after = v.get("/home").await;
        assert_eq!(after.status, 303, "signed out");
        assert!(after.location.unwrap().starts_with("/sign-in"));
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.add_user(Some(w.tenant), Role::Assessor, None, "known@example.org")
        .await;
    let mut a = app.visitor();
    let wrong = a
        .sign_in("known@example.org", "not the password at all")
        .await;
    let mut b = app.visitor();
    let unknown = b
        .sign_in("nobody@example.org", "not the password at all")
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(unknown.status, 422);
    // The pages differ only in the email typed and the form's CSRF token.
    let normalise = |body: &str, email: &str| {
        let mut out = body.replace(email, "EMAIL");
        let marker = "name=\"csrf_token\" value=\"";
        if let Some(i) = out.find(marker) {
            let start = i + marker.len();
            out.replace_range(start..start + 64, "TOKEN");
        }
        out
    };
    assert_eq!(
        normalise(&wrong.body, "known@example.org"),
        normalise(&unknown.body, "nobody@example.org")
    );
    assert!(
        wrong
            .body
            .contains("The email address or password is not right")
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let user = app
        .add_user(Some(w.tenant), Role::LaOfficer, None, "officer@example.org")
        .await;
    let mut v = app.visitor();
    for _ in 0..5 {
        assert_eq!(
            v.sign_in(&user.email, "wrong password here").await.status,
            422
        );
    }
    let page = v.sign_in(&user.email, PASSWORD).await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("Too many failed attempts"));
    // Unknown accounts are throttled the same way, so throttling reveals nothing.
    let mut u = app.visitor();
    for _ in 0..5 {
        u.sign_in("ghost@example.org", "wrong password here").await;
    }
    assert_eq!(u.sign_in("ghost@example.org", "x").await.status, 429);
}

#[tokio::test]
async fn requests_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let user = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let mut v = app.visitor();
    v.get("/sign-in").await;
    let no_token = v
        .post_raw(
            "/sign-in",
            &[("email", &user.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(no_token.status, 403);
    let bad_token = v
        .post_raw(
            "/sign-in",
            &[
                ("csrf_token", &"0".repeat(64)),
                ("email", &user.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad_token.status, 403);

    let mut signed_in = app.signed_in(&user).await;
    let forged = signed_in.post_raw("/sign-out", &[]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(signed_in.get("/home").await.status, 200, "still signed in");

    // A cross-site request is refused even when it carries a token.
    let resp = app
        .client
        .post(format!("{}/sign-out", app.address))
        .header(
            "cookie",
            format!("aqm_session={}", signed_in.cookies["aqm_session"]),
        )
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_dies() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let user = app
        .add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await;
    let mut v = app.signed_in(&user).await;
    let first = v.cookies["aqm_session"].clone();
    v.sign_in(&user.email, PASSWORD).await;
    let second = v.cookies["aqm_session"].clone();
    assert_ne!(first, second);
    let mut old = app.visitor();
    old.cookies.insert("aqm_session".into(), first);
    assert_eq!(
        old.get("/home").await.status,
        303,
        "the old session is gone"
    );
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM user_session")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], second.as_bytes(), "only the hash is stored");
}

/// The set-password link in the last email to `to`.
/// The link in the latest email to `to` that has one, waiting a little for it: reset links are queued after
/// the answer to the form has gone.
pub async fn emailed_link(app: &TestApp, to: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text: String = loop {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT body_text FROM outbox WHERE to_address = $1 AND body_text LIKE '%/set-password/%'
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(to)
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        if let Some(text) = text {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "no email to {to}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let start = text.find(&app.address).expect("the email holds a link");
    let link = text[start..].split_whitespace().next().unwrap();
    link.trim_start_matches(&app.address).to_string()
}

#[tokio::test]
async fn an_invited_person_sets_a_password_once_and_signs_in() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let mut a = app.signed_in(&admin).await;
    let school = w.school.to_string();
    let bad = a
        .post(
            "/people/invite",
            &[
                ("name", ""),
                ("email", "nope"),
                ("role", "attendance_lead"),
                ("school", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Enter the person&#39;s full name"));
    assert!(
        bad.body
            .contains("Enter an email address in the correct format")
    );
    assert!(bad.body.contains("Select the school this person works at"));
    let sent = a
        .post(
            "/people/invite",
            &[
                ("name", "Jane Lead"),
                ("email", "Jane.Lead@Example.org"),
                ("role", "attendance_lead"),
                ("school", &school),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let link = emailed_link(&app, "jane.lead@example.org").await;
    assert!(link.starts_with("/set-password/"));

    let mut jane = app.visitor();
    let form = jane.get(&link).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Create your password"));
    let weak = jane
        .post(
            &link,
            &[("password", "password1234"), ("confirm", "password1234")],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("too common"));
    let set = jane
        .post(
            &link,
            &[
                ("password", "a long and private phrase"),
                ("confirm", "a long and private phrase"),
            ],
        )
        .await;
    assert_eq!(set.status, 303);
    let again = jane.get(&link).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already been used"));
    let signed = jane
        .sign_in("jane.lead@example.org", "a long and private phrase")
        .await;
    assert_eq!(signed.status, 303);
    assert!(jane.get("/home").await.body.contains("Riverside Primary"));

    let events: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_event WHERE tenant_id = $1 ORDER BY id")
            .bind(w.tenant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for expected in ["user.invited", "user.password_created", "sign_in.succeeded"] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} missing: {events:?}"
        );
    }
}

#[tokio::test]
async fn expired_and_unknown_links_get_a_clear_page() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let user = app
        .add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await;
    let mut v = app.visitor();
    v.get("/password-reset").await;
    let asked = v.post("/password-reset", &[("email", &user.email)]).await;
    assert_eq!(asked.status, 303);
    // An unknown address gets the same answer and no email.
    let unknown = v
        .post("/password-reset", &[("email", "ghost@example.org")])
        .await;
    assert_eq!(unknown.status, 303);
    assert_eq!(asked.location, unknown.location);
    let link = emailed_link(&app, &user.email).await;
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(mails, 1);

    sqlx::query("UPDATE user_token SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = v.get(&link).await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("This link has expired"));
    let post_expired = v
        .post(
            &link,
            &[
                ("password", "a long and private phrase"),
                ("confirm", "a long and private phrase"),
            ],
        )
        .await;
    assert_eq!(post_expired.status, 410);
    let unknown = v.get(&format!("/set-password/{}", "ab".repeat(32))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("This link is not valid"));
    let junk = v.get("/set-password/..%2F..%2Fetc").await;
    assert_eq!(junk.status, 404);
}

#[tokio::test]
async fn a_reset_ends_every_session_and_the_new_password_works() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let user = app
        .add_user(Some(w.tenant), Role::LaOfficer, None, "officer@example.org")
        .await;
    let mut elsewhere = app.signed_in(&user).await;
    let mut v = app.visitor();
    v.get("/password-reset").await;
    v.post("/password-reset", &[("email", &user.email)]).await;
    let link = emailed_link(&app, &user.email).await;
    v.get(&link).await;
    let set = v
        .post(
            &link,
            &[
                ("password", "another long phrase here"),
                ("confirm", "another long phrase here"),
            ],
        )
        .await;
    assert_eq!(set.status, 303);
    assert_eq!(elsewhere.get("/home").await.status, 303, "old sessions end");
    assert_eq!(v.sign_in(&user.email, PASSWORD).await.status, 422);
    assert_eq!(
        v.sign_in(&user.email, "another long phrase here")
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn a_deactivated_persons_open_session_stops_at_once() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let head = app
        .add_user(
            Some(w.tenant),
            Role::HeadTeacher,
            Some(w.school),
            "head@example.org",
        )
        .await;
    let lead = app
        .add_user(
            Some(w.tenant),
            Role::AttendanceLead,
            Some(w.school),
            "lead@example.org",
        )
        .await;
    let mut lead_browser = app.signed_in(&lead).await;
    assert_eq!(lead_browser.get("/home").await.status, 200);
    // The head hands the lead role on: the leaving lead is deactivated.
    let mut h = app.signed_in(&head).await;
    h.get(&format!("/people/{}", lead.id)).await;
    let done = h
        .post(&format!("/people/{}/deactivate", lead.id), &[])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(lead_browser.get("/home").await.status, 303);
    assert_eq!(
        lead_browser.sign_in(&lead.email, PASSWORD).await.status,
        422
    );
    let people = h.get("/people").await;
    assert!(people.body.contains("Deactivated"));
}

#[tokio::test]
async fn row_level_security_alone_hides_other_tenants_rows() {
    let app = spawn_app().await;
    let a = app.add_tenant("alpha").await;
    let b = app.add_tenant("beta").await;
    app.add_school(a, 1, "Alpha One").await;
    app.add_school(a, 2, "Alpha Two").await;
    app.add_school(b, 3, "Beta Three").await;
    app.add_user(Some(b), Role::TenantAdmin, None, "b@example.org")
        .await;
    let mut tx = app.db.tenant_tx(a).await.unwrap();
    // Deliberately unscoped: no tenant in the WHERE clause.
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM school ORDER BY name")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, vec!["Alpha One", "Alpha Two"]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM app_user")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(users, 0);
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenants, 1);
    // Writing into another tenant is refused by the policy.
    let cross = sqlx::query(
        "INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status)
         VALUES (gen_random_uuid(), $1, 9, 'Sneaky', 'primary', '1', 'open')",
    )
    .bind(b)
    .execute(&mut *tx)
    .await;
    assert!(cross.is_err());
    drop(tx);
    // Outside a tenant transaction the web role sees nothing at all.
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM school")
        .fetch_one(app.db.app_pool())
        .await
        .unwrap();
    assert_eq!(none, 0);
    // And the audit log cannot be rewritten, even by the owner.
    sqlx::query("INSERT INTO audit_event (action) VALUES ('test')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(
        sqlx::query("DELETE FROM audit_event")
            .execute(&app.pool)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn invitation_mail_is_written_and_listed_for_the_operator() {
    let app = spawn_app().await;
    let operator = app
        .add_user(None, Role::PlatformOperator, None, "op@example.org")
        .await;
    let mut op = app.signed_in(&operator).await;
    let made = op
        .post(
            "/operator/tenants",
            &[
                ("name", "Rhondda Cynon Taf"),
                ("slug", "rct"),
                ("nation", "wales"),
                ("admin_name", "Rhian Admin"),
                ("admin_email", "rhian@rct.example"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let taken = op
        .post(
            "/operator/tenants",
            &[
                ("name", "Again"),
                ("slug", "rct"),
                ("nation", "wales"),
                ("admin_name", "X"),
                ("admin_email", "x@rct.example"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(
        taken
            .body
            .contains("An authority already uses this short name")
    );
    // The worker writes the invitation as an .eml file; the operator's page lists it, with when
    // it was written in UK time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = op.get("/operator/mail").await;
        if page.body.contains("rhian@rct.example") {
            assert!(
                page.body
                    .contains("You are invited to the Attendance Quality Mark service")
            );
            let file = std::fs::read_dir(app.data_dir.join("mail"))
                .unwrap()
                .flatten()
                .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .unwrap();
            let summer = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_814_694_300);
            std::fs::File::options()
                .write(true)
                .open(file.path())
                .unwrap()
                .set_modified(summer)
                .unwrap();
            let page = op.get("/operator/mail").await;
            // 2027-07-04 09:45 UTC is 10:45 in the UK (summer time).
            assert!(page.body.contains("4 July 2027 at 10:45"), "{}", page.body);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the invitation was not written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM outbox WHERE to_address = 'rhian@rct.example'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
}
