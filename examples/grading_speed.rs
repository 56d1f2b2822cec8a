//! How fast TalentFlow is graded, against plain pytest in the same sandbox.
//!
//! ```text
//! cargo run --release --example grading_speed -- [--python PATH] [--repeats R]
//! ```
//!
//! With TalentFlow almost fixed (every bug but F2, so no grading ends the
//! episode), it measures, interleaved and `R` times each (default 3):
//!
//! * plain `python -m pytest` of the whole suite as a developer runs it: the
//!   project's own options, in a copy of the same project state on the host,
//!   against a stock PostgreSQL 15 (`initdb` defaults, data on disk) and Redis
//!   (`scripts/services.sh` with `TALENTFLOW_PG_STOCK=1`): the baseline;
//! * the same plain pytest inside the grading sandbox (tmpfs PostgreSQL
//!   without durability: one of the harness's own gains), through a `Run`
//!   action, timed inside the sandbox;
//! * a full grading right after that `Run` (an edit of the settings package
//!   forces one; a command may have changed the test databases, so every
//!   shard rebuilds its own);
//! * targeted gradings after the edits an agent makes, one bug at a time:
//!   for each bug and each application file of its fix, the file with every
//!   fix but that bug's, then with all of them again (function-level
//!   selection re-runs the tests of the function bodies that changed, plus
//!   the file's failing tests);
//! * a full grading after those edits (the usual case: every `full_every`
//!   steps), on the test databases the shards kept.
//!
//! The gradings run as the package says, so TalentFlow's are forked from its
//! resident pytest server (`tests.preload`); it prints how many were, and a
//! package without `preload` measures cold starts.
//!
//! It prints medians, p95, the split of a graded step into phases, and the
//! ratios against their targets:
//!
//! * full grading after edits at least 2x faster than plain pytest (on a
//!   stock PostgreSQL; the ratios of the grading after a command and to
//!   plain pytest in the same sandbox are printed too);
//! * targeted grading p50 at most 1.5 s;
//! * harness overhead (everything but the pytest run) under 5% of a step.
//!
//! Exit status 0 after printing, whatever the ratios; with
//! `GRADING_SPEED_ENFORCE=1`, 1 when a target is missed.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use debugenv::bugs::BugId;
use debugenv::sandbox::{LocalOptions, LocalSandbox, Sandbox};
use debugenv::{Action, Environment, GradingKind, ResetOptions, Step};

/// Plain pytest of the whole suite, timed inside the sandbox: `rc start end`.
fn plain_command(python: &str) -> String {
    format!(
        "s=$(date +%s.%N); '{python}' -m pytest -q -p no:cacheprovider >/dev/null 2>&1; \
         rc=$?; e=$(date +%s.%N); echo \"$rc $s $e\""
    )
}

/// Plain pytest as a developer runs it: a host copy of the project state
/// (every fix but `keep`'s) and a stock PostgreSQL + Redis of its own,
/// stopped (by pid, through the script) and removed on drop.
struct Stock {
    script: PathBuf,
    state: tempfile::TempDir,
    copy: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Stock {
    fn start(package_dir: &Path, keep: &str) -> Result<Self, Box<dyn Error>> {
        use std::os::unix::fs::PermissionsExt;
        let scripts = package_dir.join("scripts");
        let run = |cmd: &mut std::process::Command, what: &str| -> Result<String, Box<dyn Error>> {
            let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "{what} failed: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        // The service user (PostgreSQL refuses root) must reach the cluster.
        let state = tempfile::Builder::new()
            .prefix("grading-speed-pg-")
            .tempdir()?;
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755))?;
        let copy = tempfile::Builder::new()
            .prefix("grading-speed-project-")
            .tempdir()?;
        let dest = copy.path().join("project");
        run(
            std::process::Command::new("bash")
                .arg(scripts.join("fixed_copy.sh"))
                .arg(&dest),
            "fixed_copy.sh",
        )?;
        run(
            std::process::Command::new("git")
                .args(["apply", "-R"])
                .arg(package_dir.join("solutions").join(format!("{keep}.patch")))
                .current_dir(&dest)
                .env("GIT_CEILING_DIRECTORIES", copy.path()),
            "reverting the kept bug's fix",
        )?;
        // From here on, drop stops whatever the script started (by the pids
        // it recorded), whatever happens.
        let mut stock = Stock {
            script: scripts.join("services.sh"),
            state,
            copy,
            env: Vec::new(),
        };
        run(
            std::process::Command::new("bash")
                .arg(&stock.script)
                .arg("start")
                .arg(stock.state.path())
                .env("TALENTFLOW_PG_STOCK", "1"),
            "starting a stock PostgreSQL and Redis",
        )?;
        let text = std::fs::read_to_string(stock.state.path().join("services.env"))?;
        stock.env = text
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(stock)
    }

