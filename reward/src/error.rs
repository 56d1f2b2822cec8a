//! Errors of configuration and of grading input.

use thiserror::Error;

use crate::config::Category;

/// A [`RewardConfigBuilder`](crate::RewardConfigBuilder) knob (or a preset name) is invalid.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid reward configuration: {kind}")]
pub struct ConfigError {
    kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind) -> Self {
        Self { kind }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }
}

/// The kinds of [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A component weight is negative or not finite.
    #[error("weight `{name}` must be finite and >= 0, got {got}")]
    Weight {
        /// Which weight.
        name: &'static str,
        /// The value given.
        got: f64,
    },
    /// A row of the step table is wrong.
    #[error("step table row {row}: {reason}")]
    Steps {
        /// Zero-based row.
        row: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The sublinear exponent is outside `(0, 1]`.
    #[error("sublinear exponent must lie in (0, 1], got {got}")]
    Exponent {
        /// The value given.
        got: f64,
    },
    /// The category table is empty.
    #[error("the category table is empty")]
    NoCategories,
    /// More categories than a [`CategoryIndex`](crate::CategoryIndex) can address (65,536).
    #[error("{got} categories, more than the supported 65536")]
    TooManyCategories {
        /// Number of categories given.
        got: usize,
    },
    /// A category has an empty name.
    #[error("a category has an empty name")]
    EmptyCategoryName,
    /// A category weight is not positive and finite.
    #[error("weight of category `{category}` must be finite and > 0, got {got}")]
    CategoryWeight {
        /// The category.
        category: Category,
        /// The value given.
        got: f64,
    },
    /// The dependency penalty is outside `[0, 1]`.
    #[error("dependency penalty must lie in [0, 1], got {got}")]
    DependencyPenalty {
        /// The value given.
        got: f64,
    },
    /// `max_steps` is zero.
    #[error("max_steps must be at least 1")]
    MaxSteps,
    /// A preset name is unknown.
    #[error(
        "unknown preset `{got}` (expected talentflow, senior, principal, apex, linear, sublinear or smoothstep)"
    )]
    UnknownPreset {
        /// The name given.
        got: String,
    },
}

/// A grading's input does not fit the configuration or is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid grading input: {kind}")]
pub struct RewardError {
    kind: RewardErrorKind,
}

impl RewardError {
    pub(crate) fn new(kind: RewardErrorKind) -> Self {
        Self { kind }
    }

    /// What is wrong.
    pub fn kind(&self) -> &RewardErrorKind {
        &self.kind
    }
}

/// The kinds of [`RewardError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RewardErrorKind {
    /// The universe has no tests: no rate is defined.
    #[error("the test universe is empty")]
    EmptyUniverse,
    /// A test names a category index the configuration does not have.
    #[error(
        "test {test} has category index {index}, but the configuration has {categories} categories"
    )]
    CategoryIndex {
        /// Position of the test in the input.
        test: usize,
        /// The index given.
        index: u16,
        /// Number of categories in the configuration.
        categories: usize,
    },
    /// The baseline does not have one entry per test.
    #[error("the baseline has {got} entries, expected one per test ({expected})")]
    BaselineLength {
        /// Number of tests.
        expected: usize,
        /// Number of baseline entries.
        got: usize,
    },
    /// A bug has no tests, so its fraction is undefined.
    #[error("bug {bug} has no tests")]
    BugWithoutTests {
        /// Position of the bug in the input.
        bug: usize,
    },
    /// A bug claims more passing tests than it has.
    #[error("bug {bug} has {passed} passing tests out of {total}")]
    BugCounts {
        /// Position of the bug in the input.
        bug: usize,
        /// Passing tests given.
        passed: u32,
        /// Tests given.
        total: u32,
    },
    /// The universe is larger than `u32::MAX` tests.
    #[error("the universe has {got} tests, more than the supported {max}")]
    TooManyTests {
        /// Number of tests given.
        got: usize,
        /// The limit.
        max: u32,
    },
}
