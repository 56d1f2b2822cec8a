//! Whole episodes on the tiny package: the oracle, invalid actions, limits.

use debugenv::{Action, ActionErrorCode, GradingKind, ResetOptions, VerdictInfo};

use crate::common::{block_on, fixed_content, tiny, tiny_env};

#[test]
fn oracle_episode_terminates_with_rising_reward() {
    block_on(async {
        let package = tiny();
        let mut env = tiny_env().await;
        let obs = env.reset(ResetOptions::seeded(1)).await.expect("reset");
        assert_eq!(obs.test_results.total, 12);
        assert_eq!(obs.test_results.passed, 3);
        assert_eq!(obs.bugs_remaining, ["T1", "T2", "T3"]);
        assert_eq!(obs.bugs_blocked, ["T2"], "T2 waits for T1");
        assert_eq!(obs.step_count, 0);
        let unit = &obs.test_results.by_category[0];
        assert_eq!(
            (unit.name.as_str(), unit.total, unit.passed),
            ("unit", 9, 2)
        );

        let mut last = obs.reward;
        let plan = [
            ("calc/stats.py", vec!["T1"]),
            ("calc/stats.py", vec!["T1", "T2"]),
            ("calc/text.py", vec!["T3"]),
        ];
        for (i, (file, bugs)) in plan.iter().enumerate() {
            let content = fixed_content(&package, file, bugs);
            let step = env
                .step(Action::Edit {
                    file: (*file).into(),
                    content,
                })
                .await
                .expect("step");
            assert!(
                step.observation.action_result.ok,
                "{:?}",
                step.observation.action_result
            );
            // Targeted gradings in between; the one where everything
            // passes is confirmed by a full grading, which alone may terminate.
            let kind = if i == 2 {
                GradingKind::Full
            } else {
                GradingKind::Targeted
            };
            assert_eq!(step.info.grading, kind, "step {i}");
            assert_eq!(step.info.verdict, VerdictInfo::Ok);
            assert!(
                step.reward > last,
                "step {i}: reward {} did not rise above {last}",
                step.reward
            );
            let b = step.info.breakdown.as_ref().expect("breakdown");
            assert_eq!(b.total, step.reward);
            last = step.reward;
            assert_eq!(step.terminated, i == 2, "terminated only when all pass");
            assert!(!step.truncated);
        }
        // All-pass at step 3 of 20 under the talentflow preset weights:
        // 0.40 + 0.25 + 0.25 + 0.05 * (1 - 3/20).
        let expected = 0.40 + 0.25 + 0.25 + 0.05 * (1.0 - 3.0 / 20.0);
        assert!((last - expected).abs() < 1e-12, "{last} vs {expected}");
        let err = env
            .step(Action::Read {
                file: "calc/stats.py".into(),
            })
            .await
            .expect_err("episode over");
        assert!(err.to_string().contains("the episode has ended"), "{err}");
        env.close().await.expect("close");
    });
}

