//! The conformance suite: every case takes a [`Backend`] and runs the same
//! expectations against it.

use std::path::Path;
use std::time::{Duration, Instant};

use debugenv_sandbox::{
    ChangeKind, Command, ErrorKind, ExitStatus, Limits, NetworkPolicy, Sandbox, SandboxSpec,
    Service,
};

/// What the suite needs from a backend beyond the trait.
pub(crate) trait Backend: Sync {
    /// The sandbox type.
    type S: Sandbox + 'static;
    /// Creates a sandbox.
    fn create(&self, spec: &SandboxSpec) -> impl Future<Output = Self::S> + Send;
    /// An identity used to look for leftovers after the sandbox is gone.
    fn identity(&self, sb: &Self::S) -> String;
    /// Whatever of `identity` is still alive or present (empty when clean).
    fn leftovers(&self, identity: &str) -> impl Future<Output = Vec<String>> + Send;
    /// Starts a listener the sandbox must not reach; returns (host, port, guard).
    fn listener(&self)
    -> impl Future<Output = (String, u16, Box<dyn std::any::Any + Send>)> + Send;
    /// Creates a sandbox that is given access to the listener (the positive control).
    fn create_with_access(&self, spec: &SandboxSpec) -> impl Future<Output = Self::S> + Send;
    /// Starts a process that creates a sandbox, kills it mid-run, reaps; returns the
    /// killed sandbox's identity.
    fn crash_and_reap(&self, workspace: &Path) -> impl Future<Output = String> + Send;
    /// Whether the backend gives each sandbox its own user (so per-user process
    /// counts are meaningful).
    fn private_user(&self) -> bool;
}

/// A sleep duration no other test of this run uses (the local backend's
/// process checks see the whole host, Docker containers included), so a
/// process can be recognised by its command line.
pub(crate) fn unique_sleep() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("9{:03}{n:03}.25", std::process::id() % 1000)
}

/// A small project: a package, a script, a nested directory.
pub(crate) fn project() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    std::fs::create_dir_all(p.join("app/sub")).expect("mkdir");
    std::fs::write(p.join("app/models.py"), "x = 1\n").expect("write");
    std::fs::write(p.join("app/sub/views.py"), "y = 2\n").expect("write");
    std::fs::write(p.join("README.md"), "héllo ✓\n").expect("write");
    std::fs::write(p.join("run.sh"), "#!/bin/sh\necho run\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.join("run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    d
}

pub(crate) fn spec(dir: &Path) -> SandboxSpec {
    SandboxSpec::builder(dir).build().expect("spec")
}

pub(crate) fn spec_with_services(dir: &Path) -> SandboxSpec {
    SandboxSpec::builder(dir)
        .service(Service::Postgres)
        .service(Service::Redis)
        .build()
        .expect("spec")
}

async fn sh<S: Sandbox>(sb: &S, line: &str) -> debugenv_sandbox::ExecOutput {
    sb.exec(&Command::shell(line).timeout(Duration::from_secs(60)))
        .await
        .expect("exec")
}

pub(crate) async fn output_and_exit_codes<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let out = sb
        .exec(&Command::argv(["echo", "héllo", "✓ 日本"]))
        .await
        .expect("exec");
    assert_eq!(out.stdout_text(), "héllo ✓ 日本\n");
    assert_eq!(out.status, ExitStatus::Code(0));
    assert!(!out.timed_out && !out.truncated);

    let out = sh(&sb, "echo out; echo 'érr ✗' >&2; exit 3").await;
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr_text(), "érr ✗\n");
    assert_eq!(out.status, ExitStatus::Code(3));

    let out = sb
        .exec(
            &Command::shell("pwd; cat views.py; echo $FOO")
                .cwd("app/sub")
                .env("FOO", "bär"),
        )
        .await
        .expect("exec");
    let text = out.stdout_text();
    assert!(text.ends_with("/app/sub\ny = 2\nbär\n"), "{text:?}");

    let out = sb
        .exec(&Command::argv(["no-such-program-xyz"]))
        .await
        .expect("exec");
    assert_eq!(out.status.code(), Some(127), "{out:?}");

    // The host's environment does not leak in.
    let out = sh(&sb, "env").await;
    let env = out.stdout_text();
    assert!(!env.contains("CARGO"), "host environment leaked: {env}");
    assert!(env.contains("PATH="), "{env}");

    let out = sh(&sb, "cat README.md").await;
    assert_eq!(out.stdout_text(), "héllo ✓\n");
    sb.destroy().await.expect("destroy");
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmHWM")
}

