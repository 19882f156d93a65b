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
//! - Several aqm processes share one data folder: the server and the operator's commands run
//!   beside it. [`attach`] finds the cluster already running for the folder and uses it over its
//!   socket, or starts one; the lock file `postgres.lock` decides who may start and stop it (the
//!   rule is on [`attach`]).

use sqlx::postgres::PgConnectOptions;
use std::fmt;
use std::fs::{File, TryLockError};
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

/// A running cluster this process started. Call `stop` to shut it down; dropping it without
/// stopping leaves the postmaster to the parent-death signal at process exit.
pub struct ManagedPostgres {
    pid: i32,
    /// The data folder (canonical), holding the lock file.
    root: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    /// Receives once the postmaster has exited. In a Mutex so the handle can be shared.
    exited: std::sync::Mutex<mpsc::Receiver<()>>,
    /// Held exclusively from start to stop when a command started the cluster (see [`attach`]).
    lock: Option<ClusterLock>,
}

/// Who is asking for the cluster, which decides how long they hold the lock (see [`attach`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `aqm serve`: runs for days; others use the cluster it starts.
    Server,
    /// A command such as `aqm tenant add`: runs for seconds.
    Command,
}

/// The cluster [`attach`] found or started.
pub enum Attached {
    /// Started by us: stop it when finished.
    Started(ManagedPostgres),
    /// Already running, started by another process: use it and leave it running.
    Shared(SharedCluster),
}

impl Attached {
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        match self {
            Attached::Started(pg) => pg.connect_options(database),
            Attached::Shared(shared) => shared.connect_options(database),
        }
    }
}

/// A cluster another process started for this data folder, reached over the socket its
/// `postmaster.pid` names. Dropping it lets go of the lock (a command holds it shared while it
/// works, so the server that owns the cluster waits for the command before stopping it).
pub struct SharedCluster {
    running: Running,
    _lock: Option<ClusterLock>,
}

impl SharedCluster {
    /// Connection options for a database of this cluster, as the superuser, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.running.socket_dir)
            .port(self.running.port)
            .username(SUPERUSER)
            .database(database)
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> i32 {
        self.running.pid
    }

    /// The folder holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.running.socket_dir
    }
}

