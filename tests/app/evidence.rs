//! The evidence library: uploads judged by content and held once per distinct file, refused as
//! soon as they pass the size limit, linked to many strands from either side, downloaded as
//! attachments, soft-deleted with an audit trail, and read for pupil data before they are kept.

use crate::handbook::{World, world};
use crate::helpers::{Page, TestApp, Visitor, html_escape, spawn_app, spawn_app_with};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A Word file's shape: a ZIP archive with `[Content_Types].xml` and a `word/` folder.
pub fn docx() -> Vec<u8> {
    stored_zip(&[
        ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
    ])
}

/// A Word file carrying a VBA project under a name of its own (not `vbaProject.bin`), declared
/// as Word declares one: by its content type and a relationship from the document.
fn docx_with_renamed_vba() -> Vec<u8> {
    let types = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
        r#"<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/>"#,
        r#"<Override PartName="/word/notes.dat" ContentType="application/vnd.ms-office.vbaProject"/></Types>"#,
    );
    let rels = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        r#"<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="notes.dat"/></Relationships>"#,
    );
    stored_zip(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
        ("word/_rels/document.xml.rels", rels.as_bytes()),
        ("word/notes.dat", b"\xCC\x61\0\0"),
    ])
}

/// An old Word file: a compound file holding Word's main stream, starting with its signature
/// and format number (Word 97), and the given storages beside it.
fn doc(storages: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut word = vec![0u8; 68];
    word[..4].copy_from_slice(&[0xEC, 0xA5, 0xC1, 0x00]);
    let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    for s in storages {
        file.create_storage_all(s).unwrap();
    }
    file.create_stream("WordDocument")
        .unwrap()
        .write_all(&word)
        .unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// A ZIP archive of `entries`, built byte by byte (stored entries; CRCs left at zero, which
/// nothing here checks).
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for &(name, data) in entries {
        let offset = out.len() as u32;
        let size = (data.len() as u32).to_le_bytes();
        let name_len = (name.len() as u16).to_le_bytes();
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&size);
        out.extend_from_slice(&size);
        out.extend_from_slice(&name_len);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        central.extend_from_slice(&size);
        central.extend_from_slice(&size);
        central.extend_from_slice(&name_len);
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let count = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// Uploads `bytes` as `name` with a title (and the other fields given), from the upload page.
pub async fn upload(
    v: &mut Visitor,
    name: &str,
    bytes: &[u8],
    title: &str,
    extra: &[(&str, &str)],
) -> Page {
    v.get("/evidence/upload").await;
    let mut fields = vec![("title", title)];
    fields.extend_from_slice(extra);
    v.upload("/evidence/upload", "file", name, bytes.to_vec(), &fields)
        .await
}

/// The id of the document an upload redirected to.
pub fn uploaded_id(page: &Page) -> Uuid {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.as_deref().unwrap();
    location
        .strip_prefix("/evidence/")
        .unwrap()
        .parse()
        .unwrap()
}

/// Every file in the store (not its temporary folder).
fn stored_files(data_dir: &Path) -> Vec<PathBuf> {
    let root = data_dir.join("evidence");
    let mut files = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return files;
    };
    for dir in dirs.flatten() {
        if dir.file_name() == "tmp" {
            continue;
        }
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            files.push(f.path());
        }
    }
    files
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

fn strand(w: &World, key: &str) -> String {
    format!("/assessments/{}/strands/{key}", w.assessment)
}

