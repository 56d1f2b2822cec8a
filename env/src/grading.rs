//! One honest grading run: restore protected paths, plant canaries, run
//! pytest with the harness's own options, read the JUnit report, map it onto
//! the universe.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use debugenv_junit::pytest::{self, NodeId, Resolver};
use debugenv_junit::{Mode, Outcome, Parser};
use debugenv_sandbox::{ChangeKind, Command, Resident, Sandbox};
use rand::Rng;

use crate::error::{Error, ErrorKind, Result};
use crate::observation::NoVerdictReason;
use crate::package::Package;

/// The outcome of one grading run.
#[derive(Debug, Clone)]
pub(crate) enum RunResult {
    /// The tests ran; one entry per universe test.
    Verdict(Outcomes),
    /// No verdict.
    NoVerdict(NoVerdictReason, String),
}

/// Per-universe-test results of one run.
#[derive(Debug, Clone)]
pub(crate) struct Outcomes {
    pub(crate) passed: Vec<bool>,
    /// Short message of every test that did not pass (same indexing; empty when passed).
    pub(crate) messages: Vec<String>,
    /// Node ids that ran but are not in the universe (canaries excluded).
    pub(crate) extra: Vec<String>,
    /// A module failed to import (its tests did not run).
    pub(crate) collection_errors: bool,
    /// Some process of the run reused what an earlier one kept (`reuse_args`).
    pub(crate) reused: bool,
    pub(crate) tests_time: Duration,
    pub(crate) parse_time: Duration,
}

/// Quotes one word for `sh`.
pub(crate) fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn random_name(rng: &mut impl Rng, prefix: &str) -> String {
    let n: u64 = rng.random();
    format!("{prefix}{n:016x}")
}

/// The harness's pytest command line (without the test selection).
pub(crate) fn pytest_line(package: &Package, junit: Option<&str>) -> String {
    pytest_line_via(package, junit, None)
}

/// [`pytest_line`], run through the resident server `preload` when given:
/// its client (the same interpreter) hands the run to a child of the server,
/// or runs it cold when the server is gone. The shell variable
/// `debugenv_preload` must hold [`PRELOAD_SCRIPT`].
fn pytest_line_via(package: &Package, junit: Option<&str>, preload: Option<&Preload>) -> String {
    let t = &package.spec().tests;
    // `python -s -m pytest` (-s: no user site-packages), or the client, which
    // execs exactly that when it cannot use the server.
    let head = match preload {
        None => format!("{} -s -m pytest", quote(&t.python)),
        Some(p) => format!(
            "{} -s -P -c \"$debugenv_preload\" client \"${{TMPDIR:-/tmp}}/{}\" {} {} --",
            quote(&t.python),
            p.socket,
            p.resident.pid,
            p.resident.start_time
        ),
    };
    let mut words: Vec<String> = vec![
        "-c".into(),
        t.config.clone(),
        "--rootdir=.".into(),
        "-o".into(),
        "addopts=".into(),
        "-p".into(),
        "no:cacheprovider".into(),
        "--continue-on-collection-errors".into(),
        "-q".into(),
        "--no-header".into(),
        "-rN".into(),
        "--tb=line".into(),
    ];
    if let Some(j) = junit {
        words.extend([
            "-o".into(),
            "junit_family=xunit1".into(),
            "-o".into(),
            "junit_logging=no".into(),
        ]);
        words.push(format!("--junitxml={j}"));
    }
    for p in &t.plugins {
        words.extend(["-p".into(), p.clone()]);
    }
    words.extend(t.args.iter().cloned());
    let mut line = head;
    for w in &words {
        line.push(' ');
        line.push_str(&quote(w));
    }
    if let Some(j) = junit {
        // The report goes to the sandbox's private temp dir, under a name
        // drawn per run; quote() leaves `$` alone only inside double quotes.
        line = line.replace(
            &quote(&format!("--junitxml={j}")),
            &format!("\"--junitxml=${{TMPDIR:-/tmp}}/{j}\""),
        );
    }
    line
}

/// The fork server's script (server and client): `env/src/preload.py`.
pub(crate) const PRELOAD_SCRIPT: &str = include_str!("preload.py");

/// An episode's resident pytest server (`tests.preload`).
#[derive(Debug, Clone)]
pub(crate) struct Preload {
    pub(crate) resident: Resident,
    /// Its socket's file name in the sandbox's temp dir.
    pub(crate) socket: String,
}

/// Starts the package's resident pytest server: first a sweep (no process
/// of the agent is alive while it starts), then the server, which binds its
/// socket at once and imports `tests.preload` before it accepts (a client
/// waits meanwhile, as long as a cold start would take).
pub(crate) async fn start_preload<S: Sandbox>(
    package: &Package,
    sandbox: &S,
) -> std::result::Result<Preload, debugenv_sandbox::Error> {
    let t = &package.spec().tests;
    sandbox
        .exec(&Command::shell(sweep_line(None)).timeout(Duration::from_secs(60)))
        .await?;
    // Not from the episode's generator: whether a server has to be started
    // must not change the canaries' names of a replay.
    let socket = format!(
        "{}.sock",
        random_name(&mut rand::rng(), "debugenv-preload-")
    );
    let plugins = if t.plugins.is_empty() {
        "-".to_owned()
    } else {
        t.plugins.join(",")
    };
    let mut line = format!(
        "exec {} -s -P -c {} server \"${{TMPDIR:-/tmp}}/{socket}\" {}",
        quote(&t.python),
        quote(PRELOAD_SCRIPT),
        quote(&plugins)
    );
    for m in &t.preload {
        line.push(' ');
        line.push_str(&quote(m));
    }
    let resident = sandbox
        .spawn_resident(&python_env(Command::shell(line)))
        .await?;
    Ok(Preload { resident, socket })
}

/// The interpreter's variables of every harness Python, the resident server
/// included (a forked run must hash as a cold one does).
fn python_env(cmd: Command) -> Command {
    cmd.env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
}

