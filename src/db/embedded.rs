//! The embedded default database: a PostgreSQL cluster of our own, run from the machine's server
//! binaries in a data folder, listening only on a Unix socket inside that folder.
//!
//! - `initdb` runs on first use; later runs reuse the cluster, so data persists.
//! - PostgreSQL refuses to run as root. When we are root, the cluster runs as the `postgres`
//!   system user (or `nobody` when there is none) and its folders are handed to that user.
//! - The postmaster runs in its own process group, so a Ctrl-C in the terminal reaches only us and
//!   we can finish requests before stopping it; it gets SIGINT (fast shutdown) from `stop`, and the
//!   kernel sends it the same if we die without stopping it (PR_SET_PDEATHSIG), so no cluster is
//!   left behind.

use sqlx::postgres::PgConnectOptions;
use std::fmt;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The superuser created by `initdb`; trust authentication, reachable only through the socket.
pub const SUPERUSER: &str = "postgres";
const PORT: u16 = 5432;
/// sockaddr_un.sun_path holds 108 bytes, including ".s.PGSQL.5432" and a terminating zero.
const MAX_SOCKET_DIR_LEN: usize = 90;

#[derive(Debug)]
pub struct EmbeddedError(pub String);

impl fmt::Display for EmbeddedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmbeddedError {}

fn fail<T>(msg: impl Into<String>) -> Result<T, EmbeddedError> {
    Err(EmbeddedError(msg.into()))
}

/// A running cluster. Call `stop` to shut it down; dropping it without stopping leaves the
/// postmaster to the parent-death signal at process exit.
pub struct ManagedPostgres {
    pid: i32,
    socket_dir: PathBuf,
    log_file: PathBuf,
    /// Receives once the postmaster has exited. In a Mutex so the handle can be shared.
    exited: std::sync::Mutex<mpsc::Receiver<()>>,
}

/// Who the cluster's processes run as.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

