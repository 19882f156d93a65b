//! The handbook to print, and the ZIP of it with every linked evidence file, by strand.

use crate::evidence::{PDF, upload, uploaded_id};
use crate::handbook::world;
use crate::helpers::{html_escape, spawn_app};

#[tokio::test]
async fn the_handbook_prints_and_downloads_with_its_evidence() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let strand = |key: &str| format!("/assessments/{}/strands/{key}", w.assessment);
    lead.get(&strand("1.1")).await;
    let saved = lead
        .post(
            &strand("1.1"),
            &[
                ("version", "0"),
                (
                    "actions",
                    "Plan reviewed by governors.\nShared with parents.",
                ),
                ("level", "gold"),
                ("impact", "Attendance up 2 points."),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let doc = uploaded_id(
        &upload(
            &mut lead,
            "development plan.pdf",
            PDF,
            "School Development Plan",
            &[],
        )
        .await,
    );
    for key in ["1.1", "2.1"] {
        lead.get(&strand(key)).await;
        let linked = lead
            .post(
                &format!("{}/evidence", strand(key)),
                &[("evidence", &doc.to_string())],
            )
            .await;
        assert_eq!(linked.status, 303, "{}", linked.body);
    }

    let print = lead
        .get(&format!("/assessments/{}/print", w.assessment))
        .await;
    assert_eq!(print.status, 200);
    let fw = app.catalogue.get("laqm", "v1").unwrap();
    for (_, s) in fw.strands() {
        for text in s.statements.values() {
            assert!(
                print.body.contains(&html_escape(text)),
                "missing statement of {}",
                s.key
            );
        }
    }
    assert!(
        print
            .body
            .contains("Plan reviewed by governors.\nShared with parents.")
    );
    assert!(
        print
            .body
            .contains("School Development Plan (development plan.pdf)")
    );

    let resp = lead
        .download(&format!("/assessments/{}/handbook.zip", w.assessment))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"handbook-riverside-primary-2026-27.zip\""
    );
    let bytes = resp.bytes().await.unwrap();
    let file = crate::helpers::temp_dir("zip").join("handbook.zip");
    std::fs::write(&file, &bytes).unwrap();
    // Debian's unzip checks every entry's CRC and lists the names.
    let test = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&file)
        .output()
        .expect("unzip is installed");
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let listing = String::from_utf8_lossy(
        &std::process::Command::new("unzip")
            .arg("-l")
            .arg(&file)
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    for name in [
        "handbook.html",
        "strand 1.1/development plan.pdf",
        "strand 2.1/development plan.pdf",
    ] {
        assert!(listing.contains(name), "{name} missing from\n{listing}");
    }
    let html = std::process::Command::new("unzip")
        .arg("-p")
        .arg(&file)
        .arg("handbook.html")
        .output()
        .unwrap()
        .stdout;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Plan reviewed by governors."));
    assert!(html.contains("Suggested best fit overall"));
    assert!(html.contains("Suggested by the platform&#39;s default rule"));

    assert!(listing.contains("handbook.pdf"));

    // The PDF: an attachment, tagged, fonts embedded, with the statements and the school's words.
    let resp = lead
        .download(&format!("/assessments/{}/handbook.pdf", w.assessment))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"handbook-riverside-primary-2026-27.pdf\""
    );
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("/StructTreeRoot") && raw.contains("/MarkInfo"),
        "tagged"
    );
    assert!(
        raw.contains("/FontFile2") || raw.contains("/FontFile3"),
        "fonts embedded"
    );
    let pdf_file = file.with_file_name("handbook.pdf");
    std::fs::write(&pdf_file, &pdf).unwrap();
    // Debian's poppler-utils reads the text back as a reader would.
    let text = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf_file)
        .arg("-")
        .output()
        .expect("pdftotext is installed");
    let text = String::from_utf8_lossy(&text.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("Plan reviewed by governors."), "{text}");
    assert!(text.contains("Level claimed: Gold"));
    assert!(text.contains("Key theme 6: Quality of provision"));
    // Whose best-fit rule it is, and the two strands printed 4.5 told apart.
    assert!(
        text.contains("Suggested by the platform's default rule"),
        "{text}"
    );
    assert!(text.contains("Strand 4.5 (charter): The Liverpool Attendance Charter"));
    let statement = fw.strands().next().unwrap().1.statements["bronze"]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(&statement[..60]),
        "a statement of strand 1.1 is in the PDF"
    );
    let info = String::from_utf8_lossy(
        &std::process::Command::new("pdfinfo")
            .arg(&pdf_file)
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    assert_eq!(field("Tagged:"), "yes", "{info}");
    assert_eq!(
        field("Title:"),
        "Attendance Quality Mark handbook – Riverside Primary, 2026/27"
    );

    // Another school's lead is not found; the officer may not use the handbook's pages.
    let mut other = app.signed_in(&w.other_lead).await;
    let mut officer = app.signed_in(&w.officer).await;
    for path in [
        format!("/assessments/{}/print", w.assessment),
        format!("/assessments/{}/handbook.zip", w.assessment),
    ] {
        assert_eq!(other.get(&path).await.status, 404, "{path}");
        assert_eq!(officer.get(&path).await.status, 403, "{path}");
    }
}