/// Environment every harness pytest run gets.
pub(crate) fn pytest_command(package: &Package, line: String, timeout: Duration) -> Command {
    let mut cmd = python_env(Command::shell(line))
        .timeout(timeout)
        .output_limit(256 << 10)
        .env("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        .env("PYTEST_ADDOPTS", "");
    for (k, v) in &package.spec().tests.env {
        cmd = cmd.env(k.clone(), v.clone());
    }
    cmd
}

fn sandbox_err(context: &str, e: debugenv_sandbox::Error) -> Error {
    Error::new(context, ErrorKind::Sandbox(e))
}

/// Prepares the workspace for a grading: kills the agent's leftover
/// processes, then brings every protected path back to the shipped state
/// (files the agent changed or deleted are rewritten with their mode, files
/// it added are removed). Returns how many paths were restored.
pub(crate) async fn restore_protected<S: Sandbox>(
    package: &Package,
    sandbox: &S,
    changes: &[debugenv_sandbox::Change],
    preload: Option<&Preload>,
) -> Result<usize> {
    let protected: Vec<_> = changes
        .iter()
        .filter(|c| package.is_protected(&c.path))
        .collect();
    // First, no process of the agent may live into the grading (a daemon
    // left by a `Run` could rewrite the report or the tests while pytest
    // runs): SIGKILL every process of the sandbox's user, where that user is
    // not the harness's own nor root. Then remove every changed protected
    // path: added files, and whatever the agent put where a shipped file was.
    if protected.is_empty() {
        // The run itself starts with the sweep (see `run`).
        return Ok(0);
    }
    let paths: Vec<String> = protected.iter().map(|c| quote(&c.path)).collect();
    let line = format!(
        "{} && rm -rf -- {}",
        sweep_line(preload.map(|p| &p.resident)),
        paths.join(" ")
    );
    let out = sandbox
        .exec(&Command::shell(line).timeout(Duration::from_secs(60)))
        .await
        .map_err(|e| sandbox_err("preparing the workspace for grading", e))?;
    if !out.status.success() {
        return Err(Error::new(
            "restoring protected paths",
            ErrorKind::State(format!("rm failed: {}", out.stderr_text().trim())),
        ));
    }
    let project = package.project_dir();
    let mut chmods = Vec::new();
    for c in protected.iter().filter(|c| c.kind != ChangeKind::Added) {
        let host = project.join(&c.path);
        let mut files = Vec::new();
        shipped_files(&host, &c.path, &mut files)
            .map_err(|e| Error::io("restoring a protected path", &host, e))?;
        for (path, bytes, mode) in files {
            sandbox
                .write_file(&path, &bytes)
                .await
                .map_err(|e| sandbox_err("restoring a protected file", e))?;
            chmods.push(format!("chmod {mode:o} -- {}", quote(&path)));
        }
    }
    if !chmods.is_empty() {
        sandbox
            .exec(&Command::shell(chmods.join(" && ")).timeout(Duration::from_secs(60)))
            .await
            .map_err(|e| sandbox_err("restoring modes of protected files", e))?;
    }
    Ok(protected.len())
}

/// Shell lines of [`reset_state`] after the process sweep. PostgreSQL:
/// template1 is re-made from template0 (the agent may have changed it), then
/// every other database is dropped and `postgres` (and `$PGDATABASE`)
/// re-created empty.
const RESET_STATE: &str = r#"
if [ -n "$HOME" ] && [ "$HOME" != / ]; then
  rm -rf "$HOME/.local" "$HOME/.cache" "$HOME/.config" "$HOME/.pip" "$HOME/.pydistutils.cfg"
fi
if [ -n "$TMPDIR" ] && [ -d "$TMPDIR" ]; then find "$TMPDIR" -mindepth 1 -delete 2>/dev/null; fi
set -e
if [ -n "$REDIS_SOCKET" ]; then redis-cli -s "$REDIS_SOCKET" FLUSHALL > /dev/null; fi
if [ -n "$PGHOST" ]; then
  if ! psql -X -At -d postgres -c 'select 1' > /dev/null 2>&1; then
    createdb --maintenance-db=template1 -T template0 postgres
  fi
  psql -X -q -d postgres -c 'ALTER DATABASE template1 IS_TEMPLATE false' 2> /dev/null || true
  dropdb --if-exists --force --maintenance-db=postgres template1
  createdb --maintenance-db=postgres -T template0 template1
  psql -X -q -d postgres -c 'ALTER DATABASE template1 IS_TEMPLATE true'
  for db in $(psql -X -At -d template1 -c 'select datname from pg_database where not datistemplate'); do
    dropdb --force --maintenance-db=template1 "$db"
  done
  createdb --maintenance-db=template1 -T template0 postgres
  if [ -n "$PGDATABASE" ] && [ "$PGDATABASE" != postgres ]; then
    createdb --maintenance-db=template1 -T template0 "$PGDATABASE"
  fi
fi
"#;

/// The shell line that SIGKILLs every process of the sandbox's user, where
/// that user is neither the harness's own nor root (then it could only be
/// the harness itself).
fn sweep_line(spare: Option<&Resident>) -> String {
    let harness_uid = harness_uid();
    if harness_uid == u32::MAX {
        return String::from("true");
    }
    // The shell's own ancestors may run as the same user (a backend's exec
    // wrapper, `timeout`): they are spared, everything else of the user dies.
    // So is the harness's resident server, when it is still the process that
    // was started (same pid and start time), not one that reused its pid;
    // it is continued, should the agent have stopped it.
    let spare = spare.map_or(String::new(), |r| {
        format!(
            "st=$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null | cut -d' ' -f20); \
             [ \"$st\" = {start} ] && keep=\"${{keep}}{pid} \" && kill -CONT {pid} 2>/dev/null; ",
            pid = r.pid,
            start = r.start_time
        )
    });
    format!(
        "me=$(id -u); if [ \"$me\" != {harness_uid} ] && [ \"$me\" != 0 ]; then {}; fi; true",
        SWEEP.replacen("{spare}", &spare, 1)
    )
}

/// Kills every process of user `$me` (this shell's, which `-O` tests without
/// a fork per process) that is not this shell or one of its ancestors (read
/// from /proc; a fork bomb's children are killed one by one).
const SWEEP: &str = "keep=\" $$ \"; {spare}p=$$; \
while [ \"${p:-1}\" -gt 1 ]; do p=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2); keep=\"$keep$p \"; done; \
for d in /proc/[0-9]*; do pid=${d#/proc/}; case \"$keep\" in *\" $pid \"*) continue;; esac; \
[ -O \"$d\" ] && kill -KILL \"$pid\" 2>/dev/null; done";

/// Brings back everything an episode can change outside the workspace
/// (the sandbox's own `reset` restores the workspace): the agent's processes,
/// packages it installed for its user (`~/.local`, pip and cache dirs), its
/// private temp dir, every Redis key, and every PostgreSQL database (dropped
/// and the default one re-created empty).
pub(crate) async fn reset_state<S: Sandbox>(sandbox: &S) -> Result<()> {
    let line = format!("{}; {RESET_STATE}", sweep_line(None));
    let out = sandbox
        .exec(&Command::shell(line).timeout(Duration::from_secs(120)))
        .await
        .map_err(|e| sandbox_err("resetting the sandbox's state", e))?;
    if !out.status.success() {
        return Err(Error::new(
            "resetting the sandbox's state",
            ErrorKind::State(format!(
                "services reset failed: {}",
                out.stderr_text().trim()
            )),
        ));
    }
    Ok(())
}

/// The uid this process runs as (the owner of `/proc/self`); `u32::MAX`
/// when unknown (then no sweep is done).
fn harness_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// Every shipped file at `host` (a file, or a directory walked recursively)
/// as (workspace path, content, permission bits).
fn shipped_files(
    host: &Path,
    rel: &str,
    out: &mut Vec<(String, Vec<u8>, u32)>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let meta = std::fs::symlink_metadata(host)?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(host)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            shipped_files(&e.path(), &format!("{rel}/{name}"), out)?;
        }
    } else if meta.is_file() {
        out.push((
            rel.to_owned(),
            std::fs::read(host)?,
            meta.permissions().mode() & 0o777,
        ));
    }
    Ok(())
}

