//! Gradings without a verdict: a timeout or a crash earns 0, keeps the
//! outcomes and never counts as a regression.

use std::sync::Arc;
use std::time::Duration;

use debugenv::{Action, NoVerdictReason, ResetOptions, VerdictInfo};

use crate::common::{block_on, env_for, fixed_content, tiny};

fn reason(step: &debugenv::Step) -> Option<NoVerdictReason> {
    match &step.info.verdict {
        VerdictInfo::NoVerdict { reason, .. } => Some(*reason),
        VerdictInfo::Ok => None,
    }
}

#[test]
fn timeout_and_crash_are_no_verdicts_that_keep_outcomes_and_baseline() {
    block_on(async {
        let base = tiny();
        let package = Arc::new(
            base.as_ref()
                .clone()
                .with_test_timeout(Duration::from_secs(3)),
        );
        let mut env = env_for(package).await;
        env.reset(ResetOptions::seeded(51)).await.expect("reset");
        // Progress first: T1 fixed.
        let step = env
            .step(Action::Edit {
                file: "calc/stats.py".into(),
                content: fixed_content(&base, "calc/stats.py", &["T1"]),
            })
            .await
            .expect("step");
        let good = step.reward;
        let passing = env.passed().expect("episode").to_vec();
        assert_eq!(step.observation.test_results.passed, 6);

        // Importing the package hangs: the run times out.
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: "import time\n\ntime.sleep(600)\n".into(),
            })
            .await
            .expect("step");
        assert_eq!(
            reason(&step),
            Some(NoVerdictReason::Timeout),
            "{:?}",
            step.info.verdict
        );
        assert_eq!(step.reward, 0.0);
        assert!(step.info.breakdown.is_none());
        assert_eq!(
            env.passed().expect("episode"),
            &passing[..],
            "outcomes kept"
        );
        assert_eq!(step.observation.test_results.passed, 6);

        // Importing the package kills the interpreter: a crash.
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
                    .into(),
            })
            .await
            .expect("step");
        assert_eq!(
            reason(&step),
            Some(NoVerdictReason::Crash),
            "{:?}",
            step.info.verdict
        );
        assert_eq!(step.reward, 0.0);
        assert_eq!(
            env.passed().expect("episode"),
            &passing[..],
            "outcomes kept"
        );

        // Back to a working package: the baseline is the last verdict, so
        // nothing counts as regressed and the reward comes back.
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: "\"\"\"calc.\"\"\"\n".into(),
            })
            .await
            .expect("step");
        assert_eq!(step.info.verdict, VerdictInfo::Ok);
        let b = step.info.breakdown.as_ref().expect("breakdown");
        assert_eq!(b.regression_penalty, 0.0);
        assert!(b.details.regressed.is_empty());
        assert_eq!(step.observation.test_results.passed, 6);
        assert!(
            step.reward <= good && step.reward > 0.0,
            "{} vs {good}",
            step.reward
        );
        env.close().await.expect("close");
    });
}

#[test]
fn a_project_that_cannot_start_scores_nothing_but_has_a_verdict() {
    block_on(async {
        // A variant of the tiny package whose conftest imports the application:
        // when the application cannot import, pytest stops before any test
        // (exit 4, no report). That is the project's state, not a crash.
        let dir = tempfile::tempdir().expect("tempdir");
        crate::package::copy_dir(&crate::common::tiny_dir(), dir.path());
        let conftest = dir.path().join("project/conftest.py");
        let text = std::fs::read_to_string(&conftest).expect("read");
        std::fs::write(
            &conftest,
            format!("import calc.stats  # noqa: F401\n{text}"),
        )
        .expect("write");
        let package = Arc::new(
            debugenv::Package::load(dir.path())
                .expect("loads")
                .with_python(crate::common::python()),
        );
        let mut env = env_for(package).await;
        let obs = env.reset(ResetOptions::seeded(52)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3);
        let step = env
            .step(Action::Edit {
                file: "calc/stats.py".into(),
                content: "def total(:\n".into(),
            })
            .await
            .expect("step");
        assert_eq!(
            step.info.verdict,
            VerdictInfo::Ok,
            "a verdict: nothing passes"
        );
        assert_eq!(step.observation.test_results.passed, 0);
        let failed = &step.observation.test_results.failures[0];
        assert_eq!(step.observation.test_results.failed_tests[0], failed.id);
        assert!(
            failed.message.contains("pytest exited with 4"),
            "{failed:?}"
        );
        let b = step.info.breakdown.as_ref().expect("breakdown");
        assert_eq!(
            b.details.regressed.len(),
            3,
            "the 3 shipped passes regressed"
        );
        env.close().await.expect("close");
    });
}