impl ManagedPostgres {
    /// Starts (creating on first use) the cluster under `root`: data in `root/postgres`, socket in
    /// `root/run`, log in `root/postgres.log`. Blocks until the server accepts connections.
    pub fn start(root: &Path) -> Result<Self, EmbeddedError> {
        std::fs::create_dir_all(root)
            .or_else(|e| fail(format!("cannot create {}: {e}", root.display())))?;
        let root = root
            .canonicalize()
            .or_else(|e| fail(format!("cannot resolve {}: {e}", root.display())))?;
        let data_dir = root.join("postgres");
        let log_file = root.join("postgres.log");
        let run_as = run_as()?;
        let existing_major = std::fs::read_to_string(data_dir.join("PG_VERSION"))
            .ok()
            .map(|v| v.trim().to_string());
        let bin = find_binaries(existing_major.as_deref())?;

        if existing_major.is_none() {
            init_cluster(&bin, &data_dir, &log_file, run_as)?;
        }
        let socket_dir = socket_dir_for(&root);
        prepare_dir(&socket_dir, run_as, 0o700)?;
        touch_owned(&log_file, run_as)?;

        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_file)
            .or_else(|e| fail(format!("cannot open {}: {e}", log_file.display())))?;
        let log_err = log
            .try_clone()
            .or_else(|e| fail(format!("cannot open {}: {e}", log_file.display())))?;
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data_dir)
            .arg("-k")
            .arg(&socket_dir)
            .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
            .args(["-c", "unix_socket_permissions=0700"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        as_user(&mut cmd, run_as);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent. It runs after
        // the uid change (std applies uid/gid before pre_exec hooks), which would otherwise
        // clear the death signal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }

        // The death signal fires when the *thread* that spawned the child ends, so the child is
        // spawned from a thread that lives exactly as long as it does.
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(child.id() as i32));
                    let _ = child.wait();
                    let _ = exit_tx.send(());
                }
                Err(e) => {
                    let _ = pid_tx.send(Err(e));
                }
            })
            .or_else(|e| fail(format!("cannot start a thread: {e}")))?;
        let pid = match pid_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(e)) => {
                return fail(format!(
                    "cannot run {}: {e}",
                    bin.join("postgres").display()
                ));
            }
            Err(_) => return fail("the postgres launcher thread ended unexpectedly"),
        };
        let pg = ManagedPostgres {
            pid,
            socket_dir,
            log_file,
            exited: std::sync::Mutex::new(exit_rx),
        };
        pg.wait_ready(&data_dir)?;
        Ok(pg)
    }

    /// Waits for the postmaster to report "ready" in its pid file (the status `pg_ctl -w` reads).
    fn wait_ready(&self, data_dir: &Path) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let pid_file = data_dir.join("postmaster.pid");
        loop {
            if self.has_exited(Duration::ZERO) {
                return fail(format!(
                    "the embedded PostgreSQL stopped during start-up: {}",
                    self.log_tail()
                ));
            }
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                let mut lines = text.lines();
                let same_pid =
                    lines.next().and_then(|l| l.trim().parse::<i32>().ok()) == Some(self.pid);
                if same_pid && lines.nth(6).is_some_and(|status| status.trim() == "ready") {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "the embedded PostgreSQL did not become ready within 60 s: {}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to `timeout` for the postmaster to exit; true if it has.
    fn has_exited(&self, timeout: Duration) -> bool {
        let rx = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        match rx.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
        format!("{tail} (log: {})", self.log_file.display())
    }

    /// Connection options for a database of this cluster, as the superuser, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// The folder holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// A connection URL for a database of this cluster (for `DATABASE_URL` or psql).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Fast shutdown: active sessions are ended, the cluster is checkpointed and stops.
    pub fn stop(self) {
        // SAFETY: sending a signal to the child we started.
        unsafe {
            libc::kill(self.pid, libc::SIGINT);
        }
        if !self.has_exited(Duration::from_secs(30)) {
            tracing::warn!(
                pid = self.pid,
                "embedded PostgreSQL still running after 30 s, sending SIGQUIT"
            );
            unsafe {
                libc::kill(self.pid, libc::SIGQUIT);
            }
            self.has_exited(Duration::from_secs(10));
        }
    }
}

fn init_cluster(
    bin: &Path,
    data_dir: &Path,
    log_file: &Path,
    run_as: Option<RunAs>,
) -> Result<(), EmbeddedError> {
    prepare_dir(data_dir, run_as, 0o700)?;
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(data_dir)
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ])
        .stdin(Stdio::null());
    as_user(&mut cmd, run_as);
    let out = cmd
        .output()
        .or_else(|e| fail(format!("cannot run {}: {e}", bin.join("initdb").display())))?;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
    {
        let _ = f.write_all(&out.stdout);
        let _ = f.write_all(&out.stderr);
    }
    if !out.status.success() {
        // Leave no half-made cluster behind: the next start would take it for a finished one.
        let _ = std::fs::remove_dir_all(data_dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return fail(format!("initdb failed in {}: {first}", data_dir.display()));
    }
    Ok(())
}

fn as_user(cmd: &mut Command, run_as: Option<RunAs>) {
    if let Some(u) = run_as {
        cmd.uid(u.uid).gid(u.gid);
        // HOME and USER of root would be wrong for the new user; PostgreSQL needs neither.
        cmd.env_remove("HOME").env_remove("USER");
    }
}

