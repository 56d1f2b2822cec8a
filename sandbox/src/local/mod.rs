//! [`LocalSandbox`]: commands run as local processes, confined with process
//! groups, rlimits, a private uid and a network namespace.

mod exec;
pub(crate) mod services;
pub(crate) mod workspace;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::path::{normalize, symlink_escape};
use crate::sys::{self, Confinement, NetNs};
use crate::{Change, Command, Error, ErrorKind, ExecOutput, NetworkPolicy, Result, Sandbox};
use crate::{SandboxSpec, Service};
use services::Running;
use workspace::Workspace;

/// First uid of the range from which a root host gives each sandbox a private uid.
pub const UID_BASE: u32 = 1_600_000;
const UID_SLOTS: u32 = 60_000;
const DIR_PREFIX: &str = "debugenv-sbx-";

/// Knobs of the local backend. Required inputs are in the [`SandboxSpec`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LocalOptions {
    /// Where sandbox directories are created (default: the system temp dir).
    pub temp_root: PathBuf,
    /// Directory of the PostgreSQL 15 server binaries (`postgres`, `initdb`).
    pub postgres_bin_dir: PathBuf,
    /// The `redis-server` binary.
    pub redis_server: PathBuf,
    /// Time between SIGTERM and SIGKILL when a command times out.
    pub kill_grace: Duration,
    /// How long services may take to become ready.
    pub ready_timeout: Duration,
    /// Host environment variables passed through to commands (the rest is scrubbed).
    pub pass_env: Vec<String>,
    /// System user that runs the services when the host runs as root; created
    /// with `useradd --system` when missing.
    pub service_user: String,
    /// A memory-backed directory (tmpfs) for PostgreSQL's cluster, used when
    /// it is a writable directory: database creation, `TRUNCATE` and the
    /// like touch many files, several times faster on tmpfs than on a disk.
    /// Default `/dev/shm`; `None` keeps the cluster in the sandbox directory.
    pub memory_root: Option<PathBuf>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            temp_root: std::env::temp_dir(),
            postgres_bin_dir: PathBuf::from("/usr/lib/postgresql/15/bin"),
            redis_server: PathBuf::from("/usr/bin/redis-server"),
            kill_grace: Duration::from_secs(2),
            ready_timeout: Duration::from_secs(30),
            pass_env: vec!["TZ".into()],
            service_user: "debugenv-sandbox".into(),
            memory_root: Some(PathBuf::from("/dev/shm")),
        }
    }
}

/// The embedded sandbox: a workspace copy in its own temp directory, commands
/// run as local processes.
///
/// When the host runs as root (CI), each sandbox gets a private uid/gid from
/// [`UID_BASE`] upwards: its workspace, home and temp dir are owned by it and
/// unreadable by other sandboxes, its commands run as it, and a timed-out
/// command's escaped descendants are found and killed by uid. Services run as
/// the system user [`LocalOptions::service_user`] (PostgreSQL refuses root) on
/// unix sockets in a directory only that sandbox's group can enter. Without
/// root, everything runs as the current user, and network isolation uses an
/// unprivileged user namespace when the kernel allows it.
///
/// Each command runs in its own process group with rlimits on address space,
/// processes and CPU time, a scrubbed environment, and (by default) its own
/// network namespace with loopback only.
#[derive(Debug)]
pub struct LocalSandbox {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// PostgreSQL's cluster: under `opts.memory_root` or in `dir`.
    pg_data: PathBuf,
    ws_root: PathBuf,
    workspace: Mutex<Workspace>,
    agent: Option<(u32, u32)>,
    confinement: Confinement,
    env: Vec<(String, String)>,
    services: Mutex<Vec<Running>>,
    /// Process groups of the commands running right now.
    running_groups: Mutex<Vec<i32>>,
    /// Pids of the residents ([`Sandbox::spawn_resident`]) alive right now.
    residents: Mutex<Vec<i32>>,
    opts: LocalOptions,
}

