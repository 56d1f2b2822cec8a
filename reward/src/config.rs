//! [`RewardConfig`], its builder, the presets and the pass-score modes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigErrorKind};

/// The largest `f64` below `1.0`: a dense pass score is capped here unless every
/// test passes, so `S == 1.0` keeps meaning "every test passes".
pub(crate) const ONE_BELOW: f64 = 1.0 - f64::EPSILON / 2.0;

/// A test category (`unit`, `integration`, ...), as named in the test universe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    /// A category with this name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Category {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

/// Position of a category in a [`RewardConfig`]'s category table; get one with
/// [`RewardConfig::category_index`]. Tests refer to their category by index so
/// that a million-test grading touches no strings (and a [`TestState`](crate::TestState)
/// takes 4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryIndex(pub u16);

/// The weights of the five components in the total.
///
/// `total = clamp(pass S + completion C + bug B + efficiency E - regression R, 0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Weight of the test pass score S (0.40 in the `talentflow` preset).
    pub pass: f64,
    /// Weight of the completion bonus C (0.25).
    pub completion: f64,
    /// Weight of the bug bonus B (0.25).
    pub bug: f64,
    /// Weight of the efficiency bonus E (0.05).
    pub efficiency: f64,
    /// Weight of the regression penalty R (0.15), subtracted.
    pub regression: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            pass: 0.40,
            completion: 0.25,
            bug: 0.25,
            efficiency: 0.05,
            regression: 0.15,
        }
    }
}

/// One row of a step table: reaching `threshold` (weighted pass rate) scores `level`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Weighted pass rate needed, in `(0, 1]`.
    pub threshold: f64,
    /// Score given from that rate on, in `[0, 1]`.
    pub level: f64,
}

impl Step {
    /// A step table row.
    pub const fn new(threshold: f64, level: f64) -> Self {
        Self { threshold, level }
    }
}

/// How the weighted pass rate `p` becomes the test pass score S.
///
/// In every mode S is exactly `1.0` when every test passes and strictly below
/// `1.0` otherwise (no float slack: the top step is decided by counting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PassScoring {
    /// S is the level of the highest step reached (0 below the first). The
    /// last step must be `1.0 -> 1.0` and is reached only when every test passes.
    Steps(Vec<Step>),
    /// S = p.
    Linear,
    /// S = p^exponent with `0 < exponent <= 1` (0.7 in the `sublinear` preset).
    Sublinear {
        /// The exponent.
        exponent: f64,
    },
    /// S = 3p^2 - 2p^3.
    Smoothstep,
}

impl PassScoring {
    /// The score for weighted pass rate `p`; `all_pass` says whether every test passed.
    pub(crate) fn score(&self, p: f64, all_pass: bool) -> f64 {
        if all_pass {
            return 1.0;
        }
        let p = p.clamp(0.0, 1.0);
        let s = match self {
            PassScoring::Steps(steps) => {
                let below_top = &steps[..steps.len().saturating_sub(1)];
                below_top
                    .iter()
                    .take_while(|step| p >= step.threshold)
                    .last()
                    .map_or(0.0, |step| step.level)
            }
            PassScoring::Linear => p,
            PassScoring::Sublinear { exponent } => p.powf(*exponent),
            PassScoring::Smoothstep => p * p * (3.0 - 2.0 * p),
        };
        s.clamp(0.0, ONE_BELOW)
    }

    fn validate(&self) -> Result<(), ConfigErrorKind> {
        match self {
            PassScoring::Steps(steps) => validate_steps(steps),
            PassScoring::Sublinear { exponent } => {
                if exponent.is_finite() && *exponent > 0.0 && *exponent <= 1.0 {
                    Ok(())
                } else {
                    Err(ConfigErrorKind::Exponent { got: *exponent })
                }
            }
            PassScoring::Linear | PassScoring::Smoothstep => Ok(()),
        }
    }
}

