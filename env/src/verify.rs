//! [`verify()`]: proves an environment package.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use debugenv_bugs::BugId;
use debugenv_sandbox::Sandbox;
use futures_util::future::join_all;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Mutex;

use crate::env::apply_fixes;
use crate::error::{Error, ErrorKind, Result};
use crate::grading::{self, RunResult};
use crate::package::Package;

/// One graded state: the pass state of every universe test, and the tests
/// that ran outside the universe.
type Graded = (Vec<bool>, Vec<String>);

/// Called after each graded state with (states graded, states in all).
pub type ProgressFn = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Knobs of [`verify()`].
#[derive(Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Runs of the shipped and of the fixed state compared for determinism (at least 2).
    pub repeats: usize,
    /// Seed of the canary names.
    pub seed: u64,
    /// Progress callback (a long verify grades 2 x repeats + 2 x bugs states).
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("repeats", &self.repeats)
            .field("seed", &self.seed)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            repeats: 3,
            seed: 1,
            progress: None,
        }
    }
}

/// One line of the verify matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// `shipped`, `all-fixed`, `leave-one-out`, `sufficiency`, `determinism`.
    pub kind: &'static str,
    /// The bug checked, for per-bug checks.
    pub bug: Option<BugId>,
    /// Universe tests passing in the state checked.
    pub passed: usize,
    /// Universe size.
    pub total: usize,
    /// The check holds.
    pub ok: bool,
    /// What was expected and what broke it.
    pub detail: String,
}

/// The verify matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// Every check holds.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<14} {:<6} {:>9}  {:<4} detail",
            "check", "bug", "passing", "ok"
        )?;
        for c in &self.checks {
            writeln!(
                f,
                "{:<14} {:<6} {:>4}/{:<4}  {:<4} {}",
                c.kind,
                c.bug.as_ref().map_or("-", BugId::as_str),
                c.passed,
                c.total,
                if c.ok { "ok" } else { "FAIL" },
                c.detail
            )?;
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        write!(f, "verify: {} checks, {} failed", self.checks.len(), failed)
    }
}

