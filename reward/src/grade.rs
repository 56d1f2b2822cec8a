//! The grading input, the formula, and [`RewardBreakdown`].

use serde::{Deserialize, Serialize};

use crate::config::{Category, CategoryIndex, RewardConfig};
use crate::error::{RewardError, RewardErrorKind};

/// The state of one test of the universe in this grading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestState {
    /// The test's category, an index into the configuration's category table.
    pub category: CategoryIndex,
    /// Whether the test passed. A test missing from the run counts as not passed.
    pub passed: bool,
}

impl TestState {
    /// A test state.
    pub const fn new(category: CategoryIndex, passed: bool) -> Self {
        Self { category, passed }
    }
}

/// The progress of one bug in this grading, as counted by the bug graph.
///
/// Counts rather than a fraction keep the bonus exact: a bug with every test
/// passing and every direct prerequisite fixed scores exactly `1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BugState {
    /// The bug's tests that pass now.
    pub passed: u32,
    /// The bug's tests in the universe (at least 1).
    pub total: u32,
    /// Direct prerequisites of the bug that are not fully fixed (d_b).
    pub unfixed_prerequisites: u32,
}

impl BugState {
    /// A bug state.
    pub const fn new(passed: u32, total: u32, unfixed_prerequisites: u32) -> Self {
        Self {
            passed,
            total,
            unfixed_prerequisites,
        }
    }
}

/// One grading that produced a verdict: every test of the universe, every bug, the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grading<'a> {
    /// One entry per test of the universe (order is free).
    pub tests: &'a [TestState],
    /// One entry per bug (may be empty).
    pub bugs: &'a [BugState],
    /// Steps taken so far in the episode.
    pub step: u32,
}

/// The result of running the tests: a verdict, or none at all.
///
/// A run that crashed or timed out before reporting anything is
/// [`Verdict::NoVerdict`], never "0 tests passed": the caller decides what it
/// costs; this crate never turns an infrastructure failure into a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict<'a> {
    /// The tests ran and reported.
    Graded(Grading<'a>),
    /// The run produced no verdict.
    NoVerdict,
}

/// Every component of the reward, the total, and the details behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RewardBreakdown {
    /// S: the pass-score mode applied to the weighted pass rate.
    pub test_pass_score: f64,
    /// C: `n / |K|` if `n >= min_complete_categories`, else 0.
    pub completion_bonus: f64,
    /// B: mean over bugs of `f_b * penalty^d_b`.
    pub bug_bonus: f64,
    /// E: unweighted pass rate times `max(0, 1 - step / max_steps)`.
    pub efficiency_bonus: f64,
    /// R: tests passing at the baseline and not now, over `|U|`.
    pub regression_penalty: f64,
    /// `clamp(wS S + wC C + wB B + wE E - wR R, 0, 1)`.
    pub total: f64,
    /// What the components were computed from.
    pub details: RewardDetails,
}

/// Per-category counts of a grading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CategoryDetail {
    /// The category.
    pub category: Category,
    /// Its weight.
    pub weight: f64,
    /// Tests of the category in the universe.
    pub total: u64,
    /// Of which passed.
    pub passed: u64,
    /// Non-empty and every test passed.
    pub complete: bool,
}

/// The credit one bug earned (only bugs with credit above 0 are listed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BugCredit {
    /// Position of the bug in the input.
    pub bug: u32,
    /// `f_b * penalty^d_b`, in `(0, 1]`.
    pub credit: f64,
}

/// The details of a [`RewardBreakdown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RewardDetails {
    /// Tests in the universe.
    pub tests: u64,
    /// Tests passing.
    pub passed: u64,
    /// p: weighted pass rate.
    pub weighted_pass_rate: f64,
    /// Unweighted pass rate.
    pub pass_rate: f64,
    /// Every configured category, in the configuration's order.
    pub categories: Vec<CategoryDetail>,
    /// Non-empty categories (|K|).
    pub nonempty_categories: u32,
    /// Complete categories (n).
    pub complete_categories: u32,
    /// Positions (in the input) of the tests that passed at the baseline and fail now.
    pub regressed: Vec<u32>,
    /// Whether a baseline was given (`false`: R is 0 by definition).
    pub had_baseline: bool,
    /// Bugs with credit above 0.
    pub bugs_credited: Vec<BugCredit>,
    /// Bugs with every test passing.
    pub bugs_fixed: u32,
    /// `max(0, 1 - step / max_steps)`.
    pub efficiency_factor: f64,
    /// The step graded.
    pub step: u32,
}

