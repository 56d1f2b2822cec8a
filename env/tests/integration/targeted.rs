//! Targeted grading equals a cold full run after a random sequence of edits.

use debugenv::{Action, GradingKind, ResetOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{block_on, env_for, fixed_content, tiny};

#[test]
fn targeted_outcomes_equal_a_cold_full_run_after_random_edits() {
    block_on(async {
        let base = tiny();
        assert!(
            base.has_affected_map(),
            "the tiny package ships affected.json"
        );
        let targeted = std::sync::Arc::new(base.as_ref().clone().with_full_every(1000));
        let full = std::sync::Arc::new(base.as_ref().clone().without_affected_map());
        let mut a = env_for(targeted).await;
        let mut b = env_for(full).await;
        a.reset(ResetOptions::seeded(31)).await.expect("reset");
        b.reset(ResetOptions::seeded(32)).await.expect("reset");

        let stats = [
            fixed_content(&base, "calc/stats.py", &[]),
            fixed_content(&base, "calc/stats.py", &["T1"]),
            fixed_content(&base, "calc/stats.py", &["T2"]),
            fixed_content(&base, "calc/stats.py", &["T1", "T2"]),
            "def total(:\n".to_owned(), // a syntax error: collection fails
        ];
        let text = [
            fixed_content(&base, "calc/text.py", &[]),
            fixed_content(&base, "calc/text.py", &["T3"]),
            "import no_such_module\n".to_owned(),
        ];
        let mut rng = StdRng::seed_from_u64(2026);
        let mut kinds = Vec::new();
        for i in 0..14 {
            let (file, content) = if rng.random_bool(0.5) {
                (
                    "calc/stats.py",
                    stats[rng.random_range(0..stats.len())].clone(),
                )
            } else {
                (
                    "calc/text.py",
                    text[rng.random_range(0..text.len())].clone(),
                )
            };
            let action = Action::Edit {
                file: file.into(),
                content,
            };
            let sa = a.step(action.clone()).await.expect("targeted step");
            let sb = b.step(action).await.expect("full step");
            assert_ne!(sb.info.grading, GradingKind::Targeted);
            kinds.push(sa.info.grading);
            assert_eq!(
                a.passed(),
                b.passed(),
                "step {i} ({file}): targeted {:?} vs full {:?}",
                sa.info.grading,
                sb.info.grading
            );
            if sa.terminated || sb.terminated {
                assert_eq!(sa.terminated, sb.terminated);
                break;
            }
        }
        assert!(
            kinds.contains(&GradingKind::Targeted),
            "some gradings were targeted: {kinds:?}"
        );
        a.close().await.expect("close");
        b.close().await.expect("close");
    });
}

#[test]
fn changes_outside_the_map_force_a_full_grading() {
    block_on(async {
        let package = std::sync::Arc::new(tiny().as_ref().clone().with_full_every(1000));
        let mut env = env_for(package).await;
        env.reset(ResetOptions::seeded(33)).await.expect("reset");
        for (file, content) in [
            ("calc/helpers.py", "X = 1\n"), // a new module: not in the map
            ("calc/__init__.py", "\"\"\"calc.\"\"\"\n"), // package init: full_on
            ("README.md", "# calc\n"),      // not Python
        ] {
            let step = env
                .step(Action::Edit {
                    file: file.into(),
                    content: content.into(),
                })
                .await
                .expect("step");
            assert_eq!(step.info.grading, GradingKind::Full, "{file}");
        }
        env.close().await.expect("close");
    });
}

/// `tests.reuse_args` go to every grading after edits only; the others (the
/// reset's, after a `Run`, after a change under `tests.fresh_on`) get
/// `tests.fresh_args`. Each deselects a different test, so the outcomes show
/// which one ran.
#[test]
fn reuse_args_after_edits_only_fresh_args_otherwise() {
    block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::package::copy_dir(&crate::common::tiny_dir(), dir.path());
        let toml = dir.path().join("environment.toml");
        let text = std::fs::read_to_string(&toml).expect("environment.toml");
        let text = text.replacen(
            "full_every = 5\n",
            "full_every = 1000\nreuse_args = [\"-k\", \"not test_mean\"]\n\
             fresh_args = [\"-k\", \"not test_variance\"]\nfresh_on = [\"calc/__init__.py\"]\n",
            1,
        );
        std::fs::write(&toml, text).expect("write");
        let package = std::sync::Arc::new(
            debugenv::Package::load(dir.path())
                .expect("loads with reuse_args, fresh_args and fresh_on")
                .with_python(crate::common::python()),
        );
        let spec = &package.spec().tests;
        assert_eq!(spec.reuse_args, ["-k", "not test_mean"]);
        assert_eq!(spec.fresh_args, ["-k", "not test_variance"]);
        assert!(package.forces_fresh("calc/__init__.py"));
        assert!(!package.forces_fresh("calc/stats.py"));
        let id = |name: &str| {
            package
                .universe()
                .position(&format!("tests/unit/test_stats.py::{name}"))
                .expect("in the universe")
        };
        let (mean, variance) = (id("test_mean"), id("test_variance"));
        let fixed = fixed_content(&package, "calc/stats.py", &["T1", "T2"]);
        let init = fixed_content(&package, "calc/__init__.py", &[]);
        let mut env = env_for(package.clone()).await;
        env.reset(ResetOptions::seeded(34)).await.expect("reset");

        let edit = |file: &str, content: String| Action::Edit {
            file: file.into(),
            content,
        };
        // (action, grading kind, whether reuse_args were used)
        let plan = [
            (
                edit("calc/stats.py", fixed.clone()),
                GradingKind::Targeted,
                true,
            ),
            // full (full_on) and fresh (fresh_on)
            (
                edit("calc/__init__.py", format!("{init}# 1\n")),
                GradingKind::Full,
                false,
            ),
            (
                Action::Run {
                    command: "true".into(),
                    timeout_seconds: None,
                },
                GradingKind::None,
                false,
            ),
            // after a command: fresh
            (
                edit("calc/stats.py", format!("{fixed}\n# 2\n")),
                GradingKind::Targeted,
                false,
            ),
            (
                edit("calc/stats.py", format!("{fixed}\n# 3\n")),
                GradingKind::Targeted,
                true,
            ),
            // a full grading after edits only reuses too
            (Action::Submit, GradingKind::Full, true),
        ];
        for (i, (action, kind, reused)) in plan.into_iter().enumerate() {
            let step = env.step(action).await.expect("step");
            assert_eq!(step.info.grading, kind, "step {i}");
            if kind == GradingKind::None {
                continue;
            }
            let passed = env.passed().expect("an episode");
            assert_eq!(
                (passed[mean], passed[variance]),
                (!reused, reused),
                "step {i}: reuse_args deselect test_mean, fresh_args test_variance"
            );
        }
        env.close().await.expect("close");
    });
}

