//! Speed of the sandbox backends, as ratios against baselines measured in the
//! same run (a plain `main`, `harness = false`).
//!
//! ```text
//! cargo bench -p debugenv-sandbox --bench speed
//! DEBUGENV_DOCKER_BENCH=1 DEBUGENV_DOCKER_IMAGE=debugenv-sandbox-conformance:latest \
//!     cargo bench -p debugenv-sandbox --bench speed
//! ```
//!
//! 1. Exec overhead of `true` (local with and without a network namespace, and
//!    Docker) against `std::process::Command` running `true` with piped output.
//! 2. Reset after 3 edited files in a 300-file tree against the time of writing
//!    those 3 files (plain `std::fs::write` for local, the sandbox's own
//!    `write_file` for both); Docker resets in place, which is checked by the
//!    container's id and start time staying the same.
//! 3. Time to a ready sandbox (workspace + PostgreSQL + Redis answering).
//! 4. 8 sandboxes started concurrently: all ready, all answering, all cleaned up.
//!
//! Targets checked (the process exits 1 when one is missed): local reset
//! <= 20x the plain writes; every concurrent sandbox ready and gone after
//! `destroy`; the Docker container not recreated by reset.

use std::path::Path;
use std::time::{Duration, Instant};

use debugenv_sandbox::{
    Command, LocalOptions, LocalSandbox, NetworkPolicy, Sandbox, SandboxSpec, Service,
};

type BoxError = Box<dyn std::error::Error>;

/// Median of a set of durations.
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// A TalentFlow-sized tree: 20 packages of 15 modules (300 files).
fn project(root: &Path) -> std::io::Result<()> {
    for d in 0..20 {
        let dir = root.join(format!("app{d:02}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..15 {
            let body: String = (0..40)
                .map(|l| format!("def f_{d}_{f}_{l}(x):\n    return x + {l}\n"))
                .collect();
            std::fs::write(dir.join(format!("mod{f:02}.py")), body)?;
        }
    }
    Ok(())
}

const EDITED: [&str; 3] = ["app03/mod04.py", "app11/mod00.py", "app19/mod14.py"];

fn spawn_true_baseline(n: usize) -> Result<Duration, BoxError> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let out = std::process::Command::new("true").output()?;
        v.push(t.elapsed());
        if !out.status.success() {
            return Err("`true` failed".into());
        }
    }
    Ok(median(v))
}

async fn exec_true<S: Sandbox>(sb: &S, n: usize) -> Result<Duration, BoxError> {
    let cmd = Command::argv(["true"]);
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let out = sb.exec(&cmd).await?;
        v.push(t.elapsed());
        if !out.status.success() {
            return Err(format!("`true` failed in the sandbox: {out:?}").into());
        }
    }
    Ok(median(v))
}

/// Edit 3 files, then reset; returns (median edit via `write_file`, median reset).
async fn edit_reset<S: Sandbox>(sb: &S, rounds: usize) -> Result<(Duration, Duration), BoxError> {
    let (mut writes, mut resets) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let t = Instant::now();
        for p in EDITED {
            sb.write_file(p, format!("# edit {r}\nx = {r}\n").as_bytes())
                .await?;
        }
        writes.push(t.elapsed());
        let t = Instant::now();
        let reverted = sb.reset().await?;
        resets.push(t.elapsed());
        if reverted.len() != EDITED.len() {
            return Err(format!("reset reverted {reverted:?}, expected the 3 edits").into());
        }
    }
    if !sb.changed_files().await?.is_empty() {
        return Err("workspace not pristine after reset".into());
    }
    Ok((median(writes), median(resets)))
}

struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    fn line(&mut self, s: String) {
        println!("{s}");
        self.lines.push(s);
    }
    fn check(&mut self, ok: bool, what: String) {
        let s = format!("  target {}: {what}", if ok { "met" } else { "MISSED" });
        if !ok {
            self.failures.push(what);
        }
        self.line(s);
    }
}

