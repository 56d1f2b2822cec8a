//! One honest grading run: restore protected paths, plant canaries, run
//! pytest with the harness's own options, read the JUnit report, map it onto
//! the universe.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use debugenv_junit::pytest::{self, NodeId, Resolver};
use debugenv_junit::{Mode, Outcome, Parser};
use debugenv_sandbox::{ChangeKind, Command, ExitStatus, Sandbox};
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
    let t = &package.spec().tests;
    let mut words: Vec<String> = vec![
        t.python.clone(),
        "-s".into(), // no user site-packages
        "-m".into(),
        "pytest".into(),
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
    let mut line = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
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

/// Environment every harness pytest run gets.
pub(crate) fn pytest_command(package: &Package, line: String, timeout: Duration) -> Command {
    let mut cmd = Command::shell(line)
        .timeout(timeout)
        .output_limit(256 << 10)
        .env("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        .env("PYTEST_ADDOPTS", "")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0");
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
    let line = format!("{} && rm -rf -- {}", sweep_line(), paths.join(" "));
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
fn sweep_line() -> String {
    let harness_uid = harness_uid();
    if harness_uid == u32::MAX {
        return String::from("true");
    }
    // The shell's own ancestors may run as the same user (a backend's exec
    // wrapper, `timeout`): they are spared, everything else of the user dies.
    format!(
        "me=$(id -u); if [ \"$me\" != {harness_uid} ] && [ \"$me\" != 0 ]; then {SWEEP}; fi; true"
    )
}

/// Kills every process of user `$me` that is not this shell or one of its
/// ancestors (read from /proc; a fork bomb's children are killed one by one).
const SWEEP: &str = "keep=\" $$ \"; p=$$; \
while [ \"${p:-1}\" -gt 1 ]; do p=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2); keep=\"$keep$p \"; done; \
for d in /proc/[0-9]*; do pid=${d#/proc/}; case \"$keep\" in *\" $pid \"*) continue;; esac; \
[ \"$(stat -c %u \"$d\" 2>/dev/null)\" = \"$me\" ] && kill -KILL \"$pid\" 2>/dev/null; done";

/// Brings back everything an episode can change outside the workspace
/// (the sandbox's own `reset` restores the workspace): the agent's processes,
/// packages it installed for its user (`~/.local`, pip and cache dirs), its
/// private temp dir, every Redis key, and every PostgreSQL database (dropped
/// and the default one re-created empty).
pub(crate) async fn reset_state<S: Sandbox>(sandbox: &S) -> Result<()> {
    let line = format!("{}; {RESET_STATE}", sweep_line());
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

/// Runs the whole universe (or `selection`: node ids whose outcomes are
/// wanted; the others are reported as not run) with canaries.
pub(crate) async fn run<S: Sandbox>(
    package: &Package,
    sandbox: &S,
    rng: &mut impl Rng,
    selection: Option<&[usize]>,
    state: State,
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

    let junit = format!("{}.xml", random_name(rng, "debugenv-"));
    // The sweep again, in the same shell that then runs pytest: no process
    // of the agent is alive while the tests run.
    let mut line = format!("{}; {}", sweep_line(), pytest_line(package, Some(&junit)));
    let state_args = match state {
        State::Fresh => &spec.tests.fresh_args,
        State::Reuse => &spec.tests.reuse_args,
    };
    for a in state_args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    match selection {
        None => {
            for c in &spec.tests.categories {
                line.push(' ');
                line.push_str(&quote(&c.path));
            }
        }
        Some(sel) => {
            for &i in sel {
                line.push(' ');
                line.push_str(&quote(universe.tests()[i].id.as_str()));
            }
            line.push(' ');
            line.push_str(&quote(&canary_path));
        }
    }
    let started = Instant::now();
    let out = sandbox
        .exec(&pytest_command(package, line, spec.tests.timeout))
        .await;
    let tests_time = started.elapsed();
    // Read the report and clean up whatever happened.
    let report_path = format!("\"${{TMPDIR:-/tmp}}/{junit}\"");
    let read = sandbox
        .exec(
            &Command::shell(format!(
                "cat {report_path} 2>/dev/null; s=$?; rm -f {report_path} {}; exit $s",
                quote(&canary_path)
            ))
            .timeout(Duration::from_secs(60))
            .output_limit(256 << 20),
        )
        .await;
    let out = out.map_err(|e| sandbox_err("running the tests", e))?;
    let read = read.map_err(|e| sandbox_err("reading the JUnit report", e))?;

    if out.timed_out {
        return Ok(RunResult::NoVerdict(
            NoVerdictReason::Timeout,
            format!("the test run exceeded {} s", spec.tests.timeout.as_secs()),
        ));
    }
    let stderr_tail = tail(&out.stderr_text(), &out.stdout_text());
    let code = match out.status {
        ExitStatus::Code(c) => c,
        other => {
            return Ok(RunResult::NoVerdict(
                NoVerdictReason::Crash,
                format!("pytest ended by {other:?}: {stderr_tail}"),
            ));
        }
    };

    let parse_started = Instant::now();
    if !read.status.success() || read.stdout.is_empty() {
        // pytest ended without writing a report. A usage error, an import
        // error in a conftest, "no tests collected": the project is broken,
        // which is the agent's state, scored as nothing passing. An internal
        // error is a crash.
        if code == 3 || !(1..=5).contains(&code) {
            return Ok(RunResult::NoVerdict(
                NoVerdictReason::Crash,
                format!("pytest exited with {code} and wrote no report: {stderr_tail}"),
            ));
        }
        let message = format!("did not run: pytest exited with {code}: {stderr_tail}");
        return Ok(RunResult::Verdict(Outcomes {
            passed: vec![false; universe.len()],
            messages: vec![message; universe.len()],
            extra: Vec::new(),
            collection_errors: true,
            tests_time,
            parse_time: parse_started.elapsed(),
        }));
    }
    if read.truncated {
        return Ok(RunResult::NoVerdict(
            NoVerdictReason::Crash,
            "the JUnit report is larger than 256 MiB".into(),
        ));
    }

    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .build()
        .expect("the default limits are valid");
    let partial = parser.parse_partial(&read.stdout[..]);
    let report = partial.report;
    let ids = universe
        .tests()
        .iter()
        .map(|t| t.id.as_str().to_owned())
        .chain([fail_id.clone(), pass_id.clone()]);
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
    match (canary(&fail_id), canary(&pass_id)) {
        (Some(Outcome::Failed), Some(Outcome::Passed)) => {}
        // The canary that must fail did not: the report was forged.
        (Some(Outcome::Passed | Outcome::Skipped), _) => {
            return Ok(RunResult::NoVerdict(
                NoVerdictReason::Tampered,
                "the canary test that must fail was reported as passed or skipped".into(),
            ));
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
            return Ok(RunResult::NoVerdict(
                NoVerdictReason::Tampered,
                format!(
                    "canary tests reported wrongly while tests passed (must fail: {}, must pass: {}){}",
                    f.map_or("missing", Outcome::as_str),
                    p.map_or("missing", Outcome::as_str),
                    partial
                        .error
                        .map(|e| format!("; report error: {e}"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let canaries_clean =
        canary(&fail_id) == Some(Outcome::Failed) && canary(&pass_id) == Some(Outcome::Passed);

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
    let wanted: Option<BTreeSet<usize>> = selection.map(|s| s.iter().copied().collect());
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
                None if wanted.as_ref().is_some_and(|w| !w.contains(&i)) => {
                    "not selected".to_owned()
                }
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
    Ok(RunResult::Verdict(Outcomes {
        passed,
        messages,
        extra,
        collection_errors: !combined.broken_modules.is_empty() || !canaries_clean,
        tests_time,
        parse_time: parse_started.elapsed(),
    }))
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

    #[test]
    fn first_line_and_tail() {
        assert_eq!(first_line("\n  assert 1 == 2\nmore"), "assert 1 == 2");
        assert_eq!(tail("", "a\nb\nc\nd\n"), "b | c | d");
    }
}