/// How long a stopping server waits for commands still using its cluster.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long we wait for a cluster that is starting or stopping to settle.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// Finds the cluster running for the data folder `root` and uses it, or starts one (creating it
/// on first use). Blocks until there is a cluster that accepts connections.
///
/// The aqm processes of one data folder agree through the lock file `root/postgres.lock`
/// (flock, released by the kernel when a process dies, however it dies):
///
/// - Looking for a running cluster, starting one and stopping one happen only under the
///   exclusive lock: no two processes start a cluster at once, and nobody connects to one that
///   is being stopped.
/// - A cluster is stopped only by the process that started it; a process that found one running
///   leaves it running.
/// - A command that finds a cluster running (the server's) uses it and holds the lock shared
///   while it works. Several commands do so at once.
/// - A command that finds none starts one and holds the lock exclusively until it has stopped it
///   again: the cluster is its alone, and any other command, or a server starting, waits the few
///   seconds until it is done, then finds no cluster and starts its own. (Sharing it instead
///   would tie the command's exit to everyone else's: a cluster stops when the process that
///   started it ends.)
/// - A server that finds none starts one and lets go of the lock once it is ready, so commands
///   can use it. When it stops, it first takes the lock exclusively, waiting up to 30 s for the
///   commands still working in its cluster.
/// - A server that finds a cluster running (another server's, on the same folder) uses it
///   without holding the lock; it stops when the server that started it stops.
/// - A `postmaster.pid` naming a process that is gone (the cluster was killed outright) means no
///   cluster: the new postmaster replaces the stale file. One naming a live process that does
///   not answer on its socket is an error saying what to do.
pub fn attach(root: &Path, caller: Caller) -> Result<Attached, EmbeddedError> {
    let root = prepare_root(root)?;
    let lock = ClusterLock::open(&root)?;
    match caller {
        Caller::Server => {
            lock.acquire(Mode::Exclusive)?;
            match find_running(&root)? {
                Some(running) => Ok(Attached::Shared(SharedCluster {
                    running,
                    _lock: None,
                })),
                // The lock is dropped on return: the cluster is ready for others.
                None => ManagedPostgres::start_in(&root).map(Attached::Started),
            }
        }
        Caller::Command => loop {
            lock.acquire(Mode::Shared)?;
            if let Some(running) = find_running(&root)? {
                return Ok(Attached::Shared(SharedCluster {
                    running,
                    _lock: Some(lock),
                }));
            }
            // flock cannot turn a shared lock into an exclusive one atomically: let go, wait for
            // it, and look again, since another process may have started a cluster meanwhile.
            lock.release();
            lock.acquire(Mode::Exclusive)?;
            if find_running(&root)?.is_some() {
                lock.release();
                continue;
            }
            let mut pg = ManagedPostgres::start_in(&root)?;
            pg.lock = Some(lock);
            return Ok(Attached::Started(pg));
        },
    }
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
    /// Takes no part in sharing the folder with other aqm processes: that is [`attach`].
    pub fn start(root: &Path) -> Result<Self, EmbeddedError> {
        Self::start_in(&prepare_root(root)?)
    }

    /// `start`, for a `root` that exists and is canonical.
    fn start_in(root: &Path) -> Result<Self, EmbeddedError> {
        let root = root.to_path_buf();
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
            root,
            socket_dir,
            log_file,
            exited: std::sync::Mutex::new(exit_rx),
            lock: None,
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

    /// Fast shutdown: active sessions are ended, the cluster is checkpointed and stops. A cluster
    /// that others may be using (a server's) is stopped under the exclusive lock, after the
    /// commands working in it have finished or 30 s have passed.
    pub fn stop(mut self) {
        let _lock = match self.lock.take() {
            Some(lock) => Some(lock),
            None => match ClusterLock::open(&self.root) {
                Ok(lock) => {
                    if !lock.acquire_within(STOP_WAIT) {
                        tracing::warn!(
                            "an aqm command is still using the embedded PostgreSQL after 30 s; stopping it anyway"
                        );
                    }
                    Some(lock)
                }
                Err(e) => {
                    tracing::warn!("{e}; stopping the embedded PostgreSQL without it");
                    None
                }
            },
        };
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

/// Creates `root` and returns its canonical path.
fn prepare_root(root: &Path) -> Result<PathBuf, EmbeddedError> {
    std::fs::create_dir_all(root)
        .or_else(|e| fail(format!("cannot create {}: {e}", root.display())))?;
    root.canonicalize()
        .or_else(|e| fail(format!("cannot resolve {}: {e}", root.display())))
}

#[derive(Clone, Copy)]
enum Mode {
    Shared,
    Exclusive,
}

/// The data folder's lock file, `postgres.lock` (the rule for it is on [`attach`]). Closing the
/// file, or the process ending, lets go of the lock.
struct ClusterLock {
    file: File,
    path: PathBuf,
}

impl ClusterLock {
    fn open(root: &Path) -> Result<Self, EmbeddedError> {
        let path = root.join("postgres.lock");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .or_else(|e| {
                fail(format!(
                    "cannot open {} ({e}): run aqm as the user that owns {}, or set DATABASE_URL",
                    path.display(),
                    root.display()
                ))
            })?;
        Ok(ClusterLock { file, path })
    }

    fn try_acquire(&self, mode: Mode) -> Result<bool, EmbeddedError> {
        let attempt = match mode {
            Mode::Shared => self.file.try_lock_shared(),
            Mode::Exclusive => self.file.try_lock(),
        };
        match attempt {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => {
                fail(format!("cannot lock {}: {e}", self.path.display()))
            }
        }
    }

    /// Waits for the lock as long as it takes, saying so when it has to wait.
    fn acquire(&self, mode: Mode) -> Result<(), EmbeddedError> {
        if self.try_acquire(mode)? {
            return Ok(());
        }
        tracing::info!(
            "waiting for another aqm process to finish with the embedded PostgreSQL in {}",
            self.path.parent().unwrap_or(&self.path).display()
        );
        let locked = match mode {
            Mode::Shared => self.file.lock_shared(),
            Mode::Exclusive => self.file.lock(),
        };
        locked.or_else(|e| fail(format!("cannot lock {}: {e}", self.path.display())))
    }

    /// Tries for the exclusive lock for up to `timeout`; true if we have it.
    fn acquire_within(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut said = false;
        loop {
            match self.try_acquire(Mode::Exclusive) {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("{e}");
                    return false;
                }
            }
            if Instant::now() > deadline {
                return false;
            }
            if !said {
                tracing::info!(
                    "waiting for the aqm commands using the embedded PostgreSQL to finish"
                );
                said = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn release(&self) {
        let _ = self.file.unlock();
    }
}

/// What a `postmaster.pid` says (PostgreSQL writes it line by line as it starts up).
#[derive(Debug, PartialEq, Eq)]
struct PidFile {
    pid: i32,
    port: Option<u16>,
    socket_dir: Option<PathBuf>,
    status: Option<String>,
}

impl PidFile {
    /// `None` while the first line (the postmaster's process id) is not yet written.
    fn parse(text: &str) -> Option<PidFile> {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let pid = lines.first()?.parse().ok()?;
        Some(PidFile {
            pid,
            port: lines.get(3).and_then(|l| l.parse().ok()),
            socket_dir: lines
                .get(4)
                .filter(|l| !l.is_empty())
                .map(|l| PathBuf::from(*l)),
            status: lines
                .get(7)
                .filter(|l| !l.is_empty())
                .map(|l| l.to_string()),
        })
    }
}

/// A postmaster accepting connections on its Unix socket.
#[derive(Debug)]
struct Running {
    pid: i32,
    socket_dir: PathBuf,
    port: u16,
}

enum Probe {
    /// No cluster runs: no pid file, or the process it names is gone.
    Stopped,
    Running(Running),
    /// Starting or stopping: look again shortly.
    Changing,
}

/// The cluster running for `root`, if any, once it is neither starting nor stopping.
fn find_running(root: &Path) -> Result<Option<Running>, EmbeddedError> {
    let data_dir = root.join("postgres");
    let deadline = Instant::now() + SETTLE_WAIT;
    loop {
        match probe(&data_dir)? {
            Probe::Stopped => return Ok(None),
            Probe::Running(running) => return Ok(Some(running)),
            Probe::Changing if Instant::now() > deadline => {
                return fail(format!(
                    "the embedded PostgreSQL in {} has been starting or stopping for 60 s (see {}): \
                     wait for it, or stop the process named in {}",
                    data_dir.display(),
                    root.join("postgres.log").display(),
                    data_dir.join("postmaster.pid").display()
                ));
            }
            Probe::Changing => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn probe(data_dir: &Path) -> Result<Probe, EmbeddedError> {
    let pid_path = data_dir.join("postmaster.pid");
    let text = match std::fs::read_to_string(&pid_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Probe::Stopped),
        Err(e) => {
            return fail(format!(
                "cannot read {} ({e}): run aqm as the same user as the aqm server, or set DATABASE_URL",
                pid_path.display()
            ));
        }
    };
    let Some(pid_file) = PidFile::parse(&text) else {
        return Ok(Probe::Changing);
    };
    // A negative number is a single-user backend, which takes no connections.
    let pid = pid_file.pid.abs();
    if pid == 0 || !process_exists(pid) {
        return Ok(Probe::Stopped);
    }
    match pid_file.status.as_deref() {
        Some("ready" | "standby") if pid_file.pid > 0 => {}
        Some("ready" | "standby") => {
            return fail(format!(
                "a single-user PostgreSQL (process {pid}) is using {}: wait for it to finish",
                data_dir.display()
            ));
        }
        _ => return Ok(Probe::Changing),
    }
    let (Some(port), Some(socket_dir)) = (pid_file.port, pid_file.socket_dir) else {
        return fail(format!(
            "{} names process {pid}, a PostgreSQL without a Unix socket: stop it, or set DATABASE_URL",
            pid_path.display()
        ));
    };
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(_) => Ok(Probe::Running(Running {
            pid,
            socket_dir,
            port,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => fail(format!(
            "the embedded PostgreSQL in {} runs (process {pid}) but this user may not open its socket {}: \
             run aqm as the same user as the aqm server, or set DATABASE_URL",
            data_dir.display(),
            socket.display()
        )),
        Err(e) => fail(format!(
            "{} names process {pid}, which is running, but no PostgreSQL answers at {} ({e}): \
             if process {pid} is not this folder's PostgreSQL, delete {} and try again",
            pid_path.display(),
            socket.display(),
            pid_path.display()
        )),
    }
}

/// Whether a process with this id exists (perhaps another user's).
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks whether the process exists.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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
    fn reads_a_pid_file_as_postgres_writes_it() {
        let text = "4242\n/srv/aqm/data/postgres\n1700000000\n5432\n/srv/aqm/data/run\n\n  5432001    3\nready   \n";
        assert_eq!(
            PidFile::parse(text),
            Some(PidFile {
                pid: 4242,
                port: Some(5432),
                socket_dir: Some(PathBuf::from("/srv/aqm/data/run")),
                status: Some("ready".into()),
            })
        );
        // Still being written: the status is not there yet.
        let starting = PidFile::parse("4242\n/srv/aqm/data/postgres\n1700000000\n5432\n").unwrap();
        assert_eq!((starting.socket_dir, starting.status), (None, None));
        assert_eq!(PidFile::parse(""), None);
    }

    #[test]
    fn a_pid_file_of_a_process_that_is_gone_means_no_cluster() {
        let dir = std::env::temp_dir().join(format!("aqm-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(probe(&dir), Ok(Probe::Stopped)), "no pid file");
        // A child that has been reaped: its number names no process.
        let mut child = Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        std::fs::write(
            dir.join("postmaster.pid"),
            format!(
                "{gone}\n{}\n1700000000\n5432\n{}\n\n0 0\nready\n",
                dir.display(),
                dir.display()
            ),
        )
        .unwrap();
        assert!(matches!(probe(&dir), Ok(Probe::Stopped)), "stale pid file");
        std::fs::remove_dir_all(&dir).unwrap();
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
