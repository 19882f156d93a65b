//! Every route that takes an object's id refuses a person of another tenant, and of another school
//! where the route serves school roles, with 404 (and a person whose role may not use it with
//! 403), while the same route works for its own people. The cases are checked against the route
//! table itself: a new id-taking route without a case fails `every_id_taking_route_has_an_isolation_case`.

use crate::helpers::{Page, TestApp, TestUser, Visitor, spawn_app};
use crate::world::Builder;
use aqm::auth::Role;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

struct World {
    a: Uuid,
    b: Uuid,
    a1: Uuid,
    b1: Uuid,
    /// Cohorts of tenant A and of tenant B (B's holds school B1's handbook).
    cohort_a: Uuid,
    cohort_b: Uuid,
    users: HashMap<&'static str, TestUser>,
    /// Open handbooks of schools A1 and A2.
    handbook_a1: Uuid,
    handbook_a2: Uuid,
    /// A document in the evidence library of school A1 (linked to strand 1.1 of its handbook),
    /// and one of school B1.
    evidence_a1: Uuid,
    evidence_b1: Uuid,
    /// A saved revision of strand 1.1 of school A1's handbook.
    revision_a1: i64,
    /// A submission of school A1's handbook, whose assessor is assessor_a.
    submission_a1: Uuid,
    /// A closure day of tenant A and one of tenant B.
    closure_a: Uuid,
    closure_b: Uuid,
    /// An earlier, awarded handbook of school A1 (assessed by assessor_a), and its public code.
    award_a1: Uuid,
    verify_a1: String,
    /// A programme event of tenant A's cohort and one of tenant B's.
    event_a: Uuid,
    event_b: Uuid,
    /// Good practice of school A1: published (with evidence_a1 shared), offered to the
    /// officers, and waiting for its head teacher.
    practice_published: Uuid,
    practice_offered: Uuid,
    practice_with_head: Uuid,
    /// The document shared with the published practice.
    practice_doc: Uuid,
    /// A message to a person of tenant B that the mail worker gave up.
    mail_given_up: Uuid,
}

impl World {
    /// Ids that name nothing, for reading the cases' routes without a database.
    fn placeholder() -> World {
        World {
            a: Uuid::nil(),
            b: Uuid::nil(),
            a1: Uuid::nil(),
            b1: Uuid::nil(),
            cohort_a: Uuid::nil(),
            cohort_b: Uuid::nil(),
            users: HashMap::new(),
            handbook_a1: Uuid::nil(),
            handbook_a2: Uuid::nil(),
            evidence_a1: Uuid::nil(),
            evidence_b1: Uuid::nil(),
            revision_a1: 0,
            submission_a1: Uuid::nil(),
            closure_a: Uuid::nil(),
            closure_b: Uuid::nil(),
            award_a1: Uuid::nil(),
            verify_a1: String::new(),
            event_a: Uuid::nil(),
            event_b: Uuid::nil(),
            practice_published: Uuid::nil(),
            practice_offered: Uuid::nil(),
            practice_with_head: Uuid::nil(),
            practice_doc: Uuid::nil(),
            mail_given_up: Uuid::nil(),
        }
    }
}

/// A saved revision of `strand`, as the audit log links to.
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

/// A submission of `handbook` by `by`, assessed by `assessor`.
async fn submission(
    app: &TestApp,
    tenant: Uuid,
    handbook: Uuid,
    assessor: Option<Uuid>,
    by: Uuid,
) -> Uuid {
    sqlx::query("UPDATE assessment SET assessor_id = $2 WHERE id = $1")
        .bind(handbook)
        .bind(assessor)
        .execute(&app.pool)
        .await
        .unwrap();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO submission (id, tenant_id, assessment_id, submitted_by, snapshot)
         VALUES ($1, $2, $3, $4, '{\"school\": \"Alpha One Primary\", \"cohort\": \"2026/27\", \"framework\": \"LAQM\", \"overall\": \"Not yet\", \"overall_reason\": \"\", \"themes\": []}')",
    )
    .bind(id)
    .bind(tenant)
    .bind(handbook)
    .bind(by)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A closure day of `tenant`.
async fn programme_event(app: &TestApp, tenant: Uuid, cohort: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO programme_event (id, tenant_id, cohort_id, kind, starts_at, place, capacity)
         VALUES ($1, $2, $3, 'launch', '2026-09-15 09:30', 'Town Hall', 50)",
    )
    .bind(id)
    .bind(tenant)
    .bind(cohort)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// Good practice of `school` on `strand` of `assessment`, by `by`, in `status`.
async fn practice(
    app: &TestApp,
    tenant: Uuid,
    school: Uuid,
    assessment: Uuid,
    strand: &str,
    by: Uuid,
    status: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                               actions, status, contact_id, created_by)
         VALUES ($1, $2, $3, $4, $5, 1, $5, 'Shared practice', $6, $7, $7)",
    )
    .bind(id)
    .bind(tenant)
    .bind(school)
    .bind(assessment)
    .bind(strand)
    .bind(status)
    .bind(by)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

async fn closure_day(app: &TestApp, tenant: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO closure_day (id, tenant_id, day, description) VALUES ($1, $2, '2026-06-01', 'INSET day')",
    )
    .bind(id)
    .bind(tenant)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// Tenant A with schools A1 and A2; tenant B with school B1; people in each.