pub(crate) async fn output_flood_is_capped<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let before = peak_rss_kib();
    let cmd = Command::shell(
        "head -c 100000000 /dev/zero; head -c 100000000 /dev/zero >&2; echo done >&2; exit 4",
    )
    .output_limit(1 << 20)
    .timeout(Duration::from_secs(120));
    let out = sb.exec(&cmd).await.expect("exec");
    let growth_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    assert_eq!(out.stdout.len(), 1 << 20);
    assert_eq!(out.stderr.len(), 1 << 20);
    assert!(out.truncated);
    assert!(!out.timed_out);
    assert_eq!(out.status, ExitStatus::Code(4));
    // 200 MB went through; the host kept only the caps (plus buffers).
    assert!(growth_mib < 64, "host memory grew by {growth_mib} MiB");
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn timeout_kills_tree_ignoring_sigterm<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let marker = unique_sleep();
    let line = format!(
        "trap '' TERM; (trap '' TERM; sleep {marker}) & bash -c \"trap '' TERM; sleep {marker}\" & \
         echo started; sleep {marker}"
    );
    let start = Instant::now();
    let out = sb
        .exec(&Command::shell(line).timeout(Duration::from_secs(1)))
        .await
        .expect("exec");
    let took = start.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert!(!out.status.success());
    assert_eq!(out.stdout, b"started\n");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let count = sh(
        &sb,
        &format!(
            "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'slee[p] {marker}' || true"
        ),
    )
    .await;
    assert_eq!(
        count.stdout_text().trim(),
        "0",
        "survivors of the killed tree"
    );
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn background_jobs_do_not_outlive_their_command<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let marker = unique_sleep();
    let o = sh(
        &sb,
        &format!("sleep {marker} </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"),
    )
    .await;
    assert_eq!(o.stdout, b"started\n", "{o:?}");
    assert!(!o.timed_out, "{o:?}");
    let count = sh(
        &sb,
        &format!(
            "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'slee[p] {marker}' || true"
        ),
    )
    .await;
    assert_eq!(count.stdout_text().trim(), "0", "a background job survived");
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn nothing_escaped_survives_reset<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let marker = unique_sleep();
    let o = sh(
        &sb,
        &format!(
            "setsid bash -c 'sleep {marker}; echo late > app/models.py' </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"
        ),
    )
    .await;
    assert_eq!(o.stdout, b"started\n", "{o:?}");
    sb.reset().await.expect("reset");
    let count = sh(
        &sb,
        &format!(
            "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'slee[p] {marker}' || true"
        ),
    )
    .await;
    assert_eq!(
        count.stdout_text().trim(),
        "0",
        "an escaped process survived reset"
    );
    assert_eq!(
        sb.read_file("app/models.py").await.expect("read"),
        b"x = 1\n"
    );
    sb.destroy().await.expect("destroy");
}

/// Whether the process `pid` with start time `start` is alive, seen from a
/// command of the sandbox.
async fn resident_alive<S: Sandbox>(sb: &S, r: debugenv_sandbox::Resident) -> bool {
    // State and start time: fields 1 and 20 after the command name.
    let o = sh(
        sb,
        &format!(
            "set -- $(sed 's/.*) //' /proc/{}/stat 2>/dev/null); \
             [ \"$1\" != Z ] && [ \"${{20:-}}\" = {} ] && echo alive || echo gone",
            r.pid, r.start_time
        ),
    )
    .await;
    match o.stdout_text().trim() {
        "alive" => true,
        "gone" => false,
        other => panic!("unexpected probe output {other:?}: {o:?}"),
    }
}

