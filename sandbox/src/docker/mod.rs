//! [`DockerSandbox`]: one container per sandbox, through the Docker engine API
//! (bollard), plus [`ImageBuilder`] and [`DockerSandbox::reap`].

mod image;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, ListContainersOptions,
    ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;

pub use image::ImageBuilder;

use crate::command::CappedBuf;
use crate::path::{normalize, symlink_escape};
use crate::{Change, ChangeKind, Command, Error, ErrorKind, ExecOutput, ExitStatus, Resident};
use crate::{NetworkPolicy, Result, Sandbox, SandboxSpec, Service};

/// The engine API version this crate speaks. Docker 20.10 (the oldest engine we
/// support, and the one CI runs) serves API 1.41 at most; bollard 0.19 defaults
/// to 1.49, which such an engine rejects, so the client is pinned to 1.41 (newer
/// engines still serve it).
pub const API_VERSION: bollard::ClientVersion = bollard::ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Label carried by every container, network and volume we create.
pub const OWNER_LABEL: &str = "debugenv.owner";
/// Label naming the sandbox an object belongs to.
pub const SANDBOX_LABEL: &str = "debugenv.sandbox";

const WORKSPACE: &str = "/workspace";
const AGENT_USER: &str = "sandbox";
const RESET_PY: &str = include_str!("reset.py");

/// Knobs of the Docker backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DockerOptions {
    /// The environment image (built by [`ImageBuilder`]).
    pub image: String,
    /// Engine address; `None` reads `DOCKER_HOST`, then the local socket.
    pub host: Option<String>,
    /// Time allowed to connect to and ping the engine.
    pub connect_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a command times out.
    pub kill_grace: Duration,
    /// Network joined under [`NetworkPolicy::Host`] (default: the engine's bridge).
    pub access_network: Option<String>,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self::new("debugenv-sandbox-conformance:latest")
    }
}

impl DockerOptions {
    /// Options for sandboxes of `image`.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            host: None,
            connect_timeout: Duration::from_secs(10),
            kill_grace: Duration::from_secs(2),
            access_network: None,
        }
    }
}

fn docker_err(context: impl Into<String>, e: bollard::errors::Error) -> Error {
    let (status, message) = match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => (status_code, message),
        other => (0, other.to_string()),
    };
    Error::new(context, ErrorKind::Docker { status, message })
}