async fn world(app: &TestApp) -> World {
    let build = Builder::new(app);
    let a = build.tenant("alpha").await;
    let b = build.tenant("beta").await;
    let a1 = build.school(a, 100001, "Alpha One Primary").await;
    let a2 = build.school(a, 100002, "Alpha Two Primary").await;
    let b1 = build.school(b, 200001, "Beta One Primary").await;
    let people: [(&'static str, Option<Uuid>, Role, Option<Uuid>); 11] = [
        ("admin_a", Some(a), Role::TenantAdmin, None),
        ("officer_a", Some(a), Role::LaOfficer, None),
        ("assessor_a", Some(a), Role::Assessor, None),
        ("head_a1", Some(a), Role::HeadTeacher, Some(a1)),
        ("lead_a1", Some(a), Role::AttendanceLead, Some(a1)),
        ("lead_a2", Some(a), Role::AttendanceLead, Some(a2)),
        ("admin_b", Some(b), Role::TenantAdmin, None),
        ("head_b1", Some(b), Role::HeadTeacher, Some(b1)),
        ("assessor_a2", Some(a), Role::Assessor, None),
        ("lead_b1", Some(b), Role::AttendanceLead, Some(b1)),
        ("operator", None, Role::PlatformOperator, None),
    ];
    let emails: Vec<String> = people
        .iter()
        .map(|(key, ..)| format!("{}@example.org", key.replace('_', "-")))
        .collect();
    let list: Vec<_> = people
        .iter()
        .zip(&emails)
        .map(|(&(key, tenant, role, school), email)| (key, email.as_str(), tenant, role, school))
        .collect();
    let users = build.people(&list).await;
    let (handbook_a1, cohort_a) = build.handbook(a, a1).await;
    let (handbook_a2, _) = build.handbook(a, a2).await;
    let (_, cohort_b) = build.handbook(b, b1).await;
    let evidence_a1 = build.document(a, a1, "Alpha One plan").await;
    sqlx::query(
        "INSERT INTO evidence_link (tenant_id, evidence_id, assessment_id, strand_key) VALUES ($1, $2, $3, '1.1')",
    )
    .bind(a)
    .bind(evidence_a1)
    .bind(handbook_a1)
    .execute(&app.pool)
    .await
    .unwrap();
    let submission_a1 = submission(
        app,
        a,
        handbook_a1,
        Some(users["assessor_a"].id),
        users["head_a1"].id,
    )
    .await;
    let award_a1 = Uuid::new_v4();
    let verify_a1 = Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version, status, stage, assessor_id)
         VALUES ($1, $2, $3, $4, 'laqm', 'v1', 'closed', 'awarded', $5)",
    )
    .bind(award_a1)
    .bind(a)
    .bind(a1)
    .bind(cohort_a)
    .bind(users["assessor_a"].id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
         VALUES ($1, $2, $3, 'silver', 'silver', 'silver', current_date, current_date + 1000, $4)",
    )
    .bind(a)
    .bind(award_a1)
    .bind(users["assessor_a"].id)
    .bind(&verify_a1)
    .execute(&app.pool)
    .await
    .unwrap();
    let lead_a1 = users["lead_a1"].id;
    let practice_published = practice(app, a, a1, handbook_a1, "1.1", lead_a1, "published").await;
    // A document of its own: another case deletes evidence_a1.
    let practice_doc = build.document(a, a1, "Shared plan").await;
    sqlx::query(
        "INSERT INTO practice_document (tenant_id, practice_id, evidence_id) VALUES ($1, $2, $3)",
    )
    .bind(a)
    .bind(practice_published)
    .bind(practice_doc)
    .execute(&app.pool)
    .await
    .unwrap();
    let practice_offered = practice(app, a, a1, handbook_a1, "1.2", lead_a1, "offered").await;
    let practice_with_head = practice(app, a, a1, handbook_a1, "1.3", lead_a1, "with_head").await;
    let mail_given_up = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, to_address, subject, body_text, body_html, status, attempts, last_error)
         VALUES ($1, $2, 'lead-b1@example.org', 'Your handbook', 'Text', '<p>Text</p>', 'dead', 8, '550 no such mailbox')",
    )
    .bind(mail_given_up)
    .bind(b)
    .execute(&app.pool)
    .await
    .unwrap();
    World {
        mail_given_up,
        practice_doc,
        practice_published,
        practice_offered,
        practice_with_head,
        award_a1,
        verify_a1,
        a,
        b,
        a1,
        b1,
        cohort_a,
        cohort_b,
        users,
        handbook_a1,
        handbook_a2,
        evidence_a1,
        evidence_b1: build.document(b, b1, "Beta One plan").await,
        revision_a1: revision(app, a, handbook_a1, "1.1").await,
        submission_a1,
        closure_a: closure_day(app, a).await,
        closure_b: closure_day(app, b).await,
        event_a: programme_event(app, a, cohort_a).await,
        event_b: programme_event(app, b, cohort_b).await,
    }
}

