//! The conformance suite on [`LocalSandbox`], plus local-only checks.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use debugenv_sandbox::{
    Command, ErrorKind, LocalOptions, LocalSandbox, NetworkPolicy, Sandbox, SandboxSpec, Service,
};

use crate::conformance::{Backend, project, spec};

pub(crate) struct Local {
    opts: LocalOptions,
}

fn local() -> Option<Local> {
    Some(Local {
        opts: LocalOptions::default(),
    })
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn pids_of_uid(uid: u32) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = stat.rsplit(") ").next()?.starts_with('Z');
            (e.metadata().ok()?.uid() == uid && !zombie).then_some(pid)
        })
        .collect()
}

fn identity_of(dir: &Path, uid: Option<u32>) -> String {
    let mut pids = Vec::new();
    for svc in ["postgres", "redis"] {
        if let Ok(s) = std::fs::read_to_string(dir.join(format!("{svc}.pid"))) {
            pids.push(s.split_whitespace().next().unwrap_or("0").to_owned());
        }
    }
    format!(
        "{}|{}|{}",
        dir.display(),
        uid.map(|u| u.to_string()).unwrap_or_default(),
        pids.join(",")
    )
}

impl Backend for Local {
    type S = LocalSandbox;

    async fn create(&self, spec: &SandboxSpec) -> LocalSandbox {
        LocalSandbox::create(spec, &self.opts)
            .await
            .expect("create local sandbox")
    }

    fn identity(&self, sb: &LocalSandbox) -> String {
        identity_of(sb.dir(), sb.uid())
    }

    async fn leftovers(&self, identity: &str) -> Vec<String> {
        let mut parts = identity.split('|');
        let (dir, uid, pids) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let mut left = Vec::new();
        if Path::new(dir).exists() {
            left.push(format!("directory {dir}"));
        }
        for pid in pids.split(',').filter(|p| !p.is_empty()) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !stat.is_empty() && !stat.rsplit(") ").next().unwrap_or("").starts_with('Z') {
                left.push(format!("service process {pid}"));
            }
        }
        if let Ok(uid) = uid.parse::<u32>() {
            for pid in pids_of_uid(uid) {
                left.push(format!("process {pid} of uid {uid}"));
            }
        }
        left
    }

    async fn listener(&self) -> (String, u16, Box<dyn std::any::Any + Send>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        ("127.0.0.1".into(), port, Box::new(l))
    }

    async fn create_with_access(&self, spec: &SandboxSpec) -> LocalSandbox {
        let spec = SandboxSpec::builder(spec.workspace())
            .network(NetworkPolicy::Host)
            .build()
            .expect("spec");
        self.create(&spec).await
    }

    async fn crash_and_reap(&self, workspace: &Path) -> String {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_debugenv-sandbox"))
            .arg("hold")
            .arg(workspace)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn hold");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let dir = line
            .trim()
            .strip_prefix("ready ")
            .expect("ready line")
            .to_owned();
        let dir = Path::new(&dir);
        let uid = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("debugenv-sbx-"))
            .and_then(|s| s.parse::<u32>().ok())
            .map(|slot| debugenv_sandbox::UID_BASE + slot);
        let id = identity_of(dir, uid);
        assert!(
            !self.leftovers(&id).await.is_empty(),
            "nothing to reap: {id}"
        );
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(dir.exists(), "a killed process cannot have cleaned up");
        // The held sandbox runs PostgreSQL with its cluster in the memory root.
        let cluster = self
            .opts
            .memory_root
            .as_ref()
            .expect("default memory root")
            .join(format!(
                "{}-pg",
                dir.file_name().expect("name").to_string_lossy()
            ));
        let on_tmpfs = cluster.join("PG_VERSION").is_file();
        let report = LocalSandbox::reap(&self.opts).await.expect("reap");
        assert!(report.removed.iter().any(|d| d == dir), "{report:?}");
        if on_tmpfs {
            assert!(!cluster.exists(), "reap left {}", cluster.display());
            assert!(report.removed.contains(&cluster), "{report:?}");
        }
        id
    }

    fn private_user(&self) -> bool {
        is_root()
    }
}

crate::conformance_suite!(local());

#[tokio::test]
async fn missing_service_binaries_name_the_debian_package() {
    let p = project();
    let spec = SandboxSpec::builder(p.path())
        .service(Service::Postgres)
        .build()
        .expect("spec");
    let mut opts = LocalOptions::default();
    opts.postgres_bin_dir = "/nonexistent/pg/bin".into();
    let e = LocalSandbox::create(&spec, &opts)
        .await
        .expect_err("must fail");
    match e.kind() {
        ErrorKind::MissingBinary { package, .. } => assert_eq!(package, "postgresql-15"),
        k => panic!("unexpected error {k:?}"),
    }
    let spec = SandboxSpec::builder(p.path())
        .service(Service::Redis)
        .build()
        .expect("spec");
    let mut opts = LocalOptions::default();
    opts.redis_server = "/nonexistent/redis-server".into();
    let e = LocalSandbox::create(&spec, &opts)
        .await
        .expect_err("must fail");
    assert!(e.to_string().contains("`redis-server`"), "{e}");
}

