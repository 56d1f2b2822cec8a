//! What the agent sees after a step, and what the trainer reads in `info`.

use debugenv_reward::RewardBreakdown;
use serde::{Deserialize, Serialize};

/// Per-category test counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryResult {
    /// Category name.
    pub name: String,
    /// Tests of the category in the universe.
    pub total: usize,
    /// Of those, passing.
    pub passed: usize,
}

/// A failing universe test and its short message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedTest {
    /// pytest node id.
    pub id: String,
    /// First line of the failure or error message (or why it did not run).
    pub message: String,
}

/// Test results against the universe (the denominator is always the universe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResults {
    /// Universe size.
    pub total: usize,
    /// Passing tests.
    pub passed: usize,
    /// Not passing (failed, errored, skipped, or did not run).
    pub failed: usize,
    /// `passed / total`.
    pub pass_rate: f64,
    /// Node ids of the passing tests.
    pub passed_tests: Vec<String>,
    /// Node ids of the tests not passing (the original API's shape).
    pub failed_tests: Vec<String>,
    /// The same tests with a short message each (why it failed or did not run).
    pub failures: Vec<FailedTest>,
    /// Per category, in the package's order.
    pub by_category: Vec<CategoryResult>,
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionErrorCode {
    /// The JSON was not a known action.
    InvalidAction,
    /// The path is absolute, contains `..`, or leads outside the workspace.
    BadPath,
    /// The path is protected (tests, conftest, pytest configuration).
    Protected,
    /// The content is larger than the package allows.
    TooLarge,
    /// The file does not exist.
    NotFound,
    /// The patch does not parse or does not apply.
    PatchFailed,
    /// The sandbox failed to carry out the action.
    SandboxError,
}

/// An action's refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionError {
    /// The kind.
    pub code: ActionErrorCode,
    /// What was wrong.
    pub message: String,
}

/// What the action did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionResult {
    /// The action carried out (it may still have a non-zero exit code).
    pub ok: bool,
    /// File text (`Read`), command output (`Run`, `RunTests`), or a summary.
    pub output: String,
    /// The refusal, when `ok` is false.
    pub error: Option<ActionError>,
    /// Exit code of a command.
    pub exit_code: Option<i32>,
    /// The command hit its timeout.
    pub timed_out: bool,
    /// The output was cut at the cap.
    pub truncated: bool,
}

impl ActionResult {
    pub(crate) fn ok(output: impl Into<String>) -> Self {
        Self {
            ok: true,
            output: output.into(),
            ..Self::default()
        }
    }

    pub(crate) fn refused(code: ActionErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            ok: false,
            output: String::new(),
            error: Some(ActionError { code, message }),
            ..Self::default()
        }
    }
}

/// The observation after `reset` or `step`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The latest grading's results.
    pub test_results: TestResults,
    /// The reward of the latest grading (0 before the first one).
    pub reward: f64,
    /// Steps taken in this episode.
    pub step_count: u32,
    /// The result of this step's action.
    pub action_result: ActionResult,
    /// Bugs not fully fixed, in fix order.
    pub bugs_remaining: Vec<String>,
    /// Bugs whose tests all pass.
    pub bugs_fixed: Vec<String>,
    /// Unfixed bugs with an unfixed prerequisite.
    pub bugs_blocked: Vec<String>,
    /// Workspace files that differ from the shipped project.
    pub files_changed: Vec<String>,
}

/// How the step was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradingKind {
    /// The whole universe ran.
    Full,
    /// Only the tests the change can affect ran; the others kept their outcome
    /// from the last full grading.
    Targeted,
    /// No grading (the action changed nothing).
    None,
}

/// Why a grading produced no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoVerdictReason {
    /// The test run hit its timeout.
    Timeout,
    /// pytest crashed (killed by a signal or an internal error) without a report.
    Crash,
    /// The sandbox failed (infrastructure, not the agent).
    SandboxFailure,
    /// The report was forged: a canary test reported the wrong outcome.
    Tampered,
}

/// The verdict of the step's grading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VerdictInfo {
    /// The tests ran and reported honestly (or there was no grading).
    Ok,
    /// No verdict: the reward is 0 for this step, outcomes and regression
    /// baseline are left as they were.
    NoVerdict {
        /// Why.
        reason: NoVerdictReason,
        /// Details (exit status, the tail of stderr, the forged canary).
        detail: String,
    },
}

/// Wall time of each phase of a step, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Carrying out the action and restoring protected paths.
    pub sandbox: f64,
    /// The pytest run (both runs of a grading redone in full).
    pub tests: f64,
    /// Reading the JUnit report and mapping it onto the universe.
    pub parse: f64,
    /// Bug credit and reward.
    pub reward: f64,
    /// The whole step.
    pub total: f64,
}

/// Everything the trainer may want besides the observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    /// The reward breakdown of this step's grading (`None` without a verdict
    /// or without a grading).
    pub breakdown: Option<RewardBreakdown>,
    /// How the step was graded.
    pub grading: GradingKind,
    /// Universe tests the grading ran: all of them in a full grading, the
    /// selection in a targeted one, 0 without a grading.
    #[serde(default)]
    pub tests_run: usize,
    /// The grading's pytest processes were forked from the resident server
    /// (`tests.preload`), none started cold.
    #[serde(default)]
    pub preloaded: bool,
    /// The verdict.
    pub verdict: VerdictInfo,
    /// Phase timings.
    pub timings: Timings,
    /// Tests that ran but are not in the universe (reported, ignored).
    pub extra_tests: Vec<String>,
    /// Workspace modules that import pytest internals (suspicious in
    /// application code; reported, not punished).
    pub pytest_internals: Vec<String>,
}

/// The result of [`Environment::step`](crate::Environment::step), with Gymnasium semantics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What the agent sees.
    pub observation: Observation,
    /// The reward (the latest grading's total; 0 for a step without verdict).
    pub reward: f64,
    /// Every universe test passed in a full grading.
    pub terminated: bool,
    /// The step limit was reached (or the agent submitted without finishing).
    pub truncated: bool,
    /// Breakdown, grading kind, verdict, timings.
    pub info: StepInfo,
}
