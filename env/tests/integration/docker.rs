//! The same environment on the Docker backend: an oracle episode, a forged
//! report and a daemon. Needs a Docker engine and the tiny package's image
//! (`.ci/parts/40-env.sh` builds it and runs these with `--ignored`).

use std::sync::Arc;

use debugenv::sandbox::docker::{self, DockerOptions, DockerSandbox};
use debugenv::{
    Action, Environment, GradingKind, NoVerdictReason, Package, ResetOptions, VerdictInfo,
};

use crate::common::{block_on, fixed_content, tiny_dir};

async fn docker_env() -> Environment<DockerSandbox> {
    docker_env_of(Arc::new(Package::load(tiny_dir()).expect("loads"))).await
}

async fn docker_env_of(package: Arc<Package>) -> Environment<DockerSandbox> {
    let image =
        std::env::var("DEBUGENV_TINY_IMAGE").unwrap_or_else(|_| "debugenv-tiny:latest".into());
    let package = Arc::new(package.as_ref().clone().with_python("/opt/venv/bin/python"));
    let opts = DockerOptions::new(image);
    let engine = docker::connect(&opts).await.expect("a Docker engine");
    let sandbox = DockerSandbox::create(&engine, &package.sandbox_spec().expect("spec"), &opts)
        .await
        .expect("a container from the tiny image");
    Environment::new(package, sandbox)
}

#[test]
#[ignore = "needs Docker and the tiny image (DEBUGENV_TINY_IMAGE); run by .ci/parts/40-env.sh"]
fn docker_oracle_episode_terminates() {
    block_on(async {
        let mut env = docker_env().await;
        let package = env.package().clone();
        let obs = env.reset(ResetOptions::seeded(71)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3);
        let mut last = obs.reward;
        for (file, bugs) in [
            ("calc/stats.py", vec!["T1"]),
            ("calc/stats.py", vec!["T1", "T2"]),
            ("calc/text.py", vec!["T3"]),
        ] {
            let content = fixed_content(&package, file, &bugs);
            let step = env
                .step(Action::Edit {
                    file: file.into(),
                    content,
                })
                .await
                .expect("step");
            assert_eq!(
                step.info.verdict,
                VerdictInfo::Ok,
                "{:?}",
                step.info.verdict
            );
            assert!(step.reward > last, "{} <= {last}", step.reward);
            last = step.reward;
        }
        assert_eq!(
            env.passed()
                .expect("episode")
                .iter()
                .filter(|p| **p)
                .count(),
            12
        );
        // A new episode starts from the shipped project again.
        let obs = env.reset(ResetOptions::seeded(72)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3);
        env.close().await.expect("close");
    });
}

#[test]
#[ignore = "needs Docker and the tiny image (DEBUGENV_TINY_IMAGE); run by .ci/parts/40-env.sh"]
fn docker_forged_reports_and_daemons_gain_nothing() {
    block_on(async {
        let mut env = docker_env().await;
        let r0 = env
            .reset(ResetOptions::seeded(73))
            .await
            .expect("reset")
            .reward;
        // A daemon that escaped its command's group.
        let step = env
            .step(Action::Run {
                command: "setsid sleep 987654 > /dev/null 2>&1 < /dev/null & sleep 0.5".into(),
                timeout_seconds: Some(30),
            })
            .await
            .expect("step");
        assert!(step.observation.action_result.ok);
        // Application code that rewrites every report to "passed".
        let patcher = "import _pytest.reports as r\n\
            _o = r.TestReport.from_item_and_call.__func__\n\
            def _p(cls, item, call):\n    rep = _o(cls, item, call)\n    rep.outcome = 'passed'\n    rep.longrepr = None\n    return rep\n\
            r.TestReport.from_item_and_call = classmethod(_p)\n";
        let step = env
            .step(Action::Edit {
                file: "calc/__init__.py".into(),
                content: patcher.into(),
            })
            .await
            .expect("step");
        assert_eq!(step.info.grading, GradingKind::Full);
        match &step.info.verdict {
            VerdictInfo::NoVerdict { reason, .. } => assert_eq!(*reason, NoVerdictReason::Tampered),
            VerdictInfo::Ok => panic!("a forged report was accepted"),
        }
        assert!(step.reward <= r0);
        let step = env
            .step(Action::Run {
                command: "pgrep -f 'sleep 98765[4]' || echo gone".into(),
                timeout_seconds: Some(30),
            })
            .await
            .expect("step");
        assert_eq!(step.observation.action_result.output, "gone\n");
        env.close().await.expect("close");
    });
}

