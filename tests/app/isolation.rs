//! Every route that takes an object's id refuses a person of another tenant, and of another school
//! where the route serves school roles, with 404, while the same route works for its own people.
//! Each later workflow adds its routes to `cases` and its lists to `lists`.

use crate::helpers::{TestApp, TestUser, Visitor, spawn_app};
use aqm::auth::Role;
use std::collections::HashMap;
use uuid::Uuid;

struct World {
    a1: Uuid,
    b1: Uuid,
    users: HashMap<&'static str, TestUser>,
    /// Open handbooks of schools A1 and A2.
    handbook_a1: Uuid,
    handbook_a2: Uuid,
    /// A document in the evidence library of school A1, and one of school B1.
    evidence_a1: Uuid,
    evidence_b1: Uuid,
    /// A saved revision of strand 1.1 of school A1's handbook.
    revision_a1: i64,
}

/// An open handbook (assessment) for `school`, in a cohort of its own.
async fn handbook(app: &TestApp, tenant: Uuid, school: Uuid) -> Uuid {
    let cohort = Uuid::new_v4();
    sqlx::query("INSERT INTO cohort (id, tenant_id, name) VALUES ($1, $2, $3)")
        .bind(cohort)
        .bind(tenant)
        .bind(format!("cohort {school}"))
        .execute(&app.pool)
        .await
        .unwrap();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version)
         VALUES ($1, $2, $3, $4, 'laqm', 'v1')",
    )
    .bind(id)
    .bind(tenant)
    .bind(school)
    .bind(cohort)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A document in `school`'s evidence library, its file in the store.
async fn evidence(app: &TestApp, tenant: Uuid, school: Uuid, title: &str) -> Uuid {
    let bytes = format!("%PDF-1.4\n% {title}\n");
    let hash = aqm::evidence::store::ContentHash::of(bytes.as_bytes());
    app.store.put(&hash, bytes.as_bytes()).await.unwrap();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO evidence (id, tenant_id, school_id, title, file_name, content_type, size_bytes, sha256)
         VALUES ($1, $2, $3, $4, 'plan.pdf', 'application/pdf', $5, $6)",
    )
    .bind(id)
    .bind(tenant)
    .bind(school)
    .bind(title)
    .bind(bytes.len() as i64)
    .bind(hash.as_str())
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A saved revision of `strand` in handbook `assessment`, as a save leaves it.
async fn revision(app: &TestApp, tenant: Uuid, assessment: Uuid, strand: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO strand_revision (tenant_id, assessment_id, strand_key, based_on_version, actions, impact, claimed_level, outcome)
         VALUES ($1, $2, $3, 0, 'Alpha One actions', 'Alpha One impact', 'bronze', 'saved') RETURNING id",
    )
    .bind(tenant)
    .bind(assessment)
    .bind(strand)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Tenant A with schools A1 and A2; tenant B with school B1; people in each.
async fn world(app: &TestApp) -> World {
    let a = app.add_tenant("alpha").await;
    let b = app.add_tenant("beta").await;
    let a1 = app.add_school(a, 100001, "Alpha One Primary").await;
    let a2 = app.add_school(a, 100002, "Alpha Two Primary").await;
    let b1 = app.add_school(b, 200001, "Beta One Primary").await;
    let mut users = HashMap::new();
    let people: [(&str, Option<Uuid>, Role, Option<Uuid>); 9] = [
        ("admin_a", Some(a), Role::TenantAdmin, None),
        ("officer_a", Some(a), Role::LaOfficer, None),
        ("assessor_a", Some(a), Role::Assessor, None),
        ("head_a1", Some(a), Role::HeadTeacher, Some(a1)),
        ("lead_a1", Some(a), Role::AttendanceLead, Some(a1)),
        ("lead_a2", Some(a), Role::AttendanceLead, Some(a2)),
        ("admin_b", Some(b), Role::TenantAdmin, None),
        ("lead_b1", Some(b), Role::AttendanceLead, Some(b1)),
        ("operator", None, Role::PlatformOperator, None),
    ];
    for (key, tenant, role, school) in people {
        let user = app
            .add_user(
                tenant,
                role,
                school,
                &format!("{}@example.org", key.replace('_', "-")),
            )
            .await;
        users.insert(key, user);
    }
    let handbook_a1 = handbook(app, a, a1).await;
    World {
        a1,
        b1,
        users,
        handbook_a1,
        handbook_a2: handbook(app, a, a2).await,
        evidence_a1: evidence(app, a, a1, "Alpha One plan").await,
        evidence_b1: evidence(app, b, b1, "Beta One plan").await,
        revision_a1: revision(app, a, handbook_a1, "1.1").await,
    }
}

