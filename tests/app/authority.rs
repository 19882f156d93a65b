//! The local authority: programme events and registers, withdrawal, reading a school's handbook,
//! the dashboard and its downloads, the DfE absence import, figures by hand, targets and the
//! impact view.

use crate::handbook::world;
use crate::helpers::*;
use crate::review::mails_to;
use uuid::Uuid;

async fn cohort_of(app: &TestApp, assessment: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT cohort_id FROM assessment WHERE id = $1")
        .bind(assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A DfE school-level file: Riverside (100001) with figures, Hilltop (100002) with markers, a
/// school of another authority, and a local-authority total row.
pub const DFE_FILE: &str = "time_period,time_identifier,geographic_level,country_code,country_name,la_name,education_phase,school_urn,school_name,enrolments,sess_possible,sess_overall,sess_overall_percent,enrolments_pa_10_exact,enrolments_pa_10_exact_percent,enrolments_pa_50_exact,enrolments_pa_50_exact_percent
202223,Academic year,School,E92000001,England,Liverpool,State-funded primary,100001,Riverside Primary,400,150000,12000,8.0,96,24.0,8,2.0
202223,Academic year,School,E92000001,England,Liverpool,State-funded primary,100002,Hilltop Primary,300,110000,x,z,x,c,x,c
202223,Academic year,School,E92000001,England,Sefton,State-funded primary,999001,Elsewhere Primary,300,110000,7000,6.4,40,13.3,3,1.0
202223,Academic year,Local authority,E92000001,England,Liverpool,Total,,,,,,7.5,,22.0,,2.2
202324,Academic year,School,E92000001,England,Liverpool,State-funded primary,100001,Riverside Primary,410,152000,9120,6.0,74,18.0,4,1.0
202324,Autumn term,School,E92000001,England,Liverpool,State-funded primary,100001,Riverside Primary,410,50000,2500,5.0,50,12.2,2,0.5
";

#[tokio::test]
async fn an_officer_sets_the_events_takes_registers_and_sees_who_missed_them() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cohort = cohort_of(&app, w.assessment).await;
    let mut officer = app.signed_in(&w.officer).await;
    let events = format!("/cohorts/{cohort}/events");
    let page = officer.get(&events).await;
    assert_eq!(page.status, 200);
    for title in [
        "Launch",
        "CPD 1: key themes 1 and 2",
        "CPD 2: key themes 3 and 4",
        "CPD 3: key themes 5 and 6",
        "Award and celebration event",
    ] {
        assert!(page.body.contains(title), "{title}");
    }
    // Wrong fields are named next to each field; nothing is saved.
    let bad = officer
        .post(
            &events,
            &[
                ("kind", "launch"),
                ("when-day", "31"),
                ("when-month", "2"),
                ("when-year", "2027"),
                ("time", "9"),
                ("place", ""),
                ("capacity", "lots"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body
            .contains("The event&#x27;s date must be a real date")
            || bad.body.contains("must be a real date"),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("Enter where the event takes place"));
    assert!(bad.body.contains("whole number from 1 to 10,000"));
    let kinds = [
        ("launch", "2026", "9"),
        ("cpd1", "2026", "10"),
        ("cpd2", "2027", "1"),
        ("cpd3", "2027", "3"),
        ("celebration", "2027", "7"),
    ];
    for (kind, year, month) in kinds {
        let done = officer
            .post(
                &events,
                &[
                    ("kind", kind),
                    ("when-day", "15"),
                    ("when-month", month),
                    ("when-year", year),
                    ("time", "09:30"),
                    ("place", "Cunard Building"),
                    ("capacity", "60"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{kind}: {}", done.body);
    }
    let ids: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, kind FROM programme_event WHERE cohort_id = $1 ORDER BY starts_at",
    )
    .bind(cohort)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), 5);
    let launch = ids[0].0;
    // Invitations reach the lead and head of each school.
    let sent = officer.post(&format!("/events/{launch}/invite"), &[]).await;
    assert_eq!(sent.status, 303);
    let to_head = mails_to(&app, &w.head.email).await;
    assert!(
        to_head.iter().any(
            |(subject, body, _)| subject.starts_with("Invitation: Launch")
                && body.contains("Cunard Building")
                && body.contains("The head teacher must attend with the Attendance Lead")
        ),
        "{to_head:?}"
    );
    assert!(!mails_to(&app, &w.lead.email).await.is_empty());
    // The register: Riverside's lead came without the head; nobody from Hilltop.
    let register = officer.get(&format!("/events/{launch}")).await;
    assert!(
        register.body.contains("Riverside Primary") && register.body.contains("Hilltop Primary")
    );
    let lead_box = format!("lead:{}", w.school);
    // A school that is not in the cohort (another tenant's, say) is ignored.
    let forged = format!("head:{}", Uuid::new_v4());
    let taken = officer
        .post(
            &format!("/events/{launch}/register"),
            &[(&lead_box, "yes"), (&forged, "yes")],
        )
        .await;
    assert_eq!(taken.status, 303);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM event_attendance WHERE event_id = $1")
        .bind(launch)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        rows, 2,
        "one row per school of the cohort, none for the forged one"
    );
    // CPD 1 too: Hilltop's head came.
    let head_box = format!("head:{}", w.other_school);
    let cpd1 = ids[1].0;
    officer
        .post(&format!("/events/{cpd1}/register"), &[(&head_box, "yes")])
        .await;
    let cohort_page = officer.get(&format!("/cohorts/{cohort}")).await;
    assert!(cohort_page.body.contains("Head teacher missed the launch"));
    assert!(cohort_page.body.contains("Missed the launch"));
    assert!(cohort_page.body.contains("Missed CPD 1"));
    let again = officer.get(&format!("/events/{launch}")).await;
    assert!(again.body.contains(&format!(
        "id=\"lead-{}\" name=\"{lead_box}\" type=\"checkbox\" value=\"yes\" checked",
        w.school
    )));
    // Nobody else's: another tenant's officer gets 404 for the event.
    let mut stranger = app.stranger_officer().await;
    assert_eq!(stranger.get(&format!("/events/{launch}")).await.status, 404);
    assert_eq!(
        stranger
            .post(&format!("/events/{launch}/register"), &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_withdrawn_school_keeps_its_handbook_read_only_and_may_join_again() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cohort = cohort_of(&app, w.assessment).await;
    let mut lead = app.signed_in(&w.lead).await;
    let saved = lead
        .post(
            &format!("/assessments/{}/strands/1.1", w.assessment),
            &[
                (
                    "actions",
                    "Our attendance policy was rewritten with parents.",
                ),
                ("impact", ""),
                ("level", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let mut officer = app.signed_in(&w.officer).await;
    // The officer reads the handbook as the school wrote it.
    let read = officer
        .get(&format!("/assessments/{}/read", w.assessment))
        .await;
    assert_eq!(read.status, 200);
    assert!(
        read.body
            .contains("Our attendance policy was rewritten with parents.")
    );
    assert!(!read.body.contains("<textarea"));
    // A reason is required.
    let path = format!("/assessments/{}/withdraw", w.assessment);
    assert_eq!(officer.get(&path).await.status, 200);
    let no_reason = officer.post(&path, &[("reason", "  ")]).await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains("Enter why the school is withdrawn"));
    let done = officer
        .post(
            &path,
            &[("reason", "The school is joining the next cohort instead.")],
        )
        .await;
    assert_eq!(done.status, 303);
    let (stage, status): (String, String) =
        sqlx::query_as("SELECT stage, status FROM assessment WHERE id = $1")
            .bind(w.assessment)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((stage.as_str(), status.as_str()), ("withdrawn", "closed"));
    assert!(
        mails_to(&app, &w.lead.email)
            .await
            .iter()
            .any(|(s, b, _)| s.contains("withdrawn") && b.contains("joining the next cohort"))
    );
    // The school reads it, cannot change it, and its typed text comes back on the page.
    let page = lead
        .get(&format!("/assessments/{}/strands/1.1", w.assessment))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("withdrawn from this cohort"));
    let refused = lead
        .post(
            &format!("/assessments/{}/strands/1.1", w.assessment),
            &[
                ("actions", "A change after withdrawal"),
                ("impact", ""),
                ("level", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("A change after withdrawal"));
    let kept: String = sqlx::query_scalar(
        "SELECT actions FROM strand_entry WHERE assessment_id = $1 AND strand_key = '1.1'",
    )
    .bind(w.assessment)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, "Our attendance policy was rewritten with parents.");
    // The cohort page marks it; a second withdrawal is refused; no visit can be arranged.
    let cohort_page = officer.get(&format!("/cohorts/{cohort}")).await;
    assert!(cohort_page.body.contains("Withdrawn"));
    assert_eq!(
        officer.post(&path, &[("reason", "again")]).await.status,
        422
    );
    // The school can join again (it is a candidate once more).
    assert!(
        cohort_page
            .body
            .contains(&format!("<option value=\"{}\">Riverside Primary", w.school))
    );
    // The other school's lead and another school's head never reach these pages.
    let mut other = app.signed_in(&w.other_lead).await;
    assert_eq!(other.get(&path).await.status, 403);
    assert_eq!(
        other
            .get(&format!("/assessments/{}/read", w.assessment))
            .await
            .status,
        403
    );
}

async fn import(officer: &mut Visitor, file: &str) -> Page {
    officer.get("/attendance").await;
    officer
        .upload(
            "/attendance/import",
            "file",
            "absence.csv",
            file.as_bytes().to_vec(),
            &[],
        )
        .await
}

#[tokio::test]
async fn the_dfe_file_is_imported_all_or_nothing_with_markers_as_no_value() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut officer = app.signed_in(&w.officer).await;
    // A malformed file: every bad line named, nothing imported.
    let bad = format!(
        "{DFE_FILE}202324,Academic year,School,E92000001,England,Liverpool,State-funded primary,100002,Hilltop Primary,300,1,1,twelve,1,1,1,1\n2023,Academic year,School,E,E,L,P,100002,H,1,1,1,5,1,1,1,1\n"
    );
    let refused = import(&mut officer, &bad).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("Line 8: sess_overall_percent &quot;twelve&quot;")
            || refused
                .body
                .contains("Line 8: sess_overall_percent &#34;twelve&#34;"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Line 9: time_period"));
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM attendance_figure")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0);
    // The good file: 4 figures of ours; the other authority's school counted and skipped.
    let done = import(&mut officer, DFE_FILE).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body
            .contains("4 figures imported for 2022/23, 2023/24"),
        "{}",
        done.body
    );
    assert!(
        done.body
            .contains("1 rows were for schools outside your authority")
    );
    assert_eq!(count().await, 4);
    let hilltop: (Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT overall_pct, pa_pct, severe_pct FROM attendance_figure WHERE school_id = $1",
    )
    .bind(w.other_school)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        hilltop,
        (None, None, None),
        "markers are no value, never zero"
    );
    // Re-importing a year replaces it: 2023/24 alone, with a new figure.
    let again = "time_period,time_identifier,geographic_level,school_urn,sess_overall_percent,enrolments_pa_10_exact_percent\n202324,Academic year,School,100001,5.5,17.0\n";
    let replaced = import(&mut officer, again).await;
    assert_eq!(replaced.status, 200);
    assert!(
        replaced
            .body
            .contains("2 figures from an earlier import of the same year were replaced"),
        "{}",
        replaced.body
    );
    assert_eq!(count().await, 3);
    // A target and a figure by hand; the school's page shows them against England.
    let school = format!("/schools/{}/attendance", w.school);
    let bad_target = officer
        .post(
            &format!("{school}/targets"),
            &[
                ("target-year", "next year"),
                ("target-overall", "4"),
                ("target-pa", ""),
            ],
        )
        .await;
    assert_eq!(bad_target.status, 422);
    assert!(
        bad_target
            .body
            .contains("Enter the academic year like 2025/26")
    );
    let target = officer
        .post(
            &format!("{school}/targets"),
            &[
                ("target-year", "2023/24"),
                ("target-overall", "5.0"),
                ("target-pa", "15"),
            ],
        )
        .await;
    assert_eq!(target.status, 303);
    let figure = officer
        .post(
            &school,
            &[
                ("year", "2024/25"),
                ("term", "Autumn term"),
                ("overall", "4.8%"),
                ("pa", ""),
                ("severe", ""),
            ],
        )
        .await;
    assert_eq!(figure.status, 303, "{}", figure.body);
    let page = officer.get(&school).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Overall absence by year"));
    assert!(page.body.contains("<svg role=\"img\""));
    // 2023/24: the school 5.5, England (primary) 5.5, target 5.0; 2024/25 autumn only.
    assert!(page.body.contains("Autumn term only"));
    let csv = officer
        .download(&format!("{school}?table=school-attendance&format=csv"))
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with("\"2023/24\""))
        .unwrap()
        .to_string();
    assert_eq!(line, "\"2023/24\",5.5,5.5,5.5,5.0,\"\"", "{csv}");
    let line = csv
        .lines()
        .find(|l| l.starts_with("\"2022/23\""))
        .unwrap()
        .to_string();
    assert_eq!(line, "\"2022/23\",8.0,8.0,5.9,,\"\"", "{csv}");
    let pa = officer
        .download(&format!("{school}?table=school-persistent&format=xlsx"))
        .await;
    assert!(
        pa.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("school-persistent.xlsx")
    );
    let pa = officer
        .download(&format!("{school}?table=school-persistent&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(pa.contains("\"2023/24\",17.0,17.0,,15.0,,\r\n"), "{pa}");
    assert!(pa.contains("\"2022/23\",24.0,24.0,,,2.0,\r\n"), "{pa}");
    // Another authority's officer: 404 on the school's page and its forms.
    let mut stranger = app.stranger_officer().await;
    assert_eq!(stranger.get(&school).await.status, 404);
    assert_eq!(
        stranger.post(&school, &[("year", "2024/25")]).await.status,
        404
    );
    // A lead: refused.
    let mut lead = app.signed_in(&w.lead).await;
    assert_eq!(lead.get(&school).await.status, 403);
    assert_eq!(lead.get("/attendance").await.status, 403);
    // England's figures download with their sources.
    let england = officer
        .download("/attendance?table=england&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        england.contains(
            "\"2023/24\",\"Total\",7.1,20.0,2.3,\"\",\"EES 2023-24 page; PA press 20 Mar 2025\""
        ),
        "{england}"
    );
    assert!(england.contains("\"2020/21\",\"Total\",4.6,12.1,1.1,\"Not like-for-like"));
}

#[tokio::test]
async fn the_dashboard_counts_filters_and_downloads_what_it_shows() {
    let app = spawn_app().await;
    let w = world(&app).await;
    // Riverside has written a strand; Hilltop nothing.
    let mut lead = app.signed_in(&w.lead).await;
    lead.post(
        &format!("/assessments/{}/strands/3.5", w.assessment),
        &[
            ("actions", "First-day calling for every absence."),
            ("impact", ""),
            ("level", "bronze"),
        ],
    )
    .await;
    let mut officer = app.signed_in(&w.officer).await;
    import(&mut officer, DFE_FILE).await;
    let page = officer.get("/dashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Schools by status"));
    assert!(
        page.body
            .contains("aria-labelledby=\"status-chart-title status-chart-desc\"")
    );
    assert!(
        page.body.contains("Not started: 1; In progress: 1"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Impact on attendance"));
    // The theme table: theme 3 has one claim at the first level.
    let themes = officer
        .download("/dashboard?table=themes&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        themes
            .lines()
            .any(|l| l.starts_with("\"3. ") && l.ends_with(",1.0,1,,0")),
        "{themes}"
    );
    // The school table filtered by status, on screen and in both downloads.
    let filtered = officer.get("/dashboard?status=not_started").await;
    assert!(
        filtered
            .body
            .contains("Schools with status Not started: 1 handbook")
    );
    let csv = officer
        .download("/dashboard?status=not_started&table=schools&format=csv")
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("\"Hilltop Primary\",100002,\"Primary\",\"2026/27\",\"Not started\""),
        "{csv}"
    );
    let xlsx = officer
        .download("/dashboard?status=not_started&table=schools&format=xlsx")
        .await;
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        xlsx.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("schools.xlsx")
    );
    let bytes = xlsx.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let unknown = officer
        .download("/dashboard?table=secrets&format=csv")
        .await;
    assert_eq!(unknown.status(), 404);
    // Others: leads and assessors are refused the dashboard.
    assert_eq!(lead.get("/dashboard").await.status, 403);
}