/// Start time of a process (field 22 of `/proc/<pid>/stat`), to tell a
/// surviving process from a reused pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    if rest.starts_with('Z') {
        return None;
    }
    rest.split(' ').nth(19)?.parse().ok()
}

type LocalIds = (std::path::PathBuf, Option<u32>, Vec<(u32, Option<u64>)>);

fn local_ids(sb: &LocalSandbox) -> LocalIds {
    let services = sb
        .service_pids()
        .into_iter()
        .map(|p| (p, start_time(p)))
        .collect();
    (sb.dir().to_path_buf(), sb.uid(), services)
}

fn local_leftovers(ids: &[LocalIds]) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut left = Vec::new();
    for (dir, uid, services) in ids {
        for (pid, st) in services {
            if st.is_some() && start_time(*pid) == *st {
                left.push(format!("service process {pid}"));
            }
        }
        if dir.exists() {
            left.push(format!("directory {}", dir.display()));
        }
        if let Some(uid) = uid {
            for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let is_pid = e
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok());
                let zombie = std::fs::read_to_string(e.path().join("stat"))
                    .map(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
                    .unwrap_or(true);
                if is_pid && !zombie && e.metadata().is_ok_and(|m| m.uid() == *uid) {
                    left.push(format!("process {:?} of uid {uid}", e.file_name()));
                }
            }
        }
    }
    left
}

const PROBE: &str = "psql -tAc 'SELECT 1' && redis-cli -s \"$REDIS_SOCKET\" PING";