fn validate_steps(steps: &[Step]) -> Result<(), ConfigErrorKind> {
    let Some(last) = steps.last() else {
        return Err(ConfigErrorKind::Steps {
            row: 0,
            reason: "the step table is empty",
        });
    };
    let mut previous: Option<Step> = None;
    for (row, step) in steps.iter().enumerate() {
        let bad = |reason| Err(ConfigErrorKind::Steps { row, reason });
        if !(step.threshold.is_finite() && step.threshold > 0.0 && step.threshold <= 1.0) {
            return bad("threshold must lie in (0, 1]");
        }
        if !(step.level.is_finite() && (0.0..=1.0).contains(&step.level)) {
            return bad("level must lie in [0, 1]");
        }
        if let Some(prev) = previous {
            if step.threshold <= prev.threshold {
                return bad("thresholds must increase strictly");
            }
            if step.level < prev.level {
                return bad("levels must not decrease");
            }
        }
        if row + 1 < steps.len() && step.level >= 1.0 {
            return bad("only the last step (every test passes) may score 1.0");
        }
        previous = Some(*step);
    }
    if last.threshold != 1.0 || last.level != 1.0 {
        return Err(ConfigErrorKind::Steps {
            row: steps.len() - 1,
            reason: "the last step must be 1.0 -> 1.0",
        });
    }
    Ok(())
}

/// What the regression penalty compares the current grading with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionBaseline {
    /// The previous grading that produced a verdict (the default).
    #[default]
    PreviousGrading,
    /// The grading with the highest weighted pass rate so far (earliest on ties).
    BestSoFar,
    /// The first grading that produced a verdict.
    Initial,
}

/// The named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Preset {
    /// The architecture's formula: steps 0.25 / 0.50 / 0.75 / 0.90 / 1.00, level = threshold.
    Talentflow,
    /// Peer tier table: 0.50/0.75/0.90/1.0 -> 0.15/0.35/0.65/1.0.
    Senior,
    /// Peer tier table: 0.25/0.40/0.55/0.70/0.85/0.95/1.0 -> 0.05/0.12/0.22/0.38/0.55/0.78/1.0.
    Principal,
    /// Peer tier table with ten steps from 0.10 -> 0 to 1.0 -> 1.0.
    Apex,
    /// Dense: S = p.
    Linear,
    /// Dense: S = p^0.7.
    Sublinear,
    /// Dense: S = 3p^2 - 2p^3.
    Smoothstep,
}

impl Preset {
    /// Every preset, in documentation order.
    pub const ALL: [Preset; 7] = [
        Preset::Talentflow,
        Preset::Senior,
        Preset::Principal,
        Preset::Apex,
        Preset::Linear,
        Preset::Sublinear,
        Preset::Smoothstep,
    ];

    /// The preset's name as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Preset::Talentflow => "talentflow",
            Preset::Senior => "senior",
            Preset::Principal => "principal",
            Preset::Apex => "apex",
            Preset::Linear => "linear",
            Preset::Sublinear => "sublinear",
            Preset::Smoothstep => "smoothstep",
        }
    }

    /// The pass-score mode of this preset.
    pub fn pass_scoring(self) -> PassScoring {
        fn table(thresholds: &[f64], levels: &[f64]) -> PassScoring {
            PassScoring::Steps(
                thresholds
                    .iter()
                    .zip(levels)
                    .map(|(&t, &l)| Step::new(t, l))
                    .collect(),
            )
        }
        match self {
            Preset::Talentflow => {
                let t = [0.25, 0.50, 0.75, 0.90, 1.00];
                table(&t, &t)
            }
            Preset::Senior => table(&[0.50, 0.75, 0.90, 1.0], &[0.15, 0.35, 0.65, 1.0]),
            Preset::Principal => table(
                &[0.25, 0.40, 0.55, 0.70, 0.85, 0.95, 1.0],
                &[0.05, 0.12, 0.22, 0.38, 0.55, 0.78, 1.0],
            ),
            Preset::Apex => table(
                &[0.10, 0.22, 0.36, 0.52, 0.67, 0.80, 0.90, 0.96, 0.99, 1.0],
                &[0.0, 0.015, 0.05, 0.11, 0.19, 0.31, 0.47, 0.66, 0.85, 1.0],
            ),
            Preset::Linear => PassScoring::Linear,
            Preset::Sublinear => PassScoring::Sublinear { exponent: 0.7 },
            Preset::Smoothstep => PassScoring::Smoothstep,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ConfigError::new(ConfigErrorKind::UnknownPreset { got: s.to_owned() }))
    }
}

