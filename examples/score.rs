//! `cargo run --example score -- FILE`: the reward of one grading, from JSON, for
//! reward research from any language.
//!
//! Input (one JSON object; `max_steps` defaults to the preset's 100 and
//! `passed_at_baseline` to `false`):
//!
//! ```json
//! {"preset": "talentflow", "step": 3, "max_steps": 100,
//!  "bugs":  [{"id": "S5", "depends_on": []}, {"id": "A1", "depends_on": ["S5"]}],
//!  "tests": [{"id": "tests/unit/test_a.py::test_x", "category": "unit",
//!             "bugs": ["A1"], "passed": true, "passed_at_baseline": false}]}
//! ```
//!
//! Output, one line on stdout:
//! `{"test_pass_score":..,"completion_bonus":..,"bug_bonus":..,"efficiency_bonus":..,"regression_penalty":..,"total":..}`.
//!
//! Invalid input (unreadable file, bad JSON, unknown preset or category,
//! unknown bug, dependency cycle, bug without tests, ...) exits with status 2
//! and one line on stderr.

use std::process::ExitCode;

use debugenv_bugs::{Bug, BugGraph, BugId, Manifest, Outcomes, TestUniverse, UniverseTest};
use debugenv_reward::{BugState, Grading, Preset, RewardConfigBuilder, TestState};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    preset: String,
    step: u32,
    max_steps: Option<u32>,
    #[serde(default)]
    bugs: Vec<InputBug>,
    tests: Vec<InputTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputBug {
    id: String,
    #[serde(default)]
    depends_on: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputTest {
    id: String,
    category: String,
    #[serde(default)]
    bugs: Vec<String>,
    passed: bool,
    #[serde(default)]
    passed_at_baseline: bool,
}

/// The output: exactly the six numbers.
#[derive(Serialize)]
struct Output {
    test_pass_score: f64,
    completion_bonus: f64,
    bug_bonus: f64,
    efficiency_bonus: f64,
    regression_penalty: f64,
    total: f64,
}

/// What the process does: exit status, stdout, stderr.
pub(crate) struct Run {
    pub(crate) status: u8,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the example on its command-line arguments (without the program name).
pub(crate) fn execute(args: &[String]) -> Run {
    let result = match args {
        [path] => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {path}: {e}"))
            .and_then(|text| score_json(&text).map_err(|e| format!("{path}: {e}"))),
        _ => Err("usage: cargo run --example score -- FILE".to_owned()),
    };
    match result {
        Ok(json) => Run {
            status: 0,
            stdout: format!("{json}\n"),
            stderr: String::new(),
        },
        Err(message) => Run {
            status: 2,
            stdout: String::new(),
            // One line, whatever the messages inside contain.
            stderr: format!("score: {}\n", message.replace('\n', " ")),
        },
    }
}

/// Scores one JSON input and returns the output JSON object.
pub(crate) fn score_json(text: &str) -> Result<String, String> {
    let input: Input = serde_json::from_str(text).map_err(|e| format!("invalid input: {e}"))?;
    let preset: Preset = input.preset.parse().map_err(|e| format!("{e}"))?;
    let mut builder = RewardConfigBuilder::from_preset(preset);
    if let Some(max_steps) = input.max_steps {
        builder = builder.max_steps(max_steps);
    }
    let config = builder.build().map_err(|e| e.to_string())?;

    let manifest = Manifest::new(
        input
            .bugs
            .iter()
            .map(|b| {
                Bug::new(b.id.as_str()).with_depends_on(b.depends_on.iter().map(String::as_str))
            })
            .collect(),
    );
    let universe = TestUniverse::new(
        input
            .tests
            .iter()
            .map(|t| {
                UniverseTest::new(
                    t.id.as_str(),
                    t.category.as_str(),
                    t.bugs.iter().map(|b| BugId::new(b.as_str())),
                )
            })
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let graph = BugGraph::new(&manifest, &universe).map_err(|e| e.to_string())?;

    let mut tests = Vec::with_capacity(input.tests.len());
    for t in &input.tests {
        let category = config.category_index(&t.category).ok_or_else(|| {
            let known: Vec<&str> = config
                .categories()
                .iter()
                .map(|(c, _)| c.as_str())
                .collect();
            format!(
                "test `{}`: unknown category `{}` (preset {} knows {})",
                t.id,
                t.category,
                preset,
                known.join(", ")
            )
        })?;
        tests.push(TestState::new(category, t.passed));
    }
    let outcomes = Outcomes::from_passed(input.tests.iter().map(|t| t.passed).collect());
    let bugs: Vec<BugState> = graph
        .progress(&outcomes)
        .iter()
        .map(|p| BugState::new(p.passed, p.total, p.unfixed_prerequisites))
        .collect();
    let baseline: Vec<bool> = input.tests.iter().map(|t| t.passed_at_baseline).collect();
    let grading = Grading {
        tests: &tests,
        bugs: &bugs,
        step: input.step,
    };
    let r = config
        .compute(&grading, Some(&baseline))
        .map_err(|e| e.to_string())?;
    let output = Output {
        test_pass_score: r.test_pass_score,
        completion_bonus: r.completion_bonus,
        bug_bonus: r.bug_bonus,
        efficiency_bonus: r.efficiency_bonus,
        regression_penalty: r.regression_penalty,
        total: r.total,
    };
    serde_json::to_string(&output).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = execute(&args);
    print!("{}", run.stdout);
    eprint!("{}", run.stderr);
    ExitCode::from(run.status)
}