pub(crate) async fn residents_outlive_commands_until_reset<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    let marker = unique_sleep();
    let r = sb
        .spawn_resident(&Command::shell(format!("exec sleep {marker}")))
        .await
        .expect("spawn_resident");
    assert!(r.pid > 1, "{r:?}");
    assert!(resident_alive(&sb, r).await, "the resident is not visible");
    // A plain command, a command that leaves a background job, and one that
    // times out: the sandbox's clean-ups after each spare the resident.
    sh(&sb, "true").await;
    sh(
        &sb,
        "setsid sleep 600 </dev/null >/dev/null 2>&1 & sleep 0.1; echo",
    )
    .await;
    let t = sb
        .exec(&Command::shell("sleep 30").timeout(Duration::from_millis(300)))
        .await
        .expect("exec");
    assert!(t.timed_out, "{t:?}");
    assert!(
        resident_alive(&sb, r).await,
        "a clean-up killed the resident"
    );
    // Only the resident survived: the background job did not.
    let count = sh(
        &sb,
        "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'slee[p] 600' || true",
    )
    .await;
    assert_eq!(count.stdout_text().trim(), "0", "a background job survived");
    // A resident whose process has exited is not a process of the sandbox.
    let start = Instant::now();
    sb.reset().await.expect("reset");
    while resident_alive(&sb, r).await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the resident survived reset"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // destroy stops a live one (checked by destroy_leaves_nothing's identity).
    let r2 = sb
        .spawn_resident(&Command::shell(format!("exec sleep {marker}")))
        .await
        .expect("spawn_resident again");
    assert_ne!(r2, r);
    let id = b.identity(&sb);
    sb.destroy().await.expect("destroy");
    let left = b.leftovers(&id).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}