/// Connects to the engine named by `opts.host`, `DOCKER_HOST` or the local
/// socket, and pings it; an unreachable engine is an error after
/// `opts.connect_timeout`, never a hang.
pub async fn connect(opts: &DockerOptions) -> Result<Docker> {
    let host = opts
        .host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
    let secs = opts.connect_timeout.as_secs().max(1);
    let conn_err = |message: String| {
        Error::new(
            "failed to connect to the docker engine",
            ErrorKind::Connect {
                host: host.clone(),
                message,
            },
        )
    };
    let docker = if host.starts_with("unix://") || host.starts_with('/') {
        Docker::connect_with_unix(&host, 120, &API_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, 120, &API_VERSION)
    } else {
        return Err(conn_err(
            "unsupported scheme (use unix:// or tcp://)".into(),
        ));
    }
    .map_err(|e| conn_err(e.to_string()))?;
    match tokio::time::timeout(Duration::from_secs(secs), docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(conn_err(e.to_string())),
        Err(_) => Err(conn_err(format!("no answer within {secs} s"))),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// This process's owner id: `host:pid:start-time`.
pub fn owner_id() -> String {
    let pid = std::process::id();
    format!(
        "{}:{pid}:{}",
        hostname(),
        crate::sys::start_time(pid).unwrap_or(0)
    )
}

fn owner_is_dead(owner: &str) -> bool {
    let mut it = owner.rsplitn(3, ':');
    let (Some(st), Some(pid), Some(host)) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let (Ok(pid), Ok(st)) = (pid.parse::<u32>(), st.parse::<u64>()) else {
        return false;
    };
    crate::sys::start_time(pid) != Some(st)
}

fn sandbox_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("debugenv-sbx-{:016x}", h.finish())
}

/// Builds the workspace archive: the live copy (owned by uid 1000) and a
/// pristine copy (root-owned, read-only to the sandbox user) plus the
/// pristine permission bits.
fn workspace_tar(src: &Path) -> Result<Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let ctx = || format!("failed to archive workspace {}", src.display());
    let mut b = tar::Builder::new(Vec::new());
    let mut modes = serde_json_like::Map::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            src.to_path_buf()
        } else {
            src.join(&rel)
        };
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(ctx(), e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(ctx(), e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = std::fs::symlink_metadata(e.path()).map_err(|e| Error::io(ctx(), e))?;
            let ft = m.file_type();
            let mode = m.mode() & 0o7777;
            for (prefix, uid, m_eff) in [
                ("workspace", 1000u64, mode),
                (
                    "opt/debugenv/pristine",
                    0,
                    mode | if ft.is_dir() { 0o555 } else { 0o444 },
                ),
            ] {
                let mut h = tar::Header::new_gnu();
                h.set_uid(uid);
                h.set_gid(uid);
                h.set_mode(m_eff);
                h.set_mtime(m.mtime().max(0) as u64);
                let path = format!("{prefix}/{r}");
                if ft.is_dir() {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    b.append_data(&mut h, &path, std::io::empty())
                        .map_err(|e| Error::io(ctx(), e))?;
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(e.path()).map_err(|e| Error::io(ctx(), e))?;
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, &path, &target)
                        .map_err(|e| Error::io(ctx(), e))?;
                } else if ft.is_file() {
                    let data = std::fs::read(e.path()).map_err(|e| Error::io(ctx(), e))?;
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, &path, data.as_slice())
                        .map_err(|e| Error::io(ctx(), e))?;
                }
            }
            if ft.is_dir() || ft.is_file() {
                modes.insert(r.clone(), mode);
            }
            if ft.is_dir() {
                stack.push(r);
            }
        }
    }
    let json = modes.to_json();
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mode(0o444);
    h.set_size(json.len() as u64);
    b.append_data(&mut h, "opt/debugenv/pristine.modes", json.as_bytes())
        .map_err(|e| Error::io(ctx(), e))?;
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mode(0o444);
    h.set_size(RESET_PY.len() as u64);
    b.append_data(&mut h, "opt/debugenv/reset.py", RESET_PY.as_bytes())
        .map_err(|e| Error::io(ctx(), e))?;
    b.into_inner().map_err(|e| Error::io(ctx(), e))
}

/// A tiny ordered string -> mode map rendered as JSON (keys escaped).
mod serde_json_like {
    #[derive(Default)]
    pub(super) struct Map(Vec<(String, u32)>);

    impl Map {
        pub(super) fn new() -> Self {
            Self::default()
        }
        pub(super) fn insert(&mut self, k: String, v: u32) {
            self.0.push((k, v));
        }
        pub(super) fn to_json(&self) -> String {
            let mut s = String::from("{");
            for (i, (k, v)) in self.0.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push('"');
                for c in k.chars() {
                    match c {
                        '"' => s.push_str("\\\""),
                        '\\' => s.push_str("\\\\"),
                        c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
                        c => s.push(c),
                    }
                }
                s.push_str(&format!("\":{v}"));
            }
            s.push('}');
            s
        }
    }
}