#[test]
#[ignore = "needs Docker and the tiny image (DEBUGENV_TINY_IMAGE); run by .ci/parts/40-env.sh"]
fn docker_sharded_episode_terminates_with_a_private_redis_per_shard() {
    block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let package = crate::shards::sharded_tiny(dir.path());
        let mut env =
            docker_env_of(Arc::new(package.as_ref().clone().without_affected_map())).await;
        let obs = env.reset(ResetOptions::seeded(73)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3, "{:?}", obs.test_results);
        let mut last = None;
        for (file, bugs) in [
            ("calc/stats.py", vec!["T1", "T2"]),
            ("calc/text.py", vec!["T3"]),
        ] {
            let content = fixed_content(&package, file, &bugs);
            let step = env
                .step(Action::Edit {
                    file: file.into(),
                    content,
                })
                .await
                .expect("step");
            assert_eq!(
                step.info.verdict,
                VerdictInfo::Ok,
                "{:?}",
                step.info.verdict
            );
            assert_eq!(step.info.grading, GradingKind::Full);
            last = Some(step);
        }
        assert!(last.expect("steps").terminated);
        env.close().await.expect("close");
    });
}

#[test]
#[ignore = "needs Docker and the tiny image (DEBUGENV_TINY_IMAGE); run by .ci/parts/40-env.sh"]
fn docker_preloaded_gradings_fork_from_a_resident_server_that_the_agent_cannot_keep() {
    block_on(async {
        let package = Package::load(tiny_dir())
            .expect("loads")
            .with_preload(vec!["pytest".into(), "_pytest.python".into()]);
        let mut env = docker_env_of(Arc::new(package)).await;
        let package = env.package().clone();
        let obs = env.reset(ResetOptions::seeded(73)).await.expect("reset");
        assert_eq!(obs.test_results.passed, 3);
        let fix = |bugs: &[&str]| Action::Edit {
            file: "calc/stats.py".into(),
            content: fixed_content(&package, "calc/stats.py", bugs),
        };
        // A verdict, and whether the grading was forked from the server.
        let graded = |step: &debugenv::Step, preloaded: bool, what: &str| {
            assert_eq!(
                step.info.verdict,
                VerdictInfo::Ok,
                "{what}: {:?}",
                step.info.verdict
            );
            assert_eq!(step.info.preloaded, preloaded, "{what}");
        };
        let step = env.step(fix(&["T1"])).await.expect("step");
        graded(
            &step,
            true,
            "the first edit's grading was not forked from the server",
        );
        let after_t1 = env.passed().expect("episode").to_vec();
        // The agent kills every process it can see: the next grading runs
        // cold with the same outcomes, the one after is forked again.
        let step = env
            .step(Action::Run {
                command: "echo scratch > scratch.txt; kill -KILL -1; true".into(),
                timeout_seconds: Some(30),
            })
            .await
            .expect("step");
        assert_eq!(
            step.info.grading,
            GradingKind::Full,
            "a command is graded in full"
        );
        graded(&step, false, "a killed server cannot have served");
        assert_eq!(env.passed().expect("episode"), &after_t1[..]);
        let step = env.step(fix(&["T1", "T2"])).await.expect("step");
        graded(&step, true, "no new server after the old one was killed");
        assert_eq!(step.observation.test_results.passed, 9);
        env.close().await.expect("close");
    });
}
