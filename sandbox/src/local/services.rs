//! Private PostgreSQL and Redis instances of a local sandbox.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::sys;
use crate::{Error, ErrorKind, Result, Service};

/// A running service process (its own process group).
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) service: Service,
    child: Child,
    log: PathBuf,
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the service: PostgreSQL gets SIGQUIT (immediate shutdown), Redis
    /// SIGTERM; after `grace` the whole group gets SIGKILL.
    pub(crate) fn stop(mut self, grace: Duration) {
        let pid = self.child.id() as i32;
        let sig = match self.service {
            Service::Postgres => libc::SIGQUIT,
            Service::Redis => libc::SIGTERM,
        };
        let _ = sys::kill(pid, sig);
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = sys::kill(-pid, libc::SIGKILL);
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        // Stragglers (PostgreSQL children) share the group.
        let _ = sys::kill(-pid, libc::SIGKILL);
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Where services live, and as whom they run.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Service state (data dir, logs); readable by the service user only.
    pub(crate) state: PathBuf,
    /// PostgreSQL's cluster directory (created here; may be on tmpfs).
    pub(crate) pg_data: PathBuf,
    /// Socket directory reachable by the sandbox's commands.
    pub(crate) run: PathBuf,
    /// (uid, gid) of the service user, when we are root.
    pub(crate) user: Option<(u32, u32)>,
}

pub(crate) fn service_error(service: Service, message: impl Into<String>) -> Error {
    Error::new(
        format!("failed to start {}", service.name()),
        ErrorKind::Service {
            service: service.name().to_owned(),
            message: message.into(),
        },
    )
}

fn require(binary: &Path, package: &str) -> Result<()> {
    if binary.is_file() {
        Ok(())
    } else {
        Err(Error::new(
            "failed to start sandbox services",
            ErrorKind::MissingBinary {
                binary: binary.to_path_buf(),
                package: package.to_owned(),
            },
        ))
    }
}

fn as_user(cmd: &mut std::process::Command, user: Option<(u32, u32)>) {
    if let Some((u, g)) = user {
        // std drops supplementary groups when switching uid as root.
        cmd.uid(u).gid(g);
    }
}