/// A sandbox backed by one container.
///
/// The container runs the environment image as user `nobody` (`sleep
/// infinity` under the engine's init), with memory, CPU and pids limits,
/// `cap_drop: ALL`, `no-new-privileges`, and network mode `none` unless the
/// spec asks for [`NetworkPolicy::Host`]. Commands run as user `sandbox` (uid
/// 1000) through the exec API under coreutils `timeout` (SIGTERM to the
/// command's process group, SIGKILL after the grace period); after a timeout
/// every process of the sandbox user is killed, so escaped descendants die too.
/// PostgreSQL and Redis run inside the container as their own users on unix
/// sockets in `/run/debugenv`. The pristine workspace is kept read-only at
/// `/opt/debugenv/pristine`, so `reset` never recreates the container.
///
/// [`spawn_resident`](Sandbox::spawn_resident) starts the command through the
/// same exec path, as user `sandbox`, under `setsid` in the background, and
/// records its pid and start time: the kill after a timeout spares a recorded
/// resident while both still match (a fork bomb that outlives a few per-pid
/// passes makes it `SIGSTOP` everything, resume the residents and kill the
/// rest), and `reset` kills residents with every other process of the user.
#[derive(Debug)]
pub struct DockerSandbox {
    docker: Docker,
    id: String,
    name: String,
    env: Vec<String>,
    opts: DockerOptions,
    /// Residents ([`Sandbox::spawn_resident`]) started since the last reset;
    /// some may have exited (a pid reused since has another start time).
    residents: Mutex<Vec<Resident>>,
    destroyed: bool,
}

impl DockerSandbox {
    /// Creates and starts the container, uploads the workspace, starts the
    /// services and waits until they answer.
    pub async fn create(docker: &Docker, spec: &SandboxSpec, opts: &DockerOptions) -> Result<Self> {
        let name = sandbox_name();
        let labels = HashMap::from([
            (OWNER_LABEL.to_owned(), owner_id()),
            (SANDBOX_LABEL.to_owned(), name.clone()),
        ]);
        let limits = spec.limits();
        let mut env: Vec<String> = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            "HOME=/home/sandbox".into(),
            "LANG=C.UTF-8".into(),
            "USER=sandbox".into(),
            "LOGNAME=sandbox".into(),
            "SHELL=/bin/bash".into(),
            format!("WORKSPACE={WORKSPACE}"),
        ];
        env.extend(
            crate::local::services::env_for(spec.services(), Path::new("/run/debugenv"))
                .into_iter()
                .map(|(k, v)| format!("{k}={v}")),
        );
        env.extend(spec.env().iter().map(|(k, v)| format!("{k}={v}")));
        let network_mode = match spec.network() {
            NetworkPolicy::Isolated => "none".to_owned(),
            NetworkPolicy::Host => opts
                .access_network
                .clone()
                .unwrap_or_else(|| "bridge".into()),
        };
        let body = ContainerCreateBody {
            image: Some(opts.image.clone()),
            user: Some("nobody".into()),
            cmd: Some(vec!["sleep".into(), "infinity".into()]),
            working_dir: Some(WORKSPACE.into()),
            labels: Some(labels),
            env: Some(env.clone()),
            network_disabled: Some(spec.network() == NetworkPolicy::Isolated),
            host_config: Some(HostConfig {
                memory: Some(limits.memory_bytes as i64),
                memory_swap: Some(limits.memory_bytes as i64),
                nano_cpus: Some((limits.cpus * 1e9) as i64),
                pids_limit: Some(i64::from(limits.processes)),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                network_mode: Some(network_mode),
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| {
                docker_err(format!("failed to create container from {}", opts.image), e)
            })?;
        let sb = Self {
            docker: docker.clone(),
            id: created.id,
            name,
            env,
            opts: opts.clone(),
            residents: Mutex::new(Vec::new()),
            destroyed: false,
        };
        // From here a failure removes the container before returning.
        match sb.setup(spec).await {
            Ok(()) => Ok(sb),
            Err(e) => {
                let _ = sb.destroy().await;
                Err(e)
            }
        }
    }

    async fn setup(&self, spec: &SandboxSpec) -> Result<()> {
        let src = spec.workspace().to_path_buf();
        let archive = tokio::task::spawn_blocking(move || workspace_tar(&src))
            .await
            .map_err(|e| {
                Error::new(
                    "failed to archive the workspace",
                    ErrorKind::Exec {
                        message: e.to_string(),
                    },
                )
            })??;
        self.docker
            .upload_to_container(
                &self.id,
                Some(UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                }),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(|e| docker_err("failed to upload the workspace", e))?;
        self.docker
            .start_container(
                &self.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| docker_err("failed to start the container", e))?;
        let pg = async {
            if !spec.has(Service::Postgres) {
                return Ok(());
            }
            let script = "exec /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/debugenv/pg -w -t 60 \
                -l /var/lib/debugenv/pg/server.log -o \"-c listen_addresses='' \
                -c unix_socket_directories=/run/debugenv -c unix_socket_permissions=0777 \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c shared_buffers=16MB -c max_connections=40\" start >/dev/null \
                || { tail -20 /var/lib/debugenv/pg/server.log >&2; exit 1; }";
            self.service_exec(Service::Postgres, "postgres", script)
                .await
        };
        let redis = async {
            if !spec.has(Service::Redis) {
                return Ok(());
            }
            let script = "redis-server --port 0 --unixsocket /run/debugenv/redis.sock \
                --unixsocketperm 777 --daemonize yes --dir /var/lib/debugenv/redis --save '' \
                --appendonly no --logfile /var/lib/debugenv/redis/redis.log || exit 1; \
                for i in $(seq 1 600); do \
                  [ \"$(redis-cli -s /run/debugenv/redis.sock ping 2>/dev/null)\" = PONG ] && exit 0; \
                  sleep 0.05; done; tail -20 /var/lib/debugenv/redis/redis.log >&2; exit 1";
            self.service_exec(Service::Redis, "redis", script).await
        };
        let (a, b) = tokio::join!(pg, redis);
        a?;
        b
    }

    async fn service_exec(&self, service: Service, user: &str, script: &str) -> Result<()> {
        let out = self
            .raw_exec(
                vec!["/bin/sh".into(), "-c".into(), script.into()],
                user,
                None,
                Duration::from_secs(90),
                64 * 1024,
            )
            .await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(crate::local::services::service_error(
                service,
                format!("{}: {}", out.status, out.stderr_text().trim()),
            ))
        }
    }