struct Case {
    method: &'static str,
    path: String,
    /// Who may use the route on their own objects (the control: must not be 404).
    allowed: &'static str,
    /// People for whom the same request must be 404: another tenant's or school's.
    refused: Vec<&'static str>,
}

fn cases(w: &World) -> Vec<Case> {
    let id = |k: &str| w.users[k].id;
    let mut cases = Vec::new();
    let mut case = |method, path: String, allowed, refused: Vec<&'static str>| {
        cases.push(Case {
            method,
            path,
            allowed,
            refused,
        })
    };
    // People: a person of tenant B is not found by tenant A's admin or officer; a lead of school
    // A2 is not found by the head of school A1.
    for (method, suffix) in [("GET", ""), ("POST", "/deactivate"), ("POST", "/role")] {
        case(
            method,
            format!("/people/{}{suffix}", id("lead_b1")),
            "admin_b",
            vec!["admin_a", "officer_a", "head_a1"],
        );
        case(
            method,
            format!("/people/{}{suffix}", id("lead_a2")),
            "admin_a",
            vec!["head_a1", "admin_b"],
        );
    }
    // Schools.
    case(
        "GET",
        format!("/schools/{}", w.b1),
        "admin_b",
        vec!["admin_a", "officer_a"],
    );
    case(
        "GET",
        format!("/schools/{}", w.a1),
        "officer_a",
        vec!["admin_b", "head_a1", "lead_a1"],
    );
    // Pages of other roles are not found either.
    case(
        "GET",
        "/operator/tenants".into(),
        "operator",
        vec!["admin_a", "officer_a", "lead_a1"],
    );
    case(
        "GET",
        "/audit".into(),
        "admin_a",
        vec!["lead_a1", "head_a1", "assessor_a", "operator"],
    );
    // A saved revision of a strand, linked from the audit log: the authority's admins and
    // officers only, not the school's own staff (their page is the strand), not another tenant.
    let rev = w.revision_a1;
    case(
        "GET",
        format!("/audit/revisions/{rev}"),
        "officer_a",
        vec!["admin_b", "lead_b1", "lead_a1", "head_a1", "assessor_a"],
    );
    case(
        "GET",
        format!("/audit/revisions/{rev}"),
        "admin_a",
        vec!["operator"],
    );
    case(
        "GET",
        "/schools/import".into(),
        "admin_a",
        vec!["officer_a", "head_a1"],
    );
    case(
        "GET",
        "/people".into(),
        "head_a1",
        vec!["lead_a1", "assessor_a"],
    );
    // The evidence library: a document of school A1 is not found by the lead of school A2, by
    // anyone of tenant B, nor by the authority's own staff (not their page).
    let ev = w.evidence_a1;
    for (method, suffix) in [
        ("GET", ""),
        ("GET", "/download"),
        ("POST", "/links"),
        ("POST", "/delete"),
    ] {
        case(
            method,
            format!("/evidence/{ev}{suffix}"),
            "lead_a1",
            vec!["lead_a2", "lead_b1", "admin_b", "officer_a", "assessor_a"],
        );
    }
    case(
        "GET",
        format!("/evidence/{}", w.evidence_b1),
        "lead_b1",
        vec!["lead_a1", "head_a1", "admin_a"],
    );
    for path in ["/evidence", "/evidence/upload"] {
        case(
            "GET",
            path.into(),
            "head_a1",
            vec!["officer_a", "admin_a", "assessor_a", "operator"],
        );
    }
    // Linking and unlinking through another school's handbook, or another school's document
    // through one's own handbook.
    let (h1, h2) = (w.handbook_a1, w.handbook_a2);
    for path in [
        format!("/assessments/{h1}/strands/1.1/evidence"),
        format!("/assessments/{h1}/strands/1.1/evidence/{ev}/unlink"),
    ] {
        case("POST", path, "lead_a1", vec!["lead_a2", "lead_b1"]);
    }
    // The handbook and its exports: only the school's own lead and head.
    for suffix in [
        "",
        "/themes/1",
        "/strands/1.1",
        "/print",
        "/handbook.pdf",
        "/handbook.zip",
    ] {
        case(
            "GET",
            format!("/assessments/{h1}{suffix}"),
            "lead_a1",
            vec!["lead_a2", "lead_b1", "admin_b", "officer_a", "assessor_a"],
        );
    }
    case(
        "POST",
        format!("/assessments/{h1}/strands/1.1"),
        "lead_a1",
        vec!["lead_a2", "lead_b1"],
    );
    // Cohorts: the authority's officers only.
    case(
        "GET",
        "/cohorts".into(),
        "officer_a",
        vec!["lead_a1", "head_a1", "assessor_a"],
    );
    // (No one may do this one; its control is the route above.)
    case(
        "POST",
        format!("/assessments/{h2}/strands/1.1/evidence/{ev}/unlink"),
        "lead_a1",
        vec!["lead_a2"],
    );
    cases
}

