//! Sign-in throttling that holds under concurrency and hands nobody a lock-out button; control
//! characters in what people send; accounts kept private; the audit log out of the web
//! process's reach.

use crate::accounts::emailed_link;
use crate::handbook::world as handbook_world;
use crate::helpers::{PASSWORD, TestApp, spawn_app};
use aqm::auth::Role;
use std::time::Duration;
use uuid::Uuid;

async fn officer(app: &TestApp) -> (Uuid, crate::helpers::TestUser) {
    let tenant = app.add_tenant("liverpool").await;
    let user = app
        .add_user(Some(tenant), Role::LaOfficer, None, "officer@example.org")
        .await;
    (tenant, user)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn concurrent_guesses_are_checked_no_more_often_than_the_limit() {
    let app = spawn_app().await;
    let (_, user) = officer(&app).await;
    let mut v = app.visitor();
    v.get("/sign-in").await;
    let (cookie, csrf) = (v.cookie_header(), v.csrf());
    // 59 wrong passwords and the right one last, all at once.
    let mut sent = Vec::new();
    for i in 0..60 {
        let password = if i == 59 {
            PASSWORD.to_string()
        } else {
            format!("wrong guess number {i}")
        };
        let request = app
            .client
            .post(format!("{}/sign-in", app.address))
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf_token", csrf.clone()),
                ("email", user.email.clone()),
                ("password", password),
            ]);
        sent.push(tokio::spawn(async move {
            request.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for s in sent {
        statuses.push(s.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 5,
        "{checked} of 60 attempts were checked: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| [303, 422, 429].contains(s)));
    let recorded = count(
        &app,
        "SELECT count(*) FROM sign_in_attempt WHERE email = 'officer@example.org'",
    )
    .await;
    assert!(recorded <= 5, "{recorded} attempts recorded");
}

/// The load benchmark's switch: sign-ins neither counted nor limited, and only on a loopback
/// address, so it cannot be left on a server people reach.
#[tokio::test]
async fn the_benchmarks_unthrottled_sign_in_is_refused_off_loopback() {
    let app = crate::helpers::spawn_app_with(|c| c.bench_unthrottled_sign_in = true).await;
    let (_, user) = officer(&app).await;
    let mut v = app.visitor();
    v.get("/sign-in").await;
    let (cookie, csrf) = (v.cookie_header(), v.csrf());
    let mut sent = Vec::new();
    for _ in 0..12 {
        let request = app
            .client
            .post(format!("{}/sign-in", app.address))
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf_token", csrf.clone()),
                ("email", user.email.clone()),
                ("password", PASSWORD.to_string()),
            ]);
        sent.push(tokio::spawn(async move {
            request.send().await.unwrap().status().as_u16()
        }));
    }
    for s in sent {
        assert_eq!(s.await.unwrap(), 303, "every concurrent sign-in succeeds");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM sign_in_attempt").await, 0);

    let database = crate::helpers::fresh_database().await;
    let pool = aqm::db::pool(crate::helpers::options(&database))
        .await
        .unwrap();
    let mut config = crate::helpers::test_config(&crate::helpers::criteria_dir());
    config.bind = "0.0.0.0:0".parse().unwrap();
    config.bench_unthrottled_sign_in = true;
    let catalogue = aqm::startup::load_criteria(&config).unwrap();
    let refused = aqm::startup::build(config, catalogue, pool).await;
    assert!(
        refused.is_err(),
        "the switch is refused on a public address"
    );
}

#[tokio::test]
async fn strangers_guesses_do_not_lock_the_person_out_of_a_device_they_used_before() {
    let app = spawn_app().await;
    let (_, user) = officer(&app).await;
    // The person signs in once on their own computer, then signs out.
    let mut own = app.signed_in(&user).await;
    assert!(own.cookies.contains_key("aqm_device"));
    assert_eq!(own.post("/sign-out", &[]).await.status, 303);
    assert!(own.cookies.contains_key("aqm_device"), "kept at sign-out");

    // Someone else guesses five times.
    let mut stranger = app.visitor();
    for _ in 0..5 {
        let page = stranger.sign_in(&user.email, "not the password").await;
        assert_eq!(page.status, 422);
    }
    assert_eq!(stranger.sign_in(&user.email, PASSWORD).await.status, 429);
    // A browser the person never used waits like the stranger's...
    let mut fresh = app.visitor();
    assert_eq!(fresh.sign_in(&user.email, PASSWORD).await.status, 429);
    // ...but their own computer signs in.
    assert_eq!(own.sign_in(&user.email, PASSWORD).await.status, 303);
    assert_eq!(own.post("/sign-out", &[]).await.status, 303);

    // A known device has five failures of its own; after them it is a stranger too.
    for _ in 0..5 {
        assert_eq!(own.sign_in(&user.email, "typo typo typo").await.status, 422);
    }
    assert_eq!(own.sign_in(&user.email, PASSWORD).await.status, 429);

    // Resetting the password from the emailed link makes that browser known at once.
    fresh.get("/password-reset").await;
    fresh
        .post("/password-reset", &[("email", &user.email)])
        .await;
    let link = emailed_link(&app, &user.email).await;
    fresh.get(&link).await;
    let new_password = "a new and private phrase";
    let set = fresh
        .post(
            &link,
            &[("password", new_password), ("confirm", new_password)],
        )
        .await;
    assert_eq!(set.status, 303);
    assert_eq!(fresh.sign_in(&user.email, new_password).await.status, 303);
    // The old devices were forgotten with the old password.
    assert_eq!(own.sign_in(&user.email, new_password).await.status, 429);
}

/// Failed sign-ins from this machine's address, as if made in the last few minutes.
async fn failures_from_here(app: &TestApp, emails: &[String]) {
    for email in emails {
        sqlx::query(
            "INSERT INTO sign_in_attempt (email, address, succeeded, at)
             VALUES ($1, '127.0.0.1', false, now() - interval '2 minutes')",
        )
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn an_address_is_limited_by_how_many_accounts_fail_from_it() {
    let app = spawn_app().await;
    let tenant = app.add_tenant("liverpool").await;
    // Five colleagues behind the school's one proxy have each mistyped four times: 20 failures.
    let colleagues: Vec<String> = (0..5)
        .flat_map(|i| std::iter::repeat_n(format!("colleague{i}@example.org"), 4))
        .collect();
    failures_from_here(&app, &colleagues).await;
    let sixth = app
        .add_user(Some(tenant), Role::Assessor, None, "sixth@example.org")
        .await;
    let mut v = app.visitor();
    assert_eq!(
        v.sign_in(&sixth.email, PASSWORD).await.status,
        303,
        "a sixth colleague signs in"
    );
    // One password tried on account after account is stopped after the twentieth account.
    let sprayed: Vec<String> = (0..14).map(|i| format!("guess{i}@example.org")).collect();
    failures_from_here(&app, &sprayed).await;
    let mut sprayer = app.visitor();
    let twentieth = sprayer.sign_in("guess14@example.org", "Summer2026!").await;
    assert_eq!(twentieth.status, 422);
    let page = sprayer.sign_in("guess15@example.org", "Summer2026!").await;
    assert_eq!(page.status, 429);
    // A device that has signed in before is not held back by the address.
    assert_eq!(v.post("/sign-out", &[]).await.status, 303);
    assert_eq!(v.sign_in(&sixth.email, PASSWORD).await.status, 303);
}

#[tokio::test]
async fn the_return_address_after_sign_in_is_a_plain_local_path() {
    let app = spawn_app().await;
    let (_, user) = officer(&app).await;
    for (next, expected) in [
        ("/\t/evil.example/x", "/home"),
        ("/\n/evil.example", "/home"),
        ("/people\r\nSet-Cookie: x=1", "/home"),
        ("/\\evil.example", "/home"),
        ("/people\\..\\x", "/home"),
        ("//evil.example", "/home"),
        ("/people", "/people"),
        ("/audit?school=1&person=2", "/audit?school=1&person=2"),
    ] {
        let mut v = app.visitor();
        v.get("/sign-in").await;
        let page = v
            .post(
                "/sign-in",
                &[
                    ("email", &user.email),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{next:?}: {}", page.body);
        assert_eq!(page.location.as_deref(), Some(expected), "{next:?}");
    }
}

#[tokio::test]
async fn nul_bytes_in_any_text_are_dropped_and_nothing_is_lost() {
    let app = spawn_app().await;
    let w = handbook_world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);

    // A save without JavaScript.
    lead.get(&strand).await;
    let saved = lead
        .post(
            &strand,
            &[
                ("version", "0"),
                ("actions", "abc\0def"),
                ("level", "bronze"),
                ("impact", "\0rose"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = lead.get(&strand).await;
    assert!(page.body.contains("abcdef"), "{}", page.body);

    // Autosave.
    let autosaved = app
        .client
        .post(format!("{}{strand}", app.address))
        .header("cookie", lead.cookie_header())
        .header("accept", "application/json")
        .header("x-csrf-token", lead.csrf())
        .form(&[
            ("version", "1"),
            ("actions", "ghi\0jkl"),
            ("level", "bronze"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(autosaved.status(), 200);
    let actions: String = sqlx::query_scalar(
        "SELECT actions FROM strand_entry WHERE assessment_id = $1 AND strand_key = '1.1'",
    )
    .bind(w.assessment)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, "ghijkl");

    // An upload's title and description.
    lead.get("/evidence/upload").await;
    let uploaded = lead
        .upload(
            "/evidence/upload",
            "file",
            "policy.pdf",
            crate::evidence::PDF.to_vec(),
            &[
                ("title", "Attendance\0 policy"),
                ("description", "Agreed\0 by governors"),
            ],
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    let (title, description): (String, String) =
        sqlx::query_as("SELECT title, description FROM evidence")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (title.as_str(), description.as_str()),
        ("Attendance policy", "Agreed by governors")
    );

    // A person's name, and an email address at sign-in.
    let mut o = app.signed_in(&w.officer).await;
    o.get("/people/invite").await;
    let invited = o
        .post(
            "/people/invite",
            &[
                ("name", "Ann\0 Assessor"),
                ("email", "ann@example.org"),
                ("role", "assessor"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM app_user WHERE name = 'Ann Assessor'"
        )
        .await,
        1
    );
    let mut v = app.visitor();
    assert_eq!(v.sign_in("x\0@example.org", "whatever").await.status, 422);
    // A query string too.
    let audit = o.get("/audit?person=%00&school=%00").await;
    assert_ne!(audit.status, 500);
}

#[tokio::test]
async fn an_upload_that_fails_after_its_file_is_stored_leaves_no_file() {
    let app = spawn_app().await;
    let w = handbook_world(&app).await;
    // Every new evidence row fails at commit, after the file has been written.
    sqlx::query(
        "CREATE FUNCTION refuse_evidence() RETURNS trigger LANGUAGE plpgsql
         AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE CONSTRAINT TRIGGER refuse_evidence AFTER INSERT ON evidence
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_evidence()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut lead = app.signed_in(&w.lead).await;
    lead.get("/evidence/upload").await;
    let failed = lead
        .upload(
            "/evidence/upload",
            "file",
            "policy.pdf",
            crate::evidence::PDF.to_vec(),
            &[("title", "Attendance policy")],
        )
        .await;
    assert_eq!(failed.status, 500);
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);
    let hash = aqm::store::ContentHash::of(crate::evidence::PDF);
    assert!(
        !app.store.exists(&hash).await.unwrap(),
        "the file of a failed upload was left in the store"
    );

    // A file another school's row still uses stays, whatever happens to a later upload of it.
    sqlx::query("DROP TRIGGER refuse_evidence ON evidence")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut other = app.signed_in(&w.other_lead).await;
    other.get("/evidence/upload").await;
    let kept = other
        .upload(
            "/evidence/upload",
            "file",
            "policy.pdf",
            crate::evidence::PDF.to_vec(),
            &[("title", "Their policy")],
        )
        .await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    sqlx::query(
        "CREATE CONSTRAINT TRIGGER refuse_evidence AFTER INSERT ON evidence
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_evidence()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    lead.get("/evidence/upload").await;
    let failed = lead
        .upload(
            "/evidence/upload",
            "file",
            "policy.pdf",
            crate::evidence::PDF.to_vec(),
            &[("title", "Attendance policy")],
        )
        .await;
    assert_eq!(failed.status, 500);
    assert!(app.store.exists(&hash).await.unwrap());
}

#[tokio::test]
async fn a_reset_request_is_answered_before_any_work_on_the_account() {
    let app = spawn_app().await;
    let (_, user) = officer(&app).await;
    let mut v = app.visitor();
    v.get("/password-reset").await;
    // While the outbox is locked, work that writes to it waits: the answer must not.
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    for email in [user.email.as_str(), "nobody@example.org"] {
        let answered = tokio::time::timeout(
            Duration::from_secs(3),
            v.post("/password-reset", &[("email", email)]),
        )
        .await;
        let page = answered.unwrap_or_else(|_| panic!("the answer for {email} waited"));
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/sign-in"));
    }
    lock.commit().await.unwrap();
    // The link still goes out.
    assert!(
        emailed_link(&app, &user.email)
            .await
            .starts_with("/set-password/")
    );
}

#[tokio::test]
async fn inviting_an_address_of_another_authority_looks_like_any_invitation() {
    let app = spawn_app().await;
    let liverpool = app.add_tenant("liverpool").await;
    let wirral = app.add_tenant("wirral").await;
    let theirs = app
        .add_user(Some(wirral), Role::Assessor, None, "sam@example.org")
        .await;
    let ours = app
        .add_user(Some(liverpool), Role::Assessor, None, "kim@example.org")
        .await;
    let admin = app
        .add_user(
            Some(liverpool),
            Role::TenantAdmin,
            None,
            "admin@example.org",
        )
        .await;
    let mut a = app.signed_in(&admin).await;
    let invite = |email: &'static str, name: &'static str| {
        vec![("name", name), ("email", email), ("role", "assessor")]
    };

    // An address with an account here: saying so tells this authority nothing new.
    a.get("/people/invite").await;
    let here = a
        .post("/people/invite", &invite("kim@example.org", "Kim Again"))
        .await;
    assert_eq!(here.status, 422);
    assert!(here.body.contains("already has an account"));

    // A new address and one of another authority get the same answer.
    a.get("/people/invite").await;
    let new = a
        .post("/people/invite", &invite("new@example.org", "Nia New"))
        .await;
    a.get("/people/invite").await;
    let elsewhere = a
        .post(
            "/people/invite",
            &invite("sam@example.org", "Sam Elsewhere"),
        )
        .await;
    assert_eq!(
        (new.status, new.location.as_deref()),
        (303, Some("/people"))
    );
    assert_eq!(
        (elsewhere.status, elsewhere.location.as_deref()),
        (303, Some("/people"))
    );
    assert!(!elsewhere.body.contains("already"));
    // Both are listed as invited, and both are audited alike.
    let people = a.get("/people").await;
    for name in ["Nia New", "Sam Elsewhere"] {
        let at = people.body.find(name).expect(name);
        let row = &people.body[at..at + people.body[at..].find("</tr>").unwrap()];
        assert!(row.contains("Invited"), "{name}: {row}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_event WHERE action = 'user.invited'"
        )
        .await,
        2
    );
    // Inviting it again says what a second invitation of anyone here says.
    a.get("/people/invite").await;
    let again = a
        .post("/people/invite", &invite("sam@example.org", "Sam Again"))
        .await;
    assert_eq!(again.status, 422);

    // The person is sent no link, only word that nothing changed; their account is untouched.
    let to_sam: Vec<String> =
        sqlx::query_scalar("SELECT body_text FROM outbox WHERE to_address = 'sam@example.org'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(to_sam.len(), 1);
    assert!(!to_sam[0].contains("/set-password/"), "{}", to_sam[0]);
    assert!(to_sam[0].contains("already has an account"));
    assert!(!to_sam[0].contains("wirral"));
    let mut sam = app.visitor();
    assert_eq!(sam.sign_in(&theirs.email, PASSWORD).await.status, 303);
    let home = sam.get("/home").await;
    assert!(home.body.contains("wirral City Council"), "{}", home.body);
    // The stand-in is never a way in: no sign-in and no reset link for it.
    sam.post("/sign-out", &[]).await;
    sam.get("/password-reset").await;
    sam.post("/password-reset", &[("email", &theirs.email)])
        .await;
    let link = emailed_link(&app, &theirs.email).await;
    sam.get(&link).await;
    let set = sam
        .post(
            &link,
            &[
                ("password", "the person's own new phrase"),
                ("confirm", "the person's own new phrase"),
            ],
        )
        .await;
    assert_eq!(set.status, 303);
    let changed: Uuid = sqlx::query_scalar(
        "SELECT id FROM app_user WHERE email = 'sam@example.org' AND password_hash IS NOT NULL
         AND updated_at > created_at",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(changed, theirs.id);
    let _ = ours;
}

#[tokio::test]
async fn the_audit_log_cannot_be_emptied_and_the_web_process_is_no_owner() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO audit_event (action) VALUES ('test')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(
        sqlx::query("TRUNCATE audit_event")
            .execute(&app.pool)
            .await
            .is_err(),
        "even the owner cannot truncate the audit log"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM audit_event").await, 1);

    // Sign-in, sessions and the outbox run as a role that is no superuser, owns nothing and can
    // only add to the audit log.
    let system = app.db.system();
    let (role, superuser): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(system)
    .await
    .unwrap();
    assert_eq!(role, "aqm_system");
    assert!(!superuser);
    let owns: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user",
    )
    .fetch_one(system)
    .await
    .unwrap();
    assert_eq!(owns, 0);
    for sql in [
        "TRUNCATE audit_event",
        "DELETE FROM audit_event",
        "UPDATE audit_event SET action = 'x'",
        "SELECT count(*) FROM audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_event_append_only ON audit_event",
    ] {
        assert!(
            sqlx::query(sql).execute(system).await.is_err(),
            "the system role could run {sql}"
        );
    }
    // The web role cannot either.
    assert!(
        sqlx::query("TRUNCATE audit_event")
            .execute(app.db.app_pool())
            .await
            .is_err()
    );
    assert_eq!(count(&app, "SELECT count(*) FROM audit_event").await, 1);
}