/// What [`LocalSandbox::reap`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReapReport {
    /// Sandbox directories removed.
    pub removed: Vec<PathBuf>,
    /// Processes killed.
    pub killed: usize,
}

static USER_LOCK: Mutex<()> = Mutex::new(());

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// Returns the service user, creating it as a system user when missing.
fn ensure_service_user(name: &str) -> Result<(u32, u32)> {
    let _g = USER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(u) = lookup_user(name) {
        return Ok(u);
    }
    let out = std::process::Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
        ])
        .args(["--shell", "/usr/sbin/nologin", name])
        .output();
    match out {
        Ok(o) if o.status.success() || o.status.code() == Some(9) => {}
        Ok(o) => {
            return Err(Error::new(
                format!("failed to create the service user `{name}`"),
                ErrorKind::Exec {
                    message: String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                },
            ));
        }
        Err(e) => return Err(Error::io(format!("failed to run useradd for `{name}`"), e)),
    }
    lookup_user(name).ok_or_else(|| {
        Error::new(
            format!("failed to create the service user `{name}`"),
            ErrorKind::Exec {
                message: "useradd succeeded but the user is not in /etc/passwd".into(),
            },
        )
    })
}

fn mkdir(p: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<()> {
    std::fs::create_dir(p)
        .map_err(|e| Error::io(format!("failed to create {}", p.display()), e))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("failed to chmod {}", p.display()), e))?;
    if let Some((u, g)) = owner {
        std::os::unix::fs::chown(p, Some(u), Some(g))
            .map_err(|e| Error::io(format!("failed to chown {}", p.display()), e))?;
    }
    Ok(())
}

