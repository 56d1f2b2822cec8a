//! Builder validation, presets and fixed examples.

use debugenv_reward::{
    BugState, ConfigErrorKind, Grading, PassScoring, Preset, RegressionBaseline, RewardConfig,
    RewardErrorKind, Step, TestState, Weights,
};

#[test]
fn every_preset_builds_and_parses_by_name() {
    for preset in Preset::ALL {
        let parsed: Preset = preset.name().parse().expect("preset name parses");
        assert_eq!(parsed, preset);
        let config = RewardConfig::preset(preset);
        assert_eq!(config.pass_scoring(), &preset.pass_scoring());
        assert_eq!(config.max_steps(), 100);
        assert_eq!(config.dependency_penalty(), 0.5);
        assert_eq!(config.min_complete_categories(), 2);
        assert_eq!(
            config.regression_baseline(),
            RegressionBaseline::PreviousGrading
        );
    }
    let err = "nope".parse::<Preset>().expect_err("unknown preset");
    assert!(matches!(err.kind(), ConfigErrorKind::UnknownPreset { got } if got == "nope"));
    assert!(err.to_string().contains("unknown preset `nope`"), "{err}");
}

#[test]
fn talentflow_preset_has_the_architecture_numbers() {
    let c = RewardConfig::preset(Preset::Talentflow);
    assert_eq!(
        c.weights(),
        Weights {
            pass: 0.40,
            completion: 0.25,
            bug: 0.25,
            efficiency: 0.05,
            regression: 0.15
        }
    );
    let cats: Vec<(&str, f64)> = c
        .categories()
        .iter()
        .map(|(c, w)| (c.as_str(), *w))
        .collect();
    assert_eq!(
        cats,
        vec![
            ("integration", 1.5),
            ("security", 2.0),
            ("system", 2.5),
            ("unit", 1.0)
        ]
    );
    let PassScoring::Steps(steps) = c.pass_scoring() else {
        panic!("talentflow uses a step table");
    };
    let t: Vec<(f64, f64)> = steps.iter().map(|s| (s.threshold, s.level)).collect();
    assert_eq!(
        t,
        vec![
            (0.25, 0.25),
            (0.5, 0.5),
            (0.75, 0.75),
            (0.9, 0.9),
            (1.0, 1.0)
        ]
    );
}

/// S of a universe of `n` unit tests of which `k` pass.
fn s_of(preset: Preset, n: usize, k: usize) -> f64 {
    let c = RewardConfig::preset(preset);
    let unit = c.category_index("unit").expect("unit");
    let tests: Vec<TestState> = (0..n).map(|i| TestState::new(unit, i < k)).collect();
    c.compute(
        &Grading {
            tests: &tests,
            bugs: &[],
            step: 0,
        },
        None,
    )
    .expect("valid")
    .test_pass_score
}

#[test]
fn step_tables_of_the_presets() {
    // talentflow: level = threshold, 0 below the first.
    assert_eq!(s_of(Preset::Talentflow, 100, 24), 0.0);
    assert_eq!(s_of(Preset::Talentflow, 100, 25), 0.25);
    assert_eq!(s_of(Preset::Talentflow, 100, 74), 0.5);
    assert_eq!(s_of(Preset::Talentflow, 100, 90), 0.9);
    assert_eq!(s_of(Preset::Talentflow, 100, 99), 0.9);
    assert_eq!(s_of(Preset::Talentflow, 100, 100), 1.0);
    // senior.
    assert_eq!(s_of(Preset::Senior, 100, 49), 0.0);
    assert_eq!(s_of(Preset::Senior, 100, 50), 0.15);
    assert_eq!(s_of(Preset::Senior, 100, 80), 0.35);
    assert_eq!(s_of(Preset::Senior, 100, 95), 0.65);
    // principal.
    assert_eq!(s_of(Preset::Principal, 100, 40), 0.12);
    assert_eq!(s_of(Preset::Principal, 100, 96), 0.78);
    // apex: the first step scores 0, the 0.99 step 0.85.
    assert_eq!(s_of(Preset::Apex, 100, 15), 0.0);
    assert_eq!(s_of(Preset::Apex, 100, 22), 0.015);
    assert_eq!(s_of(Preset::Apex, 1000, 999), 0.85);
    assert_eq!(s_of(Preset::Apex, 1000, 1000), 1.0);
}

