//! Evidence in S3-compatible storage against a real S3-compatible server (moto's, started here):
//! the same file kept once, downloads streamed back, a failed put leaving no object and no row.

use crate::evidence::{upload, uploaded_id};
use crate::handbook::world;
use crate::helpers::*;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's S3 server on a free port; killed when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(temp_dir("moto").join("moto.log")).unwrap();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start moto_server (pip install 'moto[server]'; .ci/run installs it)");
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    async fn create_bucket(&self, name: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// The names of the objects in `bucket`.
    async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }

    /// The settings a deployment would give in AWS_* variables.
    fn options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "aqm-test"),
            ("aws_secret_access_key", "aqm-test-secret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MINUTES: &[u8] = b"Minutes of the attendance panel, 12 November: first-day calling reviewed.";

#[tokio::test]
async fn evidence_in_s3_is_kept_once_and_streamed_back_to_each_school() {
    let s3 = S3Server::start();
    s3.create_bucket("evidence").await;
    let options = s3.options();
    let app = spawn_app_with(|c| {
        c.evidence_url = Some("s3://evidence/aqm".into());
        c.evidence_options = options;
    })
    .await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let mut other = app.signed_in(&w.other_lead).await;
    let ours = uploaded_id(&upload(&mut lead, "minutes.txt", MINUTES, "Panel minutes", &[]).await);
    let theirs = uploaded_id(&upload(&mut other, "minutes.txt", MINUTES, "Our minutes", &[]).await);
    let keys = s3.keys("evidence").await;
    let hash = aqm::store::ContentHash::of(MINUTES);
    assert_eq!(
        keys,
        [format!("aqm/{}/{hash}", &hash.as_str()[..2])],
        "one object for the two uploads, under the prefix"
    );
    assert!(
        !app.data_dir.join("evidence").exists(),
        "nothing is written to the local folder"
    );
    for (v, id) in [(&lead, ours), (&other, theirs)] {
        let r = v.download(&format!("/evidence/{id}/download")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-length"],
            MINUTES.len().to_string().as_str()
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), MINUTES);
    }
    // Each school still reaches only its own record of the shared file.
    let r = lead.download(&format!("/evidence/{theirs}/download")).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_put_that_fails_leaves_no_object_and_no_row_and_the_next_try_succeeds() {
    let s3 = S3Server::start();
    let options = s3.options();
    // The bucket does not exist yet: every put fails.
    let app = spawn_app_with(|c| {
        c.evidence_url = Some("s3://later/aqm".into());
        c.evidence_options = options;
    })
    .await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let failed = upload(&mut lead, "minutes.txt", MINUTES, "Panel minutes", &[]).await;
    assert!(failed.status >= 500, "{} {}", failed.status, failed.body);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "no row names a file that was not stored");
    s3.create_bucket("later").await;
    assert!(s3.keys("later").await.is_empty(), "no half object");
    let id = uploaded_id(&upload(&mut lead, "minutes.txt", MINUTES, "Panel minutes", &[]).await);
    assert_eq!(s3.keys("later").await.len(), 1);
    let r = lead.download(&format!("/evidence/{id}/download")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), MINUTES);
}
