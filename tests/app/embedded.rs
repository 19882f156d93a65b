//! The `aqm` binary itself: start-up errors are one line naming the file and the problem, and the
//! embedded default database is created once, reused, and never left running.

use crate::helpers::{
    PASSWORD, Visitor, criteria_dir, fresh_database, manifest_dir, temp_dir, url,
};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn aqm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aqm"));
    cmd.current_dir(manifest_dir())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `aqm` to completion and returns its exit code and the lines it wrote to stderr.
fn run_to_failure(cmd: &mut Command) -> (i32, Vec<String>) {
    let out = cmd.output().expect("aqm runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().unwrap_or(-1),
        stderr.lines().map(str::to_string).collect(),
    )
}

#[tokio::test]
async fn a_broken_criteria_file_stops_the_server_with_one_line() {
    let dir = temp_dir("criteria");
    std::fs::create_dir_all(dir.join("laqm")).unwrap();
    let original = std::fs::read_to_string(criteria_dir().join("laqm/v1.toml")).unwrap();
    let file = dir.join("laqm/v1.toml");
    std::fs::write(&file, original.replacen("gold = ", "platinum = ", 1)).unwrap();
    let (code, lines) = run_to_failure(
        aqm()
            .env("AQM_CRITERIA_DIR", &dir)
            .env("AQM_DATA_DIR", temp_dir("data")),
    );
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "aqm: {}: strand \"1.1\" has a statement at unknown level \"platinum\"",
            file.display()
        )),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn a_changed_recorded_version_stops_the_server_with_one_line() {
    let database = fresh_database().await;
    let data = temp_dir("data");
    // First start records v1 (and would serve: stop it as soon as it listens).
    let mut first = spawn_server(
        aqm()
            .env("DATABASE_URL", url(&database))
            .env("AQM_DATA_DIR", &data),
        free_port(),
    );
    stop(&mut first.child);

    let dir = temp_dir("criteria");
    std::fs::create_dir_all(dir.join("laqm")).unwrap();
    let original = std::fs::read_to_string(criteria_dir().join("laqm/v1.toml")).unwrap();
    let file = dir.join("laqm/v1.toml");
    std::fs::write(&file, original.replacen("Introduction", "Intro", 1)).unwrap();
    let (code, lines) = run_to_failure(
        aqm()
            .env("DATABASE_URL", url(&database))
            .env("AQM_CRITERIA_DIR", &dir)
            .env("AQM_DATA_DIR", &data),
    );
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "aqm: {}: framework laqm v1 was recorded with different content",
            file.display()
        )),
        "{}",
        lines[0]
    );
}

pub struct Server {
    pub child: Child,
    pub address: String,
}