/// A module that could not be collected has no outcome to keep: the grading
/// after one that met a collection error is full, whatever changed.
#[test]
fn the_grading_after_a_collection_error_is_full() {
    block_on(async {
        let package = std::sync::Arc::new(tiny().as_ref().clone().with_full_every(1000));
        let fixed = fixed_content(&package, "calc/stats.py", &["T1"]);
        let text = fixed_content(&package, "calc/text.py", &[]);
        let mut env = env_for(package).await;
        env.reset(ResetOptions::seeded(35)).await.expect("reset");
        let mut kinds = Vec::new();
        for (file, content) in [
            ("calc/stats.py", fixed.clone()),                   // targeted
            ("calc/text.py", "import no_such_module\n".into()), // collection error: redone in full
            ("calc/text.py", text), // full: the last grading was incomplete
            ("calc/stats.py", format!("{fixed}\n# 2\n")), // targeted again
        ] {
            let step = env
                .step(Action::Edit {
                    file: file.into(),
                    content,
                })
                .await
                .expect("step");
            kinds.push(step.info.grading);
            // The phases (both pytest runs of a redone grading among them)
            // fit in the step.
            let t = &step.info.timings;
            assert!(t.tests > 0.0, "{t:?}");
            assert!(
                t.sandbox + t.tests + t.parse + t.reward <= t.total + 1e-6,
                "{t:?}"
            );
        }
        assert_eq!(
            kinds,
            [
                GradingKind::Targeted,
                GradingKind::Full,
                GradingKind::Full,
                GradingKind::Targeted
            ]
        );
        env.close().await.expect("close");
    });
}

/// An edit confined to one function body re-runs the tests of that body plus
/// the file's failing tests; an edit outside function bodies re-runs every
/// test of the file. The counts come from the map and the current outcomes.
#[test]
fn an_edit_inside_a_function_re_runs_its_tests_and_the_failing_ones() {
    block_on(async {
        let package = std::sync::Arc::new(tiny().as_ref().clone().with_full_every(1000));
        let mut env = env_for(package.clone()).await;
        let fixed = ["T1", "T3"].map(debugenv::bugs::BugId::new).to_vec();
        env.reset(ResetOptions::seeded(34).with_fixed(fixed.clone()))
            .await
            .expect("reset");
        let path = "calc/stats.py";
        let before = package
            .fixed_file(path, &fixed)
            .expect("fixes apply")
            .expect("file");
        let index = |id: &str| package.universe().position(id).expect("in the universe");
        let file = package.affected_tests(path).expect("in the map").to_vec();
        let failing: Vec<usize> = file
            .iter()
            .copied()
            .filter(|&i| !env.passed().expect("an episode")[i])
            .collect();
        assert!(!failing.is_empty(), "T2's tests fail");

        // Inside `mean` only.
        let inside = before.replacen(
            "    if not values:\n",
            "    values = list(values)\n    if not values:\n",
            1,
        );
        let a = package
            .affected_by_change(path, before.as_bytes(), inside.as_bytes())
            .expect("in the map");
        let mut expected: std::collections::BTreeSet<usize> = a
            .functions
            .clone()
            .expect("confined to `mean`")
            .into_iter()
            .collect();
        assert!(expected.contains(&index("tests/unit/test_stats.py::test_mean")));
        assert!(!expected.contains(&index("tests/unit/test_stats.py::test_total_of_three")));
        expected.extend(failing.iter().copied());
        assert!(expected.len() < file.len(), "{expected:?} vs {file:?}");
        let step = env
            .step(Action::Edit {
                file: path.into(),
                content: inside.clone(),
            })
            .await
            .expect("step");
        assert_eq!(step.info.grading, GradingKind::Targeted);
        assert_eq!(step.info.tests_run, expected.len());

        // A module statement: every test of the file.
        let outside = format!("LIMIT = 1\n{inside}");
        let step = env
            .step(Action::Edit {
                file: path.into(),
                content: outside,
            })
            .await
            .expect("step");
        assert_eq!(step.info.grading, GradingKind::Targeted);
        assert_eq!(step.info.tests_run, file.len());
        env.close().await.expect("close");
    });
}