    /// The container id.
    pub fn container_id(&self) -> &str {
        &self.id
    }

    /// The container name (also the value of the [`SANDBOX_LABEL`] label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs argv in the container as `user` and collects capped output; the
    /// engine's exec API has no kill, so a host-side deadline backs up the
    /// in-container `timeout`.
    async fn raw_exec(
        &self,
        argv: Vec<String>,
        user: &str,
        extra_env: Option<Vec<String>>,
        deadline: Duration,
        limit: usize,
    ) -> Result<ExecOutput> {
        let exec = self
            .docker
            .create_exec(
                &self.id,
                ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(argv),
                    user: Some(user.into()),
                    env: extra_env,
                    working_dir: Some(WORKSPACE.into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_err("failed to create exec", e))?;
        let start = Instant::now();
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: Some(64 * 1024),
                }),
            )
            .await
            .map_err(|e| docker_err("failed to start exec", e))?;
        let (mut out, mut err) = (CappedBuf::new(limit), CappedBuf::new(limit));
        let mut host_deadline_hit = false;
        if let StartExecResults::Attached { mut output, .. } = started {
            let collect = async {
                while let Some(item) = output.next().await {
                    match item {
                        Ok(bollard::container::LogOutput::StdOut { message }) => out.push(&message),
                        Ok(bollard::container::LogOutput::StdErr { message }) => err.push(&message),
                        Ok(_) => {}
                        Err(e) => return Err(docker_err("failed to read exec output", e)),
                    }
                }
                Ok(())
            };
            match tokio::time::timeout(deadline, collect).await {
                Ok(r) => r?,
                Err(_) => host_deadline_hit = true,
            }
        }
        if host_deadline_hit {
            self.kill_agent_processes().await;
        }
        let duration = start.elapsed();
        let mut code = None;
        for _ in 0..200 {
            let info = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| docker_err("failed to inspect exec", e))?;
            if info.running != Some(true) {
                code = info.exit_code;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let code = code.unwrap_or(137) as i32;
        Ok(ExecOutput {
            truncated: out.dropped > 0 || err.dropped > 0,
            stdout: out.data,
            stderr: err.data,
            status: ExitStatus::Code(code),
            duration,
            timed_out: host_deadline_hit,
        })
    }

    /// SIGKILLs every process of the sandbox user (services and the container's
    /// main process run as other users) until none is left, but the recorded
    /// residents that are still the same process (pid and start time); the
    /// processes they fork are not spared. A fork bomb can hold every pid of
    /// the container, so starting the killer may fail for a moment: it is
    /// retried, and it re-kills until a scan (bash builtins only, no fork)
    /// finds no live process of the user but itself and the spared residents.
    ///
    /// Without residents one pass is `kill -KILL -1`, which the kernel applies
    /// atomically with respect to forks. With residents a pass kills pid by
    /// pid; when processes are still there after a few such passes (a fork
    /// bomb outruns them) a pass first stops everything with `kill -STOP -1`
    /// (atomic too), resumes the residents, then kills the stopped rest.
    async fn kill_agent_processes(&self) {
        const SCRIPT: &str = r#"spare=" $* "
for ((i = 0; i < 200; i++)); do
  if [ "$spare" = "  " ]; then
    kill -KILL -1 2>/dev/null
  elif [ "$i" -ge 3 ]; then
    kill -STOP -1 2>/dev/null
  fi
  n=0
  for p in /proc/[0-9]*; do
    q=${p#/proc/}
    [ "$q" = "$$" ] && continue
    [ -O "$p" ] || continue
    read -r s 2>/dev/null < "$p/stat" || continue
    s=${s##*) }
    [ "${s%% *}" = Z ] && continue
    if [ "$spare" != "  " ]; then
      set -- $s
      case $spare in
        *" $q:${20:-} "*) [ "$i" -ge 3 ] && kill -CONT "$q" 2>/dev/null; continue ;;
      esac
      kill -KILL "$q" 2>/dev/null
    fi
    n=$((n + 1))
  done
  [ "$n" = 0 ] && exit 0
done
exit 1"#;
        let mut argv: Vec<String> = vec![
            "/bin/bash".into(),
            "-c".into(),
            SCRIPT.into(),
            "debugenv-kill".into(),
        ];
        argv.extend(
            self.lock_residents()
                .iter()
                .map(|r| format!("{}:{}", r.pid, r.start_time)),
        );
        let mut last = String::new();
        for _ in 0..50 {
            match self.raw_exec_simple(argv.clone()).await {
                Ok(Some(0)) => return,
                Ok(code) => last = format!("killer exited with {code:?}"),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::warn!(error = %last, container = %self.name, "failed to kill sandbox processes");
    }

    fn lock_residents(&self) -> MutexGuard<'_, Vec<Resident>> {
        self.residents.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The working directory of `cmd`: the workspace, or its `cwd` resolved
    /// inside it.
    async fn workdir(&self, cmd: &Command) -> Result<String> {
        match &cmd.cwd {
            Some(dir) => Ok(self.resolve("run command", dir, false).await?.0),
            None => Ok(WORKSPACE.to_owned()),
        }
    }

    /// The sandbox's environment followed by `cmd`'s.
    fn command_env(&self, cmd: &Command) -> Vec<String> {
        self.env
            .iter()
            .cloned()
            .chain(cmd.env.iter().map(|(k, v)| format!("{k}={v}")))
            .collect()
    }

    /// Runs argv as the sandbox user without collecting output; returns the exit code.
    async fn raw_exec_simple(&self, argv: Vec<String>) -> Result<Option<i64>> {
        let exec = self
            .docker
            .create_exec(
                &self.id,
                ExecConfig {
                    cmd: Some(argv),
                    user: Some(AGENT_USER.into()),
                    attach_stdout: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_err("failed to create exec", e))?;
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| docker_err("failed to start exec", e))?
        {
            while output.next().await.is_some() {}
        }
        for _ in 0..100 {
            let info = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| docker_err("failed to inspect exec", e))?;
            if info.running != Some(true) {
                return Ok(info.exit_code);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(None)
    }

    /// Runs a helper as the sandbox user and returns stdout, failing on a non-zero exit.
    async fn helper(&self, argv: Vec<String>) -> Result<ExecOutput> {
        self.raw_exec(argv, AGENT_USER, None, Duration::from_secs(120), 64 << 20)
            .await
    }

    /// Resolves `rel` inside the container (as the sandbox user); refuses
    /// anything that resolves outside `/workspace`. With `create_parents`, makes
    /// the missing parent directories and also returns the existing file's mode.
    async fn resolve(
        &self,
        op: &str,
        path: &str,
        for_write: bool,
    ) -> Result<(String, Option<u32>)> {
        let rel = normalize(op, path)?;
        let script = if for_write {
            "p=$(realpath -m -- \"$1\") || exit 2; case \"$p\" in /workspace/*) ;; *) printf %s \"$p\"; exit 3;; esac; \
             [ -d \"$p\" ] && exit 4; mkdir -p -- \"$(dirname -- \"$p\")\" || exit 5; \
             printf '%s\\n' \"$p\"; stat -c %a -- \"$p\" 2>/dev/null; exit 0"
        } else {
            "p=$(realpath -e -- \"$1\" 2>/dev/null) || exit 2; case \"$p\" in /workspace|/workspace/*) printf '%s\\n' \"$p\";; *) exit 3;; esac"
        };
        let out = self
            .helper(vec![
                "/bin/sh".into(),
                "-c".into(),
                script.into(),
                "sh".into(),
                format!("{WORKSPACE}/{rel}"),
            ])
            .await?;
        match out.status.code() {
            Some(0) => {
                let text = out.stdout_text();
                let mut lines = text.lines();
                let p = lines.next().unwrap_or_default().to_owned();
                let mode = lines
                    .next()
                    .and_then(|m| u32::from_str_radix(m.trim(), 8).ok());
                Ok((p, mode))
            }
            Some(2) => Err(Error::new(
                format!("failed to {op}"),
                ErrorKind::NotFound {
                    path: path.to_owned(),
                },
            )),
            Some(3) => Err(symlink_escape(op, path)),
            Some(4) => Err(Error::new(
                format!("failed to {op} `{path}`"),
                ErrorKind::Exec {
                    message: "it is a directory".into(),
                },
            )),
            _ => Err(Error::new(
                format!("failed to {op} `{path}`"),
                ErrorKind::Exec {
                    message: out.stderr_text().trim().to_owned(),
                },
            )),
        }
    }

    async fn workspace_diff(&self, mode: &str) -> Result<Vec<Change>> {
        let out = self
            .helper(vec![
                "python3".into(),
                "/opt/debugenv/reset.py".into(),
                mode.into(),
            ])
            .await?;
        if !out.status.success() {
            return Err(Error::new(
                format!("failed to {mode} the workspace"),
                ErrorKind::Exec {
                    message: out.stderr_text().trim().to_owned(),
                },
            ));
        }
        let text = out.stdout_text();
        Ok(text
            .lines()
            .filter_map(|l| {
                let (k, p) = l.split_once(' ')?;
                let kind = match k {
                    "A" => ChangeKind::Added,
                    "M" => ChangeKind::Modified,
                    "D" => ChangeKind::Deleted,
                    "C" => ChangeKind::ModeChanged,
                    _ => return None,
                };
                Some(Change::new(p, kind))
            })
            .collect())
    }

    /// Removes every container, network and volume labelled by a process of
    /// this host that is no longer running (crashed runs). Returns how many
    /// objects were removed. Call it at start-up.
    pub async fn reap(docker: &Docker) -> Result<usize> {
        let filters = HashMap::from([("label".to_owned(), vec![OWNER_LABEL.to_owned()])]);
        let mut removed = 0;
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| docker_err("failed to list containers", e))?;
        for c in containers {
            let owner = c.labels.as_ref().and_then(|l| l.get(OWNER_LABEL)).cloned();
            if owner.as_deref().is_some_and(owner_is_dead) {
                if let Some(id) = c.id {
                    remove_container(docker, &id).await?;
                    removed += 1;
                }
            }
        }
        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .map_err(|e| docker_err("failed to list networks", e))?;
        for n in networks {
            let owner = n.labels.as_ref().and_then(|l| l.get(OWNER_LABEL)).cloned();
            if owner.as_deref().is_some_and(owner_is_dead) {
                if let Some(id) = n.id {
                    docker
                        .remove_network(&id)
                        .await
                        .map_err(|e| docker_err(format!("failed to remove network {id}"), e))?;
                    removed += 1;
                }
            }
        }
        let volumes = docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| docker_err("failed to list volumes", e))?;
        for v in volumes.volumes.unwrap_or_default() {
            if v.labels.get(OWNER_LABEL).is_some_and(|o| owner_is_dead(o)) {
                docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await
                    .map_err(|e| docker_err(format!("failed to remove volume {}", v.name), e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

async fn remove_container(docker: &Docker, id: &str) -> Result<()> {
    match docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(docker_err(format!("failed to remove container {id}"), e)),
    }
}

impl Sandbox for DockerSandbox {
    async fn exec(&self, cmd: &Command) -> Result<ExecOutput> {
        cmd.validate()?;
        let workdir = self.workdir(cmd).await?;
        let secs = format!("{:.3}", cmd.timeout.as_secs_f64());
        let grace = format!("{:.3}", self.opts.kill_grace.as_secs_f64());
        // `timeout` makes its own process group (its pid) and signals the
        // whole group on expiry; when the command ends, what is left of the
        // group (background jobs) is killed, as on the local backend.
        let mut argv = vec![
            "/bin/sh".to_owned(),
            "-c".into(),
            "cd -- \"$1\" || exit 2; shift; timeout -s TERM -k \"$@\" & p=$!; wait $p; rc=$?; \
             kill -KILL -$p 2>/dev/null; exit $rc"
                .into(),
            "sh".into(),
            workdir,
            grace,
            secs,
        ];
        argv.extend(cmd.full_argv());
        let env = self.command_env(cmd);
        let deadline = cmd.timeout + self.opts.kill_grace + Duration::from_secs(10);
        let mut out = self
            .raw_exec(argv, AGENT_USER, Some(env), deadline, cmd.output_limit)
            .await?;
        let code = out.status.code();
        if out.timed_out || (matches!(code, Some(124) | Some(137)) && out.duration >= cmd.timeout) {
            out.timed_out = true;
            // Descendants that left the group (setsid) die with the user's processes.
            self.kill_agent_processes().await;
        }
        if code == Some(127) && out.stderr_text().contains("timeout: failed to run command") {
            out.stderr = out
                .stderr_text()
                .replace("timeout: ", "debugenv-sandbox: ")
                .into_bytes();
        }
        Ok(out)
    }

    async fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let (real, _) = self.resolve("read file", path, false).await?;
        let mut stream = self.docker.download_from_container(
            &self.id,
            Some(DownloadFromContainerOptions { path: real.clone() }),
        );
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            archive.extend_from_slice(
                &chunk.map_err(|e| docker_err(format!("failed to read file `{path}`"), e))?,
            );
        }
        let mut ar = tar::Archive::new(archive.as_slice());
        let ctx = || format!("failed to read file `{path}`");
        let mut entries = ar.entries().map_err(|e| Error::io(ctx(), e))?;
        let mut entry = entries
            .next()
            .ok_or_else(|| {
                Error::new(
                    ctx(),
                    ErrorKind::NotFound {
                        path: path.to_owned(),
                    },
                )
            })?
            .map_err(|e| Error::io(ctx(), e))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(Error::new(
                ctx(),
                ErrorKind::Exec {
                    message: "not a regular file".into(),
                },
            ));
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| Error::io(ctx(), e))?;
        Ok(data)
    }

    async fn write_file(&self, path: &str, contents: &[u8]) -> Result<()> {
        let (real, mode) = self.resolve("write file", path, true).await?;
        let (dir, name) = real.rsplit_once('/').unwrap_or((WORKSPACE, real.as_str()));
        let ctx = || format!("failed to write file `{path}`");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mode(mode.unwrap_or(0o644));
        h.set_size(contents.len() as u64);
        h.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        b.append_data(&mut h, name, contents)
            .map_err(|e| Error::io(ctx(), e))?;
        let archive = b.into_inner().map_err(|e| Error::io(ctx(), e))?;
        self.docker
            .upload_to_container(
                &self.id,
                Some(UploadToContainerOptions {
                    path: dir.to_owned(),
                    ..Default::default()
                }),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(|e| docker_err(ctx(), e))
    }

    async fn reset(&self) -> Result<Vec<Change>> {
        // reset.py kills every process of the sandbox user first, residents
        // included: they belong to the state being reset.
        self.lock_residents().clear();
        self.workspace_diff("reset").await
    }

    async fn changed_files(&self) -> Result<Vec<Change>> {
        self.workspace_diff("diff").await
    }

    async fn spawn_resident(&self, cmd: &Command) -> Result<Resident> {
        // `setsid` does not fork here (a background job of a non-interactive
        // sh is not a process-group leader), so `$!` is the resident's pid.
        // The stat line is read with builtins only: a fork could let sh reap
        // a resident that exited at once before its entry is read.
        const SCRIPT: &str = r#"cd -- "$1" || exit 2; shift
command -v "$1" >/dev/null 2>&1 || { echo "$1: command not found" >&2; exit 127; }
setsid "$@" </dev/null >/dev/null 2>&1 &
p=$!
IFS= read -r s < /proc/$p/stat || { echo "no /proc entry for pid $p" >&2; exit 3; }
s=${s##*") "}
set -- $s
echo "$p ${20}""#;
        let fail = |message: String| {
            Error::new(
                "failed to start a resident process",
                ErrorKind::Exec { message },
            )
        };
        cmd.validate()?;
        let workdir = self.workdir(cmd).await?;
        let mut argv = vec![
            "/bin/sh".to_owned(),
            "-c".into(),
            SCRIPT.into(),
            "sh".into(),
            workdir,
        ];
        argv.extend(cmd.full_argv());
        let out = self
            .raw_exec(
                argv,
                AGENT_USER,
                Some(self.command_env(cmd)),
                Duration::from_secs(60),
                64 * 1024,
            )
            .await?;
        let text = out.stdout_text();
        let parsed = text
            .trim()
            .split_once(' ')
            .and_then(|(pid, start)| Some(Resident::new(pid.parse().ok()?, start.parse().ok()?)));
        let resident = match parsed {
            Some(r) if out.status.success() && r.pid > 0 => r,
            _ => {
                return Err(fail(format!(
                    "the launcher ({}) printed {:?}, stderr {:?}",
                    out.status,
                    text,
                    out.stderr_text().trim()
                )));
            }
        };
        self.lock_residents().push(resident);
        Ok(resident)
    }

    async fn destroy(mut self) -> Result<()> {
        self.destroyed = true;
        remove_container(&self.docker, &self.id).await
    }
}

impl Drop for DockerSandbox {
    fn drop(&mut self) {
        if self.destroyed {
            return;
        }
        tracing::warn!(container = %self.name, "DockerSandbox dropped without destroy(); removing it");
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (docker, id) = (self.docker.clone(), self.id.clone());
            handle.spawn(async move {
                if let Err(e) = remove_container(&docker, &id).await {
                    tracing::error!(error = %e, "failed to remove a dropped sandbox; `reap` will");
                }
            });
        }
    }
}
