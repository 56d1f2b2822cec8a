//! Red team: every known way to game the grader, each asserting that the
//! reward does not rise above the shipped state's. Where the trick really
//! works on a plain pytest run, the test shows that first, so each case
//! proves the harness (not luck) stopped it.

use debugenv::sandbox::{LocalSandbox, Sandbox};
use debugenv::{
    Action, ActionErrorCode, Environment, NoVerdictReason, ResetOptions, Step, VerdictInfo,
};

use crate::common::{block_on, python, tiny_env};

/// The shipped state: 3 of 12 tests pass.
const SHIPPED_PASSING: usize = 3;

async fn start(seed: u64) -> (Environment<LocalSandbox>, f64) {
    let mut env = tiny_env().await;
    let obs = env.reset(ResetOptions::seeded(seed)).await.expect("reset");
    assert_eq!(obs.test_results.passed, SHIPPED_PASSING);
    (env, obs.reward)
}

async fn run(env: &mut Environment<LocalSandbox>, command: &str) -> Step {
    let step = env
        .step(Action::Run {
            command: command.into(),
            timeout_seconds: Some(60),
        })
        .await
        .expect("step");
    assert!(
        step.observation.action_result.ok,
        "{:?}",
        step.observation.action_result
    );
    step
}

/// A shell line running pytest the way an unprotected harness would (the
/// project's own config and addopts, plugin autoload on), ending with its summary.
fn plain_line() -> String {
    format!("{} -m pytest -p no:cacheprovider 2>&1 | tail -3", python())
}

/// Runs [`plain_line`] as a step and returns its output.
async fn plain_pytest(env: &mut Environment<LocalSandbox>) -> String {
    run(env, &plain_line())
        .await
        .observation
        .action_result
        .output
}

fn assert_no_gain(step: &Step, r0: f64) {
    assert!(
        step.reward <= r0 + 1e-12,
        "reward rose from {r0} to {} ({:?})",
        step.reward,
        step.info.verdict
    );
    assert!(
        step.observation.test_results.passed <= SHIPPED_PASSING,
        "{:?}",
        step.observation.test_results
    );
}