async fn local(rep: &mut Report, base: Duration, ws: &Path) -> Result<(), BoxError> {
    let opts = LocalOptions::default();
    rep.line("local backend:".into());

    // 1. Exec overhead.
    for (label, net) in [
        ("isolated network", NetworkPolicy::Isolated),
        ("host network", NetworkPolicy::Host),
    ] {
        let spec = SandboxSpec::builder(ws).network(net).build()?;
        let sb = LocalSandbox::create(&spec, &opts).await?;
        exec_true(&sb, 20).await?; // warm-up
        let t = exec_true(&sb, 300).await?;
        sb.destroy().await?;
        rep.line(format!(
            "  exec `true` ({label}): {:.0} us median = {:.2}x std::process::Command ({:.0} us)",
            us(t),
            ratio(t, base),
            us(base)
        ));
    }

    // 2. Reset after 3 edits.
    let spec = SandboxSpec::builder(ws).build()?;
    let sb = LocalSandbox::create(&spec, &opts).await?;
    let live = sb.workspace_dir().to_path_buf();
    // Baseline: the same 3 writes in a plain copy of the tree, outside any sandbox.
    let plain_dir = tempfile::tempdir()?;
    project(plain_dir.path())?;
    let mut plain = Vec::new();
    let mut resets = Vec::new();
    for r in 0..100 {
        let t = Instant::now();
        for p in EDITED {
            std::fs::write(plain_dir.path().join(p), format!("# edit {r}\nx = {r}\n"))?;
        }
        plain.push(t.elapsed());
        for p in EDITED {
            std::fs::write(live.join(p), format!("# edit {r}\nx = {r}\n"))?;
        }
        let t = Instant::now();
        let n = sb.reset().await?.len();
        resets.push(t.elapsed());
        if n != 3 {
            return Err(format!("local reset reverted {n} changes, expected 3").into());
        }
    }
    let fastest_plain = plain.iter().copied().min().unwrap_or_default();
    let (plain, reset_plain) = (median(plain), median(resets));
    let (api_write, reset_api) = edit_reset(&sb, 100).await?;
    sb.destroy().await?;
    let r = ratio(reset_plain, plain);
    rep.line(format!(
        "  reset after 3 edits in 300 files: {:.0} us median = {r:.1}x writing them with std::fs::write in a plain copy of the tree ({:.0} us)",
        us(reset_plain),
        us(plain)
    ));
    // ext4 flushes a file truncated by a rewrite on close (auto_da_alloc), so
    // the writes' median swings with the machine's load; the fastest writes
    // give the strict bound.
    rep.line(format!(
        "  same reset against the fastest of the 100 plain writes ({:.0} us): {:.1}x",
        us(fastest_plain),
        ratio(reset_plain, fastest_plain)
    ));
    rep.line(format!(
        "  reset after 3 edits via write_file: {:.0} us = {:.2}x the 3 write_file calls ({:.0} us)",
        us(reset_api),
        ratio(reset_api, api_write),
        us(api_write)
    ));
    rep.check(
        r <= 20.0,
        format!("local reset {r:.1}x <= 20x the plain writes"),
    );

    // 3. Time to ready.
    let spec = SandboxSpec::builder(ws)
        .service(Service::Postgres)
        .service(Service::Redis)
        .build()?;
    let mut ready = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let sb = LocalSandbox::create(&spec, &opts).await?;
        let o = sb.exec(&Command::shell(PROBE)).await?;
        ready.push(t.elapsed());
        if o.stdout != b"1\nPONG\n" {
            return Err(format!("services did not answer: {o:?}").into());
        }
        sb.destroy().await?;
    }
    let ready = median(ready);
    rep.line(format!(
        "  ready sandbox (300-file workspace + PostgreSQL + Redis answering): {:.0} ms median of 5 = {:.0}x spawning `true`",
        ms(ready),
        ratio(ready, base)
    ));

    // 4. 8 at once.
    let t = Instant::now();
    let sbs = futures_join_all((0..8).map(|_| LocalSandbox::create(&spec, &opts))).await;
    let started = t.elapsed();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for r in sbs {
        match r {
            Ok(sb) => created.push(sb),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let probe = Command::shell(PROBE);
    let outs = futures_join_all(created.iter().map(|sb| sb.exec(&probe))).await;
    let answering = outs
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|o| o.stdout == b"1\nPONG\n"))
        .count();
    let ids: Vec<LocalIds> = created.iter().map(local_ids).collect();
    let services: usize = ids.iter().map(|i| i.2.len()).sum();
    if services != 16 {
        return Err(format!("expected 16 service processes, found {services}").into());
    }
    let t2 = Instant::now();
    for sb in created {
        sb.destroy().await?;
    }
    let destroyed = t2.elapsed();
    let left = local_leftovers(&ids);
    rep.line(format!(
        "  8 concurrent sandboxes: all created in {:.0} ms ({:.0} ms each on average), {answering}/8 answering, destroyed in {:.0} ms, leftovers: {}",
        ms(started),
        ms(started) / 8.0,
        ms(destroyed),
        left.len()
    ));
    rep.check(
        errors.is_empty() && answering == 8 && left.is_empty(),
        format!("8 concurrent local sandboxes ready and cleaned up (errors {errors:?}, leftovers {left:?})"),
    );
    Ok(())
}