impl RewardConfig {
    /// Computes the reward of one grading against an optional baseline.
    ///
    /// `baseline[i]` says whether test `i` (same order as `grading.tests`)
    /// passed at the baseline grading; `None` (no baseline yet) gives R = 0.
    /// Pure: no I/O, no clock, no randomness; linear in tests + bugs.
    ///
    /// # Errors
    ///
    /// A [`RewardError`] if the universe is empty or too large, a test's
    /// category index is out of range, the baseline length differs from the
    /// number of tests, or a bug has no tests or more passes than tests.
    pub fn compute(
        &self,
        grading: &Grading<'_>,
        baseline: Option<&[bool]>,
    ) -> Result<RewardBreakdown, RewardError> {
        let err = |kind| Err(RewardError::new(kind));
        let tests = grading.tests;
        let n = tests.len();
        if n == 0 {
            return err(RewardErrorKind::EmptyUniverse);
        }
        if u32::try_from(n).is_err() {
            return err(RewardErrorKind::TooManyTests {
                got: n,
                max: u32::MAX,
            });
        }
        if let Some(baseline) = baseline {
            if baseline.len() != n {
                return err(RewardErrorKind::BaselineLength {
                    expected: n,
                    got: baseline.len(),
                });
            }
        }
        let k = self.categories.len();
        let mut cat_total = vec![0u64; k];
        let mut cat_passed = vec![0u64; k];
        let mut regressed = Vec::new();
        // One pass over the tests: category counts and, with a baseline, regressions.
        let mut count = |i: usize, t: &TestState| {
            let c = t.category.0 as usize;
            if c >= k {
                return Err(RewardError::new(RewardErrorKind::CategoryIndex {
                    test: i,
                    index: t.category.0,
                    categories: k,
                }));
            }
            cat_total[c] += 1;
            cat_passed[c] += u64::from(t.passed);
            Ok(())
        };
        match baseline {
            Some(baseline) => {
                // Branch-free: every position is written to a small buffer and
                // kept only if the test regressed, so the cost per test does not
                // depend on how predictable the pass flags happen to be.
                const CHUNK: usize = 256;
                let mut buf = [0u32; CHUNK];
                let chunks = tests.chunks(CHUNK).zip(baseline.chunks(CHUNK));
                for (c, (ts, bs)) in chunks.enumerate() {
                    let mut len = 0;
                    for (j, (t, &before)) in ts.iter().zip(bs).enumerate() {
                        let i = c * CHUNK + j;
                        count(i, t)?;
                        buf[len] = i as u32; // checked above: n fits in u32
                        len += usize::from(before & !t.passed);
                    }
                    regressed.extend_from_slice(&buf[..len]);
                }
            }
            None => {
                for (i, t) in tests.iter().enumerate() {
                    count(i, t)?;
                }
            }
        }
        let passed: u64 = cat_passed.iter().sum();
        let all_pass = passed == n as u64;

        // Weighted rate from integer counts, summed in the configuration's
        // (fixed) category order: the order of tests cannot change a bit.
        let mut weighted_passed = 0.0;
        let mut weighted_total = 0.0;
        for (c, (_, w)) in self.categories.iter().enumerate() {
            weighted_passed += w * cat_passed[c] as f64;
            weighted_total += w * cat_total[c] as f64;
        }
        let p = (weighted_passed / weighted_total).clamp(0.0, 1.0);
        let test_pass_score = self.pass_scoring.score(p, all_pass);

        let mut nonempty = 0u32;
        let mut complete = 0u32;
        let categories = self
            .categories
            .iter()
            .enumerate()
            .map(|(c, (category, weight))| {
                let is_complete = cat_total[c] > 0 && cat_passed[c] == cat_total[c];
                nonempty += u32::from(cat_total[c] > 0);
                complete += u32::from(is_complete);
                CategoryDetail {
                    category: category.clone(),
                    weight: *weight,
                    total: cat_total[c],
                    passed: cat_passed[c],
                    complete: is_complete,
                }
            })
            .collect();
        let completion_bonus = if complete >= self.min_complete_categories && complete > 0 {
            f64::from(complete) / f64::from(nonempty)
        } else {
            0.0
        };

        let mut bugs_credited = Vec::new();
        let mut bugs_fixed = 0u32;
        let mut credit_sum = 0.0;
        for (b, bug) in grading.bugs.iter().enumerate() {
            if bug.total == 0 {
                return err(RewardErrorKind::BugWithoutTests { bug: b });
            }
            if bug.passed > bug.total {
                return err(RewardErrorKind::BugCounts {
                    bug: b,
                    passed: bug.passed,
                    total: bug.total,
                });
            }
            bugs_fixed += u32::from(bug.passed == bug.total);
            let fraction = f64::from(bug.passed) / f64::from(bug.total);
            let exponent = i32::try_from(bug.unfixed_prerequisites).unwrap_or(i32::MAX);
            let credit = (fraction * self.dependency_penalty.powi(exponent)).clamp(0.0, 1.0);
            if credit > 0.0 {
                bugs_credited.push(BugCredit {
                    bug: b as u32,
                    credit,
                });
            }
            credit_sum += credit;
        }
        let bug_bonus = if grading.bugs.is_empty() {
            // The mean over no bugs: the environment has nothing but its tests,
            // so the bonus is all or nothing on them.
            if all_pass { 1.0 } else { 0.0 }
        } else {
            (credit_sum / grading.bugs.len() as f64).clamp(0.0, 1.0)
        };

        let pass_rate = if all_pass {
            1.0
        } else {
            passed as f64 / n as f64
        };
        let efficiency_factor = efficiency_factor(grading.step, self.max_steps);
        let efficiency_bonus = pass_rate * efficiency_factor;

        let regression_penalty = regressed.len() as f64 / n as f64;

        let w = self.weights;
        // Positive part summed left to right, then the penalty: with every test
        // passing this is exactly `((wS + wC) + wB) + wE * factor`.
        let positive = w.pass * test_pass_score
            + w.completion * completion_bonus
            + w.bug * bug_bonus
            + w.efficiency * efficiency_bonus;
        let total = (positive - w.regression * regression_penalty).clamp(0.0, 1.0);

        Ok(RewardBreakdown {
            test_pass_score,
            completion_bonus,
            bug_bonus,
            efficiency_bonus,
            regression_penalty,
            total,
            details: RewardDetails {
                tests: n as u64,
                passed,
                weighted_pass_rate: p,
                pass_rate,
                categories,
                nonempty_categories: nonempty,
                complete_categories: complete,
                regressed,
                had_baseline: baseline.is_some(),
                bugs_credited,
                bugs_fixed,
                efficiency_factor,
                step: grading.step,
            },
        })
    }
}