/// The reward's configuration: every number of the formula is a knob.
///
/// Build one with [`RewardConfig::builder`] (starts from the `talentflow`
/// preset) or [`RewardConfig::preset`]; `build()` validates everything, so a
/// `RewardConfig` is always usable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardConfig {
    pub(crate) weights: Weights,
    pub(crate) pass_scoring: PassScoring,
    pub(crate) categories: Vec<(Category, f64)>,
    pub(crate) min_complete_categories: u32,
    pub(crate) dependency_penalty: f64,
    pub(crate) max_steps: u32,
    pub(crate) regression_baseline: RegressionBaseline,
}

impl RewardConfig {
    /// A builder holding the `talentflow` preset's values.
    pub fn builder() -> RewardConfigBuilder {
        RewardConfigBuilder::from_preset(Preset::Talentflow)
    }

    /// The preset's configuration (weights, categories and the rest as in `talentflow`).
    pub fn preset(preset: Preset) -> Self {
        RewardConfigBuilder::from_preset(preset)
            .build()
            .expect("every preset is a valid configuration")
    }

    /// The component weights.
    pub fn weights(&self) -> Weights {
        self.weights
    }

    /// The pass-score mode.
    pub fn pass_scoring(&self) -> &PassScoring {
        &self.pass_scoring
    }

    /// The category table, sorted by name: `(category, weight)`.
    pub fn categories(&self) -> &[(Category, f64)] {
        &self.categories
    }

    /// The index of a category, `None` if the configuration does not know it.
    pub fn category_index(&self, name: &str) -> Option<CategoryIndex> {
        self.categories
            .binary_search_by(|(c, _)| c.as_str().cmp(name))
            .ok()
            .map(|i| CategoryIndex(i as u16))
    }

    /// Minimum number of complete categories for any completion bonus.
    pub fn min_complete_categories(&self) -> u32 {
        self.min_complete_categories
    }

    /// Factor applied per unfixed direct prerequisite in the bug bonus.
    pub fn dependency_penalty(&self) -> f64 {
        self.dependency_penalty
    }

    /// The step budget of the efficiency bonus.
    pub fn max_steps(&self) -> u32 {
        self.max_steps
    }

    /// What the regression penalty compares with.
    pub fn regression_baseline(&self) -> RegressionBaseline {
        self.regression_baseline
    }
}

/// Builder of a [`RewardConfig`]; every setter overrides one knob.
#[derive(Debug, Clone)]
pub struct RewardConfigBuilder {
    weights: Weights,
    pass_scoring: PassScoring,
    categories: BTreeMap<Category, f64>,
    min_complete_categories: u32,
    dependency_penalty: f64,
    max_steps: u32,
    regression_baseline: RegressionBaseline,
}