    /// One plain `python -m pytest` of the whole suite: its wall time.
    fn plain(&self, python: &str) -> Result<f64, Box<dyn Error>> {
        let started = Instant::now();
        let out = std::process::Command::new(python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .current_dir(self.copy.path().join("project"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()?;
        let wall = started.elapsed().as_secs_f64();
        // Exit 1: some tests failed (F2's do); anything else is a broken run.
        match out.status.code() {
            Some(0 | 1) => Ok(wall),
            other => Err(format!(
                "plain pytest on the stock services exited {other:?}: {}",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .last()
                    .unwrap_or("")
            )
            .into()),
        }
    }
}

impl Drop for Stock {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(self.state.path())
            .output();
    }
}

fn median(v: &mut [f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

/// Steps `action`, a settings edit that must be graded in full: its wall
/// time and the step.
async fn full_grading(
    env: &mut Environment<LocalSandbox>,
    action: Action,
) -> Result<(f64, Step), Box<dyn Error>> {
    let t = Instant::now();
    let s = env.step(action).await?;
    let wall = t.elapsed().as_secs_f64();
    if s.info.grading != GradingKind::Full {
        return Err(format!("a settings edit was graded {:?}", s.info.grading).into());
    }
    Ok((wall, s))
}

async fn run(python: String, repeats: usize) -> Result<bool, Box<dyn Error>> {
    let package = talentflow::load()?.with_python(python.clone());
    let keep = BugId::new("F2");
    let fixed: Vec<BugId> = package
        .graph()
        .bugs()
        .iter()
        .map(|b| b.id.clone())
        .filter(|id| *id != keep)
        .collect();
    // One probe per bug and application file of its fix that a targeted
    // grading handles: the file with every fix but that bug's (the bug
    // back), then with all of them again (an agent fixing it).
    let mut probes: Vec<(BugId, String, String)> = Vec::new();
    for bug in package.graph().bugs().iter().filter(|b| b.id != keep) {
        for file in &bug.files {
            if !file.ends_with(".py")
                || package.forces_full(file)
                || package.affected_tests(file).is_none()
            {
                continue;
            }
            let others: Vec<BugId> = fixed.iter().filter(|b| **b != bug.id).cloned().collect();
            match package.fixed_file(file, &others)? {
                Some(broken) if Some(&broken) != package.fixed_file(file, &fixed)?.as_ref() => {
                    probes.push((bug.id.clone(), file.clone(), broken));
                }
                _ => {} // the fix does not change this file (or deletes it)
            }
        }
    }
    let stock = Stock::start(package.dir(), keep.as_str())?;
    let package = Arc::new(package.with_max_steps(1000));
    let sandbox = LocalSandbox::create(&package.sandbox_spec()?, &LocalOptions::default()).await?;
    let mut env = Environment::new(package.clone(), sandbox);
    let started = Instant::now();
    env.reset(ResetOptions::seeded(2026).with_fixed(fixed))
        .await?;
    println!(
        "grading_speed: TalentFlow, {} tests, every bug fixed but {keep}; reset {:.2} s; {} probes (bug, file)",
        package.universe().len(),
        started.elapsed().as_secs_f64(),
        probes.len()
    );
    let settings = "talentflow/settings/testing.py";
    let original = String::from_utf8(
        std::fs::read(package.project_dir().join(settings))
            .map_err(|e| format!("{settings}: {e}"))?,
    )?;
    let mut stock_plain = Vec::new();
    let mut plain = Vec::new();
    let mut full = Vec::new();
    let mut full_tests = Vec::new();
    let mut targeted = Vec::new();
    let mut targeted_tests = Vec::new();
    let mut full_kept = Vec::new();
    let mut phases = [0.0f64; 4]; // sandbox, tests, parse, reward over graded steps
    // Gradings whose pytest processes were forked from the resident server
    // (`tests.preload`), of all gradings measured.
    let (mut preloaded, mut gradings) = (0usize, 0usize);
    let mut graded_total = 0.0;
    let mut edit = 0u32;
    let mut edit_file = |file: &str, base: &str| {
        edit += 1;
        Action::Edit {
            file: file.to_owned(),
            content: format!("{base}\n# speed probe {edit}\n"),
        }
    };
    for round in 0..repeats {
        // Plain pytest on the stock services.
        stock_plain.push(stock.plain(&python)?);
        // Plain pytest, timed inside the sandbox.
        let s = env
            .step(Action::Run {
                command: plain_command(&python),
                timeout_seconds: Some(600),
            })
            .await?;
        let out = s.observation.action_result.output.trim().to_owned();
        if std::env::var_os("GRADING_SPEED_VERBOSE").is_some() {
            println!(
                "  plain: {out} (terminated {}, truncated {})",
                s.terminated, s.truncated
            );
        }
        let w: Vec<f64> = out
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // Exit 1: some tests failed (F2's do); anything else is a broken run.
        if w.len() != 3 || !(w[0] == 0.0 || w[0] == 1.0) {
            return Err(format!("plain pytest did not run in the sandbox: {out}").into());
        }
        plain.push(w[2] - w[1]);
        // A full grading.
        let (wall, s) = full_grading(&mut env, edit_file(settings, &original)).await?;
        full.push(wall);
        full_tests.push(s.info.timings.tests);
        gradings += 1;
        preloaded += usize::from(s.info.preloaded);
        // Targeted gradings, two per probe (a share of the probes per
        // round): the bug back, then fixed again.
        for (bug, file, broken) in probes.iter().skip(round).step_by(repeats.max(1)) {
            // The current (fixed) content, from the sandbox.
            let fixed = String::from_utf8(env.sandbox().read_file(file).await?)?;
            for (what, content) in [("back", broken.clone()), ("fixed", fixed)] {
                let t = Instant::now();
                let s = env
                    .step(Action::Edit {
                        file: file.clone(),
                        content,
                    })
                    .await?;
                let wall = t.elapsed().as_secs_f64();
                let tm = &s.info.timings;
                phases[0] += tm.sandbox;
                phases[1] += tm.tests;
                phases[2] += tm.parse;
                phases[3] += tm.reward;
                graded_total += wall;
                gradings += 1;
                preloaded += usize::from(s.info.preloaded);
                if s.info.grading == GradingKind::Targeted {
                    targeted.push(wall);
                    targeted_tests.push(s.info.tests_run as f64);
                }
                if std::env::var_os("GRADING_SPEED_VERBOSE").is_some() {
                    println!(
                        "  {bug} {file} ({what}): {:?} of {} tests, {wall:.2} s (pytest {:.2} s), {} passed",
                        s.info.grading,
                        s.info.tests_run,
                        s.info.timings.tests,
                        s.observation.test_results.passed
                    );
                }
            }
        }
        // A full grading after edits (the usual one: every `full_every`
        // steps), with the test databases the last gradings kept.
        let (wall, s) = full_grading(&mut env, edit_file(settings, &original)).await?;
        full_kept.push(wall);
        gradings += 1;
        preloaded += usize::from(s.info.preloaded);
        println!(
            "round {}: plain pytest {:.2} s (stock PostgreSQL), {:.2} s (in the sandbox), full grading {:.2} s after a command, {:.2} s after edits, targeted so far {}",
            round + 1,
            stock_plain[round],
            plain[round],
            full[round],
            full_kept[round],
            targeted.len()
        );
    }
    env.close().await?;
    drop(stock);

    let stock_p50 = median(&mut stock_plain.clone());
    let plain_p50 = median(&mut plain.clone());
    let fresh_p50 = median(&mut full.clone());
    let full_p50 = median(&mut full_kept.clone());
    let t_p50 = median(&mut targeted.clone());
    let t_p95 = percentile(&mut targeted.clone(), 0.95);
    let overhead = 1.0 - phases[1] / graded_total;
    println!(
        "plain pytest        p50 {stock_p50:.2} s  on a stock PostgreSQL ({} runs)",
        stock_plain.len()
    );
    println!(
        "plain pytest        p50 {plain_p50:.2} s  in the grading sandbox ({} runs)",
        plain.len()
    );
    println!("full grading        p50 {full_p50:.2} s  after edits (test databases kept)");
    println!(
        "full grading        p50 {fresh_p50:.2} s  after a command (test databases rebuilt; its pytest run p50 {:.2} s)",
        median(&mut full_tests)
    );
    println!(
        "targeted grading    p50 {t_p50:.2} s  p95 {t_p95:.2} s  ({} steps, p50 {:.0} tests each)",
        targeted.len(),
        median(&mut targeted_tests)
    );
    println!(
        "preloaded gradings  {preloaded} of {gradings} forked from the resident pytest server (tests.preload)"
    );
    println!(
        "graded step phases  sandbox {:.1}%  tests {:.1}%  parse {:.2}%  reward {:.3}%  (of {graded_total:.1} s)",
        100.0 * phases[0] / graded_total,
        100.0 * phases[1] / graded_total,
        100.0 * phases[2] / graded_total,
        100.0 * phases[3] / graded_total
    );
    let mut ok = true;
    let mut verdict = |name: &str, value: String, met: bool| {
        ok &= met;
        println!(
            "{name:<44} {value:>10}  {}",
            if met { "ok" } else { "MISSED" }
        );
    };
    verdict(
        "plain pytest / full grading (target >= 2x)",
        format!("{:.2}x", stock_p50 / full_p50),
        stock_p50 / full_p50 >= 2.0,
    );
    verdict(
        "plain pytest / full grading after a command",
        format!("{:.2}x", stock_p50 / fresh_p50),
        true,
    );
    verdict(
        "plain pytest in the sandbox / full grading",
        format!("{:.2}x", plain_p50 / full_p50),
        true,
    );
    verdict(
        "targeted grading p50 (target <= 1.5 s)",
        format!("{t_p50:.2} s"),
        t_p50 <= 1.5,
    );
    verdict(
        "full grading / targeted p50",
        format!("{:.2}x", full_p50 / t_p50),
        true,
    );
    verdict(
        "harness overhead (target < 5%)",
        format!("{:.1}%", 100.0 * overhead),
        overhead < 0.05,
    );
    Ok(ok)
}

fn main() -> ExitCode {
    let mut python =
        std::env::var("DEBUGENV_PYTHON").unwrap_or_else(|_| "/opt/debugenv/venv/bin/python".into());
    let mut repeats = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--python", Some(v)) => python = v,
            ("--repeats", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => repeats = n,
                _ => {
                    eprintln!("grading_speed: --repeats must be a positive integer, not `{v}`");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: grading_speed [--python PATH] [--repeats R]");
                return ExitCode::from(2);
            }
        }
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("grading_speed: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(python, repeats)) {
        Ok(met) => {
            let enforce = std::env::var("GRADING_SPEED_ENFORCE").is_ok_and(|v| v == "1");
            if met || !enforce {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("grading_speed: {e}");
            ExitCode::FAILURE
        }
    }
}