/// `max(0, 1 - step / max_steps)`, computed as `1.0 - step as f64 / max_steps as f64`.
pub fn efficiency_factor(step: u32, max_steps: u32) -> f64 {
    if step >= max_steps {
        0.0
    } else {
        1.0 - f64::from(step) / f64::from(max_steps)
    }
}

/// Tracks the regression baseline across an episode, as the configuration says.
///
/// Feed it every [`Verdict`]; a [`Verdict::NoVerdict`] yields `None` and leaves
/// the baseline untouched, so the next real grading is compared with the state
/// before the crash.
#[derive(Debug, Clone)]
pub struct RewardTracker {
    config: RewardConfig,
    baseline: Option<Vec<bool>>,
    best_rate: f64,
}

impl RewardTracker {
    /// A tracker with no baseline yet.
    pub fn new(config: RewardConfig) -> Self {
        Self {
            config,
            baseline: None,
            best_rate: f64::NEG_INFINITY,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RewardConfig {
        &self.config
    }

    /// The current baseline (one entry per test), `None` before the first verdict.
    pub fn baseline(&self) -> Option<&[bool]> {
        self.baseline.as_deref()
    }

    /// Grades one verdict and updates the baseline.
    ///
    /// # Errors
    ///
    /// As [`RewardConfig::compute`]; on error the baseline is unchanged.
    pub fn grade(&mut self, verdict: Verdict<'_>) -> Result<Option<RewardBreakdown>, RewardError> {
        let Verdict::Graded(grading) = verdict else {
            return Ok(None);
        };
        let breakdown = self.config.compute(&grading, self.baseline.as_deref())?;
        let rate = breakdown.details.weighted_pass_rate;
        let replace = match self.config.regression_baseline {
            crate::RegressionBaseline::PreviousGrading => true,
            crate::RegressionBaseline::Initial => self.baseline.is_none(),
            crate::RegressionBaseline::BestSoFar => {
                self.baseline.is_none() || rate > self.best_rate
            }
        };
        if replace {
            self.baseline = Some(grading.tests.iter().map(|t| t.passed).collect());
            self.best_rate = self.best_rate.max(rate);
        }
        Ok(Some(breakdown))
    }
}