#[test]
fn invalid_actions_are_refused_steps_and_change_nothing() {
    block_on(async {
        let mut env = tiny_env().await;
        let obs = env.reset(ResetOptions::seeded(2)).await.expect("reset");
        let r0 = obs.reward;
        let cases: Vec<(Action, ActionErrorCode)> = vec![
            (
                Action::Read {
                    file: "../../etc/passwd".into(),
                },
                ActionErrorCode::BadPath,
            ),
            (
                Action::Read {
                    file: "/etc/passwd".into(),
                },
                ActionErrorCode::BadPath,
            ),
            (
                Action::Read {
                    file: "calc/nope.py".into(),
                },
                ActionErrorCode::NotFound,
            ),
            (
                Action::Edit {
                    file: "tests/unit/test_stats.py".into(),
                    content: "def test_x(): pass\n".into(),
                },
                ActionErrorCode::Protected,
            ),
            (
                Action::Edit {
                    file: "conftest.py".into(),
                    content: String::new(),
                },
                ActionErrorCode::Protected,
            ),
            (
                Action::Edit {
                    file: "calc/big.py".into(),
                    content: "x".repeat(2 << 20),
                },
                ActionErrorCode::TooLarge,
            ),
            (
                Action::Patch {
                    diff: "not a diff".into(),
                },
                ActionErrorCode::PatchFailed,
            ),
        ];
        let n = cases.len() as u32;
        for (i, (action, code)) in cases.into_iter().enumerate() {
            let step = env
                .step(action)
                .await
                .expect("a refused action is still a step");
            let err = step
                .observation
                .action_result
                .error
                .as_ref()
                .expect("refused");
            assert_eq!(err.code, code, "case {i}: {}", err.message);
            assert_eq!(step.observation.step_count, i as u32 + 1);
            assert_eq!(step.info.grading, GradingKind::None);
            assert_eq!(step.reward, r0);
        }
        let step = env
            .step_json(r#"{"type": "teleport", "to": "mars"}"#)
            .await
            .expect("step");
        let err = step.observation.action_result.error.expect("refused");
        assert_eq!(err.code, ActionErrorCode::InvalidAction);
        assert!(err.message.contains("teleport"), "{}", err.message);
        assert_eq!(step.observation.step_count, n + 1);
        assert!(
            step.observation.files_changed.is_empty(),
            "{:?}",
            step.observation.files_changed
        );
        env.close().await.expect("close");
    });
}

#[test]
fn patch_applies_all_or_nothing() {
    block_on(async {
        let package = tiny();
        let mut env = tiny_env().await;
        env.reset(ResetOptions::seeded(3)).await.expect("reset");
        let t3 = package.solution(&"T3".into()).expect("T3").to_owned();
        // T3's fix plus a hunk on a protected test file: refused as a whole.
        let mixed = format!(
            "{t3}--- a/tests/unit/test_text.py\n+++ b/tests/unit/test_text.py\n@@ -1,3 +1,3 @@\n-import pytest\n+import pytest  # edited\n \n from calc.text import slugify\n"
        );
        let step = env.step(Action::Patch { diff: mixed }).await.expect("step");
        let err = step
            .observation
            .action_result
            .error
            .as_ref()
            .expect("refused");
        assert_eq!(err.code, ActionErrorCode::Protected, "{}", err.message);
        assert!(
            step.observation.files_changed.is_empty(),
            "nothing half-applied"
        );
        // A hunk that does not apply, after one that does: nothing written.
        let bad = format!(
            "{t3}--- a/calc/stats.py\n+++ b/calc/stats.py\n@@ -1,1 +1,1 @@\n-no such line\n+x\n"
        );
        let step = env.step(Action::Patch { diff: bad }).await.expect("step");
        assert_eq!(
            step.observation
                .action_result
                .error
                .as_ref()
                .map(|e| e.code),
            Some(ActionErrorCode::PatchFailed)
        );
        assert!(
            step.observation.files_changed.is_empty(),
            "nothing half-applied"
        );
        // The fix alone applies and is graded.
        let step = env.step(Action::Patch { diff: t3 }).await.expect("step");
        assert!(step.observation.action_result.ok);
        assert_eq!(step.observation.files_changed, ["calc/text.py"]);
        assert!(step.observation.bugs_fixed.contains(&"T3".to_string()));
        env.close().await.expect("close");
    });
}

#[test]
fn reset_with_fixed_bugs_and_truncation() {
    block_on(async {
        let mut env = tiny_env().await;
        let obs = env
            .reset(ResetOptions::seeded(4).with_fixed(["T1", "T3"]))
            .await
            .expect("reset");
        assert_eq!(obs.bugs_fixed, ["T1", "T3"]);
        assert_eq!(obs.bugs_remaining, ["T2"]);
        assert_eq!(obs.test_results.passed, 9);
        // A command that changes nothing is not graded; the 20th step truncates.
        let mut last = None;
        for i in 1..=20 {
            let step = env
                .step(Action::Run {
                    command: "echo hi".into(),
                    timeout_seconds: None,
                })
                .await
                .expect("step");
            assert_eq!(step.observation.action_result.output, "hi\n");
            assert_eq!(step.info.grading, GradingKind::None);
            assert_eq!(step.truncated, i == 20);
            last = Some(step);
        }
        assert!(!last.expect("steps").terminated);
        // A new episode starts from the shipped project again.
        let obs = env.reset(ResetOptions::seeded(5)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3);
        assert!(obs.files_changed.is_empty());
        assert!(
            env.reset(ResetOptions::seeded(5).with_fixed(["T7"]))
                .await
                .is_err()
        );
        env.close().await.expect("close");
    });
}

#[test]
fn run_tests_and_submit() {
    block_on(async {
        let mut env = tiny_env().await;
        env.reset(ResetOptions::seeded(6)).await.expect("reset");
        let step = env
            .step(Action::RunTests {
                tests: vec!["tests/unit/test_text.py".into()],
            })
            .await
            .expect("step");
        let out = &step.observation.action_result.output;
        assert!(out.contains("2 failed, 1 passed"), "{out}");
        assert_eq!(step.info.grading, GradingKind::None);
        let step = env.step(Action::Submit).await.expect("submit");
        assert_eq!(step.info.grading, GradingKind::Full);
        assert!(
            step.truncated && !step.terminated,
            "submitting unfinished work ends the episode"
        );
        env.close().await.expect("close");
    });
}

#[test]
fn step_before_reset_is_an_error() {
    block_on(async {
        let mut env = tiny_env().await;
        let err = env.step(Action::Submit).await.expect_err("no reset");
        assert!(err.to_string().contains("call reset"), "{err}");
        env.close().await.expect("close");
    });
}

#[test]
fn reset_restores_services_home_and_temp_dir() {
    use std::sync::Arc;

    block_on(async {
        // The tiny package with PostgreSQL and Redis.
        let dir = tempfile::tempdir().expect("tempdir");
        crate::package::copy_dir(&crate::common::tiny_dir(), dir.path());
        let env_toml = dir.path().join("environment.toml");
        let text = std::fs::read_to_string(&env_toml).expect("read");
        std::fs::write(
            &env_toml,
            text.replacen(
                "max_steps = 20",
                "max_steps = 20\nservices = [\"postgres\", \"redis\"]",
                1,
            ),
        )
        .expect("write");
        let package = Arc::new(
            debugenv::Package::load(dir.path())
                .expect("loads")
                .with_python(crate::common::python()),
        );
        let mut env = crate::common::env_for(package).await;
        env.reset(ResetOptions::seeded(41)).await.expect("reset");
        let leave_traces = "redis-cli -s \"$REDIS_SOCKET\" SET leftover 1 > /dev/null \
             && psql -X -q -c 'CREATE TABLE leftover (x int)' \
             && psql -X -q -d template1 -c 'CREATE TABLE inherited (x int)' \
             && createdb extra_db \
             && mkdir -p ~/.local/lib && echo x > ~/.local/lib/marker && echo x > \"$TMPDIR/marker\" \
             && echo done";
        let step = env
            .step(Action::Run {
                command: leave_traces.into(),
                timeout_seconds: Some(60),
            })
            .await
            .expect("step");
        assert_eq!(
            step.observation.action_result.output, "done\n",
            "{:?}",
            step.observation.action_result
        );
        env.reset(ResetOptions::seeded(42)).await.expect("reset");
        let look = "redis-cli -s \"$REDIS_SOCKET\" EXISTS leftover; \
             psql -X -At -c \"select count(*) from pg_tables where tablename in ('leftover', 'inherited')\"; \
             psql -X -At -d postgres -c \"select count(*) from pg_database where datname = 'extra_db'\"; \
             ls ~/.local \"$TMPDIR/marker\" 2>/dev/null | wc -l";
        let step = env
            .step(Action::Run {
                command: look.into(),
                timeout_seconds: Some(60),
            })
            .await
            .expect("step");
        assert_eq!(
            step.observation.action_result.output, "0\n0\n0\n0\n",
            "{:?}",
            step.observation.action_result
        );
        env.close().await.expect("close");
    });
}

#[test]
fn json_forms_keep_the_original_api_shape() {
    block_on(async {
        let mut env = tiny_env().await;
        let obs = env.reset(ResetOptions::seeded(61)).await.expect("reset");
        let json = serde_json::to_value(&obs).expect("serializes");
        for key in [
            "test_results",
            "reward",
            "step_count",
            "action_result",
            "bugs_remaining",
        ] {
            assert!(json.get(key).is_some(), "observation lacks `{key}`: {json}");
        }
        let results = &json["test_results"];
        for key in [
            "total",
            "passed",
            "failed",
            "pass_rate",
            "passed_tests",
            "failed_tests",
        ] {
            assert!(results.get(key).is_some(), "test_results lacks `{key}`");
        }
        assert!(
            results["failed_tests"][0].is_string(),
            "failed_tests are node ids"
        );
        assert_eq!(results["total"], 12);
        // Actions in the original form.
        for text in [
            r#"{"type": "read", "file": "calc/stats.py"}"#,
            r#"{"type": "edit", "file": "calc/notes.py", "content": "x = 1\n"}"#,
            r#"{"type": "run_command", "command": "true"}"#,
        ] {
            let step = env.step_json(text).await.expect("step");
            assert!(
                step.observation.action_result.ok,
                "{text}: {:?}",
                step.observation.action_result
            );
        }
        env.close().await.expect("close");
    });
}