#[test]
fn dense_modes() {
    assert_eq!(s_of(Preset::Linear, 4, 1), 0.25);
    assert_eq!(s_of(Preset::Sublinear, 4, 1), 0.25f64.powf(0.7));
    assert_eq!(
        s_of(Preset::Smoothstep, 4, 1),
        3.0 * 0.0625 - 2.0 * 0.015625
    );
    assert_eq!(s_of(Preset::Smoothstep, 2, 1), 0.5);
    // Dense modes never reach 1.0 unless every test passes.
    for preset in [Preset::Linear, Preset::Sublinear, Preset::Smoothstep] {
        let s = s_of(preset, 1_000_000, 999_999);
        assert!(s < 1.0, "{preset}: {s}");
        assert_eq!(s_of(preset, 10, 10), 1.0);
        assert_eq!(s_of(preset, 10, 0), 0.0);
    }
}

#[test]
fn builder_rejects_each_bad_knob() {
    let kind =
        |b: debugenv_reward::RewardConfigBuilder| b.build().expect_err("invalid").kind().clone();
    let w = Weights {
        pass: -0.1,
        ..Weights::default()
    };
    assert!(matches!(
        kind(RewardConfig::builder().weights(w)),
        ConfigErrorKind::Weight { name: "pass", .. }
    ));
    let w = Weights {
        regression: f64::NAN,
        ..Weights::default()
    };
    assert!(matches!(
        kind(RewardConfig::builder().weights(w)),
        ConfigErrorKind::Weight {
            name: "regression",
            ..
        }
    ));
    let steps = |v: Vec<(f64, f64)>| {
        PassScoring::Steps(v.into_iter().map(|(t, l)| Step::new(t, l)).collect())
    };
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![]))),
        ConfigErrorKind::Steps { row: 0, .. }
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![(0.5, 0.2), (0.4, 0.3), (1.0, 1.0)]))),
        ConfigErrorKind::Steps { row: 1, reason } if reason.contains("increase")
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![(0.5, 0.5), (0.6, 0.4), (1.0, 1.0)]))),
        ConfigErrorKind::Steps { row: 1, reason } if reason.contains("decrease")
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![(0.5, 1.0), (1.0, 1.0)]))),
        ConfigErrorKind::Steps { row: 0, reason } if reason.contains("only the last")
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![(0.5, 0.5), (0.9, 0.9)]))),
        ConfigErrorKind::Steps { row: 1, reason } if reason.contains("1.0 -> 1.0")
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(steps(vec![(0.0, 0.0), (1.0, 1.0)]))),
        ConfigErrorKind::Steps { row: 0, reason } if reason.contains("(0, 1]")
    ));
    assert!(matches!(
        kind(RewardConfig::builder().pass_scoring(PassScoring::Sublinear { exponent: 1.5 })),
        ConfigErrorKind::Exponent { .. }
    ));
    assert!(matches!(
        kind(RewardConfig::builder().clear_categories()),
        ConfigErrorKind::NoCategories
    ));
    assert!(matches!(
        kind(RewardConfig::builder().category_weight("unit", 0.0)),
        ConfigErrorKind::CategoryWeight { category, .. } if category.as_str() == "unit"
    ));
    assert!(matches!(
        kind(RewardConfig::builder().category_weight("", 1.0)),
        ConfigErrorKind::EmptyCategoryName
    ));
    assert!(matches!(
        kind(RewardConfig::builder().dependency_penalty(1.5)),
        ConfigErrorKind::DependencyPenalty { .. }
    ));
    assert!(matches!(
        kind(RewardConfig::builder().max_steps(0)),
        ConfigErrorKind::MaxSteps
    ));
    let err = RewardConfig::builder()
        .max_steps(0)
        .build()
        .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid reward configuration: max_steps must be at least 1"
    );
}