#[tokio::test]
async fn a_document_links_to_two_strands_from_either_side_and_shows_on_both() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let empty = lead.get("/evidence").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("Your library is empty"));

    let done = upload(
        &mut lead,
        "Attendance policy.pdf",
        PDF,
        "Attendance policy 2026",
        &[
            ("evidence_date-day", "3"),
            ("evidence_date-month", "9"),
            ("evidence_date-year", "2026"),
            ("description", "Approved by governors in September."),
        ],
    )
    .await;
    let id = uploaded_id(&done);
    let library = lead.get("/evidence").await;
    assert!(library.body.contains("Attendance policy 2026"));
    assert!(library.body.contains("3 September 2026"));
    assert!(library.body.contains("PDF"));

    // From the strand page: the library offers it, and linking shows it there.
    let page = lead.get(&strand(&w, "1.1")).await;
    assert!(page.body.contains(&format!("<option value=\"{id}\">")));
    let linked = lead
        .post(
            &format!("{}/evidence", strand(&w, "1.1")),
            &[("evidence", &id.to_string())],
        )
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    assert_eq!(linked.location.as_deref(), Some(strand(&w, "1.1").as_str()));

    // From the document's page: link it to 2.4 of the open handbook.
    let details = lead.get(&format!("/evidence/{id}")).await;
    assert_eq!(details.status, 200);
    assert!(details.body.contains("Approved by governors in September."));
    assert!(details.body.contains("<option value=\"2.4\">"));
    assert!(
        !details.body.contains("<option value=\"1.1\">"),
        "already linked"
    );
    let nothing = lead
        .post(&format!("/evidence/{id}/links"), &[("strand", "")])
        .await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.body.contains("Select the strand to link"));
    let linked = lead
        .post(&format!("/evidence/{id}/links"), &[("strand", "2.4")])
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);

    for key in ["1.1", "2.4"] {
        let page = lead.get(&strand(&w, key)).await;
        assert!(
            page.body.contains(&format!(
                "href=\"/evidence/{id}\">Attendance policy 2026</a>"
            )),
            "strand {key}"
        );
    }
    let overview = lead.get(&format!("/assessments/{}", w.assessment)).await;
    assert!(overview.body.contains(">1</td>"));
    let details = lead.get(&format!("/evidence/{id}")).await;
    assert!(details.body.contains("Strand 1.1: "));
    assert!(details.body.contains("Strand 2.4: "));
    let library = lead.get("/evidence").await;
    assert!(
        library
            .body
            .contains(r#"data-label="Linked strands">2</td>"#)
    );

    // The head of the same school sees it; unlinking from the document's page goes back there.
    let mut head = app.signed_in(&w.head).await;
    head.get(&format!("/evidence/{id}")).await;
    let unlinked = head
        .post(
            &format!("{}/evidence/{id}/unlink", strand(&w, "2.4")),
            &[("from", "evidence")],
        )
        .await;
    assert_eq!(unlinked.location, Some(format!("/evidence/{id}")));
    let page = head.get(&strand(&w, "2.4")).await;
    assert!(page.body.contains("No documents linked yet"));

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_event WHERE action LIKE 'evidence.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            "evidence.uploaded",
            "evidence.linked",
            "evidence.linked",
            "evidence.unlinked"
        ]
    );
}

#[tokio::test]
async fn the_same_file_uploaded_twice_is_stored_once_with_two_entries() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let first = uploaded_id(&upload(&mut lead, "plan.pdf", PDF, "Plan", &[]).await);
    let second = uploaded_id(&upload(&mut lead, "plan copy.pdf", PDF, "Plan again", &[]).await);
    assert_ne!(first, second);
    let hashes: Vec<String> = sqlx::query_scalar("SELECT sha256 FROM evidence ORDER BY title")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1]);
    let files = stored_files(&app.data_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0].file_name().unwrap().to_str(),
        Some(hashes[0].as_str())
    );
    assert_eq!(std::fs::read(&files[0]).unwrap(), PDF);
    let hash = aqm::store::ContentHash::parse(&hashes[0]).unwrap();
    assert!(app.store.exists(&hash).await.unwrap());
}