/// One route of the table, tried as several people.
struct Case {
    method: &'static str,
    /// The route's pattern in the route table, e.g. "/evidence/{id}" (with "#field" for a case
    /// about an id in a form field).
    route: &'static str,
    path: String,
    /// Who may use the route on their own objects: the control, which must neither be refused
    /// nor fail. `None` where no one may (another case of the same route is its control).
    allowed: Option<&'static str>,
    /// People whose role may use the route, on another tenant's or school's object: 404.
    not_found: Vec<&'static str>,
    /// People whose role may not use the route at all: 403.
    forbidden: Vec<&'static str>,
    /// The form sent with a POST.
    form: Vec<(&'static str, String)>,
}

impl Case {
    fn new(
        method: &'static str,
        route: &'static str,
        path: String,
        allowed: Option<&'static str>,
        not_found: Vec<&'static str>,
        forbidden: Vec<&'static str>,
    ) -> Case {
        Case {
            method,
            route,
            path,
            allowed,
            not_found,
            forbidden,
            form: Vec::new(),
        }
    }
}

fn cases(w: &World) -> Vec<Case> {
    let id = |k: &str| w.users.get(k).map_or(Uuid::nil(), |u| u.id);
    let (h1, h2, ev) = (w.handbook_a1, w.handbook_a2, w.evidence_a1);
    let mut cases = vec![
        // Schools.
        Case::new(
            "GET",
            "/schools/{id}",
            format!("/schools/{}", w.b1),
            Some("admin_b"),
            vec!["admin_a", "officer_a"],
            vec![],
        ),
        Case::new(
            "GET",
            "/schools/{id}",
            format!("/schools/{}", w.a1),
            Some("officer_a"),
            vec!["admin_b"],
            vec!["head_a1", "lead_a1", "assessor_a", "operator"],
        ),
        // Pages of other roles are refused.
        Case::new(
            "GET",
            "/operator/tenants",
            "/operator/tenants".into(),
            Some("operator"),
            vec![],
            vec!["admin_a", "officer_a", "lead_a1"],
        ),
        // The operator's mail spans tenants; no one else may put a message back in the queue.
        Case::new(
            "POST",
            "/operator/mail/{id}/retry",
            format!("/operator/mail/{}/retry", w.mail_given_up),
            Some("operator"),
            vec![],
            vec!["admin_a", "admin_b", "officer_a", "lead_a1"],
        ),
        Case::new(
            "POST",
            "/operator/mail/retry",
            "/operator/mail/retry".into(),
            Some("operator"),
            vec![],
            vec!["admin_b", "officer_a", "head_a1"],
        ),
        Case::new(
            "GET",
            "/audit",
            "/audit".into(),
            Some("admin_a"),
            vec![],
            vec!["lead_a1", "head_a1", "assessor_a", "operator"],
        ),
        // A saved revision of a strand, linked from the audit log: the authority's administrators
        // and officers; the school's own staff use the strand page instead.
        Case::new(
            "GET",
            "/audit/revisions/{id}",
            format!("/audit/revisions/{}", w.revision_a1),
            Some("officer_a"),
            vec!["admin_b"],
            vec!["lead_b1", "lead_a1", "head_a1", "assessor_a", "operator"],
        ),
        Case::new(
            "GET",
            "/audit/revisions/{id}",
            format!("/audit/revisions/{}", w.revision_a1),
            Some("admin_a"),
            vec![],
            vec![],
        ),
        Case::new(
            "GET",
            "/schools/import",
            "/schools/import".into(),
            Some("admin_a"),
            vec![],
            vec!["officer_a", "head_a1"],
        ),
        Case::new(
            "GET",
            "/people",
            "/people".into(),
            Some("head_a1"),
            vec![],
            vec!["lead_a1", "assessor_a"],
        ),
        Case::new(
            "GET",
            "/cohorts",
            "/cohorts".into(),
            Some("officer_a"),
            vec![],
            vec!["lead_a1", "head_a1", "assessor_a"],
        ),
        Case::new(
            "GET",
            "/calendar",
            "/calendar".into(),
            Some("officer_a"),
            vec![],
            vec!["lead_a1", "head_a1", "assessor_a", "operator"],
        ),
        // The authority's best-fit rule: its administrators only (no id: the tenant is theirs).
        Case::new(
            "GET",
            "/settings/best-fit",
            "/settings/best-fit".into(),
            Some("admin_a"),
            vec![],
            vec!["officer_a", "head_a1", "lead_a1", "assessor_a", "operator"],
        ),
        Case::new(
            "POST",
            "/settings/best-fit",
            "/settings/best-fit".into(),
            Some("admin_a"),
            vec![],
            vec!["officer_a", "head_a1", "lead_a1", "assessor_a", "operator"],
        ),
    ];
    for path in ["/evidence", "/evidence/upload"] {
        cases.push(Case::new(
            "GET",
            path,
            path.into(),
            Some("head_a1"),
            vec![],
            vec!["officer_a", "admin_a", "assessor_a", "operator"],
        ));
    }
    // Cohorts: another tenant's cohort is not found by the authority's officers.
    for (method, route, suffix) in [
        ("GET", "/cohorts/{id}", ""),
        ("POST", "/cohorts/{id}/enrol", "/enrol"),
    ] {
        cases.push(Case::new(
            method,
            route,
            format!("/cohorts/{}{suffix}", w.cohort_b),
            Some("admin_b"),
            vec!["admin_a", "officer_a"],
            vec!["lead_b1", "assessor_a"],
        ));
    }
    // The handbook and its exports: only the school's own lead and head.
    for (route, suffix) in [
        ("/assessments/{id}", ""),
        ("/assessments/{id}/themes/{number}", "/themes/1"),
        ("/assessments/{id}/strands/{key}", "/strands/1.1"),
        ("/assessments/{id}/print", "/print"),
        ("/assessments/{id}/handbook.pdf", "/handbook.pdf"),
        ("/assessments/{id}/handbook.zip", "/handbook.zip"),
    ] {
        cases.push(Case::new(
            "GET",
            route,
            format!("/assessments/{h1}{suffix}"),
            Some("lead_a1"),
            vec!["lead_a2", "lead_b1"],
            vec!["admin_b", "officer_a", "assessor_a", "operator"],
        ));
    }
    cases.push(Case::new(
        "POST",
        "/assessments/{id}/strands/{key}",
        format!("/assessments/{h1}/strands/1.1"),
        Some("lead_a1"),
        vec!["lead_a2", "lead_b1"],
        vec!["officer_a"],
    ));
    // The evidence library: a document of school A1 is not found by the lead of school A2 or by
    // anyone of tenant B; the authority's own staff may not use these pages at all.
    for (method, route, suffix) in [
        ("GET", "/evidence/{id}", ""),
        ("GET", "/evidence/{id}/download", "/download"),
        ("POST", "/evidence/{id}/links", "/links"),
    ] {
        cases.push(Case::new(
            method,
            route,
            format!("/evidence/{ev}{suffix}"),
            Some("lead_a1"),
            vec!["lead_a2", "lead_b1"],
            vec!["admin_b", "officer_a", "assessor_a"],
        ));
    }
    cases.push(Case::new(
        "GET",
        "/evidence/{id}",
        format!("/evidence/{}", w.evidence_b1),
        Some("lead_b1"),
        vec!["lead_a1", "head_a1"],
        vec!["admin_a"],
    ));
    // Linking through one's own handbook; another school's handbook or document is not found.
    cases.push(Case::new(
        "POST",
        "/assessments/{id}/strands/{key}/evidence",
        format!("/assessments/{h1}/strands/1.1/evidence"),
        Some("lead_a1"),
        vec!["lead_a2", "lead_b1"],
        vec!["officer_a"],
    ));
    cases.push(Case::new(
        "POST",
        "/assessments/{id}/strands/{key}/evidence/{eid}/unlink",
        format!("/assessments/{h2}/strands/1.1/evidence/{ev}/unlink"),
        None,
        vec!["lead_a1", "lead_a2"],
        vec![],
    ));
    // People: a person of tenant B is not found by tenant A's admin or officer; a lead of school
    // A2 is not found by the head of school A1.
    cases.push(Case::new(
        "GET",
        "/people/{id}",
        format!("/people/{}", id("lead_b1")),
        Some("admin_b"),
        vec!["admin_a", "officer_a", "head_a1"],
        vec!["lead_a1"],
    ));
    cases.push(Case::new(
        "GET",
        "/people/{id}",
        format!("/people/{}", id("lead_a2")),
        Some("admin_a"),
        vec!["head_a1", "admin_b"],
        vec![],
    ));
    cases.push(Case::new(
        "POST",
        "/people/{id}/role",
        format!("/people/{}/role", id("lead_b1")),
        Some("admin_b"),
        vec!["admin_a"],
        vec!["officer_a", "head_a1", "lead_a1"],
    ));
    // The last cases change their objects: unlinking, deactivating, deleting.
    cases.push(Case::new(
        "POST",
        "/assessments/{id}/strands/{key}/evidence/{eid}/unlink",
        format!("/assessments/{h1}/strands/1.1/evidence/{ev}/unlink"),
        Some("lead_a1"),
        vec!["lead_a2", "lead_b1"],
        vec!["officer_a"],
    ));
    cases.push(Case::new(
        "POST",
        "/people/{id}/deactivate",
        format!("/people/{}/deactivate", id("lead_b1")),
        Some("admin_b"),
        vec!["admin_a", "officer_a", "head_a1"],
        vec!["lead_a1", "assessor_a"],
    ));
    cases.push(Case::new(
        "POST",
        "/people/{id}/deactivate",
        format!("/people/{}/deactivate", id("lead_a2")),
        Some("admin_a"),
        vec!["head_a1", "admin_b"],
        vec![],
    ));
    // Closure days: another tenant's is not found by the authority's officers; school staff and
    // assessors may not remove any.
    cases.push(Case::new(
        "POST",
        "/calendar/{id}/remove",
        format!("/calendar/{}/remove", w.closure_b),
        Some("admin_b"),
        vec!["admin_a", "officer_a"],
        vec!["lead_b1", "lead_a1", "head_a1", "assessor_a", "operator"],
    ));
    cases.push(Case::new(
        "POST",
        "/calendar/{id}/remove",
        format!("/calendar/{}/remove", w.closure_a),
        Some("officer_a"),
        vec!["admin_b"],
        vec!["lead_a1", "assessor_a"],
    ));
    cases.push(Case::new(
        "POST",
        "/evidence/{id}/delete",
        format!("/evidence/{ev}/delete"),
        Some("lead_a1"),
        vec!["lead_a2", "lead_b1"],
        vec!["admin_b", "officer_a", "assessor_a"],
    ));
    // The review: the lead sends, lead and head comment, only the head returns and submits, the
    // authority's officers set the visit and reopen, the assigned assessor reads the submission.
    let review = |route: &'static str, method: &'static str, allowed, not_found, forbidden| {
        let path = route
            .replace("{id}", &h1.to_string())
            .replace("{key}", "1.1");
        Case::new(method, route, path, Some(allowed), not_found, forbidden)
    };
    cases.extend([
        review(
            "/assessments/{id}/send-to-head",
            "POST",
            "lead_a1",
            vec!["lead_a2", "lead_b1"],
            vec!["head_a1", "officer_a", "assessor_a"],
        ),
        review(
            "/assessments/{id}/strands/{key}/comments",
            "POST",
            "head_a1",
            vec!["lead_a2", "lead_b1", "head_b1"],
            vec!["officer_a", "assessor_a"],
        ),
        review(
            "/assessments/{id}/return",
            "GET",
            "head_a1",
            vec!["head_b1"],
            vec!["lead_a1", "officer_a", "assessor_a"],
        ),
        review(
            "/assessments/{id}/return",
            "POST",
            "head_a1",
            vec!["head_b1"],
            vec!["lead_a1", "officer_a"],
        ),
        review(
            "/assessments/{id}/submit",
            "GET",
            "head_a1",
            vec!["head_b1"],
            vec!["lead_a1", "officer_a", "assessor_a"],
        ),
        review(
            "/assessments/{id}/visit",
            "GET",
            "officer_a",
            vec!["admin_b"],
            vec!["lead_a1", "head_a1", "assessor_a"],
        ),
        review(
            "/assessments/{id}/visit",
            "POST",
            "officer_a",
            vec!["admin_b"],
            vec!["lead_a1", "head_a1", "assessor_a"],
        ),
        review(
            "/assessments/{id}/reopen",
            "POST",
            "officer_a",
            vec!["admin_b"],
            vec!["lead_a1", "head_a1", "assessor_a"],
        ),
        Case::new(
            "GET",
            "/submissions/{id}",
            format!("/submissions/{}", w.submission_a1),
            Some("assessor_a"),
            vec!["assessor_a2"],
            vec!["lead_a1", "head_a1", "officer_a", "admin_b"],
        ),
        // Last, as it freezes the handbook: the assessor is assigned, so it submits.
        review(
            "/assessments/{id}/submit",
            "POST",
            "head_a1",
            vec!["head_b1"],
            vec!["lead_a1", "officer_a"],
        ),
    ]);
    // The assessor's visit: only the assessor assigned (another assessor of the same authority
    // gets 404); the award once agreed: its school, its assessor and the authority's officers.
    let visit = |method: &'static str,
                 route: &'static str,
                 allowed: &'static str,
                 not_found: Vec<&'static str>,
                 forbidden: Vec<&'static str>| {
        let path = route
            .replace("{id}", &h1.to_string())
            .replace("{number}", "1")
            .replace("{key}", "1.1")
            .replace("{doc}", &ev.to_string());
        Case::new(method, route, path, Some(allowed), not_found, forbidden)
    };
    let not_assessors = || vec!["lead_a1", "head_a1", "officer_a", "admin_b"];
    let aw = w.award_a1;
    // First in the list, so that their controls run before others' change the shared records
    // (the evidence deletion's control deletes the document these read).
    cases.splice(
        0..0,
        [
            visit(
                "GET",
                "/visits/{id}",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "GET",
                "/visits/{id}/schedule",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "POST",
                "/visits/{id}/schedule",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "GET",
                "/visits/{id}/themes/{number}",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "POST",
                "/visits/{id}/strands/{key}",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "POST",
                "/visits/{id}/strands/{key}/recommend",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "GET",
                "/visits/{id}/documents/{doc}",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "GET",
                "/visits/{id}/award",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            visit(
                "POST",
                "/visits/{id}/award",
                "assessor_a",
                vec!["assessor_a2"],
                not_assessors(),
            ),
            // A document of another tenant's school, through the assessor's own handbook.
            Case::new(
                "GET",
                "/visits/{id}/documents/{doc}",
                format!("/visits/{h1}/documents/{}", w.evidence_b1),
                None,
                vec!["assessor_a"],
                vec![],
            ),
            Case::new(
                "GET",
                "/assessments/{id}/award",
                format!("/assessments/{aw}/award"),
                Some("lead_a1"),
                vec!["lead_a2", "assessor_a2", "lead_b1", "admin_b"],
                vec!["operator"],
            ),
            Case::new(
                "GET",
                "/assessments/{id}/certificate.pdf",
                format!("/assessments/{aw}/certificate.pdf"),
                Some("officer_a"),
                vec!["admin_b", "lead_a2", "assessor_a2"],
                vec!["operator"],
            ),
            Case::new(
                "GET",
                "/assessments/{id}/report.pdf",
                format!("/assessments/{aw}/report.pdf"),
                Some("assessor_a"),
                vec!["assessor_a2", "head_b1", "lead_a2"],
                vec!["operator"],
            ),
            Case::new(
                "POST",
                "/assessments/{id}/award/acknowledge",
                format!("/assessments/{aw}/award/acknowledge"),
                Some("head_a1"),
                vec!["head_b1"],
                vec!["lead_a1", "officer_a", "assessor_a"],
            ),
            Case::new(
                "POST",
                "/assessments/{id}/renew",
                format!("/assessments/{aw}/renew"),
                Some("lead_a1"),
                vec!["lead_a2", "lead_b1"],
                vec!["assessor_a", "officer_a"],
            ),
            // The public check answers anyone with the code.
            Case::new(
                "GET",
                "/verify/{code}",
                format!("/verify/{}", w.verify_a1),
                Some("lead_b1"),
                vec![],
                vec![],
            ),
        ],
    );
    // The local authority's pages: the authority's officers (and administrators) only; another
    // tenant's ids are not found.
    for (method, route, path) in [
        (
            "GET",
            "/cohorts/{id}/events",
            format!("/cohorts/{}/events", w.cohort_a),
        ),
        (
            "POST",
            "/cohorts/{id}/events",
            format!("/cohorts/{}/events", w.cohort_a),
        ),
        ("GET", "/events/{id}", format!("/events/{}", w.event_a)),
        (
            "POST",
            "/events/{id}/register",
            format!("/events/{}/register", w.event_a),
        ),
        (
            "POST",
            "/events/{id}/invite",
            format!("/events/{}/invite", w.event_a),
        ),
        (
            "GET",
            "/assessments/{id}/read",
            format!("/assessments/{h1}/read"),
        ),
        (
            "GET",
            "/assessments/{id}/withdraw",
            format!("/assessments/{h1}/withdraw"),
        ),
        (
            "POST",
            "/assessments/{id}/withdraw",
            format!("/assessments/{h1}/withdraw"),
        ),
        (
            "GET",
            "/schools/{id}/attendance",
            format!("/schools/{}/attendance", w.a1),
        ),
        (
            "POST",
            "/schools/{id}/attendance",
            format!("/schools/{}/attendance", w.a1),
        ),
        (
            "POST",
            "/schools/{id}/attendance/targets",
            format!("/schools/{}/attendance/targets", w.a1),
        ),
    ] {
        cases.push(Case::new(
            method,
            route,
            path,
            Some("officer_a"),
            vec!["admin_b"],
            vec!["lead_a1", "head_a1", "assessor_a", "lead_b1", "operator"],
        ));
    }
    // Good practice. A school's offer: only its own staff.
    for method in ["GET", "POST"] {
        cases.push(Case::new(
            method,
            "/assessments/{id}/strands/{key}/practice",
            format!("/assessments/{h1}/strands/2.1/practice"),
            Some("lead_a1"),
            vec!["lead_a2", "lead_b1"],
            vec!["officer_a", "assessor_a", "admin_b"],
        ));
    }
    // Published practice: everyone of the authority; nobody of another.
    let (pp, po, ph) = (
        w.practice_published,
        w.practice_offered,
        w.practice_with_head,
    );
    for (method, route, path) in [
        ("GET", "/practice/{id}", format!("/practice/{pp}")),
        (
            "GET",
            "/practice/{id}/documents/{doc}",
            format!("/practice/{pp}/documents/{}", w.practice_doc),
        ),
        (
            "POST",
            "/practice/{id}/contact",
            format!("/practice/{pp}/contact"),
        ),
    ] {
        cases.push(Case::new(
            method,
            route,
            path,
            Some("assessor_a"),
            vec!["lead_b1", "admin_b", "head_b1"],
            vec!["operator"],
        ));
    }
    // Waiting for its head: its school only; the officer does not see it yet.
    cases.push(Case::new(
        "GET",
        "/practice/{id}",
        format!("/practice/{ph}"),
        Some("head_a1"),
        vec!["lead_a2", "officer_a", "assessor_a", "lead_b1"],
        vec![],
    ));
    cases.push(Case::new(
        "POST",
        "/practice/{id}/withdraw",
        format!("/practice/{ph}/withdraw"),
        Some("head_a1"),
        vec!["lead_a2", "lead_b1", "head_b1"],
        vec!["officer_a", "assessor_a"],
    ));
    // Offered: the authority's officers decide; no one else.
    for (method, route, path) in [
        (
            "GET",
            "/practice/{id}/decision",
            format!("/practice/{po}/decision"),
        ),
        (
            "POST",
            "/practice/{id}/decision",
            format!("/practice/{po}/decision"),
        ),
        (
            "POST",
            "/practice/{id}/feature",
            format!("/practice/{pp}/feature"),
        ),
    ] {
        cases.push(Case::new(
            method,
            route,
            path,
            Some("officer_a"),
            vec!["admin_b"],
            vec!["lead_a1", "head_a1", "assessor_a", "lead_b1"],
        ));
    }
    cases.push(Case::new(
        "POST",
        "/practice/{id}/platform",
        format!("/practice/{pp}/platform"),
        Some("officer_a"),
        vec!["admin_b"],
        vec!["lead_a1", "head_a1", "assessor_a", "lead_b1"],
    ));
    // Another authority's entry shared platform-wide: nobody here has opted in, so no one sees it,
    // and the shared route never shows an authority its own.
    cases.push(Case::new(
        "GET",
        "/practice/shared/{id}",
        format!("/practice/shared/{pp}"),
        None,
        vec!["admin_b", "lead_b1", "officer_a", "lead_a2"],
        vec!["operator"],
    ));
    for method in ["GET", "POST"] {
        cases.push(Case::new(
            method,
            "/settings/sharing",
            "/settings/sharing".into(),
            Some("admin_a"),
            vec![],
            vec!["officer_a", "lead_a1", "head_a1", "assessor_a", "operator"],
        ));
    }
    for path in ["/practice/review", "/practice/booklet.pdf"] {
        cases.push(Case::new(
            "GET",
            path,
            path.into(),
            Some("officer_a"),
            vec![],
            vec!["lead_a1", "head_a1", "assessor_a", "operator"],
        ));
    }
    cases.push(Case::new(
        "GET",
        "/practice",
        "/practice".into(),
        Some("assessor_a"),
        vec![],
        vec!["operator"],
    ));
    // Tenant B's event is not found by tenant A's officer.
    cases.push(Case::new(
        "GET",
        "/events/{id}",
        format!("/events/{}", w.event_b),
        Some("admin_b"),
        vec!["officer_a", "admin_a"],
        vec![],
    ));
    for path in ["/dashboard", "/attendance"] {
        cases.push(Case::new(
            "GET",
            path,
            path.into(),
            Some("officer_a"),
            vec![],
            vec!["lead_a1", "head_a1", "assessor_a", "operator"],
        ));
    }
    // Ids in form fields: another tenant's school is not one to enrol, invite into or move to.
    for (route, path, allowed, field) in [
        (
            "/cohorts/{id}/enrol#school",
            format!("/cohorts/{}/enrol", w.cohort_a),
            "officer_a",
            "school",
        ),
        (
            "/people/invite#school",
            "/people/invite".into(),
            "admin_a",
            "school",
        ),
        (
            "/people/{id}/role#school",
            format!("/people/{}/role", id("head_a1")),
            "admin_a",
            "school",
        ),
    ] {
        let mut c = Case::new("POST", route, path, Some(allowed), vec![], vec![]);
        c.form = vec![
            (field, w.b1.to_string()),
            ("role", "head_teacher".into()),
            ("name", "Forged School Person".into()),
            ("email", "forged@example.org".into()),
        ];
        cases.push(c);
    }
    cases
}

/// Form fields and query parameters that carry an id: each must have a case sending another
/// tenant's id (the audit filter's is in `lists_and_downloads_show_only_the_viewers_tenant_and_school`).
const ID_FIELDS: &[(&str, &str)] = &[
    ("POST", "/cohorts/{id}/enrol#school"),
    ("POST", "/people/invite#school"),
    ("POST", "/people/{id}/role#school"),
];

async fn request(v: &mut Visitor, method: &str, path: &str, form: &[(&str, String)]) -> Page {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match method {
        "GET" => v.get(path).await,
        _ => v.post(path, &fields).await,
    }
}

/// Every route of the route table that takes an id, and every id-carrying form field, has a
/// case: a new route cannot be added without saying who it refuses.
#[test]
fn every_id_taking_route_has_an_isolation_case() {
    let covered: HashSet<(String, String)> = cases(&World::placeholder())
        .iter()
        .map(|c| (c.method.to_string(), c.route.to_string()))
        .collect();
    let table = aqm::app::route_list();
    let mut missing = Vec::new();
    for (method, path) in &table {
        // The emailed link's token and the public criteria's key are not ids of a tenant's
        // records; their own tests cover them.
        let public = path.starts_with("/set-password/") || path.starts_with("/frameworks/");
        if path.contains('{') && !public {
            let key = (method.to_string(), path.to_string());
            if !covered.contains(&key) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    for (method, field) in ID_FIELDS {
        let route = field.split_once('#').map_or(*field, |(r, _)| r);
        if !table
            .iter()
            .any(|(m, p)| m.as_str() == *method && *p == route)
        {
            missing.push(format!("{method} {field}: no such route"));
        }
        if !covered.contains(&(method.to_string(), field.to_string())) {
            missing.push(format!("{method} {field}"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a cross-tenant and cross-school case:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn other_tenants_and_other_schools_are_refused_on_every_route() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut visitors: HashMap<&str, Visitor> = HashMap::new();
    for (key, user) in &w.users {
        let mut v = app.signed_in(user).await;
        v.get("/home").await;
        visitors.insert(key, v);
    }
    let before = checksum(&app, w.b).await;
    let mut failures = Vec::new();
    let cases = cases(&w);
    let (mut refusals, mut controls) = (0, 0);
    // First everyone who must be refused, so that no control below has changed anything yet.
    for c in &cases {
        let refused = c.not_found.iter().map(|who| (who, 404));
        for (who, expected) in refused.chain(c.forbidden.iter().map(|who| (who, 403))) {
            let page = request(visitors.get_mut(who).unwrap(), c.method, &c.path, &c.form).await;
            refusals += 1;
            if page.status != expected {
                failures.push(format!(
                    "{} {} as {who}: {}, expected {expected}",
                    c.method, c.path, page.status
                ));
            }
        }
    }
    assert_eq!(
        checksum(&app, w.b).await,
        before,
        "refused requests changed tenant B's rows"
    );
    // Then each route's control: its own people get through (a mistyped path would be 404), and
    // another tenant's id in a form field is refused next to the field, never used.
    for c in &cases {
        let Some(who) = c.allowed else { continue };
        let page = request(visitors.get_mut(who).unwrap(), c.method, &c.path, &c.form).await;
        controls += 1;
        let ok = match (c.method, c.form.is_empty()) {
            ("GET", _) => page.status == 200,
            (_, true) => matches!(page.status, 200 | 303 | 409 | 422),
            (_, false) => page.status == 422,
        };
        if !ok {
            failures.push(format!(
                "{} {} as {who} (the control): {}",
                c.method, c.path, page.status
            ));
        }
    }
    let routes: std::collections::HashSet<(&str, &str)> =
        cases.iter().map(|c| (c.method, c.route)).collect();
    println!(
        "security: access: {refusals} probes of another tenant, school or role over {} routes, {} leaks; {controls} controls, tenant B's rows unchanged",
        routes.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Forged ids in forms gave tenant B's school no handbook and no people of tenant A.
    let (assessments, foreign_people): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM assessment WHERE school_id = $1),
                (SELECT count(*) FROM app_user WHERE school_id = $1 AND tenant_id <> $2)",
    )
    .bind(w.b1)
    .bind(w.b)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((assessments, foreign_people), (1, 0));
}

/// A fingerprint of what tenant `t` holds, to show that refused requests changed nothing.
async fn checksum(app: &TestApp, t: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT md5(concat_ws('|',
            (SELECT string_agg(u.id::text || u.active::text || u.role || coalesce(u.school_id::text, ''), ',' ORDER BY u.id) FROM app_user u WHERE u.tenant_id = $1),
            (SELECT string_agg(e.id::text || coalesce(e.deleted_at::text, ''), ',' ORDER BY e.id) FROM evidence e WHERE e.tenant_id = $1),
            (SELECT string_agg(a.id::text || a.status, ',' ORDER BY a.id) FROM assessment a WHERE a.tenant_id = $1),
            (SELECT count(*)::text FROM evidence_link l WHERE l.tenant_id = $1),
            (SELECT count(*)::text FROM strand_entry s WHERE s.tenant_id = $1),
            (SELECT count(*)::text FROM cohort c WHERE c.tenant_id = $1),
            (SELECT string_agg(d.id::text || d.day::text, ',' ORDER BY d.id) FROM closure_day d WHERE d.tenant_id = $1)))",
    )
    .bind(t)
    .fetch_one(&app.pool)
    .await
    .unwrap()
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

/// Row-level security is the second wall: found from the catalogue, every table with a
/// `tenant_id` column has it enabled, and inside tenant A's transaction a deliberately unscoped
/// query of each table the web role may read sees none of tenant B's rows (which the test makes
/// sure exist), and writing a row of tenant B into any table is refused.
#[tokio::test]
async fn every_table_with_a_tenant_column_is_walled_by_row_level_security() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Give tenant B a row in every table: a session, an invitation (token, outbox, audit), a
    // best-fit rule, a saved strand (entry, revision) and a link.
    let mut admin_b = app.signed_in(&w.users["admin_b"]).await;
    admin_b.get("/people/invite").await;
    let invited = admin_b
        .post(
            "/people/invite",
            &[
                ("name", "New Assessor"),
                ("email", "new-assessor@example.org"),
                ("role", "assessor"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303);
    admin_b.get("/settings/best-fit").await;
    let rule = admin_b
        .post(
            "/settings/best-fit",
            &[
                ("version", "0"),
                ("strands-1", "100%"),
                ("themes-1", "100%"),
                ("strands-2", "2"),
                ("themes-2", "5"),
                ("strands-3", "75%"),
                ("themes-3", "5"),
                ("starts_above", "left_out"),
                ("stops_below", "meets_at_top"),
            ],
        )
        .await;
    assert_eq!(rule.status, 303, "{}", rule.body);
    let handbook_b1: Uuid = sqlx::query_scalar("SELECT id FROM assessment WHERE school_id = $1")
        .bind(w.b1)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut lead_b1 = app.signed_in(&w.users["lead_b1"]).await;
    let strand = format!("/assessments/{handbook_b1}/strands/1.1");
    lead_b1.get(&strand).await;
    let saved = lead_b1
        .post(&strand, &[("actions", "Beta's text"), ("version", "0")])
        .await;
    assert_eq!(saved.status, 303);
    lead_b1.get(&strand).await;
    let linked = lead_b1
        .post(
            &format!("{strand}/evidence"),
            &[("evidence", &w.evidence_b1.to_string())],
        )
        .await;
    assert_eq!(linked.status, 303);
    // A comment, a step of the timeline and a submission of tenant B.
    let mut head_b1 = app.signed_in(&w.users["head_b1"]).await;
    head_b1.get(&strand).await;
    let commented = head_b1
        .post(
            &format!("{strand}/comments"),
            &[("comment", "Beta's comment")],
        )
        .await;
    assert_eq!(commented.status, 303);
    lead_b1.get(&format!("/assessments/{handbook_b1}")).await;
    let sent = lead_b1
        .post(&format!("/assessments/{handbook_b1}/send-to-head"), &[])
        .await;
    assert_eq!(sent.status, 303);
    submission(&app, w.b, handbook_b1, None, w.users["head_b1"].id).await;
    sqlx::query(
        "INSERT INTO reminder (tenant_id, assessment_id, kind, due_on, deadline) VALUES ($1, $2, 'deadline_day', '2027-03-01', '2027-03-01')",
    )
    .bind(w.b)
    .bind(handbook_b1)
    .execute(&app.pool)
    .await
    .unwrap();
    // A judgement and an award of tenant B, with its strengths.
    for sql in [
        "INSERT INTO strand_judgement (tenant_id, assessment_id, strand_key, agreed_level, updated_by) VALUES ($1, $2, '1.1', 'gold', $3)",
        "INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
         VALUES ($1, $2, $3, 'gold', 'gold', 'gold', current_date, current_date + 1000, md5(random()::text))",
        "INSERT INTO award_theme (tenant_id, assessment_id, theme_number, strengths)
         SELECT $1, $2, 1, 'Beta strengths' WHERE $3::uuid IS NOT NULL",
        // The programme's events with a register, attendance figures and targets of tenant B.
        "INSERT INTO event_attendance (tenant_id, event_id, school_id, lead_attended, head_attended, recorded_by)
         SELECT $1, e.id, a.school_id, true, true, $3 FROM programme_event e
         JOIN assessment a ON a.tenant_id = e.tenant_id AND a.id = $2 WHERE e.tenant_id = $1",
        "INSERT INTO attendance_figure (tenant_id, school_id, time_period, term, overall_pct, source, recorded_by)
         SELECT $1, school_id, 202324, 'Academic year', 6.1, 'dfe', $3 FROM assessment WHERE id = $2",
        "INSERT INTO attendance_target (tenant_id, school_id, time_period, overall_pct, set_by)
         SELECT $1, school_id, 202425, 5.0, $3 FROM assessment WHERE id = $2",
        // Good practice of tenant B with a document, a recommendation and a question.
        "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                               actions, status, contact_id, created_by)
         SELECT gen_random_uuid(), $1, school_id, $2, '1.1', 1, '1.1', 'Beta practice', 'published', $3, $3
         FROM assessment WHERE id = $2",
        "INSERT INTO practice_document (tenant_id, practice_id, evidence_id)
         SELECT $1, p.id, e.id FROM practice p, evidence e
         WHERE p.tenant_id = $1 AND e.tenant_id = $1 AND $2::uuid IS NOT NULL AND $3::uuid IS NOT NULL LIMIT 1",
        "INSERT INTO practice_recommendation (tenant_id, assessment_id, strand_key, assessor_id)
         SELECT $1, $2, '1.1', id FROM app_user WHERE tenant_id = $1 AND role = 'tenant_admin' AND $3::uuid IS NOT NULL LIMIT 1",
        "INSERT INTO practice_contact (id, tenant_id, practice_id, sender_id, message)
         SELECT gen_random_uuid(), $1, p.id, $3, 'Beta question' FROM practice p WHERE p.tenant_id = $1 AND $2::uuid IS NOT NULL",
    ] {
        sqlx::query(sql)
            .bind(w.b)
            .bind(handbook_b1)
            .bind(w.users["head_b1"].id)
            .execute(&app.pool)
            .await
            .unwrap();
    }

    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
         ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tables.len() >= 12, "found only {tables:?}");
    let mut failures = Vec::new();
    for (table, rls) in &tables {
        if !rls {
            failures.push(format!("{table}: row-level security is not enabled"));
            continue;
        }
        // Identifiers cannot be bound; these come from the catalogue.
        let rows_of_b: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(w.b)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if rows_of_b == 0 {
            failures.push(format!("{table}: the test gave tenant B no row to hide"));
        }
        let readable: bool =
            sqlx::query_scalar("SELECT has_table_privilege('aqm_app', $1, 'SELECT')")
                .bind(table)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if readable {
            let mut tx = app.db.tenant_tx(w.a).await.unwrap();
            let seen: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} WHERE tenant_id IS DISTINCT FROM $1"
            ))
            .bind(w.a)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            if seen != 0 {
                failures.push(format!("{table}: tenant A sees {seen} rows of others"));
            }
        }
        // Writing a row of tenant B is refused, whatever the columns: the policy's check (or
        // the missing privilege) stops it before any other constraint is looked at.
        // Every column but the generated ones (a search vector), which take no value.
        let columns: String = sqlx::query_scalar(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
        )
        .bind(table)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let mut tx = app.db.tenant_tx(w.a).await.unwrap();
        let forged = sqlx::query(&format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_record(NULL::{table}, json_build_object('tenant_id', $1::uuid))"
        ))
        .bind(w.b)
        .execute(&mut *tx)
        .await;
        match forged {
            Ok(_) => failures.push(format!("{table}: tenant A wrote a row of tenant B")),
            Err(e) => {
                let text = e.to_string();
                if !(text.contains("row-level security") || text.contains("permission denied")) {
                    failures.push(format!("{table}: refused for another reason: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