impl RewardConfigBuilder {
    /// A builder holding a preset's values: weights 0.40 / 0.25 / 0.25 / 0.05 /
    /// 0.15, categories unit 1.0, integration 1.5, system 2.5, security 2.0,
    /// two complete categories for the completion bonus, dependency penalty
    /// 0.5, 100 steps, previous grading as the regression baseline, and the
    /// preset's pass-score mode.
    pub fn from_preset(preset: Preset) -> Self {
        let categories = [
            ("unit", 1.0),
            ("integration", 1.5),
            ("system", 2.5),
            ("security", 2.0),
        ]
        .into_iter()
        .map(|(name, w)| (Category::new(name), w))
        .collect();
        Self {
            weights: Weights::default(),
            pass_scoring: preset.pass_scoring(),
            categories,
            min_complete_categories: 2,
            dependency_penalty: 0.5,
            max_steps: 100,
            regression_baseline: RegressionBaseline::PreviousGrading,
        }
    }

    /// Sets the component weights.
    pub fn weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Sets the pass-score mode (a step table or a dense mode).
    pub fn pass_scoring(mut self, scoring: PassScoring) -> Self {
        self.pass_scoring = scoring;
        self
    }

    /// Sets (adds or replaces) the weight of one category.
    pub fn category_weight(mut self, category: impl Into<Category>, weight: f64) -> Self {
        self.categories.insert(category.into(), weight);
        self
    }

    /// Removes every category (to build a table from scratch).
    pub fn clear_categories(mut self) -> Self {
        self.categories.clear();
        self
    }

    /// Sets the minimum number of complete categories for the completion bonus.
    pub fn min_complete_categories(mut self, n: u32) -> Self {
        self.min_complete_categories = n;
        self
    }

    /// Sets the factor per unfixed direct prerequisite, in `[0, 1]`.
    pub fn dependency_penalty(mut self, penalty: f64) -> Self {
        self.dependency_penalty = penalty;
        self
    }

    /// Sets the step budget of the efficiency bonus (at least 1).
    pub fn max_steps(mut self, max_steps: u32) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// Sets what the regression penalty compares with.
    pub fn regression_baseline(mut self, baseline: RegressionBaseline) -> Self {
        self.regression_baseline = baseline;
        self
    }

    /// Validates every knob and returns the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid knob: a weight that is
    /// negative or not finite, a malformed step table, an exponent outside
    /// `(0, 1]`, an empty category table or a category weight that is not
    /// positive and finite, a penalty outside `[0, 1]`, or `max_steps == 0`.
    pub fn build(self) -> Result<RewardConfig, ConfigError> {
        let err = |kind| Err(ConfigError::new(kind));
        let w = self.weights;
        for (name, value) in [
            ("pass", w.pass),
            ("completion", w.completion),
            ("bug", w.bug),
            ("efficiency", w.efficiency),
            ("regression", w.regression),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return err(ConfigErrorKind::Weight { name, got: value });
            }
        }
        if let Err(kind) = self.pass_scoring.validate() {
            return err(kind);
        }
        if self.categories.is_empty() {
            return err(ConfigErrorKind::NoCategories);
        }
        if self.categories.len() > usize::from(u16::MAX) + 1 {
            return err(ConfigErrorKind::TooManyCategories {
                got: self.categories.len(),
            });
        }
        for (category, &weight) in &self.categories {
            if category.as_str().is_empty() {
                return err(ConfigErrorKind::EmptyCategoryName);
            }
            if !(weight.is_finite() && weight > 0.0) {
                return err(ConfigErrorKind::CategoryWeight {
                    category: category.clone(),
                    got: weight,
                });
            }
        }
        if !(self.dependency_penalty.is_finite() && (0.0..=1.0).contains(&self.dependency_penalty))
        {
            return err(ConfigErrorKind::DependencyPenalty {
                got: self.dependency_penalty,
            });
        }
        if self.max_steps == 0 {
            return err(ConfigErrorKind::MaxSteps);
        }
        Ok(RewardConfig {
            weights: self.weights,
            pass_scoring: self.pass_scoring,
            categories: self.categories.into_iter().collect(),
            min_complete_categories: self.min_complete_categories,
            dependency_penalty: self.dependency_penalty,
            max_steps: self.max_steps,
            regression_baseline: self.regression_baseline,
        })
    }
}