#[test]
fn compute_rejects_inconsistent_input() {
    let c = RewardConfig::preset(Preset::Talentflow);
    let unit = c.category_index("unit").expect("unit");
    let kind = |tests: &[TestState], bugs: &[BugState], baseline: Option<&[bool]>| {
        c.compute(
            &Grading {
                tests,
                bugs,
                step: 0,
            },
            baseline,
        )
        .expect_err("invalid")
        .kind()
        .clone()
    };
    assert_eq!(kind(&[], &[], None), RewardErrorKind::EmptyUniverse);
    let t = [TestState::new(unit, true)];
    assert_eq!(
        kind(&t, &[], Some(&[true, false])),
        RewardErrorKind::BaselineLength {
            expected: 1,
            got: 2
        }
    );
    assert_eq!(
        kind(&t, &[BugState::new(0, 0, 0)], None),
        RewardErrorKind::BugWithoutTests { bug: 0 }
    );
    assert_eq!(
        kind(&t, &[BugState::new(1, 1, 0), BugState::new(3, 2, 0)], None),
        RewardErrorKind::BugCounts {
            bug: 1,
            passed: 3,
            total: 2
        }
    );
    let bad = [
        TestState::new(unit, true),
        TestState::new(debugenv_reward::CategoryIndex(9), true),
    ];
    assert_eq!(
        kind(&bad, &[], None),
        RewardErrorKind::CategoryIndex {
            test: 1,
            index: 9,
            categories: 4
        }
    );
}

#[test]
fn bug_bonus_penalises_unfixed_prerequisites() {
    let c = RewardConfig::preset(Preset::Talentflow);
    let unit = c.category_index("unit").expect("unit");
    let tests = [TestState::new(unit, true)];
    // f = 1/2, d = 2 -> 0.125; f = 1, d = 0 -> 1; f = 0 -> 0.
    let bugs = [
        BugState::new(1, 2, 2),
        BugState::new(4, 4, 0),
        BugState::new(0, 3, 0),
    ];
    let r = c
        .compute(
            &Grading {
                tests: &tests,
                bugs: &bugs,
                step: 0,
            },
            None,
        )
        .expect("valid");
    assert_eq!(r.bug_bonus, (0.125 + 1.0) / 3.0);
    assert_eq!(r.details.bugs_fixed, 1);
    let credited: Vec<(u32, f64)> = r
        .details
        .bugs_credited
        .iter()
        .map(|b| (b.bug, b.credit))
        .collect();
    assert_eq!(credited, vec![(0, 0.125), (1, 1.0)]);
}

#[test]
fn breakdown_serializes_with_every_component() {
    let c = RewardConfig::preset(Preset::Talentflow);
    let unit = c.category_index("unit").expect("unit");
    let tests = [TestState::new(unit, true), TestState::new(unit, false)];
    let r = c
        .compute(
            &Grading {
                tests: &tests,
                bugs: &[],
                step: 1,
            },
            Some(&[true, true]),
        )
        .expect("valid");
    let v = serde_json::to_value(&r).expect("serializes");
    for key in [
        "test_pass_score",
        "completion_bonus",
        "bug_bonus",
        "efficiency_bonus",
        "regression_penalty",
        "total",
    ] {
        assert!(v[key].is_number(), "{key} missing in {v}");
    }
    assert_eq!(v["details"]["regressed"], serde_json::json!([1]));
    assert_eq!(v["details"]["categories"][3]["category"], "unit");
    assert_eq!(v["details"]["categories"][3]["passed"], 1);
    let back: debugenv_reward::RewardBreakdown = serde_json::from_value(v).expect("round trip");
    assert_eq!(back, r);
}