pub(crate) async fn fork_bomb_is_contained<B: Backend>(b: &B) {
    let p = project();
    let mut limits = Limits::default();
    limits.processes = 64;
    let sb = b
        .create(
            &SandboxSpec::builder(p.path())
                .limits(limits)
                .build()
                .expect("spec"),
        )
        .await;
    let start = Instant::now();
    let out = sb
        .exec(
            &Command::shell("bomb() { bomb | bomb & }; bomb; sleep 30")
                .timeout(Duration::from_secs(3)),
        )
        .await
        .expect("exec");
    assert!(out.timed_out || !out.status.success(), "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(20));
    // Usable again.
    let mut ok = None;
    for _ in 0..50 {
        let o = sh(&sb, "echo ok").await;
        if o.status.success() {
            ok = Some(o);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ok.expect("sandbox unusable after fork bomb").stdout,
        b"ok\n"
    );
    if b.private_user() {
        let o = sh(&sb, "n=0; for p in /proc/[0-9]*; do [ -O $p ] && ! grep -q '^State:.Z' $p/status 2>/dev/null && n=$((n+1)); done; echo $n; ps -o pid,pgid,stat,args -u $(id -u) | head -5").await;
        let text = o.stdout_text();
        let n: u32 = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no process count in {o:?}"));
        assert!(
            n < 10,
            "{n} processes of the sandbox user survived the bomb: {text}"
        );
    }
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn memory_bomb_is_contained<B: Backend>(b: &B) {
    let p = project();
    let mut limits = Limits::default();
    limits.memory_bytes = 256 << 20;
    let sb = b
        .create(
            &SandboxSpec::builder(p.path())
                .limits(limits)
                .build()
                .expect("spec"),
        )
        .await;
    let out = sb
        .exec(
            &Command::argv(["python3", "-c", "x = b'x' * (2 * 1024**3); print(len(x))"])
                .timeout(Duration::from_secs(60)),
        )
        .await
        .expect("exec");
    assert!(
        !out.status.success(),
        "a 2 GiB allocation succeeded: {out:?}"
    );
    assert!(out.stdout.is_empty());
    let o = sh(&sb, "echo ok").await;
    assert_eq!(o.stdout, b"ok\n");
    sb.destroy().await.expect("destroy");
}

fn assert_escape(r: debugenv_sandbox::Result<impl std::fmt::Debug>, what: &str) {
    let e = r.expect_err(what);
    assert!(
        matches!(e.kind(), ErrorKind::PathEscape { .. }),
        "{what}: {e}"
    );
}

pub(crate) async fn path_escapes_are_refused<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    assert_escape(sb.read_file("../../etc/passwd").await, "read ..");
    assert_escape(sb.read_file("/etc/passwd").await, "read absolute");
    assert_escape(sb.write_file("app/../../x", b"x").await, "write ..");
    assert_escape(sb.write_file("/tmp/x", b"x").await, "write absolute");
    let o = sh(
        &sb,
        "ln -s /etc etc_link && ln -s /etc/hostname host_link && ln -s app/models.py inner_link",
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    assert_escape(
        sb.read_file("etc_link/passwd").await,
        "read through dir symlink",
    );
    assert_escape(sb.read_file("host_link").await, "read file symlink");
    assert_escape(
        sb.write_file("etc_link/evil", b"x").await,
        "write through dir symlink",
    );
    assert_escape(sb.write_file("host_link", b"x").await, "write file symlink");
    assert_escape(
        sb.exec(&Command::shell("pwd").cwd("etc_link")).await,
        "cwd through symlink",
    );
    // A symlink that stays inside is fine.
    assert_eq!(sb.read_file("inner_link").await.expect("inner"), b"x = 1\n");
    // New nested files are created with their parents, owned by the sandbox user.
    sb.write_file("new/dir/f.txt", "ünï".as_bytes())
        .await
        .expect("write nested");
    let o = sh(
        &sb,
        "cat new/dir/f.txt && echo more >> new/dir/f.txt && echo ok",
    )
    .await;
    assert_eq!(o.stdout_text(), "ünïok\n", "{o:?}");
    let e = sb.read_file("missing.txt").await.expect_err("missing");
    assert!(matches!(e.kind(), ErrorKind::NotFound { .. }), "{e}");
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn reset_restores_everything<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec(p.path())).await;
    sb.write_file("app/models.py", b"x = 999\n")
        .await
        .expect("write");
    sb.write_file("created.txt", b"new").await.expect("write");
    let o = sh(
        &sb,
        "rm app/sub/views.py && chmod 600 run.sh && mkdir -p junk/deep && touch junk/deep/f",
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    let changes = sb.changed_files().await.expect("changed");
    let got: Vec<(&str, ChangeKind)> = changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
    for want in [
        ("app/models.py", ChangeKind::Modified),
        ("app/sub/views.py", ChangeKind::Deleted),
        ("created.txt", ChangeKind::Added),
        ("junk", ChangeKind::Added),
        ("run.sh", ChangeKind::ModeChanged),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:?}");
    }
    let reverted = sb.reset().await.expect("reset");
    assert!(reverted.len() >= 5, "{reverted:?}");
    assert!(sb.changed_files().await.expect("changed").is_empty());
    assert_eq!(
        sb.read_file("app/models.py").await.expect("read"),
        b"x = 1\n"
    );
    assert_eq!(
        sb.read_file("app/sub/views.py").await.expect("read"),
        b"y = 2\n"
    );
    let o = sh(
        &sb,
        "stat -c %a run.sh; ls created.txt junk 2>&1 | wc -l; ./run.sh",
    )
    .await;
    assert_eq!(o.stdout_text(), "755\n2\nrun\n", "{o:?}");
    // The sandbox user can still edit restored files.
    let o = sh(&sb, "echo z >> app/sub/views.py && echo ok").await;
    assert_eq!(o.stdout, b"ok\n", "{o:?}");
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn sandboxes_are_isolated<B: Backend>(b: &B) {
    let p = project();
    let s = spec_with_services(p.path());
    let (a, c) = tokio::join!(b.create(&s), b.create(&s));
    a.write_file("secret.txt", b"a only").await.expect("write");
    let o = sh(&a, "psql -qtAc 'CREATE TABLE only_a (x int); INSERT INTO only_a VALUES (7)' && redis-cli -s $REDIS_SOCKET SET only_a 1").await;
    assert!(o.status.success(), "{o:?}");
    assert!(c.read_file("secret.txt").await.is_err());
    let o = sh(&c, "psql -qtAc \"SELECT coalesce(to_regclass('only_a')::text, 'none')\"; redis-cli -s $REDIS_SOCKET EXISTS only_a").await;
    assert_eq!(o.stdout_text(), "none\n0\n", "{o:?}");
    let o = sh(
        &a,
        "psql -qtAc 'SELECT x FROM only_a'; redis-cli -s $REDIS_SOCKET GET only_a",
    )
    .await;
    assert_eq!(o.stdout_text(), "7\n1\n", "{o:?}");
    a.destroy().await.expect("destroy");
    c.destroy().await.expect("destroy");
}

pub(crate) async fn services_answer<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec_with_services(p.path())).await;
    let o = sh(&sb, "psql -tAc 'SELECT 1' && redis-cli -s $REDIS_SOCKET PING && python3 -c 'import os; print(os.environ[\"DATABASE_URL\"].startswith(\"postgresql://\"))'").await;
    assert_eq!(o.stdout_text(), "1\nPONG\nTrue\n", "{o:?}");
    sb.destroy().await.expect("destroy");
}

pub(crate) async fn no_network_cannot_reach_listener<B: Backend>(b: &B) {
    let p = project();
    let (host, port, _guard) = b.listener().await;
    let probe = format!(
        "timeout 5 bash -c 'exec 3<>/dev/tcp/{host}/{port}' && echo reached || echo blocked"
    );
    let control = b.create_with_access(&spec(p.path())).await;
    let o = sh(&control, &probe).await;
    assert_eq!(
        o.stdout_text(),
        "reached\n",
        "positive control failed: {o:?}"
    );
    let isolated = b
        .create(
            &SandboxSpec::builder(p.path())
                .network(NetworkPolicy::Isolated)
                .build()
                .expect("spec"),
        )
        .await;
    let o = sh(&isolated, &probe).await;
    assert_eq!(o.stdout_text(), "blocked\n", "{o:?}");
    // Loopback inside the sandbox still works.
    let o = sh(&isolated, "python3 -c \"import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); c=socket.create_connection(s.getsockname()); print('lo ok')\"").await;
    assert_eq!(o.stdout_text(), "lo ok\n", "{o:?}");
    control.destroy().await.expect("destroy");
    isolated.destroy().await.expect("destroy");
}

pub(crate) async fn destroy_leaves_nothing<B: Backend>(b: &B) {
    let p = project();
    let sb = b.create(&spec_with_services(p.path())).await;
    let id = b.identity(&sb);
    assert!(
        !b.leftovers(&id).await.is_empty(),
        "identity check sees nothing of a live sandbox"
    );
    sb.destroy().await.expect("destroy");
    let left = b.leftovers(&id).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}

pub(crate) async fn crash_then_reap_leaves_nothing<B: Backend>(b: &B) {
    let p = project();
    let id = b.crash_and_reap(p.path()).await;
    let left = b.leftovers(&id).await;
    assert!(left.is_empty(), "left after crash + reap: {left:?}");
}

/// Expands to one `#[tokio::test]` per conformance case for a backend.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!(@cases $backend;
            output_and_exit_codes, output_flood_is_capped, timeout_kills_tree_ignoring_sigterm,
            background_jobs_do_not_outlive_their_command, nothing_escaped_survives_reset,
            residents_outlive_commands_until_reset,
            fork_bomb_is_contained, memory_bomb_is_contained, path_escapes_are_refused,
            reset_restores_everything, sandboxes_are_isolated, services_answer,
            no_network_cannot_reach_listener, destroy_leaves_nothing,
            crash_then_reap_leaves_nothing);
    };
    (@cases $backend:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(b) = $backend {
                    $crate::conformance::$case(&b).await;
                }
            }
        )*
    };
}