/// A PostgreSQL cluster initialised once per host and service user, copied into
/// each sandbox (a copy takes milliseconds, `initdb` about a second).
fn pg_template(bin: &Path, root: &Path, user: Option<(u32, u32)>) -> Result<PathBuf> {
    let uid = user.map_or_else(sys::euid, |u| u.0);
    let template = root.join(format!("debugenv-sandbox-pg15-template-{uid}"));
    if template.join("PG_VERSION").is_file() {
        return Ok(template);
    }
    let tmp = root.join(format!(
        "debugenv-sandbox-pg15-template-{uid}.tmp{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)
        .map_err(|e| Error::io("failed to create the PostgreSQL template", e))?;
    if let Some((u, g)) = user {
        std::os::unix::fs::chown(&tmp, Some(u), Some(g))
            .map_err(|e| Error::io("failed to chown the PostgreSQL template", e))?;
    }
    let mut cmd = std::process::Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(&tmp)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .current_dir(root)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null());
    as_user(&mut cmd, user);
    let out = cmd
        .output()
        .map_err(|e| Error::io("failed to run initdb", e))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(service_error(
            Service::Postgres,
            format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    match std::fs::rename(&tmp, &template) {
        Ok(()) => {}
        // Another process won the race; use its template.
        Err(_) if template.join("PG_VERSION").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(Error::io("failed to install the PostgreSQL template", e)),
    }
    Ok(template)
}

/// Starts PostgreSQL (does not wait for readiness).
pub(crate) fn start_postgres(bin: &Path, tmp_root: &Path, l: &Layout) -> Result<Running> {
    require(&bin.join("postgres"), "postgresql-15")?;
    require(&bin.join("initdb"), "postgresql-15")?;
    let template = pg_template(bin, tmp_root, l.user)?;
    let data = l.pg_data.clone();
    super::workspace::copy_tree(&template, &data, l.user)
        .map_err(|e| Error::io("failed to copy the PostgreSQL cluster", e))?;
    let log = l.state.join("postgres.log");
    let logf =
        std::fs::File::create(&log).map_err(|e| Error::io("failed to create postgres.log", e))?;
    if let Some((u, g)) = l.user {
        let _ = std::os::unix::fs::chown(&log, Some(u), Some(g));
    }
    let mut cmd = std::process::Command::new(bin.join("postgres"));
    cmd.arg("-D").arg(&data);
    for (k, v) in [
        ("listen_addresses", ""),
        ("unix_socket_permissions", "0777"),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("shared_buffers", "16MB"),
        ("max_connections", "40"),
        ("max_wal_senders", "0"),
        ("wal_level", "minimal"),
        ("logging_collector", "off"),
        // Dynamic shared memory in the data directory, not /dev/shm: the
        // immediate shutdown (SIGQUIT) of destroy leaves no segment behind.
        ("dynamic_shared_memory_type", "mmap"),
    ] {
        cmd.arg("-c").arg(format!("{k}={v}"));
    }
    cmd.arg("-c")
        .arg(format!("unix_socket_directories={}", l.run.display()));
    cmd.current_dir(&l.state)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(
            logf.try_clone()
                .map_err(|e| Error::io("failed to open postgres.log", e))?,
        )
        .stderr(logf)
        .process_group(0);
    as_user(&mut cmd, l.user);
    let child = cmd
        .spawn()
        .map_err(|e| service_error(Service::Postgres, format!("spawn failed: {e}")))?;
    Ok(Running {
        service: Service::Postgres,
        child,
        log,
    })
}

/// Starts Redis (does not wait for readiness).
pub(crate) fn start_redis(bin: &Path, l: &Layout) -> Result<Running> {
    require(bin, "redis-server")?;
    let dir = l.state.join("redis");
    std::fs::create_dir(&dir).map_err(|e| Error::io("failed to create the redis dir", e))?;
    let log = l.state.join("redis.log");
    let logf =
        std::fs::File::create(&log).map_err(|e| Error::io("failed to create redis.log", e))?;
    if let Some((u, g)) = l.user {
        let _ = std::os::unix::fs::chown(&dir, Some(u), Some(g));
        let _ = std::os::unix::fs::chown(&log, Some(u), Some(g));
    }
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["--port", "0", "--unixsocket"])
        .arg(l.run.join("redis.sock"))
        .args([
            "--unixsocketperm",
            "777",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--daemonize", "no", "--dir"])
        .arg(&dir)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(
            logf.try_clone()
                .map_err(|e| Error::io("failed to open redis.log", e))?,
        )
        .stderr(logf)
        .process_group(0);
    as_user(&mut cmd, l.user);
    let child = cmd
        .spawn()
        .map_err(|e| service_error(Service::Redis, format!("spawn failed: {e}")))?;
    Ok(Running {
        service: Service::Redis,
        child,
        log,
    })
}

/// Waits until every service answers its protocol's readiness probe.
pub(crate) fn wait_ready(services: &mut [Running], run: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    for s in services.iter_mut() {
        loop {
            let ready = match s.service {
                Service::Postgres => postgres_ready(&run.join(".s.PGSQL.5432")),
                Service::Redis => redis_ready(&run.join("redis.sock")),
            };
            if ready {
                break;
            }
            if let Ok(Some(status)) = s.child.try_wait() {
                return Err(service_error(
                    s.service,
                    format!("exited during start-up ({status}); log:\n{}", s.log_tail()),
                ));
            }
            if Instant::now() >= deadline {
                return Err(service_error(
                    s.service,
                    format!("not ready after {timeout:?}; log:\n{}", s.log_tail()),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

/// Sends a startup packet; an authentication request ('R') means the server
/// accepts connections (an error 'E' means it is still starting).
fn postgres_ready(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    for kv in ["user", "postgres", "database", "postgres"] {
        body.extend_from_slice(kv.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut pkt = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    pkt.extend_from_slice(&body);
    let mut first = [0u8; 1];
    s.write_all(&pkt).is_ok() && s.read_exact(&mut first).is_ok() && first[0] == b'R'
}

fn redis_ready(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Environment variables that point a command at the services.
pub(crate) fn env_for(services: &[Service], run: &Path) -> Vec<(String, String)> {
    let run = run.display().to_string();
    let mut env = Vec::new();
    for s in services {
        match s {
            Service::Postgres => {
                env.push(("PGHOST".into(), run.clone()));
                env.push(("PGPORT".into(), "5432".into()));
                env.push(("PGUSER".into(), "postgres".into()));
                env.push(("PGDATABASE".into(), "postgres".into()));
                env.push((
                    "DATABASE_URL".into(),
                    format!("postgresql://postgres@/postgres?host={run}"),
                ));
            }
            Service::Redis => {
                env.push(("REDIS_SOCKET".into(), format!("{run}/redis.sock")));
                env.push(("REDIS_URL".into(), format!("unix://{run}/redis.sock")));
            }
        }
    }
    env
}
