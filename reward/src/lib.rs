//! The shaped reward of debugenv: exact, configurable, pure.
//!
//! After every state-changing step of an episode the environment's tests run;
//! this crate turns their outcome into the reward an RL run trains on. It does
//! **no I/O, reads no clock and draws no random numbers**: the same input gives
//! the same bits, on every machine.
//!
//! # Overview
//!
//! * [`RewardConfig`] holds every knob of the formula; build it with
//!   [`RewardConfig::builder`] (validated in `build()`) or take a [`Preset`].
//! * A [`Grading`] is the input: one [`TestState`] per test of the universe
//!   (category and pass state), one [`BugState`] per bug (counts from the bug
//!   graph), and the step. [`RewardConfig::compute`] returns a
//!   [`RewardBreakdown`] with every component, the total and the
//!   [`RewardDetails`] (serde-serializable).
//! * [`RewardTracker`] keeps the regression baseline across an episode
//!   (previous grading, best so far, or initial, see [`RegressionBaseline`]) and
//!   takes a [`Verdict`], so a run with no verdict is a distinct input that
//!   never produces a regression.
//!
//! # The formula (`talentflow` preset; every number is configurable)
//!
//! With U the test universe, w(c) the category weight and pass(t) the outcome:
//!
//! 1. p = Σ w(c(t)) pass(t) / Σ w(c(t)); S = the level of the highest step
//!    reached (0.25 / 0.50 / 0.75 / 0.90 / 1.00, level = threshold). The 1.00
//!    step requires every test to pass, decided by counting, not by comparing
//!    floats. Dense modes: linear p, sublinear p^0.7, smoothstep 3p² - 2p³; in
//!    every mode S is exactly 1.0 if and only if every test passes.
//! 2. C = n / |K| if n ≥ 2 else 0; K the non-empty categories, n the complete ones.
//! 3. B = mean over bugs of f_b · 0.5^d_b; f_b the fraction of b's tests
//!    passing, d_b the number of b's direct prerequisites not fully fixed. With
//!    no bugs at all, B is 1 when every test passes and 0 otherwise.
//! 4. E = (unweighted pass rate) · max(0, 1 - step / max_steps).
//! 5. R = |tests passing at the baseline and not now| / |U|.
//!
//! total = clamp(0.40 S + 0.25 C + 0.25 B + 0.05 E - 0.15 R, 0, 1).
//!
//! With every test passing at step k (and at least `min_complete_categories`
//! non-empty categories), the total is exactly
//! `(wS + wC + wB) + wE * (1.0 - k as f64 / max_steps as f64)`, bit for bit
//! (while that sum stays at most 1); with the preset's weights that is
//! `0.90 + 0.05 (1 - k / max_steps)`.
//!
//! **A known inconsistency in the specification.** The architecture document
//! (and issue 3) state that all tests passing at step k gives
//! `0.95 + 0.05 (1 - k / max_steps)`. That does not follow from its own
//! weights: 0.40 + 0.25 + 0.25 = 0.90, not 0.95, so with the specified
//! weights an all-pass grading scores `0.90 + 0.05 (1 - k / max_steps)`, at
//! most 0.95 (at step 0), never 1.0. This crate keeps the specified weights
//! (they are the formula) and its property test asserts the value the
//! formula gives, `wS + wC + wB + wE (1 - k / max_steps)`. A caller who wants
//! the documented 0.95 bound can raise a weight with
//! [`RewardConfigBuilder::weights`] (e.g. `bug: 0.30`); nothing else depends
//! on the sum being 0.90.
//!
//! Floating point: p is computed from per-category integer counts summed in the
//! configuration's fixed category order, so the order of tests never changes a
//! bit, and flipping a test to passing never lowers p. Scaling every category
//! weight by a power of two changes nothing; by any other constant, p may move
//! by a few ulps (which only matters when p sits exactly on a threshold).
//!
//! # Example
//!
//! ```
//! use debugenv_reward::{BugState, Grading, Preset, RewardConfig, TestState};
//!
//! let config = RewardConfig::preset(Preset::Talentflow);
//! let unit = config.category_index("unit").ok_or("no unit category")?;
//! let system = config.category_index("system").ok_or("no system category")?;
//! let tests = [
//!     TestState::new(unit, true),
//!     TestState::new(unit, true),
//!     TestState::new(system, false),
//! ];
//! // One bug with 2 tests, both passing, no unfixed prerequisite.
//! let bugs = [BugState::new(2, 2, 0)];
//! let grading = Grading { tests: &tests, bugs: &bugs, step: 10 };
//! let baseline = [true, true, true];
//! let r = config.compute(&grading, Some(&baseline))?;
//! assert_eq!(r.test_pass_score, 0.25); // p = 2 / 4.5
//! assert_eq!(r.completion_bonus, 0.0); // only 1 complete category
//! assert_eq!(r.bug_bonus, 1.0);
//! assert_eq!(r.details.regressed, vec![2]);
//! assert!((r.total - (0.40 * 0.25 + 0.25 + 0.05 * (2.0 / 3.0) * 0.9 - 0.15 / 3.0)).abs() < 1e-12);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! None. Dependencies: `serde` (derive) and `thiserror`.
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024), the workspace's `rust-version`.

mod config;
mod error;
mod grade;

pub use config::{
    Category, CategoryIndex, PassScoring, Preset, RegressionBaseline, RewardConfig,
    RewardConfigBuilder, Step, Weights,
};
pub use error::{ConfigError, ConfigErrorKind, RewardError, RewardErrorKind};
pub use grade::{
    BugCredit, BugState, CategoryDetail, Grading, RewardBreakdown, RewardDetails, RewardTracker,
    TestState, Verdict, efficiency_factor,
};
