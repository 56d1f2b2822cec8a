//! Tests of `cargo run --example score`: the example's code is compiled into
//! this test through `#[path]`, so every path of it (output, exit status 2 with
//! one stderr line) runs here without spawning cargo.

#[expect(dead_code, reason = "`main` belongs to the example binary only")]
#[path = "../examples/score.rs"]
mod score;

use serde_json::{Value, json};

fn write_input(name: &str, input: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("talentflow-score-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, input.to_string()).expect("write input");
    path.to_string_lossy().into_owned()
}

fn run(name: &str, input: &Value) -> score::Run {
    score::execute(&[write_input(name, input)])
}

fn valid_input() -> Value {
    json!({
        "preset": "talentflow", "step": 3, "max_steps": 100,
        "bugs": [{"id": "S5", "depends_on": []}, {"id": "A1", "depends_on": ["S5"]}],
        "tests": [
            {"id": "tests/unit/test_a.py::test_x", "category": "unit", "bugs": ["A1"], "passed": true, "passed_at_baseline": false},
            {"id": "tests/unit/test_s.py::test_y", "category": "unit", "bugs": ["S5"], "passed": false, "passed_at_baseline": true}
        ]
    })
}

#[test]
fn prints_exactly_the_six_components() {
    let r = run("valid.json", &valid_input());
    assert_eq!(r.status, 0, "stderr: {}", r.stderr);
    assert!(r.stderr.is_empty());
    assert_eq!(r.stdout.lines().count(), 1);
    let out: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    let keys: Vec<&str> = out
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "bug_bonus",
            "completion_bonus",
            "efficiency_bonus",
            "regression_penalty",
            "test_pass_score",
            "total"
        ]
    );
    let get = |k: &str| out[k].as_f64().expect("a number");
    // p = 1/2 -> S = 0.5; unit incomplete -> C = 0; S5: 0, A1: 1 * 0.5^1 -> B = 0.25;
    // E = 0.5 * (1 - 3/100); R = 1/2.
    assert_eq!(get("test_pass_score"), 0.5);
    assert_eq!(get("completion_bonus"), 0.0);
    assert_eq!(get("bug_bonus"), 0.25);
    assert!((get("efficiency_bonus") - 0.485).abs() < 1e-12);
    assert_eq!(get("regression_penalty"), 0.5);
    let expected = 0.40 * 0.5 + 0.25 * 0.25 + 0.05 * 0.485 - 0.15 * 0.5;
    assert!((get("total") - expected).abs() < 1e-12, "{}", get("total"));
}

#[test]
fn all_pass_with_two_categories_gives_the_bound_minus_the_step_cost() {
    let input = json!({
        "preset": "senior", "step": 10, "max_steps": 40,
        "bugs": [{"id": "S5"}, {"id": "A1", "depends_on": ["S5"]}],
        "tests": [
            {"id": "a", "category": "unit", "bugs": ["A1", "S5"], "passed": true, "passed_at_baseline": true},
            {"id": "b", "category": "system", "passed": true}
        ]
    });
    let r = run("allpass.json", &input);
    assert_eq!(r.status, 0, "stderr: {}", r.stderr);
    let out: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    assert_eq!(
        out["total"].as_f64(),
        Some(0.90 + 0.05 * (1.0 - 10.0 / 40.0))
    );
    assert_eq!(out["regression_penalty"].as_f64(), Some(0.0));
}

/// Invalid input: status 2, nothing on stdout, exactly one line on stderr naming the problem.
fn assert_invalid(name: &str, input: &Value, needle: &str) {
    let r = run(name, input);
    assert_eq!(r.status, 2, "{name}: stdout {}", r.stdout);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.starts_with("score: ") && r.stderr.ends_with('\n'),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{name}: {:?} lacks {needle:?}",
        r.stderr
    );
}

#[test]
fn unknown_category_exits_2() {
    let mut input = valid_input();
    input["tests"][0]["category"] = json!("smoke");
    assert_invalid("category.json", &input, "unknown category `smoke`");
}

#[test]
fn unknown_bug_exits_2() {
    let mut input = valid_input();
    input["tests"][0]["bugs"] = json!(["A1", "Z9"]);
    assert_invalid("unknown-bug.json", &input, "names unknown bug `Z9`");
    let mut input = valid_input();
    input["bugs"][1]["depends_on"] = json!(["Q1"]);
    assert_invalid("unknown-dep.json", &input, "depends on unknown bug `Q1`");
}

#[test]
fn cycle_exits_2() {
    let mut input = valid_input();
    input["bugs"][0]["depends_on"] = json!(["A1"]);
    assert_invalid("cycle.json", &input, "dependency cycle: A1 -> S5 -> A1");
}

#[test]
fn bug_without_tests_exits_2() {
    let mut input = valid_input();
    input["bugs"] = json!([{"id": "S5"}, {"id": "A1", "depends_on": ["S5"]}, {"id": "E1"}]);
    assert_invalid("no-tests.json", &input, "bug `E1` has no tests");
}

#[test]
fn other_bad_input_exits_2() {
    let mut input = valid_input();
    input["preset"] = json!("gold");
    assert_invalid("preset.json", &input, "unknown preset `gold`");
    let mut input = valid_input();
    input["max_steps"] = json!(0);
    assert_invalid("max-steps.json", &input, "max_steps must be at least 1");
    let mut input = valid_input();
    input["tests"] = json!([]);
    input["bugs"] = json!([]);
    assert_invalid("empty.json", &input, "the test universe is empty");
    let mut input = valid_input();
    input["tests"][0]["passd"] = json!(true);
    assert_invalid("typo.json", &input, "unknown field `passd`");
    let path = write_input("broken.json", &json!(null));
    std::fs::write(&path, "{\"preset\":\n").expect("write");
    let r = score::execute(&[path]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    let r = score::execute(&["/nonexistent/input.json".to_owned()]);
    assert_eq!((r.status, r.stderr.lines().count()), (2, 1));
    assert!(
        r.stderr.contains("cannot read /nonexistent/input.json"),
        "{}",
        r.stderr
    );
    let r = score::execute(&[]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("usage"), "{}", r.stderr);
}
