//! Trajectories: every reset and step as one JSON line; `replay` and `rescore`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use debugenv_bugs::BugId;
use debugenv_reward::{RewardBreakdown, RewardConfig, RewardTracker, Verdict};
use debugenv_sandbox::Sandbox;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::env::{Environment, Graded, ResetOptions, reward_categories, reward_of};
use crate::error::{Error, ErrorKind, Result};
use crate::observation::{Observation, Step, Timings, VerdictInfo};
use crate::package::Package;

/// One line of a trajectory file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// Episode number within the file (from 1).
    pub episode: u64,
    /// Step number (0 for the reset).
    pub step: u32,
    /// The reset's seed (reset records only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Bugs started fixed (reset records only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<BugId>,
    /// The action (`None` for the reset).
    pub action: Option<Action>,
    /// What the agent saw.
    pub observation: Observation,
    /// Whether this record's state was graded.
    pub graded: bool,
    /// Per-universe-test pass state after a grading with a verdict; `None` otherwise.
    pub outcomes: Option<Vec<bool>>,
    /// The grading's verdict.
    pub verdict: VerdictInfo,
    /// The reward breakdown of the grading, when there was one with a verdict.
    pub breakdown: Option<RewardBreakdown>,
    /// The reward given.
    pub reward: f64,
    /// Gymnasium `terminated`.
    pub terminated: bool,
    /// Gymnasium `truncated`.
    pub truncated: bool,
    /// Phase timings.
    pub timings: Timings,
}

impl Record {
    pub(crate) fn reset(
        episode: u64,
        seed: u64,
        options: &ResetOptions,
        observation: &Observation,
        graded: &Graded,
        passed: &[bool],
        timings: Timings,
    ) -> Self {
        Self {
            episode,
            step: 0,
            seed: Some(seed),
            fixed: options.fixed.clone(),
            action: None,
            observation: observation.clone(),
            graded: true,
            outcomes: graded.verdict.is_none().then(|| passed.to_vec()),
            verdict: match &graded.verdict {
                None => VerdictInfo::Ok,
                Some((reason, detail)) => VerdictInfo::NoVerdict {
                    reason: *reason,
                    detail: detail.clone(),
                },
            },
            breakdown: graded.breakdown.clone(),
            reward: observation.reward,
            terminated: false,
            truncated: false,
            timings,
        }
    }

    pub(crate) fn step(
        episode: u64,
        step_count: u32,
        action: &Action,
        step: &Step,
        passed: &[bool],
    ) -> Self {
        let graded = step.info.grading != crate::GradingKind::None;
        let ok = matches!(step.info.verdict, VerdictInfo::Ok);
        Self {
            episode,
            step: step_count,
            seed: None,
            fixed: Vec::new(),
            action: Some(action.clone()),
            observation: step.observation.clone(),
            graded,
            outcomes: (graded && ok).then(|| passed.to_vec()),
            verdict: step.info.verdict.clone(),
            breakdown: step.info.breakdown.clone(),
            reward: step.reward,
            terminated: step.terminated,
            truncated: step.truncated,
            timings: step.info.timings,
        }
    }
}

/// Appends records to a JSON-lines file, flushing after each.
#[derive(Debug)]
pub(crate) struct TrajectoryWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl TrajectoryWriter {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("opening the trajectory file", path, e))?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
        })
    }

    pub(crate) fn write(&mut self, record: &Record) -> Result<()> {
        let line = serde_json::to_string(record).expect("records serialize");
        writeln!(self.out, "{line}")
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::io("writing the trajectory", &self.path, e))
    }
}

/// Reads a trajectory file.
///
/// # Errors
///
/// The file cannot be read, or a line is not a record (the error names the line).
pub fn read_trajectory(path: impl AsRef<Path>) -> Result<Vec<Record>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io("reading a trajectory", path, e))?;
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io("reading a trajectory", path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| {
            Error::new(
                format!("reading trajectory {}", path.display()),
                ErrorKind::Trajectory {
                    line: i + 1,
                    message: e.to_string(),
                },
            )
        })?;
        records.push(record);
    }
    Ok(records)
}