async fn request(v: &mut Visitor, method: &str, path: &str) -> u16 {
    match method {
        "GET" => v.get(path).await.status,
        // An empty form: enough to reach the handler's permission check, harmless if allowed.
        _ => v.post(path, &[]).await.status,
    }
}

#[tokio::test]
async fn other_tenants_and_other_schools_get_404_on_every_route() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut visitors: HashMap<&str, Visitor> = HashMap::new();
    for (key, user) in &w.users {
        visitors.insert(key, app.signed_in(user).await);
    }
    let mut failures = Vec::new();
    for c in cases(&w) {
        for who in &c.refused {
            let status = request(visitors.get_mut(who).unwrap(), c.method, &c.path).await;
            if status != 404 {
                failures.push(format!(
                    "{} {} as {who}: {status}, expected 404",
                    c.method, c.path
                ));
            }
        }
        // POSTs of the control would change things: the GET twin proves the route works.
        if c.method == "GET" {
            let status = request(visitors.get_mut(c.allowed).unwrap(), "GET", &c.path).await;
            if status != 200 {
                failures.push(format!(
                    "GET {} as {}: {status}, expected 200",
                    c.path, c.allowed
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Refused POSTs changed nothing.
    let active: Vec<bool> = sqlx::query_scalar("SELECT active FROM app_user WHERE id = ANY($1)")
        .bind(vec![w.users["lead_b1"].id, w.users["lead_a2"].id])
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(active, vec![true, true]);
    let deleted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM evidence WHERE deleted_at IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(deleted, 0);
}

#[tokio::test]
async fn lists_and_downloads_show_only_the_viewers_tenant_and_school() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Give tenant B something in its audit log.
    let mut b = app.signed_in(&w.users["admin_b"]).await;
    b.get("/people").await;
    // (method, path, viewer, text that must not appear)
    let lists: [(&str, &str, &str); 10] = [
        ("/people", "admin_a", "lead-b1@example.org"),
        ("/people", "officer_a", "lead-b1@example.org"),
        ("/people", "head_a1", "lead-a2@example.org"),
        ("/schools", "admin_a", "Beta One Primary"),
        ("/audit", "admin_a", "admin-b@example.org"),
        ("/audit.csv", "officer_a", "admin-b@example.org"),
        ("/people/invite", "admin_a", "Beta One Primary"),
        ("/people/invite", "head_a1", "Alpha Two Primary"),
        ("/evidence", "lead_a2", "Alpha One plan"),
        ("/evidence", "lead_b1", "Alpha One plan"),
    ];
    for (path, who, hidden) in lists {
        let mut v = app.signed_in(&w.users[who]).await;
        let page = v.get(path).await;
        assert_eq!(page.status, 200, "{path} as {who}");
        assert!(
            !page.body.contains(hidden),
            "{path} as {who} shows {hidden}"
        );
    }
    // A filter naming another tenant's school shows nothing of it.
    let mut a = app.signed_in(&w.users["admin_a"]).await;
    let filtered = a.get(&format!("/audit?school={}", w.b1)).await;
    assert_eq!(filtered.status, 200);
    assert!(filtered.body.contains("No events match"));
}