/// Claims a sandbox directory; as root its name carries the private uid slot.
fn claim_dir(root: &Path, is_root: bool) -> Result<(PathBuf, Option<u32>)> {
    if is_root {
        let start = (std::process::id() * 7919) % UID_SLOTS;
        for i in 0..UID_SLOTS {
            let slot = (start + i) % UID_SLOTS;
            let dir = root.join(format!("{DIR_PREFIX}{slot}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((dir, Some(UID_BASE + slot))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::io(format!("failed to create {}", dir.display()), e));
                }
            }
        }
        return Err(Error::new(
            "failed to create a sandbox directory",
            ErrorKind::Exec {
                message: format!("all {UID_SLOTS} uid slots are taken"),
            },
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("{DIR_PREFIX}u{}-", sys::euid()))
        .tempdir_in(root)
        .map_err(|e| {
            Error::io(
                format!("failed to create a sandbox dir in {}", root.display()),
                e,
            )
        })?
        .keep();
    Ok((dir, None))
}

impl LocalSandbox {
    /// Creates a sandbox: copies the workspace, starts the services and waits
    /// until they answer.
    pub async fn create(spec: &SandboxSpec, opts: &LocalOptions) -> Result<Self> {
        let (spec, opts) = (spec.clone(), opts.clone());
        tokio::task::spawn_blocking(move || Self::create_blocking(&spec, opts))
            .await
            .map_err(|e| {
                Error::new(
                    "failed to create local sandbox",
                    ErrorKind::Exec {
                        message: e.to_string(),
                    },
                )
            })?
    }

    fn create_blocking(spec: &SandboxSpec, opts: LocalOptions) -> Result<Self> {
        let is_root = sys::euid() == 0;
        let (dir, uid) = claim_dir(&opts.temp_root, is_root)?;
        // From here on, a failure cleans up through Drop.
        let mut inner = Inner {
            dir: dir.clone(),
            pg_data: pg_data_dir(&dir, opts.memory_root.as_deref()),
            ws_root: dir.join("box/ws"),
            workspace: Mutex::new(Workspace::empty()),
            agent: uid.map(|u| (u, u)),
            confinement: Confinement {
                netns: NetNs::Host,
                rlimits: None,
                user: None,
            },
            env: Vec::new(),
            services: Mutex::new(Vec::new()),
            running_groups: Mutex::new(Vec::new()),
            residents: Mutex::new(Vec::new()),
            opts,
        };
        let started = inner.setup(spec);
        let sandbox = Self {
            inner: Some(Arc::new(inner)),
        };
        started?;
        Ok(sandbox)
    }

    /// The workspace directory on the host.
    pub fn workspace_dir(&self) -> &Path {
        &self.inner().ws_root
    }

    /// The sandbox's directory on the host (removed by [`destroy`](Sandbox::destroy)).
    pub fn dir(&self) -> &Path {
        &self.inner().dir
    }

    /// The private uid of this sandbox's commands (root hosts only).
    pub fn uid(&self) -> Option<u32> {
        self.inner().agent.map(|a| a.0)
    }

    /// Pids of the running service processes.
    pub fn service_pids(&self) -> Vec<u32> {
        self.inner()
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(Running::pid)
            .collect()
    }

    fn inner(&self) -> &Arc<Inner> {
        self.inner.as_ref().expect("sandbox used after destroy")
    }

    /// Removes what crashed runs left under `opts.temp_root`: sandbox
    /// directories whose owner process is gone, with their services and
    /// commands. Call it at start-up.
    pub async fn reap(opts: &LocalOptions) -> Result<ReapReport> {
        let root = opts.temp_root.clone();
        tokio::task::spawn_blocking(move || reap_blocking(&root))
            .await
            .map_err(|e| {
                Error::new(
                    "failed to reap local sandboxes",
                    ErrorKind::Exec {
                        message: e.to_string(),
                    },
                )
            })?
    }
}

fn reap_blocking(root: &Path) -> Result<ReapReport> {
    let mut report = ReapReport::default();
    let entries = std::fs::read_dir(root)
        .map_err(|e| Error::io(format!("failed to list {}", root.display()), e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let dir = e.path();
        let owner = std::fs::read_to_string(dir.join("owner")).ok();
        let alive = match owner.as_deref().and_then(parse_owner) {
            Some((pid, st)) => sys::start_time(pid) == Some(st),
            // No owner file yet: being created right now, unless it is old.
            None => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < Duration::from_secs(60)),
        };
        if alive {
            continue;
        }
        tracing::info!(dir = %dir.display(), "reaping a sandbox left by a dead process");
        for svc in ["postgres", "redis"] {
            if let Some((pid, st)) = std::fs::read_to_string(dir.join(format!("{svc}.pid")))
                .ok()
                .as_deref()
                .and_then(parse_owner)
            {
                if sys::start_time(pid) == Some(st) {
                    let _ = sys::kill(-(pid as i32), libc::SIGKILL);
                    report.killed += 1;
                }
            }
        }
        if let Ok(slot) = rest.parse::<u32>() {
            report.killed += sys::kill_uid(UID_BASE + slot);
        }
        for pid in sys::pids_with_cwd_under(&dir) {
            let _ = sys::kill(pid, libc::SIGKILL);
            report.killed += 1;
        }
        if let Ok(pg) = std::fs::read(dir.join("pgdata")) {
            let pg = PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(pg),
            );
            // Only what create() names: `<memory root>/<sandbox dir name>-pg`.
            if pg.file_name() == Some(std::ffi::OsStr::new(&format!("{name}-pg"))) {
                workspace::remove_any(&pg)
                    .map_err(|e| Error::io(format!("failed to remove {}", pg.display()), e))?;
                report.removed.push(pg);
            }
        }
        workspace::remove_any(&dir)
            .map_err(|e| Error::io(format!("failed to remove {}", dir.display()), e))?;
        report.removed.push(dir);
    }
    Ok(report)
}

/// Where a sandbox keeps PostgreSQL's cluster: `<memory root>/<dir name>-pg`
/// when the memory root is a writable directory, else `<dir>/svc/pg`.
fn pg_data_dir(dir: &Path, memory_root: Option<&Path>) -> PathBuf {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    match memory_root {
        Some(root)
            if std::fs::metadata(root).is_ok_and(|m| m.is_dir()) && sys::access_writable(root) =>
        {
            root.join(format!("{name}-pg"))
        }
        _ => dir.join("svc/pg"),
    }
}

fn parse_owner(s: &str) -> Option<(u32, u64)> {
    let mut it = s.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn record_pid(path: &Path, pid: u32) {
    let st = sys::start_time(pid).unwrap_or(0);
    let _ = std::fs::write(path, format!("{pid} {st}\n"));
}

impl Inner {
    fn setup(&mut self, spec: &SandboxSpec) -> Result<()> {
        let me = std::process::id();
        record_pid(&self.dir.join("owner"), me);
        let is_root = self.agent.is_some();
        let svc_user = if is_root {
            Some(ensure_service_user(&self.opts.service_user)?)
        } else {
            None
        };
        let d = &self.dir;
        std::fs::set_permissions(
            d,
            std::fs::Permissions::from_mode(if is_root { 0o711 } else { 0o700 }),
        )
        .map_err(|e| Error::io(format!("failed to chmod {}", d.display()), e))?;
        mkdir(&d.join("box"), 0o700, self.agent)?;
        mkdir(&d.join("box/home"), 0o700, self.agent)?;
        mkdir(&d.join("box/tmp"), 0o700, self.agent)?;
        mkdir(&d.join("svc"), 0o700, svc_user)?;
        let run_owner = match (svc_user, self.agent) {
            (Some((su, _)), Some((_, ag))) => Some((su, ag)),
            _ => None,
        };
        mkdir(&d.join("run"), 0o750, run_owner)?;

        let ws = Workspace::create(
            spec.workspace(),
            d.join("pristine"),
            self.ws_root.clone(),
            self.agent,
        )
        .map_err(|e| {
            Error::io(
                format!("failed to copy workspace {}", spec.workspace().display()),
                e,
            )
        })?;
        *self.workspace.get_mut().unwrap_or_else(|e| e.into_inner()) = ws;
        self.ws_root = self
            .ws_root
            .canonicalize()
            .map_err(|e| Error::io("failed to resolve the workspace", e))?;

        // Services.
        let layout = services::Layout {
            state: d.join("svc"),
            pg_data: self.pg_data.clone(),
            run: d.join("run"),
            user: svc_user,
        };
        if spec.services().contains(&Service::Postgres) && !self.pg_data.starts_with(d) {
            // Recorded for reap: a crashed run's cluster is outside its directory.
            let _ = std::fs::write(
                d.join("pgdata"),
                self.pg_data.as_os_str().as_encoded_bytes(),
            );
        }
        let mut running = Vec::new();
        let result = (|| {
            for s in spec.services() {
                let r = match s {
                    Service::Postgres => services::start_postgres(
                        &self.opts.postgres_bin_dir,
                        &self.opts.temp_root,
                        &layout,
                    )?,
                    Service::Redis => services::start_redis(&self.opts.redis_server, &layout)?,
                };
                record_pid(&d.join(format!("{}.pid", s.name())), r.pid());
                running.push(r);
            }
            services::wait_ready(&mut running, &layout.run, self.opts.ready_timeout)
        })();
        *self.services.get_mut().unwrap_or_else(|e| e.into_inner()) = running;
        result?;

        // Confinement, probed once so that a host that cannot provide it fails here.
        let limits = spec.limits();
        self.confinement = Confinement {
            netns: match (spec.network(), is_root) {
                (NetworkPolicy::Host, _) => NetNs::Host,
                (NetworkPolicy::Isolated, true) => NetNs::New,
                (NetworkPolicy::Isolated, false) => NetNs::NewWithUserNs,
            },
            rlimits: Some((
                limits.memory_bytes,
                u64::from(limits.processes),
                limits.cpu_seconds,
            )),
            user: self.agent,
        };
        let mut probe = std::process::Command::new("/bin/true");
        probe.env_clear().current_dir("/");
        sys::confine(&mut probe, self.confinement);
        match probe.status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(Error::new(
                    "failed to create local sandbox",
                    ErrorKind::Isolation {
                        message: format!("confinement probe failed: {s}"),
                    },
                ));
            }
            Err(e) => {
                return Err(Error::new(
                    "failed to create local sandbox",
                    ErrorKind::Isolation {
                        message: format!(
                            "cannot confine commands ({e}); network isolation needs root or \
                             unprivileged user namespaces; use NetworkPolicy::Host to run without it"
                        ),
                    },
                ));
            }
        }

        // Environment: an allow-list, then services, spec and (per command) the command's own.
        let b = d.join("box");
        let mut env: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ),
            ("HOME".into(), b.join("home").display().to_string()),
            ("TMPDIR".into(), b.join("tmp").display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("USER".into(), "sandbox".into()),
            ("LOGNAME".into(), "sandbox".into()),
            ("SHELL".into(), "/bin/bash".into()),
            ("WORKSPACE".into(), self.ws_root.display().to_string()),
        ];
        for k in &self.opts.pass_env {
            if let Ok(v) = std::env::var(k) {
                env.push((k.clone(), v));
            }
        }
        env.extend(services::env_for(spec.services(), &layout.run));
        env.extend(spec.env().iter().cloned());
        self.env = env;
        Ok(())
    }

    /// Resolves a workspace path for `op`; for writes the file may not exist yet.
    fn resolve(&self, op: &str, path: &str, for_write: bool) -> Result<PathBuf> {
        let rel = normalize(op, path)?;
        let full = self.ws_root.join(&rel);
        if !for_write {
            let canon = full.canonicalize().map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::new(
                        format!("failed to {op}"),
                        ErrorKind::NotFound {
                            path: path.to_owned(),
                        },
                    )
                } else {
                    Error::io(format!("failed to {op} `{path}`"), e)
                }
            })?;
            if !canon.starts_with(&self.ws_root) {
                return Err(symlink_escape(op, path));
            }
            return Ok(canon);
        }
        if rel.is_empty() {
            return Err(Error::new(
                format!("failed to {op}"),
                ErrorKind::PathEscape {
                    path: path.to_owned(),
                    reason: "the workspace root is not a file".into(),
                },
            ));
        }
        // The deepest existing ancestor must resolve inside the workspace.
        let mut existing = full.clone();
        let mut missing = Vec::new();
        while std::fs::symlink_metadata(&existing).is_err() {
            missing.push(existing.file_name().map(|n| n.to_owned()));
            if !existing.pop() {
                break;
            }
        }
        let canon = existing
            .canonicalize()
            .map_err(|_| symlink_escape(op, path))?;
        if !canon.starts_with(&self.ws_root) {
            return Err(symlink_escape(op, path));
        }
        let mut out = canon;
        for m in missing.into_iter().rev().flatten() {
            out.push(m);
        }
        Ok(out)
    }

    fn write(&self, path: &str, contents: &[u8]) -> Result<()> {
        use std::io::Write;
        let target = self.resolve("write file", path, true)?;
        let parent = target
            .parent()
            .expect("a workspace file has a parent")
            .to_path_buf();
        if !parent.exists() {
            // Create missing parents one by one, owned by the sandbox's user.
            let mut p = self.ws_root.clone();
            let rel = parent
                .strip_prefix(&self.ws_root)
                .map_err(|_| symlink_escape("write file", path))?;
            for c in rel.components() {
                p.push(c);
                if !p.exists() {
                    mkdir(&p, 0o755, self.agent)?;
                }
            }
        }
        let ctx = || format!("failed to write file `{path}`");
        let mode = match std::fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(
                    ctx(),
                    ErrorKind::Exec {
                        message: "it is a directory".into(),
                    },
                ));
            }
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(_) => 0o644,
        };
        // Write a new file and rename it over the old one: never writes through
        // a hard link or symlink planted by the sandbox's commands.
        let mut tmp = tempfile::Builder::new()
            .prefix(".debugenv-write-")
            .tempfile_in(&parent)
            .map_err(|e| Error::io(ctx(), e))?;
        tmp.write_all(contents).map_err(|e| Error::io(ctx(), e))?;
        let f = tmp.as_file();
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(ctx(), e))?;
        if let Some((u, g)) = self.agent {
            std::os::unix::fs::fchown(f, Some(u), Some(g)).map_err(|e| Error::io(ctx(), e))?;
        }
        tmp.persist(&target)
            .map_err(|e| Error::io(ctx(), e.error))?;
        Ok(())
    }

    /// Kills every process of the sandbox, stops services, removes the directory.
    fn cleanup(&self) -> Result<()> {
        let services =
            std::mem::take(&mut *self.services.lock().unwrap_or_else(|e| e.into_inner()));
        for s in services {
            s.stop(Duration::from_secs(3));
        }
        // Residents first: they may run outside the sandbox's directory.
        for pid in self.resident_pids() {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        if let Some((uid, _)) = self.agent {
            sys::kill_uid(uid);
        }
        for pid in sys::pids_with_cwd_under(&self.dir) {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        if !self.pg_data.starts_with(&self.dir) {
            workspace::remove_any(&self.pg_data).map_err(|e| {
                Error::io(format!("failed to remove {}", self.pg_data.display()), e)
            })?;
        }
        workspace::remove_any(&self.dir)
            .map_err(|e| Error::io(format!("failed to remove {}", self.dir.display()), e))
    }
}

impl Drop for LocalSandbox {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            tracing::warn!(dir = %inner.dir.display(), "LocalSandbox dropped without destroy(); cleaning up");
            if let Err(e) = inner.cleanup() {
                tracing::error!(error = %e, "cleanup of a dropped sandbox failed");
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::new(
            what,
            ErrorKind::Exec {
                message: e.to_string(),
            },
        )
    })?
}