/// One step's reward as recorded and as recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rescored {
    /// Episode number.
    pub episode: u64,
    /// Step number (0: reset).
    pub step: u32,
    /// The reward in the file.
    pub recorded: f64,
    /// The reward under the new configuration.
    pub rescored: f64,
}

/// Recomputes a recorded trajectory's rewards under another configuration,
/// offline, without running a test: the reward-research loop.
///
/// The rules are the environment's: a grading with a verdict gives its total;
/// one without a verdict gives 0 and leaves the baseline; a step without a
/// grading repeats the last total.
///
/// # Errors
///
/// The configuration lacks a category of the package, or a record does not
/// match the package's universe.
pub fn rescore(
    package: &Package,
    records: &[Record],
    config: &RewardConfig,
) -> Result<Vec<Rescored>> {
    let categories = reward_categories(package, config)?;
    let mut out = Vec::with_capacity(records.len());
    let mut tracker = RewardTracker::new(config.clone());
    let mut last = 0.0;
    for r in records {
        if r.step == 0 {
            tracker = RewardTracker::new(config.clone());
            last = 0.0;
        }
        let reward = match (&r.outcomes, r.graded) {
            (Some(passed), _) => {
                if passed.len() != package.universe().len() {
                    return Err(Error::new(
                        "rescoring",
                        ErrorKind::Trajectory {
                            line: out.len() + 1,
                            message: format!(
                                "{} outcomes recorded; the universe has {} tests",
                                passed.len(),
                                package.universe().len()
                            ),
                        },
                    ));
                }
                last = reward_of(package, &categories, &mut tracker, passed, r.step)?.total;
                last
            }
            (None, true) => {
                tracker
                    .grade(Verdict::NoVerdict)
                    .map_err(|e| Error::new("rescoring", e.into()))?;
                0.0
            }
            (None, false) => last,
        };
        out.push(Rescored {
            episode: r.episode,
            step: r.step,
            recorded: r.reward,
            rescored: reward,
        });
    }
    Ok(out)
}

/// The result of [`replay`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    /// Steps replayed (resets included).
    pub steps: usize,
    /// Every step whose reward or outcomes differ: (episode, step, recorded, replayed).
    pub mismatches: Vec<(u64, u32, f64, f64)>,
}

impl ReplayReport {
    /// Every reward came out the same.
    pub fn is_exact(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Re-runs a trajectory's episodes (same seeds, same starting fixes, same
/// actions) and compares every reward, bit for bit, and every outcome.
///
/// # Errors
///
/// As [`Environment::reset`] and [`Environment::step`].
pub async fn replay<S: Sandbox>(
    env: &mut Environment<S>,
    records: &[Record],
) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let outcomes_differ =
        |report: &mut ReplayReport, r: &Record, reward: f64, outcomes: Option<&[bool]>| {
            let same_outcomes = match (&r.outcomes, outcomes) {
                (Some(a), Some(b)) => a[..] == b[..],
                (None, _) => true,
                (Some(_), None) => false,
            };
            if reward.to_bits() != r.reward.to_bits() || !same_outcomes {
                report
                    .mismatches
                    .push((r.episode, r.step, r.reward, reward));
            }
        };
    for r in records {
        report.steps += 1;
        match &r.action {
            None => {
                let options = ResetOptions {
                    seed: r.seed,
                    fixed: r.fixed.clone(),
                };
                let obs = env.reset(options).await?;
                let passed = env.passed().map(<[bool]>::to_vec);
                outcomes_differ(&mut report, r, obs.reward, passed.as_deref());
            }
            Some(action) => {
                let step = env.step(action.clone()).await?;
                let passed = env.passed().map(<[bool]>::to_vec);
                outcomes_differ(&mut report, r, step.reward, passed.as_deref());
            }
        }
    }
    Ok(report)
}