/// Creates `dir` with `mode`, owned by the cluster's user.
fn prepare_dir(dir: &Path, run_as: Option<RunAs>, mode: u32) -> Result<(), EmbeddedError> {
    std::fs::create_dir_all(dir)
        .or_else(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    if let Some(u) = run_as {
        std::os::unix::fs::chown(dir, Some(u.uid), Some(u.gid)).or_else(|e| {
            fail(format!(
                "cannot hand {} to the postgres user: {e}",
                dir.display()
            ))
        })?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .or_else(|e| fail(format!("cannot set permissions on {}: {e}", dir.display())))
}

fn touch_owned(file: &Path, run_as: Option<RunAs>) -> Result<(), EmbeddedError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .or_else(|e| fail(format!("cannot create {}: {e}", file.display())))?;
    if let Some(u) = run_as {
        std::os::unix::fs::chown(file, Some(u.uid), Some(u.gid)).or_else(|e| {
            fail(format!(
                "cannot hand {} to the postgres user: {e}",
                file.display()
            ))
        })?;
    }
    Ok(())
}

/// The socket folder lives in the data folder, unless that path is too long for a Unix socket;
/// then a folder named after the data folder's path under the system temp folder is used.
fn socket_dir_for(root: &Path) -> PathBuf {
    let inside = root.join("run");
    if inside.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        return inside;
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    PathBuf::from("/tmp").join(format!("aqm-pg-{short}"))
}

/// When we are root, the user the cluster runs as: `postgres` if the machine has it, else `nobody`.
fn run_as() -> Result<Option<RunAs>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for name in ["postgres", "nobody"] {
        if let Some(user) = passwd_entry(&passwd, name) {
            return Ok(Some(user));
        }
    }
    fail(
        "PostgreSQL refuses to run as root and this machine has neither a \"postgres\" nor a \"nobody\" user: \
         create one (adduser --system postgres) or set DATABASE_URL",
    )
}

fn passwd_entry(passwd: &str, name: &str) -> Option<RunAs> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 4 && fields[0] == name {
            Some(RunAs {
                uid: fields[2].parse().ok()?,
                gid: fields[3].parse().ok()?,
            })
        } else {
            None
        }
    })
}

/// Finds a folder holding `initdb` and `postgres`: on PATH first, then
/// `/usr/lib/postgresql/<version>/bin`, highest version first. An existing cluster needs the
/// binaries of its own major version.
fn find_binaries(required_major: Option<&str>) -> Result<PathBuf, EmbeddedError> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versioned.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
    candidates.extend(versioned.into_iter().map(|(_, p)| p));

    let usable: Vec<PathBuf> = candidates
        .into_iter()
        .filter(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .collect();
    if usable.is_empty() {
        return fail(
            "no PostgreSQL server binaries found (initdb and postgres, on PATH or under /usr/lib/postgresql/<version>/bin): \
             install them with `sudo apt-get install postgresql` on Debian/Ubuntu, or set DATABASE_URL to use an existing server",
        );
    }
    let Some(major) = required_major else {
        return Ok(usable[0].clone());
    };
    for dir in &usable {
        if server_major(dir).as_deref() == Some(major) {
            return Ok(dir.clone());
        }
    }
    fail(format!(
        "the embedded database was created by PostgreSQL {major}, but only other versions' binaries are installed: \
         install PostgreSQL {major} or move the data folder aside"
    ))
}

/// "15" from `postgres --version` ("postgres (PostgreSQL) 15.19 (Debian ...)").
fn server_major(bin: &Path) -> Option<String> {
    let out = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let line = out.stdout.lines().next()?.ok()?;
    let version = line.split_whitespace().nth(2)?;
    Some(version.split('.').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_passwd_entry() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\n";
        let u = passwd_entry(passwd, "postgres").unwrap();
        assert_eq!((u.uid, u.gid), (101, 104));
        assert!(passwd_entry(passwd, "nobody").is_none());
    }

    #[test]
    fn long_data_paths_get_a_short_socket_folder() {
        let short = socket_dir_for(Path::new("/srv/aqm/data"));
        assert_eq!(short, PathBuf::from("/srv/aqm/data/run"));
        let long = Path::new("/srv").join("x".repeat(120));
        let dir = socket_dir_for(&long);
        assert!(dir.starts_with("/tmp") && dir.as_os_str().len() < MAX_SOCKET_DIR_LEN);
        assert_eq!(
            dir,
            socket_dir_for(&long),
            "the same path gives the same folder"
        );
    }
}