#[tokio::test]
async fn files_are_judged_by_their_content_not_their_name() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;

    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    for name in ["minutes.pdf", "minutes.txt"] {
        let refused = upload(&mut lead, name, html, "Minutes", &[]).await;
        assert_eq!(refused.status, 422, "{name}");
        assert!(
            refused.body.contains(&html_escape(
                "The selected file must be a PDF, Word, Excel or PowerPoint (.doc, .docx, .xls, .xlsx, .ppt, .pptx), OpenDocument (.odt, .ods, .odp), PNG, JPEG, plain text or CSV"
            )),
            "{}",
            refused.body
        );
        // What was typed is kept.
        assert!(refused.body.contains("value=\"Minutes\""));
    }
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);
    assert!(stored_files(&app.data_dir).is_empty());

    // Nothing chosen, no title: both said, next to their fields.
    lead.get("/evidence/upload").await;
    let empty = lead
        .upload("/evidence/upload", "file", "", Vec::new(), &[])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Select a file to upload"));
    assert!(empty.body.contains("Enter a title for the document"));
    // A good file with a bad date: the file must be chosen again, and the page says so.
    let bad_date = upload(
        &mut lead,
        "plan.docx",
        &docx(),
        "Plan",
        &[
            ("evidence_date-day", "31"),
            ("evidence_date-month", "2"),
            ("evidence_date-year", "2026"),
        ],
    )
    .await;
    assert_eq!(bad_date.status, 422);
    assert!(
        bad_date
            .body
            .contains("Date of the evidence must be a real date")
    );
    assert!(bad_date.body.contains("Choose plan.docx again"));

    // A Word file is a Word file; a PNG called .txt is a PNG; both stored as what they are.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    uploaded_id(&upload(&mut lead, "plan.docx", &docx(), "Plan", &[]).await);
    uploaded_id(&upload(&mut lead, "photo.txt", png, "Photo", &[]).await);
    let types: Vec<String> = sqlx::query_scalar("SELECT content_type FROM evidence ORDER BY title")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        types,
        [
            "image/png",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ]
    );
}

#[tokio::test]
async fn old_office_files_are_accepted_and_macros_refused_however_they_are_named() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let page = lead.get("/evidence/upload").await;
    assert!(page.body.contains(".doc, .docx, .xls, .xlsx, .ppt, .pptx"));

    // A .doc is taken, stored as Word 97-2003, and downloads as one.
    let id = uploaded_id(&upload(&mut lead, "register", &doc(&[]), "Register", &[]).await);
    let r = lead.download(&format!("/evidence/{id}/download")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/msword");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"register.doc\""
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), doc(&[]).as_slice());
    let library = lead.get("/evidence").await;
    assert!(library.body.contains("Word 97-2003"), "{}", library.body);

    // With macros, whether an old Word file's or a .docx's under a name of its own: refused,
    // the reason next to the file, nothing kept.
    let macros = html_escape(
        "The selected file contains macros, which can run code on the computer of whoever opens it. Save it without macros (as .docx, .xlsx or .pptx) and upload that",
    );
    for (name, bytes) in [
        ("register.doc", doc(&["Macros", "Macros/VBA"])),
        ("plan.docx", docx_with_renamed_vba()),
    ] {
        let refused = upload(&mut lead, name, &bytes, "With macros", &[]).await;
        assert_eq!(refused.status, 422, "{name}");
        let next_to_file = format!(
            "<p id=\"file-error\" class=\"govuk-error-message\"><span class=\"govuk-visually-hidden\">Error:</span> {macros}</p>"
        );
        assert!(
            refused.body.contains(&next_to_file),
            "{name}: {}",
            refused.body
        );
        assert!(refused.body.contains("value=\"With macros\""));
    }
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 1);
    assert_eq!(stored_files(&app.data_dir).len(), 1);
}