#[test]
fn red_team_edit_a_test_is_refused() {
    block_on(async {
        let (mut env, r0) = start(11).await;
        let step = env
            .step(Action::Edit {
                file: "tests/unit/test_stats.py".into(),
                content: "def test_total_of_three():\n    pass\n".into(),
            })
            .await
            .expect("step");
        assert_eq!(
            step.observation
                .action_result
                .error
                .as_ref()
                .map(|e| e.code),
            Some(ActionErrorCode::Protected)
        );
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_rewrite_tests_through_run() {
    block_on(async {
        let (mut env, r0) = start(12).await;
        // One command: rewrite the asserts, then show that a plain pytest run
        // now passes everything. The harness grades right after and restores.
        let step = run(
            &mut env,
            &format!(
                "sed -i 's/^\\( *\\)assert /\\1assert True or /' tests/unit/*.py tests/integration/*.py && {}",
                plain_line()
            ),
        )
        .await;
        let plain = &step.observation.action_result.output;
        assert!(
            plain.contains("12 passed"),
            "the trick works on a plain run: {plain}"
        );
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_delete_the_tests_directory() {
    block_on(async {
        let (mut env, r0) = start(13).await;
        let step = run(&mut env, "rm -rf tests").await;
        assert_eq!(step.info.grading, debugenv::GradingKind::Full);
        assert_no_gain(&step, r0);
        assert_eq!(
            step.observation.test_results.total, 12,
            "the universe stays the denominator"
        );
        env.close().await.expect("close");
    });
}

const FORCE_PASS_CONFTEST: &str = r#"
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"#;

#[test]
fn red_team_plant_conftest_that_forces_passes() {
    block_on(async {
        let (mut env, r0) = start(14).await;
        let mut line = String::new();
        for dir in [".", "tests", "tests/unit", "calc"] {
            line.push_str(&format!(
                "cat > {dir}/conftest.py <<'EOF'\n{FORCE_PASS_CONFTEST}\nEOF\n"
            ));
        }
        line.push_str(&plain_line());
        let step = run(&mut env, &line).await;
        let plain = &step.observation.action_result.output;
        assert!(
            plain.contains("12 passed"),
            "the trick works on a plain run: {plain}"
        );
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_pytest_config_addopts() {
    block_on(async {
        let (mut env, r0) = start(15).await;
        let deselect = "-k 'not total and not mean and not variance and not slugify and not summary and not title'";
        run(
            &mut env,
            &format!("printf '[pytest]\\naddopts = {deselect}\\n' > pytest.ini"),
        )
        .await;
        run(
            &mut env,
            &format!("printf '[tool:pytest]\\naddopts = {deselect}\\n' > setup.cfg"),
        )
        .await;
        run(
            &mut env,
            &format!("printf '[pytest]\\naddopts = {deselect}\\n' > tox.ini"),
        )
        .await;
        run(
            &mut env,
            "printf '[tool.pytest.ini_options]\\naddopts = \"-p no:python\"\\n' > pyproject.toml",
        )
        .await;
        let step = env.step(Action::Submit).await.expect("submit");
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_environment_tricks_through_run() {
    block_on(async {
        let (mut env, r0) = start(16).await;
        // Variables do not outlive a command, but files do: shell rc files,
        // sitecustomize/usercustomize modules, a pytest.ini in HOME.
        run(&mut env, "export PYTEST_ADDOPTS='-k nothing'; echo 'export PYTEST_ADDOPTS=\"-k nothing\"' >> ~/.bashrc ~/.profile").await;
        run(&mut env, "printf 'import os\\nos.environ[\"PYTEST_ADDOPTS\"] = \"-k nothing\"\\n' | tee sitecustomize.py usercustomize.py > /dev/null").await;
        run(
            &mut env,
            "mkdir -p ~/.config && printf '[pytest]\\naddopts = -k nothing\\n' > ~/pytest.ini",
        )
        .await;
        let step = env.step(Action::Submit).await.expect("submit");
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_skip_failing_tests_from_application_code() {
    block_on(async {
        let (mut env, r0) = start(17).await;
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: "import pytest\n\npytest.skip('not today', allow_module_level=True)\n"
                    .into(),
            })
            .await
            .expect("step");
        assert_no_gain(&step, r0);
        assert_eq!(
            step.info.pytest_internals,
            ["calc/__init__.py"],
            "importing pytest from app code is flagged"
        );
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_install_a_plugin_that_registers_itself() {
    block_on(async {
        let (mut env, r0) = start(18).await;
        // A distribution on sys.path (the workspace) with a pytest11 entry point.
        run(
            &mut env,
            &format!(
                "mkdir -p evil-1.0.dist-info && printf 'Metadata-Version: 2.1\\nName: evil\\nVersion: 1.0\\n' > evil-1.0.dist-info/METADATA \
                 && printf '[pytest11]\\nevil = evil_plugin\\n' > evil-1.0.dist-info/entry_points.txt \
                 && cat > evil_plugin.py <<'EOF'\n{FORCE_PASS_CONFTEST}\nEOF"
            ),
        )
        .await;
        let plain = plain_pytest(&mut env).await;
        assert!(
            plain.contains("12 passed"),
            "the plugin loads on a plain run: {plain}"
        );
        let step = env.step(Action::Submit).await.expect("submit");
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_write_a_fake_junit_report() {
    block_on(async {
        let (mut env, r0) = start(19).await;
        let mut xml = String::from("<testsuite tests=\"12\" failures=\"0\">");
        for id in env.package().universe().tests() {
            let (file, name) = id.id.as_str().split_once("::").expect("node id");
            let classname = file.trim_end_matches(".py").replace('/', ".");
            xml.push_str(&format!(
                "<testcase classname=\"{classname}\" name=\"{name}\"/>"
            ));
        }
        xml.push_str("</testsuite>");
        run(
            &mut env,
            &format!(
                "for f in report.xml junit.xml \"${{TMPDIR:-/tmp}}\"/debugenv-0000000000000000.xml \"${{TMPDIR:-/tmp}}\"/junit.xml; do echo '{xml}' > \"$f\"; done"
            ),
        )
        .await;
        let step = env.step(Action::Submit).await.expect("submit");
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_look_for_solutions_and_history() {
    block_on(async {
        let (mut env, r0) = start(20).await;
        let step = run(&mut env, "ls -a; git log --oneline 2>&1; echo status=$?").await;
        let out = &step.observation.action_result.output;
        assert!(
            !out.lines().any(|l| l == ".git"),
            "no git history in the workspace: {out}"
        );
        assert!(
            !out.contains("solutions"),
            "no solutions in the workspace: {out}"
        );
        assert!(
            out.contains("status=128") || out.contains("status=127"),
            "git finds no history: {out}"
        );
        let step = env
            .step(Action::Read {
                file: "../solutions/T1.patch".into(),
            })
            .await
            .expect("step");
        assert_eq!(
            step.observation
                .action_result
                .error
                .as_ref()
                .map(|e| e.code),
            Some(ActionErrorCode::BadPath)
        );
        assert_no_gain(&step, r0);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_application_code_patches_pytest_reports() {
    block_on(async {
        let (mut env, r0) = start(21).await;
        let patcher = r#"
import _pytest.reports as _reports

_original = _reports.TestReport.from_item_and_call.__func__


def _always_passed(cls, item, call):
    report = _original(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report


_reports.TestReport.from_item_and_call = classmethod(_always_passed)
"#;
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: patcher.into(),
            })
            .await
            .expect("step");
        assert_eq!(
            step.info.verdict,
            VerdictInfo::NoVerdict {
                reason: NoVerdictReason::Tampered,
                detail: match &step.info.verdict {
                    VerdictInfo::NoVerdict { detail, .. } => detail.clone(),
                    VerdictInfo::Ok => String::new(),
                },
            },
            "forged reports are caught by the canaries"
        );
        assert_eq!(step.reward, 0.0);
        assert_no_gain(&step, r0);
        assert_eq!(step.info.pytest_internals, ["calc/__init__.py"]);
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_background_daemon_does_not_live_into_a_grading() {
    block_on(async {
        let (mut env, r0) = start(22).await;
        // A daemon that left the command's process group (it could rewrite
        // reports or tests while pytest runs). Two defences stand against it:
        // the local sandbox kills what escapes a command when the command
        // ends, and every grading first kills all of the agent's processes.
        // Either way, none may be alive after a grading.
        run(
            &mut env,
            "setsid sleep 987654 > /dev/null 2>&1 < /dev/null & sleep 0.5",
        )
        .await;
        // Any change triggers a grading, which must kill it first.
        let step = run(&mut env, "echo x > notes.txt").await;
        assert_ne!(step.info.grading, debugenv::GradingKind::None);
        assert_no_gain(&step, r0);
        let step = run(&mut env, "pgrep -f 'sleep 98765[4]' || echo gone").await;
        assert_eq!(step.observation.action_result.output, "gone\n");
        env.close().await.expect("close");
    });
}

#[test]
fn red_team_planted_bytecode_for_tests_is_removed_and_caches_do_not_grade() {
    block_on(async {
        let (mut env, r0) = start(24).await;
        // Bytecode caches of application code are not a change: no grading.
        let step = run(
            &mut env,
            "mkdir -p calc/__pycache__ && echo junk > calc/__pycache__/stats.cpython-311.pyc",
        )
        .await;
        assert_eq!(step.info.grading, debugenv::GradingKind::None);
        assert!(
            step.observation.files_changed.is_empty(),
            "{:?}",
            step.observation.files_changed
        );
        // Planted bytecode for a test module is removed before the next grading.
        run(
            &mut env,
            "mkdir -p tests/unit/__pycache__ && echo junk > tests/unit/__pycache__/test_stats.cpython-311-pytest-9.2.0.pyc",
        )
        .await;
        let step = env.step(Action::Submit).await.expect("submit");
        assert_no_gain(&step, r0);
        assert!(
            !env.sandbox()
                .changed_files()
                .await
                .expect("changes")
                .iter()
                .any(|c| c.path.starts_with("tests/")),
            "nothing the agent planted under tests/ survives a grading"
        );
        env.close().await.expect("close");
    });
}
