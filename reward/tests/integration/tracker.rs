//! The regression baseline across an episode, and verdict-less gradings.

use debugenv_reward::{
    Grading, Preset, RegressionBaseline, RewardConfig, RewardTracker, TestState, Verdict,
};

fn states(c: &RewardConfig, passes: &[bool]) -> Vec<TestState> {
    let unit = c.category_index("unit").expect("unit");
    passes.iter().map(|&p| TestState::new(unit, p)).collect()
}

fn run(mode: RegressionBaseline, episode: &[Option<&[bool]>]) -> Vec<Option<Vec<u32>>> {
    let config = RewardConfig::builder()
        .regression_baseline(mode)
        .build()
        .expect("valid");
    let mut tracker = RewardTracker::new(config.clone());
    episode
        .iter()
        .enumerate()
        .map(|(step, passes)| {
            let tests = passes.map(|p| states(&config, p));
            let verdict = match &tests {
                Some(tests) => Verdict::Graded(Grading {
                    tests,
                    bugs: &[],
                    step: step as u32,
                }),
                None => Verdict::NoVerdict,
            };
            tracker
                .grade(verdict)
                .expect("valid")
                .map(|r| r.details.regressed)
        })
        .collect()
}

#[test]
fn no_verdict_is_not_a_regression_and_keeps_the_baseline() {
    let all = [true, true, true];
    let some = [true, false, true];
    let got = run(
        RegressionBaseline::PreviousGrading,
        &[Some(&all), None, Some(&all), None, Some(&some)],
    );
    assert_eq!(
        got,
        vec![Some(vec![]), None, Some(vec![]), None, Some(vec![1])]
    );
}

#[test]
fn previous_grading_baseline() {
    let a = [true, true, false];
    let b = [false, true, false];
    let c = [false, false, false];
    let got = run(
        RegressionBaseline::PreviousGrading,
        &[Some(&a), Some(&b), Some(&c)],
    );
    assert_eq!(got, vec![Some(vec![]), Some(vec![0]), Some(vec![1])]);
}

#[test]
fn best_so_far_baseline() {
    let a = [true, true, false];
    let b = [false, true, false];
    let c = [false, false, true];
    // b is worse than a, so the baseline stays a: c regresses 0 and 1.
    let got = run(
        RegressionBaseline::BestSoFar,
        &[Some(&a), Some(&b), Some(&c)],
    );
    assert_eq!(got, vec![Some(vec![]), Some(vec![0]), Some(vec![0, 1])]);
}

#[test]
fn initial_baseline() {
    let a = [true, false, false];
    let b = [true, true, true];
    let c = [false, false, false];
    let got = run(RegressionBaseline::Initial, &[Some(&a), Some(&b), Some(&c)]);
    assert_eq!(got, vec![Some(vec![]), Some(vec![]), Some(vec![0])]);
}

#[test]
fn tracker_exposes_the_baseline() {
    let config = RewardConfig::preset(Preset::Talentflow);
    let mut tracker = RewardTracker::new(config.clone());
    assert_eq!(tracker.baseline(), None);
    let tests = states(&config, &[true, false]);
    tracker
        .grade(Verdict::Graded(Grading {
            tests: &tests,
            bugs: &[],
            step: 0,
        }))
        .expect("valid");
    assert_eq!(tracker.baseline(), Some(&[true, false][..]));
    assert_eq!(tracker.grade(Verdict::NoVerdict), Ok(None));
    assert_eq!(tracker.baseline(), Some(&[true, false][..]));
    // A grading of another universe size is an error and leaves the baseline alone.
    let other = states(&config, &[true]);
    assert!(
        tracker
            .grade(Verdict::Graded(Grading {
                tests: &other,
                bugs: &[],
                step: 1
            }))
            .is_err()
    );
    assert_eq!(tracker.baseline(), Some(&[true, false][..]));
}
