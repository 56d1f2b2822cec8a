//! Sharded gradings (`[tests.shards]`): the same outcomes as one pytest
//! process, canaries in every shard, nothing left behind.

use std::path::Path;
use std::sync::Arc;

use debugenv::sandbox::Sandbox;
use debugenv::{Action, GradingKind, NoVerdictReason, Package, ResetOptions, VerdictInfo};

use crate::common::{block_on, env_for, fixed_content, python, tiny, tiny_dir};
use crate::package::copy_dir;

/// The tiny package with two shards for every grading (`min_tests = 1`), a
/// Redis for the sandbox and a private one for the second shard.
pub(crate) fn sharded_tiny(dir: &Path) -> Arc<Package> {
    copy_dir(&tiny_dir(), dir);
    let toml = dir.join("environment.toml");
    let text = std::fs::read_to_string(&toml).expect("environment.toml");
    let text = text.replacen(
        "max_steps = 20\n",
        "max_steps = 20\nservices = [\"redis\"]\n",
        1,
    ) + "\n[tests.shards]\ncount = 2\nmin_tests = 1\nprivate_redis = true\n\
           env = { TINY_SHARD = \"{shard}\" }\n";
    std::fs::write(&toml, text).expect("write environment.toml");
    let p = Package::load(dir)
        .expect("the sharded tiny package loads")
        .with_python(python());
    assert_eq!(p.spec().tests.shards.count, 2);
    Arc::new(p)
}

#[test]
fn sharded_gradings_equal_single_process_ones() {
    block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sharded = sharded_tiny(dir.path());
        // Full gradings only: the per-step outcomes are those of the whole suite.
        let mut a = env_for(Arc::new(sharded.as_ref().clone().without_affected_map())).await;
        let mut b = env_for(Arc::new(tiny().as_ref().clone().without_affected_map())).await;
        let oa = a.reset(ResetOptions::seeded(5)).await.expect("reset");
        let ob = b.reset(ResetOptions::seeded(5)).await.expect("reset");
        assert_eq!(a.passed(), b.passed());
        assert_eq!(oa.test_results.passed, 3, "{:?}", oa.test_results);
        assert_eq!(oa.reward, ob.reward);
        let base = tiny();
        let edits = [
            (
                "calc/stats.py",
                fixed_content(&base, "calc/stats.py", &["T1"]),
            ),
            ("calc/text.py", "import no_such_module\n".to_owned()),
            (
                "calc/text.py",
                fixed_content(&base, "calc/text.py", &["T3"]),
            ),
            (
                "calc/stats.py",
                fixed_content(&base, "calc/stats.py", &["T1", "T2"]),
            ),
        ];
        let mut last = None;
        for (file, content) in edits {
            let action = Action::Edit {
                file: file.into(),
                content,
            };
            let sa = a.step(action.clone()).await.expect("sharded step");
            let sb = b.step(action).await.expect("single step");
            assert_eq!(sa.info.verdict, VerdictInfo::Ok, "{file}");
            assert_eq!(sa.info.grading, GradingKind::Full);
            assert_eq!(a.passed(), b.passed(), "after editing {file}");
            assert_eq!(
                sa.observation.test_results.failed_tests,
                sb.observation.test_results.failed_tests
            );
            assert_eq!(sa.reward, sb.reward, "after editing {file}");
            last = Some(sa);
        }
        let last = last.expect("steps");
        assert!(last.terminated, "every bug fixed: {:?}", last.observation);
        // Nothing of the shards is left: no report, status or output file,
        // no private Redis directory, no canary, no Redis server but the
        // sandbox's own.
        let left = a
            .sandbox()
            .exec(&debugenv::sandbox::Command::shell(
                "ls -a \"${TMPDIR:-/tmp}\" | grep -c '^debugenv-' ; \
                 ls tests/unit | grep -c '^test_[0-9a-f]\\{16\\}\\.py$'; \
                 pgrep -c -x redis-server -u \"$(id -u)\" || true",
            ))
            .await
            .expect("exec");
        let words: Vec<String> = left
            .stdout_text()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        assert_eq!(&words[..2], ["0", "0"], "leftovers: {}", left.stdout_text());
        a.close().await.expect("close");
        b.close().await.expect("close");
    });
}

#[test]
fn red_team_sharded_forged_reports_are_tampered() {
    block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = env_for(sharded_tiny(dir.path())).await;
        env.reset(ResetOptions::seeded(8)).await.expect("reset");
        // Forges only in the second shard: the first one's report is honest.
        let patcher = r#"
import os

if os.environ.get("TINY_SHARD") == "1":
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
        match &step.info.verdict {
            VerdictInfo::NoVerdict { reason, detail } => {
                assert_eq!(*reason, NoVerdictReason::Tampered, "{detail}");
                assert!(detail.contains("shard 2 of 2"), "{detail}");
            }
            VerdictInfo::Ok => panic!("a forged shard was scored: {:?}", step.observation),
        }
        assert_eq!(step.reward, 0.0);
        env.close().await.expect("close");
    });
}