/// A test that fails part-way leaves no server (and so no cluster) running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `aqm` and waits until it says it is serving.
pub fn spawn_server(cmd: &mut Command, port: u16) -> Server {
    let mut child = cmd
        .env("AQM_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("aqm starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("aqm is serving") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("aqm says it is serving");
    let server = Server {
        child,
        address: format!("http://127.0.0.1:{port}"),
    };
    // It prints the line just before it starts serving (and listening for SIGTERM): wait for an
    // answer, so that `stop` finds it serving.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers_health(port) {
        assert!(
            Instant::now() < deadline,
            "aqm does not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Whether `GET /healthz` on `port` answers 200.
fn answers_health(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

pub fn stop(child: &mut Child) -> i32 {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap().code().unwrap_or(-1)
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn postmaster_pid(data: &Path) -> i32 {
    std::fs::read_to_string(data.join("postgres/postmaster.pid"))
        .expect("the cluster runs")
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn first_loaded_at(data: &Path) -> String {
    let url = format!(
        "postgres://postgres@localhost:5432/aqm?host={}",
        data.canonicalize().unwrap().join("run").display()
    );
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT first_loaded_at::text FROM framework_version WHERE version = 'v1'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_embedded_database_is_created_reused_and_stopped() {
    let data = temp_dir("embedded");
    let mut run = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    let page = reqwest::get(format!("{}/frameworks/laqm/v1", run.address))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let health = reqwest::get(format!("{}/healthz", run.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The first start seeds the demo authority: its Attendance Lead has a handbook at once.
    let mut lead = Visitor::of(&run.address);
    let signed = lead
        .sign_in("lead@aqm-demo.test", "demo-attendance-2026")
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let home = lead.get("/home").await;
    assert!(
        home.body.contains("Continue your handbook"),
        "{}",
        home.body
    );
    // And the demo assessor has that school in their caseload, its visit arranged.
    let mut assessor = Visitor::of(&run.address);
    assessor
        .sign_in("assessor@aqm-demo.test", "demo-attendance-2026")
        .await;
    let visits = assessor.get("/visits").await;
    assert_eq!(visits.status, 200);
    assert!(
        visits.body.contains("Waiting for the school to submit"),
        "{}",
        visits.body
    );
    // The demo officer's dashboard has a programme to show: awards, and the impact view.
    let mut officer = Visitor::of(&run.address);
    officer
        .sign_in("officer@aqm-demo.test", "demo-attendance-2026")
        .await;
    let dashboard = officer.get("/dashboard").await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains("Awarded Gold"));
    assert!(
        dashboard.body.contains("Participating: Gold"),
        "{}",
        dashboard.body
    );
    let practice = officer.get("/practice?q=first+day").await;
    assert!(
        practice.body.contains("Welcoming pupils back"),
        "{}",
        practice.body
    );
    let pid = postmaster_pid(&data);
    let recorded = first_loaded_at(&data).await;
    let version_file = std::fs::metadata(data.join("postgres/PG_VERSION"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stop(&mut run.child), 0, "a clean stop exits 0");
    assert!(!alive(pid), "the cluster stopped with the server");
    assert!(!data.join("postgres/postmaster.pid").exists());

    // Second run: the same cluster and the same data.
    let mut run = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    assert_eq!(
        first_loaded_at(&data).await,
        recorded,
        "data persists between runs"
    );
    let again = std::fs::metadata(data.join("postgres/PG_VERSION"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(version_file, again, "initdb ran only once");

    // Even when the server is killed outright, the cluster does not outlive it.
    let pid = postmaster_pid(&data);
    run.child.kill().unwrap();
    run.child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the cluster outlived a killed server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `aqm <args>` against `database` and returns (exit code, stdout, stderr).
fn run_cli(database: &str, args: &[&str]) -> (i32, String, String) {
    let out = aqm()
        .env("DATABASE_URL", url(database))
        .env("AQM_DATA_DIR", temp_dir("data"))
        .env("AQM_BASE_URL", "https://aqm.example")
        .args(args)
        .output()
        .expect("aqm runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn an_authority_is_set_up_from_the_command_line() {
    let database = fresh_database().await;
    let (code, out, _) = run_cli(
        &database,
        &[
            "tenant",
            "add",
            "--slug",
            "liverpool",
            "--name",
            "Liverpool City Council",
            "--nation",
            "england",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("added authority liverpool"));
    let (code, _, err) = run_cli(
        &database,
        &[
            "tenant",
            "add",
            "--slug",
            "liverpool",
            "--name",
            "Again",
            "--nation",
            "england",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "aqm: an authority with the short name \"liverpool\" already exists"
    );

    let (code, out, _) = run_cli(
        &database,
        &[
            "user",
            "add",
            "--tenant",
            "liverpool",
            "--email",
            "Admin@Liverpool.example",
            "--name",
            "Ada Admin",
            "--role",
            "tenant_admin",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("https://aqm.example/set-password/"), "{out}");
    let (code, out, _) = run_cli(
        &database,
        &[
            "user",
            "add",
            "--email",
            "op@aqm.example",
            "--name",
            "Op",
            "--role",
            "platform_operator",
            "--password",
            "a long and private phrase",
        ],
    );
    assert_eq!(code, 0, "{out}");

    // Clear errors for unknown authority, school and role.
    let (code, _, err) = run_cli(
        &database,
        &[
            "user",
            "add",
            "--tenant",
            "nowhere",
            "--email",
            "x@y.example",
            "--name",
            "X",
            "--role",
            "assessor",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "aqm: no authority has the short name \"nowhere\" (known: liverpool)"
    );
    let (code, _, err) = run_cli(
        &database,
        &[
            "user",
            "add",
            "--tenant",
            "liverpool",
            "--email",
            "l@y.example",
            "--name",
            "L",
            "--role",
            "attendance_lead",
            "--school",
            "123456",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "aqm: no school with URN 123456 in authority \"liverpool\""
    );
    let (code, _, err) = run_cli(
        &database,
        &[
            "user",
            "add",
            "--tenant",
            "liverpool",
            "--email",
            "x@y.example",
            "--name",
            "X",
            "--role",
            "wizard",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'wizard'"), "{err}");

    let (code, out, _) = run_cli(&database, &["demo"]);
    assert_eq!(code, 0);
    assert!(out.contains("lead@aqm-demo.test") && out.contains("operator@aqm-demo.test"));
    let (_, again, _) = run_cli(&database, &["demo"]);
    assert!(again.contains("exists already"));
}

#[tokio::test]
async fn schools_are_imported_from_the_command_line_all_or_nothing() {
    let database = fresh_database().await;
    run_cli(
        &database,
        &[
            "tenant",
            "add",
            "--slug",
            "sampleshire",
            "--name",
            "Sampleshire",
            "--nation",
            "england",
        ],
    );
    let sample = manifest_dir().join("tests/data/gias-sample.csv");
    let (code, out, _) = run_cli(
        &database,
        &[
            "school",
            "import",
            "--tenant",
            "sampleshire",
            sample.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "imported 12 schools into sampleshire: 12 added, 0 updated, 0 unchanged"
    );
    let (_, again, _) = run_cli(
        &database,
        &[
            "school",
            "import",
            "--tenant",
            "sampleshire",
            sample.to_str().unwrap(),
        ],
    );
    assert_eq!(
        again.trim(),
        "imported 12 schools into sampleshire: 0 added, 0 updated, 12 unchanged"
    );
    let bad = temp_dir("csv").join("bad.csv");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&sample)
            .unwrap()
            .replacen("990003", "99O003", 1),
    )
    .unwrap();
    let (code, _, err) = run_cli(
        &database,
        &[
            "school",
            "import",
            "--tenant",
            "sampleshire",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("nothing imported: line 4: URN \"99O003\" is not a number"),
        "{err}"
    );
    let (code, _, err) = run_cli(
        &database,
        &[
            "school",
            "import",
            "--tenant",
            "nowhere",
            sample.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no authority has the short name \"nowhere\""),
        "{err}"
    );
}

/// Runs `aqm <args>` on the embedded database of the data folder `data` (no `DATABASE_URL`).
fn embedded_cli(data: &Path, args: &[&str]) -> std::process::Output {
    aqm()
        .env("AQM_DATA_DIR", data)
        .env("AQM_BASE_URL", "https://aqm.example")
        .args(args)
        .output()
        .expect("aqm runs")
}

/// `embedded_cli`, which must succeed; returns its standard output.
fn embedded_cli_ok(data: &Path, args: &[&str]) -> String {
    let out = embedded_cli(data, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "aqm {} failed: {}{stdout}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn tenant_add(slug: &str) -> [&str; 8] {
    [
        "tenant", "add", "--slug", slug, "--name", slug, "--nation", "england",
    ]
}

fn sample_schools() -> String {
    manifest_dir()
        .join("tests/data/gias-sample.csv")
        .to_string_lossy()
        .to_string()
}

/// Starts each of `commands` on the data folder `data` at once; asserts they all succeed.
fn all_at_once(data: &Path, commands: &[&[&str]]) {
    let children: Vec<Child> = commands
        .iter()
        .map(|args| {
            aqm()
                .env("AQM_DATA_DIR", data)
                .args(*args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("aqm starts")
        })
        .collect();
    for (child, args) in children.into_iter().zip(commands) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "aqm {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn the_command_line_works_while_the_server_runs() {
    let data = temp_dir("embedded");
    let mut server = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    let pid = postmaster_pid(&data);

    let out = embedded_cli_ok(&data, &tenant_add("sampleshire"));
    assert!(out.contains("added authority sampleshire"), "{out}");
    all_at_once(&data, &[&tenant_add("north"), &tenant_add("south")]);
    let sample = sample_schools();
    let out = embedded_cli_ok(
        &data,
        &["school", "import", "--tenant", "sampleshire", &sample],
    );
    assert!(out.contains("12 added"), "{out}");
    let out = embedded_cli_ok(
        &data,
        &[
            "user",
            "add",
            "--tenant",
            "sampleshire",
            "--email",
            "admin@sampleshire.example",
            "--name",
            "Sam Admin",
            "--role",
            "tenant_admin",
            "--password",
            PASSWORD,
        ],
    );
    assert!(out.contains("they can sign in now"), "{out}");
    assert!(
        !out.contains("stopped"),
        "a command leaves the server's database running: {out}"
    );

    // The server's own cluster still serves it, and the server sees what the commands added.
    assert!(alive(pid));
    assert_eq!(postmaster_pid(&data), pid);
    let mut admin = Visitor::of(&server.address);
    let page = admin.sign_in("admin@sampleshire.example", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let schools = admin.get("/schools").await;
    assert_eq!(schools.status, 200);
    assert!(
        schools.body.contains("Hill Top Primary School"),
        "{}",
        schools.body
    );

    assert_eq!(stop(&mut server.child), 0);
    assert!(!alive(pid), "the cluster stopped with the server");
}

#[tokio::test]
async fn commands_at_once_without_a_server_all_succeed() {
    let data = temp_dir("embedded");
    // The first of them also creates the cluster (initdb).
    all_at_once(
        &data,
        &[&tenant_add("north"), &tenant_add("south"), &["migrate"]],
    );
    // Both authorities were added.
    let out = embedded_cli(&data, &tenant_add("north"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().last(),
        Some("aqm: an authority with the short name \"north\" already exists")
    );
    let out = embedded_cli(&data, &tenant_add("south"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "no cluster is left running"
    );
}

#[tokio::test]
async fn a_server_started_beside_a_command_serves() {
    let data = temp_dir("embedded");
    let sample = sample_schools();
    let command = std::thread::spawn({
        let data = data.clone();
        move || {
            embedded_cli_ok(&data, &tenant_add("sampleshire"));
            embedded_cli_ok(
                &data,
                &["school", "import", "--tenant", "sampleshire", &sample],
            )
        }
    });
    let mut server = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    let out = command.join().expect("the commands succeed");
    assert!(out.contains("imported 12 schools"), "{out}");
    let health = reqwest::get(format!("{}/healthz", server.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let pid = postmaster_pid(&data);
    assert_eq!(stop(&mut server.child), 0);
    assert!(!alive(pid));
}

#[tokio::test]
async fn a_stale_pid_file_does_not_stop_a_start() {
    let data = temp_dir("embedded");
    let mut server = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    let pid_file = data.join("postgres/postmaster.pid");
    let left_behind = std::fs::read(&pid_file).unwrap();
    assert_eq!(stop(&mut server.child), 0);
    // What a cluster killed outright leaves: a pid file naming a process that is gone.
    std::fs::write(&pid_file, &left_behind).unwrap();

    embedded_cli_ok(&data, &tenant_add("sampleshire"));
    std::fs::write(&pid_file, &left_behind).unwrap();
    let mut server = spawn_server(aqm().env("AQM_DATA_DIR", &data), free_port());
    assert_eq!(stop(&mut server.child), 0);
}

#[tokio::test]
async fn a_cluster_that_does_not_answer_is_one_line_saying_what_to_do() {
    let data = temp_dir("embedded");
    embedded_cli_ok(&data, &["migrate"]);
    // A pid file naming a live process that is not PostgreSQL (as after a crash, when the
    // number has been given to another process).
    let mut other = Command::new("sleep").arg("60").spawn().unwrap();
    let pid_file = data.join("postgres/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!(
            "{}\n{}\n1700000000\n5432\n{}\n\n  5432001    0\nready   \n",
            other.id(),
            data.join("postgres").display(),
            data.join("run").display()
        ),
    )
    .unwrap();
    let (code, lines) = run_to_failure(aqm().env("AQM_DATA_DIR", &data).arg("migrate"));
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("aqm: ")
            && lines[0].contains(&format!("process {}", other.id()))
            && lines[0].contains("delete"),
        "{}",
        lines[0]
    );
}