#[tokio::test]
async fn an_oversized_upload_is_refused_as_it_arrives_and_nothing_is_kept() {
    let app = spawn_app_with(|c| c.upload_limit_mb = 1).await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let mut big = PDF.to_vec();
    big.resize(3 * 1024 * 1024, b' ');
    let refused = upload(&mut lead, "big.pdf", &big, "Big", &[]).await;
    assert_eq!(refused.status, 413);
    assert!(
        refused
            .body
            .contains("The selected file must be smaller than 1 MB")
    );
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);
    assert!(stored_files(&app.data_dir).is_empty());

    // A body that never ends (chunked, with no last chunk): a server that read it all would
    // still be waiting. The refusal arrives once a little more than the limit has been sent.
    lead.get("/evidence/upload").await;
    let address = app.address.strip_prefix("http://").unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /evidence/upload HTTP/1.1\r\nHost: {address}\r\nCookie: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n",
        lead.cookie_header()
    );
    let token = lead.csrf();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let part = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        );
        writer
            .write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes())
            .await?;
        let chunk = vec![b' '; 64 * 1024];
        // Up to 64 MB, far more than any socket buffer holds, unless the server hangs up first.
        for _ in 0..1024 {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(&chunk).await?;
            writer.write_all(b"\r\n").await?;
            counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
        }
        Ok::<_, std::io::Error>(())
    });
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "no answer while the upload was still arriving"
    );
    let status = String::from_utf8_lossy(&response);
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let result = sending.await.unwrap();
    let sent = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        result.is_err() && sent < 64 * 1024 * 1024,
        "the server read the whole body: {sent} bytes"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);
    assert!(stored_files(&app.data_dir).is_empty());
    let tmp = app.data_dir.join("evidence").join("tmp");
    assert!(!tmp.exists() || std::fs::read_dir(tmp).unwrap().count() == 0);
}

#[tokio::test]
async fn downloads_are_attachments_of_the_detected_type_and_never_sniffed() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let pdf = uploaded_id(&upload(&mut lead, "Café plan.pdf", PDF, "Plan", &[]).await);
    let text = uploaded_id(
        &upload(
            &mut lead,
            "notes.pdf",
            b"Registers are checked by 9.30 each day.",
            "Notes",
            &[],
        )
        .await,
    );
    let get = |id: Uuid| {
        app.client
            .get(format!("{}/evidence/{id}/download", app.address))
            .header("cookie", lead.cookie_header())
            .send()
    };
    let r = get(pdf).await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"Caf_ plan.pdf\"; filename*=UTF-8''Caf%C3%A9%20plan.pdf"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    // Text that was called .pdf is served as the text it is, under a name that says so.
    let r = get(text).await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"notes.pdf.txt\""
    );
}