#[tokio::test]
async fn commands_run_unprivileged_and_cannot_read_other_sandboxes() {
    if !is_root() {
        return;
    }
    let p = project();
    let opts = LocalOptions::default();
    let a = LocalSandbox::create(&spec(p.path()), &opts)
        .await
        .expect("a");
    let b = LocalSandbox::create(&spec(p.path()), &opts)
        .await
        .expect("b");
    let o = a.exec(&Command::shell("id -u")).await.expect("exec");
    let uid: u32 = o.stdout_text().trim().parse().expect("uid");
    assert_eq!(Some(uid), a.uid());
    assert_ne!(uid, 0);
    let other = b.workspace_dir().join("README.md");
    let o = a
        .exec(&Command::argv([
            "cat".to_owned(),
            other.display().to_string(),
        ]))
        .await
        .expect("exec");
    assert!(!o.status.success(), "read another sandbox's file: {o:?}");
    let o = a
        .exec(&Command::argv(["cat", "/etc/shadow"]))
        .await
        .expect("exec");
    assert!(!o.status.success());
    a.destroy().await.expect("destroy");
    b.destroy().await.expect("destroy");
}

#[tokio::test]
async fn cpu_limit_stops_a_spinning_command() {
    let p = project();
    let mut limits = debugenv_sandbox::Limits::default();
    limits.cpu_seconds = 1;
    let sb = LocalSandbox::create(
        &SandboxSpec::builder(p.path())
            .limits(limits)
            .build()
            .expect("spec"),
        &LocalOptions::default(),
    )
    .await
    .expect("create");
    let o = sb
        .exec(
            &Command::argv(["python3", "-c", "while True: pass"]).timeout(Duration::from_secs(20)),
        )
        .await
        .expect("exec");
    assert!(!o.timed_out, "RLIMIT_CPU should stop it first: {o:?}");
    assert_eq!(
        o.status,
        debugenv_sandbox::ExitStatus::Signal(libc_sigxcpu()),
        "{o:?}"
    );
    sb.destroy().await.expect("destroy");
}

fn libc_sigxcpu() -> i32 {
    24
}

#[tokio::test]
async fn escaped_background_processes_do_not_outlive_their_command() {
    if !is_root() {
        return;
    }
    let p = project();
    let sb = LocalSandbox::create(&spec(p.path()), &LocalOptions::default())
        .await
        .expect("create");
    let uid = sb.uid().expect("private uid");
    let marker = crate::conformance::unique_sleep();
    let count = || {
        pids_of_uid(uid)
            .into_iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            })
            .count()
    };
    // A command running at the same time in the same sandbox is spared.
    let long_cmd = Command::shell("sleep 2; echo survived").timeout(Duration::from_secs(30));
    let long = sb.exec(&long_cmd);
    let short = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let o = sb
            .exec(&Command::shell(format!(
                "setsid sleep {marker} </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"
            )))
            .await
            .expect("exec");
        assert_eq!(o.stdout, b"started\n", "{o:?}");
        count()
    };
    let (long, left) = tokio::join!(long, short);
    assert_eq!(left, 0, "a setsid process outlived its command");
    let long = long.expect("long");
    assert_eq!(long.stdout, b"survived\n", "{long:?}");
    sb.destroy().await.expect("destroy");
}

/// PostgreSQL's cluster goes to the memory root (tmpfs in production; here a
/// world-writable temp dir standing in for /dev/shm), answers, and leaves with
/// the sandbox; an unusable memory root falls back to the sandbox directory.
#[tokio::test]
async fn postgres_cluster_lives_in_the_memory_root_and_leaves_with_the_sandbox() {
    use std::os::unix::fs::PermissionsExt;
    let p = project();
    let spec = SandboxSpec::builder(p.path())
        .service(Service::Postgres)
        .build()
        .expect("spec");
    let memory = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(memory.path(), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod");
    let list = || -> Vec<String> {
        std::fs::read_dir(memory.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    for memory_root in [
        Some(memory.path().to_path_buf()),
        Some("/nonexistent/shm".into()),
        None,
    ] {
        let mut opts = LocalOptions::default();
        opts.memory_root = memory_root.clone();
        let sb = LocalSandbox::create(&spec, &opts).await.expect("create");
        let out = sb
            .exec(&Command::shell("psql -Atc 'select 40 + 2'"))
            .await
            .expect("psql");
        assert_eq!(out.stdout_text().trim(), "42", "{}", out.stderr_text());
        // Shared memory segments live in the cluster directory, which goes
        // with the sandbox (in /dev/shm they would outlive its SIGQUIT).
        let out = sb
            .exec(&Command::shell(
                "psql -Atc 'show dynamic_shared_memory_type'",
            ))
            .await
            .expect("psql");
        assert_eq!(out.stdout_text().trim(), "mmap", "{}", out.stderr_text());
        let here = list();
        if memory_root.as_deref() == Some(memory.path()) {
            assert_eq!(here.len(), 1, "{here:?}");
            assert!(here[0].starts_with("debugenv-sbx-") && here[0].ends_with("-pg"));
            assert!(memory.path().join(&here[0]).join("PG_VERSION").is_file());
        } else {
            assert!(here.is_empty(), "{memory_root:?}: {here:?}");
        }
        sb.destroy().await.expect("destroy");
        assert!(list().is_empty(), "{memory_root:?}: left {:?}", list());
    }
}