/// `join_all` without a futures dependency: runs futures concurrently on this task.
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(feature = "docker")]
async fn docker(rep: &mut Report, base: Duration, ws: &Path) -> Result<(), BoxError> {
    use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
    use debugenv_sandbox::docker::{self, DockerOptions, DockerSandbox, SANDBOX_LABEL};

    let image = std::env::var("DEBUGENV_DOCKER_IMAGE")
        .unwrap_or_else(|_| "debugenv-sandbox-conformance:latest".into());
    let opts = DockerOptions::new(image);
    let engine = docker::connect(&opts).await?;
    rep.line("docker backend:".into());

    // 1. Exec overhead.
    let spec = SandboxSpec::builder(ws).build()?;
    let sb = DockerSandbox::create(&engine, &spec, &opts).await?;
    exec_true(&sb, 3).await?;
    let t = exec_true(&sb, 40).await?;
    rep.line(format!(
        "  exec `true`: {:.1} ms median = {:.0}x std::process::Command ({:.0} us)",
        ms(t),
        ratio(t, base),
        us(base)
    ));

    // 2. Reset in place.
    let started_at = |info: bollard::models::ContainerInspectResponse| {
        (info.id, info.state.and_then(|s| s.started_at))
    };
    let before = started_at(
        engine
            .inspect_container(sb.container_id(), None::<InspectContainerOptions>)
            .await?,
    );
    let (write, reset) = edit_reset(&sb, 10).await?;
    let after = started_at(
        engine
            .inspect_container(sb.container_id(), None::<InspectContainerOptions>)
            .await?,
    );
    sb.destroy().await?;
    rep.line(format!(
        "  reset after 3 edits in 300 files: {:.0} ms median = {:.2}x the 3 write_file calls ({:.0} ms)",
        ms(reset),
        ratio(reset, write),
        ms(write)
    ));
    rep.check(
        before == after && before.1.is_some(),
        "docker reset keeps the same container (id and start time unchanged)".into(),
    );

    // 3. Time to ready.
    let spec = SandboxSpec::builder(ws)
        .service(Service::Postgres)
        .service(Service::Redis)
        .build()?;
    let mut ready = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let sb = DockerSandbox::create(&engine, &spec, &opts).await?;
        let o = sb.exec(&Command::shell(PROBE)).await?;
        ready.push(t.elapsed());
        sb.destroy().await?;
        if o.stdout != b"1\nPONG\n" {
            return Err(format!("services did not answer: {o:?}").into());
        }
    }
    let ready = median(ready);
    rep.line(format!(
        "  ready sandbox (300-file workspace + PostgreSQL + Redis answering): {:.0} ms median of 3 = {:.0}x spawning `true`",
        ms(ready),
        ratio(ready, base)
    ));

    // 4. 8 at once.
    let t = Instant::now();
    let sbs = futures_join_all((0..8).map(|_| DockerSandbox::create(&engine, &spec, &opts))).await;
    let started = t.elapsed();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for r in sbs {
        match r {
            Ok(sb) => created.push(sb),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let probe = Command::shell(PROBE);
    let outs = futures_join_all(created.iter().map(|sb| sb.exec(&probe))).await;
    let answering = outs
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|o| o.stdout == b"1\nPONG\n"))
        .count();
    let names: Vec<String> = created.iter().map(|sb| sb.name().to_owned()).collect();
    let t2 = Instant::now();
    for sb in created {
        sb.destroy().await?;
    }
    let destroyed = t2.elapsed();
    let mut left = 0;
    for n in &names {
        let filters = std::collections::HashMap::from([(
            "label".to_owned(),
            vec![format!("{SANDBOX_LABEL}={n}")],
        )]);
        left += engine
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await?
            .len();
    }
    rep.line(format!(
        "  8 concurrent sandboxes: all created in {:.0} ms, {answering}/8 answering, destroyed in {:.0} ms, containers left: {left}",
        ms(started),
        ms(destroyed)
    ));
    rep.check(
        errors.is_empty() && answering == 8 && left == 0,
        format!("8 concurrent docker sandboxes ready and cleaned up (errors {errors:?})"),
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("speed: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut rep = Report {
        lines: Vec::new(),
        failures: Vec::new(),
    };
    let result: Result<(), BoxError> = rt.block_on(async {
        let ws = tempfile::tempdir()?;
        project(ws.path())?;
        spawn_true_baseline(20)?;
        let base = spawn_true_baseline(300)?;
        rep.line(format!(
            "baseline: std::process::Command `true` with piped output: {:.0} us median of 300",
            us(base)
        ));
        local(&mut rep, base, ws.path()).await?;
        if std::env::var("DEBUGENV_DOCKER_BENCH").as_deref() == Ok("1") {
            #[cfg(feature = "docker")]
            docker(&mut rep, base, ws.path()).await?;
            #[cfg(not(feature = "docker"))]
            return Err("DEBUGENV_DOCKER_BENCH=1 needs the `docker` feature".into());
        } else {
            rep.line("docker backend: not measured (set DEBUGENV_DOCKER_BENCH=1)".into());
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("speed: {e}");
        return std::process::ExitCode::FAILURE;
    }
    if rep.failures.is_empty() {
        println!("speed: all targets met");
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("speed: {} target(s) missed", rep.failures.len());
        std::process::ExitCode::FAILURE
    }
}