impl Sandbox for LocalSandbox {
    async fn exec(&self, cmd: &Command) -> Result<ExecOutput> {
        exec::run(self.inner(), cmd).await
    }

    async fn spawn_resident(&self, cmd: &Command) -> Result<crate::Resident> {
        exec::spawn_resident(self.inner(), cmd).await
    }

    async fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let p = self.inner().resolve("read file", path, false)?;
        tokio::fs::read(&p)
            .await
            .map_err(|e| Error::io(format!("failed to read file `{path}`"), e))
    }

    async fn write_file(&self, path: &str, contents: &[u8]) -> Result<()> {
        let (inner, path, contents) =
            (Arc::clone(self.inner()), path.to_owned(), contents.to_vec());
        blocking("failed to write file", move || {
            inner.write(&path, &contents)
        })
        .await
    }

    async fn reset(&self) -> Result<Vec<Change>> {
        let inner = Arc::clone(self.inner());
        blocking("failed to reset the workspace", move || {
            // Residents belong to the state being reset.
            for pid in inner.resident_pids() {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
            inner
                .workspace
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reset()
                .map_err(|e| Error::io("failed to reset the workspace", e))
        })
        .await
    }

    async fn changed_files(&self) -> Result<Vec<Change>> {
        let inner = Arc::clone(self.inner());
        blocking("failed to list changed files", move || {
            inner
                .workspace
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .diff()
                .map_err(|e| Error::io("failed to list changed files", e))
        })
        .await
    }

    async fn destroy(mut self) -> Result<()> {
        let Some(inner) = self.inner.take() else {
            return Ok(());
        };
        blocking("failed to destroy local sandbox", move || inner.cleanup()).await
    }
}
