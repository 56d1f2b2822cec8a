//! The reward's properties (proptest), each a separate named test, and a
//! differential test against a deliberately naive reference implementation.

use std::collections::HashMap;

use debugenv_reward::{
    BugState, Grading, PassScoring, Preset, RewardBreakdown, RewardConfig, RewardTracker,
    TestState, Verdict, Weights,
};
use proptest::prelude::*;

/// A random environment state: categories, tests, a bug DAG, the step.
#[derive(Debug, Clone)]
struct World {
    preset: Preset,
    /// Component weights (the preset's 0.40 / 0.25 / 0.25 / 0.05 / 0.15 unless a test changes them).
    component: Weights,
    /// Weight of category `c<i>`.
    weights: Vec<f64>,
    min_complete: u32,
    /// Per test: category index, passed now, passed at the baseline.
    tests: Vec<(usize, bool, bool)>,
    /// Per bug: its tests (distinct, non-empty).
    bug_tests: Vec<Vec<usize>>,
    /// Per bug: its direct prerequisites (lower-numbered bugs).
    prereqs: Vec<Vec<usize>>,
    step: u32,
    max_steps: u32,
}

impl World {
    fn config(&self) -> RewardConfig {
        let mut b = RewardConfig::builder()
            .pass_scoring(self.preset.pass_scoring())
            .weights(self.component)
            .clear_categories()
            .min_complete_categories(self.min_complete)
            .max_steps(self.max_steps);
        for (i, w) in self.weights.iter().enumerate() {
            b = b.category_weight(format!("c{i}").as_str(), *w);
        }
        b.build().expect("generated configurations are valid")
    }

    fn passes(&self) -> Vec<bool> {
        self.tests.iter().map(|t| t.1).collect()
    }

    fn baseline(&self) -> Vec<bool> {
        self.tests.iter().map(|t| t.2).collect()
    }

    fn states(&self, config: &RewardConfig, passes: &[bool]) -> Vec<TestState> {
        self.tests
            .iter()
            .zip(passes)
            .map(|(t, &p)| {
                let c = config
                    .category_index(&format!("c{}", t.0))
                    .expect("category exists");
                TestState::new(c, p)
            })
            .collect()
    }

    /// Bug states derived from the passes, as the bug graph would count them.
    fn bugs(&self, passes: &[bool]) -> Vec<BugState> {
        let fixed: Vec<bool> = self
            .bug_tests
            .iter()
            .map(|ts| ts.iter().all(|&t| passes[t]))
            .collect();
        self.bug_tests
            .iter()
            .zip(&self.prereqs)
            .map(|(ts, pre)| {
                let passed = ts.iter().filter(|&&t| passes[t]).count() as u32;
                let unfixed = pre.iter().filter(|&&p| !fixed[p]).count() as u32;
                BugState::new(passed, ts.len() as u32, unfixed)
            })
            .collect()
    }

    fn compute(&self, passes: &[bool], baseline: Option<&[bool]>) -> RewardBreakdown {
        let config = self.config();
        let tests = self.states(&config, passes);
        let bugs = self.bugs(passes);
        config
            .compute(
                &Grading {
                    tests: &tests,
                    bugs: &bugs,
                    step: self.step,
                },
                baseline,
            )
            .expect("generated gradings are valid")
    }
}

fn world_with(weight: BoxedStrategy<f64>) -> impl Strategy<Value = World> {
    (
        prop::sample::select(Preset::ALL.to_vec()),
        prop::collection::vec(weight, 1..=4),
        0u32..=3,
        1usize..80,
        0usize..8,
        0u32..150,
        1u32..120,
    )
        .prop_flat_map(|(preset, weights, min_complete, n, m, step, max_steps)| {
            let k = weights.len();
            (
                Just((preset, weights, min_complete, step, max_steps)),
                prop::collection::vec((0..k, any::<bool>(), any::<bool>()), n),
                prop::collection::vec(prop::collection::btree_set(0..n, 1..4), m),
                prop::collection::vec(any::<u8>(), m),
            )
        })
        .prop_map(
            |((preset, weights, min_complete, step, max_steps), tests, bug_tests, masks)| {
                let prereqs = masks
                    .iter()
                    .enumerate()
                    .map(|(j, mask)| (0..j).filter(|&i| mask & (1 << i) != 0).collect())
                    .collect();
                World {
                    preset,
                    component: Weights::default(),
                    weights,
                    min_complete,
                    tests,
                    bug_tests: bug_tests
                        .into_iter()
                        .map(|s| s.into_iter().collect())
                        .collect(),
                    prereqs,
                    step,
                    max_steps,
                }
            },
        )
}