/// Which of the package's state-keeping arguments a grading run gets
/// (`tests.reuse_args` / `tests.fresh_args`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Rebuild what earlier runs kept (every full grading, and after anything
    /// but edits).
    Fresh,
    /// Reuse what the previous grading kept (targeted, after edits only).
    Reuse,
}

/// How a grading is split over concurrent pytest processes
/// (`tests.shards`): groups of universe-test indices (each sorted). A full
/// run is split into whole modules per group, balanced by weight (the tests'
/// durations from the affected-tests map when it has them, else their
/// count: heaviest module first, ties by name, onto the lightest group so
/// far, ties to the lower index); a targeted selection into
/// contiguous runs of equal size (universe order keeps a module's tests
/// together, so at most `count - 1` modules straddle two groups: small
/// selections often come from one or two modules). One group when sharding
/// is off, there are fewer than `min_tests` tests, or a full run has a single
/// module. `count` processes for a full run, `targeted_count` for a
/// selection. Deterministic: the same selection always gives the same groups.
pub(crate) fn shard_plan(package: &Package, selection: Option<&[usize]>) -> Vec<Vec<usize>> {
    let universe = package.universe();
    let tests: Vec<usize> = match selection {
        Some(s) => s.to_vec(),
        None => (0..universe.len()).collect(),
    };
    let cfg = &package.spec().tests.shards;
    let count = if selection.is_some() {
        cfg.targeted_count
    } else {
        cfg.count
    } as usize;
    if count <= 1 || tests.len() < cfg.min_tests {
        return vec![tests];
    }
    if selection.is_some() {
        let mut tests = tests;
        tests.sort_unstable();
        tests.dedup();
        let n = count.min(tests.len());
        let len = tests.len();
        return (0..n)
            .map(|k| tests[k * len / n..(k + 1) * len / n].to_vec())
            .collect();
    }
    let mut modules: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &tests {
        let id = universe.tests()[i].id.as_str();
        modules
            .entry(id.split("::").next().unwrap_or(id))
            .or_default()
            .push(i);
    }
    if modules.len() < 2 {
        return vec![tests];
    }
    // A test weighs its duration when the package knows it (plus 1 ms, so
    // that none weighs nothing), 1 otherwise.
    let weight = |t: &[usize]| -> u64 {
        t.iter()
            .map(|&i| package.test_duration_ms(i).map_or(1, |ms| ms + 1))
            .sum()
    };
    let mut order: Vec<(&str, u64, Vec<usize>)> = modules
        .into_iter()
        .map(|(m, t)| (m, weight(&t), t))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let n = count.min(order.len());
    let mut groups = vec![Vec::new(); n];
    let mut load = vec![0u64; n];
    for (_, w, t) in order {
        let k = (0..n).min_by_key(|&k| (load[k], k)).unwrap_or(0);
        load[k] += w;
        groups[k].extend(t);
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups
}

/// What one pytest process of a grading left: its exit, the tail of its
/// output, its report.
struct ShardRun {
    /// The exit code, or why there is none (a signal, no status at all).
    code: std::result::Result<i32, String>,
    /// The last lines of its output (for messages).
    tail: String,
    /// The JUnit report (`None`: none was written, or it is empty).
    report: Option<Vec<u8>>,
    /// The report was cut at the read limit.
    truncated: bool,
}

/// Exit status of a shard whose private service did not start (infrastructure).
const SHARD_SERVICE_FAILED: i32 = 97;

/// The shell line that starts a private Redis for a shard, on a unix socket
/// in the sandbox's temp dir, and points the shard at it; a server that does
/// not answer within 5 s makes the shard end with [`SHARD_SERVICE_FAILED`].
fn private_redis_line(dir: &str, out: &str, rc: &str) -> String {
    format!(
        "rd={dir}; mkdir -p \"$rd\" || exit 0; \
         if ! command -v redis-server >/dev/null 2>&1; then \
         echo 'debugenv: redis-server not found (tests.shards.private_redis)' > {out}; \
         echo {SHARD_SERVICE_FAILED} > {rc}; exit 0; fi; \
         redis-server --port 0 --unixsocket \"$rd/redis.sock\" --unixsocketperm 700 \
         --save '' --appendonly no --dir \"$rd\" --daemonize no > \"$rd/log\" 2>&1 & rp=$!; \
         n=0; while [ ! -S \"$rd/redis.sock\" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done; \
         if [ ! -S \"$rd/redis.sock\" ]; then \
         {{ echo 'debugenv: the private Redis of a shard did not start'; tail -n 5 \"$rd/log\"; }} > {out}; \
         echo {SHARD_SERVICE_FAILED} > {rc}; kill -KILL $rp 2>/dev/null; exit 0; fi; \
         export REDIS_SOCKET=\"$rd/redis.sock\" REDIS_URL=\"unix://$rd/redis.sock\"; "
    )
}

/// Runs the whole universe (or `selection`: node ids whose outcomes are
/// wanted; the others are reported as not run) with canaries, as one pytest
/// process or as concurrent shards (`tests.shards`), each with the canaries.
pub(crate) async fn run<S: Sandbox>(
    package: &Package,
    sandbox: &S,
    rng: &mut impl Rng,
    selection: Option<&[usize]>,
    state: State,
    kept: &mut u64,
    preload: &mut Option<Preload>,
) -> Result<RunResult> {
    let spec = package.spec();
    let universe = package.universe();

    // Canaries: a module the harness writes at a random name into the first
    // category's directory, with one test that must fail and one that must pass.
    let canary_dir = &spec.tests.categories[0].path;
    let module = random_name(rng, "test_");
    let must_fail = random_name(rng, "test_");
    let must_pass = random_name(rng, "test_");
    let canary_path = format!("{canary_dir}/{module}.py");
    // Marked with the category's name, as projects that check their tests'
    // markers expect (the harness does not pass `--strict-markers`).
    let canary_src = format!(
        "import pytest\n\npytestmark = [getattr(pytest.mark, {category:?})]\n\n\n\
         def {must_fail}():\n    assert 1 + 1 == 3\n\n\ndef {must_pass}():\n    assert 1 + 1 == 2\n",
        category = spec.tests.categories[0].name
    );
    sandbox
        .write_file(&canary_path, canary_src.as_bytes())
        .await
        .map_err(|e| sandbox_err("writing the canary tests", e))?;
    let fail_id = format!("{canary_path}::{must_fail}");
    let pass_id = format!("{canary_path}::{must_pass}");

    let base = random_name(rng, "debugenv-");
    let groups = shard_plan(package, selection);
    let sharded = groups.len() > 1;
    // Shard slot k reuses what its last run kept only when the caller allows
    // it and nothing could have changed it since (bit k of `kept`).
    let reuses = |k: usize| state == State::Reuse && k < 64 && *kept & (1 << k) != 0;
    // One pytest command line per group: the harness's options, the state
    // arguments, what to run, the canaries.
    let lines: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(k, group)| {
            let mut line =
                pytest_line_via(package, Some(&format!("{base}-{k}.xml")), preload.as_ref());
            let state_args = if reuses(k) {
                &spec.tests.reuse_args
            } else {
                &spec.tests.fresh_args
            };
            for a in state_args {
                line.push(' ');
                line.push_str(&quote(a));
            }
            if selection.is_none() && !sharded {
                for c in &spec.tests.categories {
                    line.push(' ');
                    line.push_str(&quote(&c.path));
                }
            } else if selection.is_none() {
                // Whole modules (a sharded full run).
                let modules: BTreeSet<&str> = group
                    .iter()
                    .map(|&i| {
                        let id = universe.tests()[i].id.as_str();
                        id.split("::").next().unwrap_or(id)
                    })
                    .collect();
                for m in modules {
                    line.push(' ');
                    line.push_str(&quote(m));
                }
            } else {
                for &i in group {
                    line.push(' ');
                    line.push_str(&quote(universe.tests()[i].id.as_str()));
                }
            }
            line.push(' ');
            line.push_str(&quote(&canary_path));
            line
        })
        .collect();
    let tmp = "\"${TMPDIR:-/tmp}\"";
    let file = |k: usize, ext: &str| format!("{tmp}/{base}-{k}.{ext}");
    // A single run is shard slot 0: it shares that slot's kept state.
    let shard_env = |k: usize| {
        let mut s = String::new();
        if preload.is_some() {
            // Where the client notes that it could not use the server.
            s.push_str(&format!(
                "export DEBUGENV_PRELOAD_NOTE={}; ",
                file(k, "note")
            ));
        }
        for (name, value) in &spec.tests.shards.env {
            s.push_str(&format!(
                "export {name}={}; ",
                quote(&value.replace("{shard}", &k.to_string()))
            ));
        }
        s
    };
    // The sweep first, in the same shell that then runs pytest: no process
    // of the agent is alive while the tests run (but the harness's server).
    let sweep = match preload.as_ref() {
        Some(p) => format!(
            "{}; debugenv_preload={}",
            sweep_line(Some(&p.resident)),
            quote(PRELOAD_SCRIPT)
        ),
        None => sweep_line(None),
    };
    // Every group in its own subshell (concurrent when sharded), its output
    // and exit status to files; then a second sweep (a process the tests
    // left cannot touch a file once it is read) and every group's files
    // framed (`MARKER k NAME LENGTH` + LENGTH bytes) into one file, printed
    // with a last line `MARKER end SIZE`. The frames are read by length from
    // SIZE bytes before that line: what a test's process wrote to the output
    // before the sweep lies before them and cannot pass for a frame.
    let marker = random_name(rng, "debugenv-run-");
    let mut line = format!("{sweep}; t0=$(date +%s%N); ");
    for (k, l) in lines.iter().enumerate() {
        let (out, err, rc) = (file(k, "out"), file(k, "err"), file(k, "rc"));
        line.push_str("( ");
        line.push_str(&shard_env(k));
        let redis = sharded && k > 0 && spec.tests.shards.private_redis;
        if redis {
            line.push_str(&private_redis_line(&file(k, "redis"), &out, &rc));
        }
        // A single run keeps stderr apart (its messages come from there).
        let streams = if sharded {
            format!("> {out} 2>&1")
        } else {
            format!("> {out} 2> {err}")
        };
        line.push_str(&format!("{l} {streams}; echo $? > {rc}; "));
        if redis {
            // SIGKILL: nothing of it is kept, and a SIGTERM waits for
            // Redis's next timer tick (up to 100 ms at its default hz).
            line.push_str("kill -KILL $rp 2>/dev/null; wait $rp 2>/dev/null; rm -rf \"$rd\"; ");
        }
        line.push_str(if sharded { ") & " } else { "); " });
    }
    let framed = file(0, "frames");
    line.push_str(&format!(
        "wait; t1=$(date +%s%N); {}; \
         frame() {{ if [ -f \"$3\" ]; then echo \"{marker} $1 $2 $(wc -c < \"$3\")\"; \
         cat \"$3\"; else echo \"{marker} $1 $2 -1\"; fi; }}; \
         {{ echo \"{marker} - time $t0 $t1\"; ",
        sweep_line(preload.as_ref().map(|p| &p.resident))
    ));
    for k in 0..groups.len() {
        for (name, ext) in [
            ("rc", "rc"),
            ("note", "note"),
            ("err", "err"),
            ("report", "xml"),
        ] {
            line.push_str(&format!("frame {k} {name} {}; ", file(k, ext)));
        }
        // Only the end of the output (messages come from its last lines).
        line.push_str(&format!(
            "tail -c 16384 {out} > {tail} 2>/dev/null; frame {k} out {tail}; ",
            out = file(k, "out"),
            tail = file(k, "tail")
        ));
    }
    line.push_str(&format!(
        "}} > {framed}; cat {framed}; echo; echo \"{marker} end $(wc -c < {framed})\"; "
    ));
    let cleanup = format!("rm -rf {tmp}/{base}-* {}", quote(&canary_path));
    line.push_str(&cleanup);
    let started = Instant::now();
    let out = sandbox
        .exec(&pytest_command(package, line, spec.tests.timeout).output_limit(256 << 20))
        .await;
    let mut tests_time = started.elapsed();
    let out = match out {
        Ok(o) if !o.timed_out => o,
        other => {
            // The run's files and the canaries go whatever happened.
            let _ = sandbox
                .exec(&Command::shell(cleanup).timeout(Duration::from_secs(60)))
                .await;
            let out = other.map_err(|e| sandbox_err("running the tests", e))?;
            debug_assert!(out.timed_out);
            return Ok(RunResult::NoVerdict(
                NoVerdictReason::Timeout,
                format!("the test run exceeded {} s", spec.tests.timeout.as_secs()),
            ));
        }
    };
    let frames = read_frames(&out.stdout, &marker);
    if let Some(t) = frames.time {
        // The pytest processes alone; the sweeps and the reading are the
        // harness's.
        tests_time = t.min(tests_time);
    }
    let mut runs = Vec::with_capacity(groups.len());
    for k in 0..groups.len() {
        let file = |name: &str| frames.files.get(&(k, name.to_owned()));
        let text = |name: &str| {
            file(name).map_or(String::new(), |f| {
                String::from_utf8_lossy(&f.bytes).into_owned()
            })
        };
        let note = text("note");
        if preload.is_some() && !note.trim().is_empty() {
            // The server is gone or was not the harness's: the next grading
            // starts a new one (this one ran cold, or lost its process).
            tracing::info!(note = %note.trim(), "the resident pytest server was not used");
            *preload = None;
        }
        let code = match file("rc") {
            None => Err(format!(
                "ended without an exit status (the run's output: {})",
                tail(&out.stderr_text(), &out.stdout_text())
            )),
            Some(f) => match String::from_utf8_lossy(&f.bytes).trim().parse::<i32>() {
                Ok(c) if c > 128 => Err(format!("killed by signal {}", c - 128)),
                Ok(c) => Ok(c),
                Err(_) => Err("ended without an exit status".to_owned()),
            },
        };
        let report = file("report");
        runs.push(ShardRun {
            code,
            tail: tail(&text("err"), &text("out")),
            report: report
                .filter(|f| !f.bytes.is_empty())
                .map(|f| f.bytes.clone()),
            truncated: report.is_some_and(|f| f.cut) || (report.is_none() && out.truncated),
        });
    }
    let mut merged: Option<Outcomes> = None;
    let mut no_verdict: Option<(NoVerdictReason, String)> = None;
    for (k, (r, group)) in runs.into_iter().zip(&groups).enumerate() {
        let wanted: Option<BTreeSet<usize>> =
            (selection.is_some() || sharded).then(|| group.iter().copied().collect());
        let label = if sharded {
            format!("shard {} of {}: ", k + 1, groups.len())
        } else {
            String::new()
        };
        match evaluate(package, r, wanted.as_ref(), &fail_id, &pass_id, &label) {
            RunResult::NoVerdict(reason, detail) => {
                let rank = |r: NoVerdictReason| match r {
                    NoVerdictReason::Tampered => 3,
                    NoVerdictReason::Crash => 2,
                    NoVerdictReason::SandboxFailure => 1,
                    NoVerdictReason::Timeout => 0,
                };
                if no_verdict
                    .as_ref()
                    .is_none_or(|(r, _)| rank(reason) > rank(*r))
                {
                    no_verdict = Some((reason, detail));
                }
            }
            RunResult::Verdict(o) => match &mut merged {
                None => merged = Some(o),
                Some(m) => {
                    for &i in group {
                        m.passed[i] = o.passed[i];
                        m.messages[i].clone_from(&o.messages[i]);
                    }
                    m.extra.extend(o.extra);
                    m.collection_errors |= o.collection_errors;
                    m.parse_time += o.parse_time;
                }
            },
        }
    }
    if let Some((reason, detail)) = no_verdict {
        return Ok(RunResult::NoVerdict(reason, detail));
    }
    let mut merged = merged.expect("at least one group");
    merged.tests_time = tests_time;
    merged.reused = (0..groups.len()).any(reuses);
    // The slots that ran keep what they built for the next grading.
    for k in 0..groups.len().min(64) {
        *kept |= 1 << k;
    }
    Ok(RunResult::Verdict(merged))
}