/// Proves a package as TALENTFLOW.md describes, over a pool of sandboxes
/// (one per concurrent run; each must have the package's project as its
/// workspace):
///
/// * shipped: every test marked with a bug fails;
/// * all-fixed: every universe test passes and no test outside it runs;
/// * leave-one-out, per bug b: all fixes but b's -> every test of b fails
///   (other tests b breaks are listed);
/// * sufficiency, per bug b: the fixes of b's prerequisites (closure) and
///   b's -> every test of b passes;
/// * determinism: the shipped and the fixed state give identical outcomes
///   over `repeats` runs.
///
/// # Errors
///
/// A sandbox failure, or a reference fix that does not apply.
pub async fn verify<S: Sandbox>(
    package: &Package,
    sandboxes: &[S],
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    assert!(!sandboxes.is_empty(), "verify needs at least one sandbox");
    let graph = package.graph();
    let all: BTreeSet<BugId> = graph.bugs().iter().map(|b| b.id.clone()).collect();
    let repeats = options.repeats.max(2);

    // The states to grade: (label, fixed bugs).
    let mut states: Vec<BTreeSet<BugId>> = Vec::new();
    states.extend(std::iter::repeat_n(BTreeSet::new(), repeats));
    states.extend(std::iter::repeat_n(all.clone(), repeats));
    for b in graph.bugs() {
        let mut s = all.clone();
        s.remove(&b.id);
        states.push(s);
    }
    for b in graph.bugs() {
        states.push(closure(package, &b.id));
    }

    let total_states = states.len();
    let queue = Mutex::new(states.iter().enumerate().collect::<VecDeque<_>>());
    let results: Mutex<Vec<Option<Graded>>> = Mutex::new(vec![None; states.len()]);
    let workers = sandboxes.iter().enumerate().map(|(w, sandbox)| {
        let queue = &queue;
        let results = &results;
        async move {
            let mut rng = StdRng::seed_from_u64(options.seed.wrapping_add(w as u64));
            loop {
                let Some((i, fixed)) = queue.lock().await.pop_front() else {
                    return Ok::<(), Error>(());
                };
                let outcome = grade_state(package, sandbox, fixed, &mut rng).await?;
                let done = {
                    let mut r = results.lock().await;
                    r[i] = Some(outcome);
                    r.iter().filter(|x| x.is_some()).count()
                };
                if let Some(progress) = &options.progress {
                    progress(done, total_states);
                }
            }
        }
    });
    for r in join_all(workers).await {
        r?;
    }
    let results: Vec<Graded> = results
        .into_inner()
        .into_iter()
        .map(|r| r.expect("every state was graded"))
        .collect();

    let universe = package.universe();
    let total = universe.len();
    let count = |v: &[bool]| v.iter().filter(|&&p| p).count();
    let tests_of = |bug: &BugId| -> Vec<usize> {
        let i = graph.position(bug).expect("bug of the graph");
        graph.tests_of(i).iter().map(|&t| t as usize).collect()
    };
    let mut checks = Vec::new();

    let (shipped, _) = &results[0];
    let marked: Vec<usize> = (0..total)
        .filter(|&t| !universe.tests()[t].bugs.is_empty())
        .collect();
    let passing_marked: Vec<&str> = marked
        .iter()
        .filter(|&&t| shipped[t])
        .map(|&t| universe.tests()[t].id.as_str())
        .collect();
    checks.push(Check {
        kind: "shipped",
        bug: None,
        passed: count(shipped),
        total,
        ok: passing_marked.is_empty(),
        detail: if passing_marked.is_empty() {
            format!(
                "every bug-marked test fails ({:.1}% of the universe passes)",
                pct(count(shipped), total)
            )
        } else {
            format!(
                "bug-marked tests pass while shipped: {}",
                passing_marked.join(", ")
            )
        },
    });

    let (fixed, extra) = &results[repeats];
    let failing: Vec<&str> = (0..total)
        .filter(|&t| !fixed[t])
        .map(|t| universe.tests()[t].id.as_str())
        .collect();
    checks.push(Check {
        kind: "all-fixed",
        bug: None,
        passed: count(fixed),
        total,
        ok: failing.is_empty() && extra.is_empty(),
        detail: match (failing.is_empty(), extra.is_empty()) {
            (true, true) => "every universe test passes; the run matches tests.json".into(),
            (false, _) => format!("failing: {}", failing.join(", ")),
            (true, false) => format!("tests outside tests.json ran: {}", extra.join(", ")),
        },
    });

    let base = 2 * repeats;
    for (k, b) in graph.bugs().iter().enumerate() {
        let (state, _) = &results[base + k];
        let mine = tests_of(&b.id);
        let vacuous: Vec<&str> = mine
            .iter()
            .filter(|&&t| state[t])
            .map(|&t| universe.tests()[t].id.as_str())
            .collect();
        let collateral: Vec<&str> = (0..total)
            .filter(|t| !mine.contains(t) && !state[*t] && fixed[*t])
            .map(|t| universe.tests()[t].id.as_str())
            .collect();
        checks.push(Check {
            kind: "leave-one-out",
            bug: Some(b.id.clone()),
            passed: count(state),
            total,
            ok: vacuous.is_empty(),
            detail: if vacuous.is_empty() {
                let also = if collateral.is_empty() {
                    String::new()
                } else {
                    format!("; also breaks {} other test(s)", collateral.len())
                };
                format!("all {} of its tests fail{also}", mine.len())
            } else {
                format!(
                    "its tests pass with the bug present: {}",
                    vacuous.join(", ")
                )
            },
        });
    }
    let base = base + graph.len();
    for (k, b) in graph.bugs().iter().enumerate() {
        let (state, _) = &results[base + k];
        let mine = tests_of(&b.id);
        let failing: Vec<&str> = mine
            .iter()
            .filter(|&&t| !state[t])
            .map(|&t| universe.tests()[t].id.as_str())
            .collect();
        checks.push(Check {
            kind: "sufficiency",
            bug: Some(b.id.clone()),
            passed: count(state),
            total,
            ok: failing.is_empty(),
            detail: if failing.is_empty() {
                format!(
                    "its fix and its prerequisites' make all {} of its tests pass",
                    mine.len()
                )
            } else {
                format!("still failing: {}", failing.join(", "))
            },
        });
    }

    for (label, start) in [("shipped", 0), ("fixed", repeats)] {
        let first = &results[start].0;
        let differing = (start + 1..start + repeats)
            .filter(|&i| &results[i].0 != first)
            .count();
        checks.push(Check {
            kind: "determinism",
            bug: None,
            passed: count(first),
            total,
            ok: differing == 0,
            detail: if differing == 0 {
                format!("{label} state: {repeats} runs, identical outcomes")
            } else {
                format!("{label} state: {differing} of {repeats} runs differ from the first")
            },
        });
    }
    Ok(VerifyReport { checks })
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// A bug and all its prerequisites, transitively.
fn closure(package: &Package, bug: &BugId) -> BTreeSet<BugId> {
    let graph = package.graph();
    let mut out = BTreeSet::new();
    let mut stack = vec![bug.clone()];
    while let Some(b) = stack.pop() {
        if out.insert(b.clone()) {
            let i = graph.position(&b).expect("bug of the graph");
            for &p in graph.prerequisites_of(i) {
                stack.push(graph.bugs()[p as usize].id.clone());
            }
        }
    }
    out
}

/// Resets the sandbox, applies `fixed` in fix order, grades the whole universe.
async fn grade_state<S: Sandbox>(
    package: &Package,
    sandbox: &S,
    fixed: &BTreeSet<BugId>,
    rng: &mut StdRng,
) -> Result<Graded> {
    sandbox
        .reset()
        .await
        .map_err(|e| Error::new("verify: resetting a sandbox", ErrorKind::Sandbox(e)))?;
    apply_fixes(package, sandbox, "verify", |b| fixed.contains(b)).await?;
    match grading::run(
        package,
        sandbox,
        rng,
        None,
        grading::State::Fresh,
        &mut 0,
        &mut None,
    )
    .await?
    {
        RunResult::Verdict(o) => Ok((o.passed, o.extra)),
        RunResult::NoVerdict(reason, detail) => Err(Error::new(
            "verify: grading",
            ErrorKind::State(format!("no verdict ({reason:?}): {detail}")),
        )),
    }
}