#[tokio::test]
async fn deleting_hides_the_document_everywhere_keeps_the_file_and_is_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let id = uploaded_id(&upload(&mut lead, "plan.pdf", PDF, "Improvement plan", &[]).await);
    lead.get(&strand(&w, "1.1")).await;
    lead.post(
        &format!("{}/evidence", strand(&w, "1.1")),
        &[("evidence", &id.to_string())],
    )
    .await;
    lead.get(&format!("/evidence/{id}")).await;
    let deleted = lead.post(&format!("/evidence/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some("/evidence"));
    let library = lead.get("/evidence").await;
    assert!(library.body.contains("has been deleted"));
    assert!(!library.body.contains("Improvement plan"));
    for path in [
        format!("/evidence/{id}"),
        format!("/evidence/{id}/download"),
    ] {
        assert_eq!(lead.get(&path).await.status, 404, "{path}");
    }
    let page = lead.get(&strand(&w, "1.1")).await;
    assert!(!page.body.contains("Improvement plan"));
    let overview = lead.get(&format!("/assessments/{}", w.assessment)).await;
    assert!(!overview.body.contains(">1</td>"));
    // Soft: the row says who and when, and the file is still in the store.
    let by: Option<Uuid> = sqlx::query_scalar(
        "SELECT deleted_by FROM evidence WHERE id = $1 AND deleted_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(by, Some(w.lead.id));
    assert_eq!(stored_files(&app.data_dir).len(), 1);
    let audited: (Option<Uuid>, serde_json::Value) = sqlx::query_as(
        "SELECT actor_id, before FROM audit_event WHERE action = 'evidence.deleted' AND subject_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited.0, Some(w.lead.id));
    assert_eq!(audited.1["title"], "Improvement plan");
    // Deleting again, or linking the deleted document, finds nothing.
    let again = lead.post(&format!("/evidence/{id}/delete"), &[]).await;
    assert_eq!(again.status, 404);
}

/// The hidden hash on a pupil-data warning page.
fn confirm_hash(page: &Page) -> String {
    let marker = "name=\"confirm_sha256\" value=\"";
    let start = page.body.find(marker).expect("a confirmation form") + marker.len();
    page.body[start..start + 64].to_string()
}

#[tokio::test]
async fn pupil_data_in_a_text_file_is_caught_before_it_is_kept() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let text = b"Home visits list\nPupil A123456789012 visited on Monday.\n";
    let warned = upload(&mut lead, "visits.txt", text, "Home visits", &[]).await;
    assert_eq!(warned.status, 422);
    assert!(warned.body.contains("This file may contain pupils"));
    assert!(warned.body.contains("looks like a Unique Pupil Number"));
    assert!(warned.body.contains("value=\"Home visits\""));
    assert!(warned.body.contains("Choose visits.txt again"));
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);
    assert!(
        stored_files(&app.data_dir).is_empty(),
        "nothing kept before it is confirmed"
    );
    let hash = confirm_hash(&warned);

    // The box ticked for a different file than the one warned about: warned again.
    let other = b"Pupil B999999999999 visited on Tuesday.\n";
    let again = upload(
        &mut lead,
        "visits2.txt",
        other,
        "Home visits",
        &[("not_pupil_data", "yes"), ("confirm_sha256", &hash)],
    )
    .await;
    assert_eq!(again.status, 422);
    assert_eq!(count(&app, "SELECT count(*) FROM evidence").await, 0);

    // The same file, confirmed: kept, and the confirmation is in the audit log.
    let kept = upload(
        &mut lead,
        "visits.txt",
        text,
        "Home visits",
        &[("not_pupil_data", "yes"), ("confirm_sha256", &hash)],
    )
    .await;
    let id = uploaded_id(&kept);
    let after: serde_json::Value = sqlx::query_scalar(
        "SELECT after FROM audit_event WHERE action = 'pupil_data.confirmed_absent' AND subject_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        after["findings"],
        serde_json::json!({"unique_pupil_numbers": 1, "dates_of_birth": 0})
    );
    assert_eq!(after["sha256"], hash.as_str());
    assert!(
        !after.to_string().contains("A123456789012"),
        "the audit log does not copy the pupil data"
    );

    // A corrected file needs no confirmation.
    let clean = upload(
        &mut lead,
        "visits.csv",
        b"Week,Visits\n1,12\n2,9\n",
        "Visit counts",
        &[],
    )
    .await;
    uploaded_id(&clean);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_event WHERE action = 'pupil_data.confirmed_absent'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn linking_refuses_another_schools_documents_and_strands_that_do_not_exist() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let mut other = app.signed_in(&w.other_lead).await;
    let theirs = uploaded_id(&upload(&mut other, "plan.pdf", PDF, "Their plan", &[]).await);
    let mine = uploaded_id(&upload(&mut lead, "plan.pdf", PDF, "My plan", &[]).await);
    lead.get(&strand(&w, "1.1")).await;
    // Another school's document into my strand; my document into a strand that is not there;
    // my document into another school's handbook.
    let attempts = [
        (format!("{}/evidence", strand(&w, "1.1")), theirs),
        (format!("{}/evidence", strand(&w, "9.9")), mine),
        (
            format!("/assessments/{}/strands/1.1/evidence", w.other_assessment),
            mine,
        ),
    ];
    for (path, evidence) in attempts {
        let refused = lead
            .post(&path, &[("evidence", &evidence.to_string())])
            .await;
        assert_eq!(refused.status, 404, "{path}");
    }
    let refused = lead
        .post(&format!("/evidence/{mine}/links"), &[("strand", "9.9")])
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(count(&app, "SELECT count(*) FROM evidence_link").await, 0);
    // The strand page's picker offers only the school's own documents.
    let page = lead.get(&strand(&w, "1.1")).await;
    assert!(page.body.contains("My plan"));
    assert!(!page.body.contains("Their plan"));
}