/// One file of a run's framed output.
#[derive(Debug)]
struct Frame {
    bytes: Vec<u8>,
    /// The output ended before the file did (the read limit).
    cut: bool,
}

/// A run's framed output: `(group, name)` -> file (absent: no such file),
/// and the pytest phase's duration as the shell measured it.
#[derive(Debug, Default)]
struct Frames {
    files: HashMap<(usize, String), Frame>,
    time: Option<Duration>,
}

/// Reads a run's frames: the output ends with `MARKER end SIZE`, and the
/// SIZE bytes before that line (and its newline) are frames `MARKER k NAME
/// LENGTH\n` + LENGTH bytes (LENGTH -1: no such file) and `MARKER - time T0
/// T1` (nanoseconds). Anything before them is ignored. Without that last
/// line (a run cut short), there are none.
fn read_frames(out: &[u8], marker: &str) -> Frames {
    let mut frames = Frames::default();
    let text_end = out.strip_suffix(b"\n").unwrap_or(out);
    let line_start = text_end
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let last = String::from_utf8_lossy(&text_end[line_start..]).into_owned();
    let Some(size) = last
        .strip_prefix(&format!("{marker} end "))
        .and_then(|n| n.trim().parse::<usize>().ok())
    else {
        return frames;
    };
    // SIZE bytes, then the newline `echo` added, then the last line.
    let Some(start) = line_start.checked_sub(1 + size) else {
        return frames;
    };
    let section = &out[start..line_start - 1];
    let head = format!("{marker} ");
    let mut at = 0;
    while at < section.len() {
        if !section[at..].starts_with(head.as_bytes()) {
            break;
        }
        let Some(nl) = section[at..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&section[at + head.len()..at + nl]).into_owned();
        at += nl + 1;
        let words: Vec<&str> = header.split(' ').collect();
        match words.as_slice() {
            ["-", "time", t0, t1] => {
                if let (Ok(a), Ok(b)) = (t0.parse::<u64>(), t1.parse::<u64>()) {
                    frames.time = Some(Duration::from_nanos(b.saturating_sub(a)));
                }
            }
            [k, name, len] => {
                let (Ok(k), Ok(len)) = (k.parse::<usize>(), len.parse::<i64>()) else {
                    break;
                };
                if len < 0 {
                    continue;
                }
                let end = at.saturating_add(len as usize);
                let cut = end > section.len();
                let end = end.min(section.len());
                frames.files.insert(
                    (k, (*name).to_owned()),
                    Frame {
                        bytes: section[at..end].to_vec(),
                        cut,
                    },
                );
                at = end;
            }
            _ => break,
        }
    }
    frames
}