/// Any positive weights.
fn world() -> impl Strategy<Value = World> {
    world_with((0.01f64..20.0).boxed())
}

/// Dyadic weights (multiples of 1/4): every weighted sum is exact.
fn dyadic_world() -> impl Strategy<Value = World> {
    world_with((1u32..=40).prop_map(|x| f64::from(x) / 4.0).boxed())
}

fn components(r: &RewardBreakdown) -> [f64; 6] {
    [
        r.test_pass_score,
        r.completion_bonus,
        r.bug_bonus,
        r.efficiency_bonus,
        r.regression_penalty,
        r.total,
    ]
}

/// Categories with at least one test.
fn nonempty_categories(w: &World) -> u32 {
    let mut seen: Vec<usize> = w.tests.iter().map(|t| t.0).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len() as u32
}

fn thresholds(preset: Preset) -> Vec<f64> {
    match preset.pass_scoring() {
        PassScoring::Steps(steps) => steps.iter().map(|s| s.threshold).collect(),
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_component_and_the_total_lie_in_the_unit_interval(w in world(), with_baseline in any::<bool>()) {
        let baseline = w.baseline();
        let r = w.compute(&w.passes(), with_baseline.then_some(&baseline[..]));
        for (i, x) in components(&r).into_iter().enumerate() {
            prop_assert!((0.0..=1.0).contains(&x), "component {} = {}", i, x);
        }
    }

    #[test]
    fn pass_score_is_one_exactly_when_every_test_passes(w in world(), all in any::<bool>()) {
        let passes = if all { vec![true; w.tests.len()] } else { w.passes() };
        let r = w.compute(&passes, None);
        prop_assert_eq!(r.test_pass_score == 1.0, passes.iter().all(|&p| p));
    }

    #[test]
    fn flipping_a_test_to_passing_never_lowers_s_c_b_or_e(w in world(), pick in any::<prop::sample::Index>()) {
        let passes = w.passes();
        let failing: Vec<usize> = (0..passes.len()).filter(|&i| !passes[i]).collect();
        prop_assume!(!failing.is_empty());
        let mut flipped = passes.clone();
        flipped[failing[pick.index(failing.len())]] = true;
        let before = w.compute(&passes, None);
        let after = w.compute(&flipped, None);
        prop_assert!(after.test_pass_score >= before.test_pass_score);
        prop_assert!(after.completion_bonus >= before.completion_bonus);
        prop_assert!(after.bug_bonus >= before.bug_bonus);
        prop_assert!(after.efficiency_bonus >= before.efficiency_bonus);
    }

    #[test]
    fn the_order_of_tests_does_not_matter(w in world(), seed in any::<u64>()) {
        // Fisher-Yates with a small LCG: a permutation of the tests.
        let n = w.tests.len();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut x = seed | 1;
        for i in (1..n).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut shuffled = w.clone();
        shuffled.tests = perm.iter().map(|&i| w.tests[i]).collect();
        let new_pos: HashMap<usize, usize> = perm.iter().enumerate().map(|(new, &old)| (old, new)).collect();
        shuffled.bug_tests = w.bug_tests.iter().map(|ts| ts.iter().map(|t| new_pos[t]).collect()).collect();

        let (b1, b2) = (w.baseline(), shuffled.baseline());
        let r1 = w.compute(&w.passes(), Some(&b1));
        let r2 = shuffled.compute(&shuffled.passes(), Some(&b2));
        prop_assert_eq!(components(&r1).map(f64::to_bits), components(&r2).map(f64::to_bits));
        let mut regressed: Vec<u32> = r2.details.regressed.iter().map(|&i| perm[i as usize] as u32).collect();
        regressed.sort_unstable();
        prop_assert_eq!(regressed, r1.details.regressed);
    }

    #[test]
    fn scaling_all_category_weights_by_a_power_of_two_changes_nothing(w in world(), e in -20i32..20) {
        let mut scaled = w.clone();
        scaled.weights = w.weights.iter().map(|x| x * 2f64.powi(e)).collect();
        let b = w.baseline();
        let r1 = w.compute(&w.passes(), Some(&b));
        let r2 = scaled.compute(&scaled.passes(), Some(&b));
        prop_assert_eq!(components(&r1).map(f64::to_bits), components(&r2).map(f64::to_bits));
        prop_assert_eq!(r1.details.weighted_pass_rate.to_bits(), r2.details.weighted_pass_rate.to_bits());
    }

    #[test]
    fn scaling_all_category_weights_by_any_constant_changes_nothing_beyond_rounding(w in world(), c in 0.001f64..1000.0) {
        let mut scaled = w.clone();
        scaled.weights = w.weights.iter().map(|x| x * c).collect();
        let b = w.baseline();
        let r1 = w.compute(&w.passes(), Some(&b));
        let r2 = scaled.compute(&scaled.passes(), Some(&b));
        let p = r1.details.weighted_pass_rate;
        prop_assert!((p - r2.details.weighted_pass_rate).abs() < 1e-12);
        // Only a rate sitting on a step threshold (up to rounding) may change S.
        let on_edge = thresholds(w.preset).iter().any(|t| (p - t).abs() < 1e-9);
        if !on_edge {
            prop_assert!((r1.test_pass_score - r2.test_pass_score).abs() < 1e-9);
            prop_assert!((r1.total - r2.total).abs() < 1e-9);
        }
        prop_assert_eq!(r1.completion_bonus, r2.completion_bonus);
        prop_assert_eq!(r1.bug_bonus, r2.bug_bonus);
        prop_assert_eq!(r1.efficiency_bonus, r2.efficiency_bonus);
        prop_assert_eq!(r1.regression_penalty, r2.regression_penalty);
    }

    /// The architecture says "0.95 + 0.05 (1 - k / max_steps)", but its weights
    /// give w_S + w_C + w_B + w_E (1 - k / max_steps) = 0.90 + 0.05 (1 - k / max_steps)
    /// (see the crate docs); this asserts what the formula gives, bit for bit.
    #[test]
    fn all_pass_at_step_k_gives_exactly_ws_plus_wc_plus_wb_plus_we_times_the_step_factor(
        w in world(), k in 0u32..300, with_baseline in any::<bool>(),
    ) {
        let mut w = w;
        w.step = k;
        w.min_complete = w.min_complete.min(nonempty_categories(&w));
        let baseline = w.baseline();
        let r = w.compute(&vec![true; w.tests.len()], with_baseline.then_some(&baseline[..]));
        let wt = Weights::default();
        let factor = if k >= w.max_steps { 0.0 } else { 1.0 - f64::from(k) / f64::from(w.max_steps) };
        let expected = wt.pass + wt.completion + wt.bug + wt.efficiency * factor;
        prop_assert_eq!(r.total.to_bits(), expected.to_bits(), "{} != {}", r.total, expected);
        // With the preset weights: 0.90 + 0.05 (1 - k / max_steps), bit for bit.
        prop_assert_eq!(r.total.to_bits(), (0.90 + 0.05 * factor).to_bits());
        prop_assert_eq!(r.regression_penalty, 0.0);
        prop_assert_eq!(r.test_pass_score, 1.0);
        prop_assert_eq!(r.completion_bonus, 1.0);
        prop_assert_eq!(r.bug_bonus, 1.0);
        prop_assert_eq!(r.efficiency_bonus, factor);
    }

    /// The same with any component weights: the total is
    /// clamp(w_S + w_C + w_B + w_E (1 - k / max_steps), 0, 1), bit for bit.
    #[test]
    fn all_pass_at_step_k_follows_any_component_weights(
        w in world(), k in 0u32..300,
        ws in 0.0f64..0.6, wc in 0.0f64..0.6, wb in 0.0f64..0.6, we in 0.0f64..0.6, wr in 0.0f64..0.6,
    ) {
        let mut w = w;
        w.step = k;
        w.min_complete = w.min_complete.min(nonempty_categories(&w));
        w.component = Weights { pass: ws, completion: wc, bug: wb, efficiency: we, regression: wr };
        let baseline = w.baseline();
        let r = w.compute(&vec![true; w.tests.len()], Some(&baseline));
        let factor = if k >= w.max_steps { 0.0 } else { 1.0 - f64::from(k) / f64::from(w.max_steps) };
        let expected = (ws + wc + wb + we * factor).clamp(0.0, 1.0);
        prop_assert_eq!(r.total.to_bits(), expected.to_bits(), "{} != {}", r.total, expected);
    }

    #[test]
    fn no_regression_when_nothing_that_passed_at_the_baseline_fails_now(w in world()) {
        let passes = w.passes();
        // Baseline: any subset of what passes now.
        let baseline: Vec<bool> = w.tests.iter().map(|t| t.1 && t.2).collect();
        let r = w.compute(&passes, Some(&baseline));
        prop_assert_eq!(r.regression_penalty, 0.0);
        prop_assert!(r.details.regressed.is_empty());
        let r = w.compute(&passes, None);
        prop_assert_eq!(r.regression_penalty, 0.0);
    }

    #[test]
    fn a_grading_without_verdict_never_produces_a_regression(
        w in world(), episode in prop::collection::vec(prop::option::of(any::<u64>()), 1..12),
    ) {
        let config = w.config();
        let mut tracker = RewardTracker::new(config.clone());
        let mut last: Option<Vec<bool>> = None;
        for (step, seed) in episode.iter().enumerate() {
            let Some(seed) = seed else {
                prop_assert_eq!(tracker.grade(Verdict::NoVerdict).expect("no error"), None);
                continue;
            };
            let passes: Vec<bool> = (0..w.tests.len()).map(|i| (seed >> (i % 64)) & 1 == 1).collect();
            let tests = w.states(&config, &passes);
            let bugs = w.bugs(&passes);
            let r = tracker
                .grade(Verdict::Graded(Grading { tests: &tests, bugs: &bugs, step: step as u32 }))
                .expect("valid")
                .expect("a verdict gives a breakdown");
            // Regressions are counted against the last real grading only.
            let expected = last.as_ref().map_or(0, |b| b.iter().zip(&passes).filter(|(b, p)| **b && !**p).count());
            prop_assert_eq!(r.details.regressed.len(), expected);
            last = Some(passes);
        }
    }

    #[test]
    fn differential_against_a_naive_reference(w in dyadic_world(), with_baseline in any::<bool>()) {
        let passes = w.passes();
        let baseline = w.baseline();
        let baseline = with_baseline.then_some(&baseline[..]);
        let r = w.compute(&passes, baseline);
        let n = naive(&w, &passes, baseline);
        if matches!(w.preset.pass_scoring(), PassScoring::Steps(_)) {
            prop_assert_eq!(r.test_pass_score, n[0], "S");
        } else {
            // Dense modes: the naive polynomial is written differently (ulps apart).
            prop_assert!((r.test_pass_score - n[0]).abs() < 1e-12, "S {} vs {}", r.test_pass_score, n[0]);
            prop_assert_eq!(r.test_pass_score == 1.0, n[0] == 1.0);
        }
        prop_assert_eq!(r.completion_bonus, n[1], "C");
        prop_assert!((r.bug_bonus - n[2]).abs() < 1e-12, "B {} vs {}", r.bug_bonus, n[2]);
        prop_assert!((r.efficiency_bonus - n[3]).abs() < 1e-12, "E");
        prop_assert_eq!(r.regression_penalty, n[4], "R");
        prop_assert!((r.total - n[5]).abs() < 1e-12, "total {} vs {}", r.total, n[5]);
    }
}

/// The formula written out the slow, obvious way: strings, maps, one test at a
/// time, the architecture's words line by line. Returns S, C, B, E, R, total.
#[expect(
    clippy::needless_range_loop,
    reason = "the reference is deliberately written one index at a time"
)]
fn naive(w: &World, passes: &[bool], baseline: Option<&[bool]>) -> [f64; 6] {
    let weight_of: HashMap<String, f64> = w
        .weights
        .iter()
        .enumerate()
        .map(|(i, x)| (format!("c{i}"), *x))
        .collect();
    let category_of = |t: usize| format!("c{}", w.tests[t].0);
    let all = passes.iter().all(|&p| p);

    // 1. weighted pass rate and the step table / dense mode.
    let mut num = 0.0;
    let mut den = 0.0;
    for t in 0..passes.len() {
        let wt = weight_of[&category_of(t)];
        den += wt;
        if passes[t] {
            num += wt;
        }
    }
    let p = num / den;
    let mut s = match w.preset.pass_scoring() {
        PassScoring::Steps(steps) => {
            let mut s = 0.0;
            for step in steps {
                let reached = if step.threshold == 1.0 {
                    all
                } else {
                    p >= step.threshold
                };
                if reached {
                    s = step.level;
                }
            }
            s
        }
        PassScoring::Linear => p,
        PassScoring::Sublinear { exponent } => p.powf(exponent),
        PassScoring::Smoothstep => 3.0 * p * p - 2.0 * p * p * p,
        other => panic!("unknown mode {other:?}"),
    };
    if all {
        s = 1.0;
    } else if s >= 1.0 {
        s = 1.0 - f64::EPSILON / 2.0;
    }

    // 2. completion.
    let mut by_category: HashMap<String, (u32, u32)> = HashMap::new();
    for t in 0..passes.len() {
        let e = by_category.entry(category_of(t)).or_default();
        e.0 += 1;
        if passes[t] {
            e.1 += 1;
        }
    }
    let k = by_category.len() as f64;
    let complete = by_category
        .values()
        .filter(|(total, ok)| total == ok)
        .count() as u32;
    let c = if complete >= w.min_complete && complete > 0 {
        f64::from(complete) / k
    } else {
        0.0
    };

    // 3. bugs.
    let fully_fixed = |b: usize| w.bug_tests[b].iter().all(|&t| passes[t]);
    let b = if w.bug_tests.is_empty() {
        if all { 1.0 } else { 0.0 }
    } else {
        let mut sum = 0.0;
        for (bug, tests) in w.bug_tests.iter().enumerate() {
            let f = tests.iter().filter(|&&t| passes[t]).count() as f64 / tests.len() as f64;
            let d = w.prereqs[bug].iter().filter(|&&p| !fully_fixed(p)).count();
            let mut credit = f;
            for _ in 0..d {
                credit *= 0.5;
            }
            sum += credit;
        }
        sum / w.bug_tests.len() as f64
    };

    // 4. efficiency.
    let rate = passes.iter().filter(|&&p| p).count() as f64 / passes.len() as f64;
    let e = rate * (1.0 - f64::from(w.step) / f64::from(w.max_steps)).max(0.0);

    // 5. regression.
    let r = match baseline {
        None => 0.0,
        Some(before) => {
            let lost = (0..passes.len())
                .filter(|&t| before[t] && !passes[t])
                .count();
            lost as f64 / passes.len() as f64
        }
    };

    let wt = &w.component;
    let total = (wt.pass * s + wt.completion * c + wt.bug * b + wt.efficiency * e
        - wt.regression * r)
        .clamp(0.0, 1.0);
    [s, c, b, e, r, total]
}