/// The outcomes of one pytest process: its report mapped onto the universe
/// (`wanted`: the tests it was asked to run, `None` for all), its canaries
/// checked. `label` prefixes messages (which shard).
fn evaluate(
    package: &Package,
    run: ShardRun,
    wanted: Option<&BTreeSet<usize>>,
    fail_id: &str,
    pass_id: &str,
    label: &str,
) -> RunResult {
    let universe = package.universe();
    let stderr_tail = run.tail;
    let code = match run.code {
        Ok(SHARD_SERVICE_FAILED) => {
            return RunResult::NoVerdict(
                NoVerdictReason::SandboxFailure,
                format!("{label}{stderr_tail}"),
            );
        }
        Ok(c) => c,
        Err(why) => {
            return RunResult::NoVerdict(
                NoVerdictReason::Crash,
                format!("{label}pytest {why}: {stderr_tail}"),
            );
        }
    };

    let parse_started = Instant::now();
    let Some(report_bytes) = run.report else {
        // pytest ended without writing a report. A usage error, an import
        // error in a conftest, "no tests collected": the project is broken,
        // which is the agent's state, scored as nothing passing. An internal
        // error is a crash.
        if code == 3 || !(1..=5).contains(&code) {
            return RunResult::NoVerdict(
                NoVerdictReason::Crash,
                format!("{label}pytest exited with {code} and wrote no report: {stderr_tail}"),
            );
        }
        let message = format!("did not run: pytest exited with {code}: {stderr_tail}");
        return RunResult::Verdict(Outcomes {
            passed: vec![false; universe.len()],
            messages: vec![message; universe.len()],
            extra: Vec::new(),
            collection_errors: true,
            reused: false,
            tests_time: Duration::ZERO,
            parse_time: parse_started.elapsed(),
        });
    };
    if run.truncated {
        return RunResult::NoVerdict(
            NoVerdictReason::Crash,
            format!("{label}the JUnit report is larger than 256 MiB"),
        );
    }

    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .build()
        .expect("the default limits are valid");
    let partial = parser.parse_partial(&report_bytes[..]);
    let report = partial.report;
    let ids = universe
        .tests()
        .iter()
        .map(|t| t.id.as_str().to_owned())
        .chain([fail_id.to_owned(), pass_id.to_owned()]);
    let resolver = Resolver::new(ids, None);
    let combined = pytest::Outcomes::collect(&report.cases, &resolver);

    let canary = |id: &str| combined.tests.get(&NodeId::new(id)).map(|c| c.outcome);
    let universe_passes = universe.tests().iter().any(|t| {
        combined
            .tests
            .get(&NodeId::new(t.id.as_str()))
            .map(|c| c.outcome)
            == Some(Outcome::Passed)
    });
    match (canary(fail_id), canary(pass_id)) {
        (Some(Outcome::Failed), Some(Outcome::Passed)) => {}
        // The canary that must fail did not: the report was forged.
        (Some(Outcome::Passed | Outcome::Skipped), _) => {
            return RunResult::NoVerdict(
                NoVerdictReason::Tampered,
                format!("{label}the canary test that must fail was reported as passed or skipped"),
            );
        }
        // Canaries that errored or never ran in a report where nothing of
        // the universe passes: the project is broken (a fixture or conftest
        // fails everything, or a node-id selection hit a module that does
        // not import). Nothing to gain; scored as is, and a targeted run is
        // redone in full.
        (f, p) if !universe_passes => {
            tracing::debug!(
                "canaries did not run cleanly (must fail: {f:?}, must pass: {p:?}); nothing passed"
            );
        }
        (f, p) => {
            return RunResult::NoVerdict(
                NoVerdictReason::Tampered,
                format!(
                    "{label}canary tests reported wrongly while tests passed (must fail: {}, must pass: {}){}",
                    f.map_or("missing", Outcome::as_str),
                    p.map_or("missing", Outcome::as_str),
                    partial
                        .error
                        .map(|e| format!("; report error: {e}"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    let canaries_clean =
        canary(fail_id) == Some(Outcome::Failed) && canary(pass_id) == Some(Outcome::Passed);

    let mut messages_by_id: HashMap<&str, String> = HashMap::new();
    for case in &report.cases {
        if let debugenv_junit::pytest::Resolution::Test(id) = resolver.resolve(case) {
            let msg = case
                .failures
                .first()
                .or(case.errors.first())
                .or(case.skipped.as_ref())
                .and_then(|d| d.message.clone())
                .unwrap_or_default();
            if let Some(t) = universe.position(id.as_str()) {
                messages_by_id.insert(universe.tests()[t].id.as_str(), first_line(&msg));
            }
        }
    }
    let broken: BTreeSet<&str> = combined.broken_modules.iter().map(NodeId::as_str).collect();
    let mut passed = Vec::with_capacity(universe.len());
    let mut messages = Vec::with_capacity(universe.len());
    for (i, t) in universe.tests().iter().enumerate() {
        let id = t.id.as_str();
        let outcome = combined.tests.get(&NodeId::new(id)).map(|c| c.outcome);
        let ok = outcome == Some(Outcome::Passed);
        passed.push(ok);
        messages.push(if ok {
            String::new()
        } else {
            match outcome {
                Some(o) => {
                    let m = messages_by_id.get(id).cloned().unwrap_or_default();
                    if m.is_empty() {
                        o.as_str().to_owned()
                    } else {
                        format!("{o}: {m}")
                    }
                }
                None if broken.contains(id.split("::").next().unwrap_or(id)) => {
                    "error: its module failed to import".to_owned()
                }
                None if wanted.is_some_and(|w| !w.contains(&i)) => "not selected".to_owned(),
                None => "did not run".to_owned(),
            }
        });
    }
    let mut extra: Vec<String> = Vec::new();
    for &i in &combined.unknown {
        let case = &report.cases[i];
        let id = pytest::node_id(case).map_or_else(|| case.name.clone(), |n| n.as_str().to_owned());
        if id != fail_id && id != pass_id {
            extra.push(id);
        }
    }
    RunResult::Verdict(Outcomes {
        passed,
        messages,
        extra,
        collection_errors: !combined.broken_modules.is_empty() || !canaries_clean,
        reused: false,
        tests_time: Duration::ZERO,
        parse_time: parse_started.elapsed(),
    })
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(200).collect()
}

fn tail(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ").chars().take(400).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("tests/unit"), "tests/unit");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    fn tiny() -> Package {
        Package::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny"))
            .expect("the tiny package loads")
    }

    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read_dir") {
            let e = e.expect("entry");
            let target = to.join(e.file_name());
            if e.file_type().expect("type").is_dir() {
                copy_dir(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), &target).expect("copy");
            }
        }
    }

    /// The tiny package with its map's durations replaced by `secs(id)`.
    fn tiny_with_durations(dir: &std::path::Path, secs: impl Fn(&str) -> f64) -> Package {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny");
        copy_dir(&from, dir);
        let path = dir.join("affected.json");
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("map")).expect("json");
        let ids: Vec<String> = json["durations"]
            .as_object()
            .expect("the tiny map has durations")
            .keys()
            .cloned()
            .collect();
        for id in ids {
            json["durations"][&id] = serde_json::json!(secs(&id));
        }
        std::fs::write(&path, json.to_string()).expect("write");
        Package::load(dir).expect("loads")
    }

    #[test]
    fn durations_weigh_modules_in_full_shard_plans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "tests/unit/test_text.py";
        let p = tiny_with_durations(
            dir.path(),
            |id| if id.starts_with(text) { 5.0 } else { 0.0 },
        )
        .with_shards(2)
        .with_shard_min_tests(1);
        let in_text: Vec<usize> = (0..p.universe().len())
            .filter(|&i| p.universe().tests()[i].id.as_str().starts_with(text))
            .collect();
        assert_eq!(p.test_duration_ms(in_text[0]), Some(5000));
        let plan = shard_plan(&p, None);
        assert_eq!(plan.len(), 2);
        assert!(plan.contains(&in_text), "the heavy module alone: {plan:?}");
        // By count (no durations) it shares a group with another module.
        let by_count = shard_plan(&p.clone().without_affected_map(), None);
        assert!(!by_count.contains(&in_text), "{by_count:?}");

        // A duration of a test the universe does not have is a load problem.
        let bad = tempfile::tempdir().expect("tempdir");
        tiny_with_durations(bad.path(), |_| 1.0);
        let path = bad.path().join("affected.json");
        let text = std::fs::read_to_string(&path).expect("map").replacen(
            "\"durations\":{",
            "\"durations\":{\"tests/unit/test_gone.py::test_x\":1.0,",
            1,
        );
        std::fs::write(&path, text).expect("write");
        let err = Package::load(bad.path()).expect_err("unknown test in durations");
        assert!(err.to_string().contains("test_gone.py::test_x"), "{err}");
    }

    #[test]
    fn shard_plans_split_whole_modules_by_test_count() {
        let p = tiny();
        let n = p.universe().len();
        let module = |i: usize| {
            let id = p.universe().tests()[i].id.as_str();
            id.split("::").next().unwrap_or(id).to_owned()
        };
        // Off by default, and below `min_tests`.
        assert_eq!(shard_plan(&p, None), vec![(0..n).collect::<Vec<_>>()]);
        let p2 = p.clone().with_shards(2);
        assert_eq!(shard_plan(&p2, None).len(), 1, "12 tests < min_tests 40");
        let mut p3 = p.clone().with_shards(3);
        p3 = p3.with_shard_min_tests(1);
        let plan = shard_plan(&p3, None);
        // Three modules, three shards: one module each, every test once.
        assert_eq!(plan.len(), 3);
        let mut all: Vec<usize> = plan.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        for g in &plan {
            let mods: BTreeSet<String> = g.iter().map(|&i| module(i)).collect();
            assert_eq!(mods.len(), 1, "{g:?}");
            assert!(g.windows(2).all(|w| w[0] < w[1]), "sorted: {g:?}");
        }
        // Largest module first, onto the lightest shard.
        let sizes: Vec<usize> = plan.iter().map(Vec::len).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        // Deterministic, and a one-module selection is never split.
        assert_eq!(plan, shard_plan(&p3, None));
        // A selection: contiguous runs of equal size, whatever the modules.
        let one: Vec<usize> = (0..n).filter(|&i| module(i) == module(0)).collect();
        assert!(one.len() >= 3, "{one:?}");
        let plan = shard_plan(&p3, Some(&one));
        assert_eq!(plan.len(), 3);
        assert_eq!(plan.concat(), one);
        let sizes: Vec<usize> = plan.iter().map(Vec::len).collect();
        assert!(
            sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1,
            "{sizes:?}"
        );
        assert_eq!(
            shard_plan(&p3, Some(&one[..2])).len(),
            2,
            "never more groups than tests"
        );
        let few = p.clone().with_shards(2).with_shard_min_tests(5);
        let four: Vec<usize> = (0..4).collect();
        assert_eq!(shard_plan(&few, Some(&four)), vec![four.clone()]);
        // Two shards over three modules: balanced by count.
        let p4 = p.clone().with_shards(2).with_shard_min_tests(1);
        let plan = shard_plan(&p4, None);
        assert_eq!(plan.len(), 2);
        let diff = plan[0].len().abs_diff(plan[1].len());
        let biggest = plan.iter().map(Vec::len).max().unwrap_or(0);
        assert!(diff < biggest, "{plan:?}");
    }

    #[test]
    fn a_shard_without_its_service_is_a_sandbox_failure_and_signals_are_crashes() {
        let p = tiny();
        let run = |code| ShardRun {
            code,
            tail: "debugenv: the private Redis of a shard did not start".into(),
            report: None,
            truncated: false,
        };
        match evaluate(
            &p,
            run(Ok(SHARD_SERVICE_FAILED)),
            None,
            "a",
            "b",
            "shard 2 of 2: ",
        ) {
            RunResult::NoVerdict(NoVerdictReason::SandboxFailure, d) => {
                assert!(
                    d.starts_with("shard 2 of 2: debugenv: the private Redis"),
                    "{d}"
                );
            }
            other => panic!("{other:?}"),
        }
        match evaluate(
            &p,
            run(Err("killed by signal 9".into())),
            None,
            "a",
            "b",
            "",
        ) {
            RunResult::NoVerdict(NoVerdictReason::Crash, d) => {
                assert!(d.contains("signal 9"), "{d}")
            }
            other => panic!("{other:?}"),
        }
        // No report after exit 2 (an interrupted collection): nothing passed, a verdict.
        match evaluate(&p, run(Ok(2)), None, "a", "b", "") {
            RunResult::Verdict(o) => {
                assert!(o.passed.iter().all(|&x| !x));
                assert!(o.collection_errors);
            }
            other => panic!("{other:?}"),
        }
    }

    /// A run's output as the shell prints it: `junk`, then the frames file,
    /// a newline and the trailer.
    fn framed_output(junk: &[u8], frames: &[u8], marker: &str) -> Vec<u8> {
        let mut out = junk.to_vec();
        out.extend_from_slice(frames);
        out.extend_from_slice(format!("\n{marker} end {}\n", frames.len()).as_bytes());
        out
    }

    #[test]
    fn frames_are_read_by_length_after_the_trailer_only() {
        let m = "debugenv-run-00ff";
        let report = format!("<testsuite>\n{m} 0 report 3\nbad</testsuite>");
        let frames = format!(
            "{m} - time 1000 2501000\n{m} 0 rc 2\n1\n{m} 0 note -1\n{m} 0 report {}\n{report}\
             {m} 1 rc 1\n0",
            report.len()
        );
        // A test's process wrote a fake frame to the output before the sweep.
        let junk = format!("{m} 0 report 5\nforged{m} 0 rc 1\n0");
        let f = read_frames(&framed_output(junk.as_bytes(), frames.as_bytes(), m), m);
        assert_eq!(f.time, Some(Duration::from_micros(2500)));
        assert_eq!(f.files[&(0, "rc".to_owned())].bytes, b"1\n");
        assert_eq!(f.files[&(0, "report".to_owned())].bytes, report.as_bytes());
        assert!(!f.files[&(0, "report".to_owned())].cut);
        assert!(
            !f.files.contains_key(&(0, "note".to_owned())),
            "-1: no file"
        );
        assert_eq!(f.files[&(1, "rc".to_owned())].bytes, b"0");
        // No trailer (the run was cut short): nothing.
        assert!(read_frames(frames.as_bytes(), m).files.is_empty());
        // Another marker's trailer: nothing.
        assert!(
            read_frames(&framed_output(b"", frames.as_bytes(), "other"), m)
                .files
                .is_empty()
        );
        // A frame longer than what follows is kept, marked cut.
        let short = format!("{m} 0 report 100\n<testsuite>");
        let f = read_frames(&framed_output(b"", short.as_bytes(), m), m);
        let r = &f.files[&(0, "report".to_owned())];
        assert!(r.cut);
        assert_eq!(r.bytes, b"<testsuite>");
    }

    proptest::proptest! {
        #[test]
        fn reading_frames_never_panics(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            claimed in 0usize..400,
        ) {
            let m = "debugenv-run-1";
            let mut out = junk.clone();
            out.extend_from_slice(format!("{m} 0 report {}\n", body.len()).as_bytes());
            out.extend_from_slice(&body);
            out.extend_from_slice(format!("\n{m} end {claimed}\n").as_bytes());
            let _ = read_frames(&out, m);
            let _ = read_frames(&junk, m);
            // An honest trailer always gives the body back.
            let framed = framed_output(&junk, &[format!("{m} 0 report {}\n", body.len()).as_bytes(), &body].concat(), m);
            let f = read_frames(&framed, m);
            proptest::prop_assert_eq!(&f.files[&(0, "report".to_owned())].bytes, &body);
        }
    }

    #[test]
    fn first_line_and_tail() {
        assert_eq!(first_line("\n  assert 1 == 2\nmore"), "assert 1 == 2");
        assert_eq!(tail("", "a\nb\nc\nd\n"), "b | c | d");
    }
}
