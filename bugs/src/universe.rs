//! The test universe (`tests.json`) and per-grading [`Outcomes`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Position, UniverseError, UniverseErrorKind, UniverseProblem};
use crate::id::{BugId, Category, TestId};

/// One test of the universe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UniverseTest {
    /// The pytest node id.
    pub id: TestId,
    /// Its category (weights live in the reward configuration).
    pub category: Category,
    /// The bugs it checks (its `bug_<id>` markers); empty for a guard test.
    #[serde(default)]
    pub bugs: Vec<BugId>,
}

impl UniverseTest {
    /// A test entry.
    pub fn new(
        id: impl Into<TestId>,
        category: impl Into<Category>,
        bugs: impl IntoIterator<Item = BugId>,
    ) -> Self {
        Self {
            id: id.into(),
            category: category.into(),
            bugs: bugs.into_iter().collect(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUniverse {
    version: u64,
    tests: Vec<UniverseTest>,
}

/// The fixed list of tests of an environment: the denominator of every grading.
///
/// `tests.json` is `{"version": 1, "tests": [{"id", "category", "bugs"}, ...]}`,
/// tests sorted by id when written by [`TestUniverse::to_json`]. The position of
/// a test in [`TestUniverse::tests`] is its index in [`Outcomes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUniverse {
    tests: Vec<UniverseTest>,
    index: HashMap<TestId, usize>,
}

impl TestUniverse {
    /// A universe from entries, validated: no empty id, category or bug id, no
    /// duplicate test id, no bug listed twice by one test.
    ///
    /// # Errors
    ///
    /// [`UniverseErrorKind::Invalid`] listing every problem found.
    pub fn new(tests: Vec<UniverseTest>) -> Result<Self, UniverseError> {
        let mut problems = Vec::new();
        let mut index = HashMap::with_capacity(tests.len());
        for (i, t) in tests.iter().enumerate() {
            if t.id.as_str().is_empty() {
                problems.push(UniverseProblem::EmptyId { index: i });
            } else {
                match index.entry(t.id.clone()) {
                    Entry::Occupied(first) => problems.push(UniverseProblem::DuplicateId {
                        id: t.id.clone(),
                        first: *first.get(),
                        index: i,
                    }),
                    Entry::Vacant(slot) => {
                        slot.insert(i);
                    }
                }
            }
            if t.category.as_str().is_empty() {
                problems.push(UniverseProblem::EmptyCategory {
                    index: i,
                    id: t.id.clone(),
                });
            }
            for (j, bug) in t.bugs.iter().enumerate() {
                if bug.as_str().is_empty() {
                    problems.push(UniverseProblem::EmptyBugId {
                        index: i,
                        id: t.id.clone(),
                    });
                } else if t.bugs[..j].contains(bug) {
                    problems.push(UniverseProblem::DuplicateBug {
                        index: i,
                        id: t.id.clone(),
                        bug: bug.clone(),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(Self { tests, index })
        } else {
            Err(UniverseError::new(UniverseErrorKind::Invalid(problems)))
        }
    }

    /// Parses `tests.json` text.
    ///
    /// # Errors
    ///
    /// JSON errors with line and column, a version other than 1, or every
    /// invalid entry (see [`TestUniverse::new`]).
    #[expect(
        clippy::should_implement_trait,
        reason = "mirrors the from_str/from_reader/from_path family of the workspace"
    )]
    pub fn from_str(source: &str) -> Result<Self, UniverseError> {
        let raw: RawUniverse = serde_json::from_str(source).map_err(json_error)?;
        Self::from_raw(raw)
    }

    /// Parses `tests.json` from a reader (buffer it: serde_json reads byte by byte).
    ///
    /// # Errors
    ///
    /// As [`TestUniverse::from_str`], or the read error.
    pub fn from_reader<R: std::io::BufRead>(reader: R) -> Result<Self, UniverseError> {
        let raw: RawUniverse = serde_json::from_reader(reader).map_err(|e| {
            if e.is_io() {
                UniverseError::new(UniverseErrorKind::Io(e.into()))
            } else {
                json_error(e)
            }
        })?;
        Self::from_raw(raw)
    }

    /// Reads and parses a `tests.json` file; errors name the path.
    ///
    /// # Errors
    ///
    /// As [`TestUniverse::from_reader`], with the path.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, UniverseError> {
        let path = path.as_ref();
        let result = std::fs::File::open(path)
            .map_err(|e| UniverseError::new(UniverseErrorKind::Io(e)))
            .and_then(|f| Self::from_reader(std::io::BufReader::new(f)));
        result.map_err(|mut e| {
            e.path = Some(path.to_owned());
            e
        })
    }

    fn from_raw(raw: RawUniverse) -> Result<Self, UniverseError> {
        if raw.version != 1 {
            return Err(UniverseError::new(UniverseErrorKind::Version {
                got: raw.version,
            }));
        }
        Self::new(raw.tests)
    }

    /// `tests.json` text: version 1, tests sorted by id, pretty-printed.
    pub fn to_json(&self) -> String {
        let mut tests = self.tests.clone();
        tests.sort_by(|a, b| a.id.cmp(&b.id));
        let raw = RawUniverse { version: 1, tests };
        serde_json::to_string_pretty(&raw).expect("a universe always serializes")
    }

    /// The tests; a test's position is its index in [`Outcomes`].
    pub fn tests(&self) -> &[UniverseTest] {
        &self.tests
    }

    /// Number of tests.
    pub fn len(&self) -> usize {
        self.tests.len()
    }

    /// Whether the universe has no tests.
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// The position of a test, `None` if it is not in the universe.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(&TestId::new(id)).copied()
    }

    /// Outcomes from a run's passing test ids. Every test of the universe not
    /// named counts as not passed; ids not in the universe are returned (to be
    /// reported) and otherwise ignored.
    pub fn outcomes<'a, I>(&self, passed: I) -> (Outcomes, Vec<&'a str>)
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut outcomes = Outcomes::all_failed(self.len());
        let mut unknown = Vec::new();
        for id in passed {
            match self.index.get(&TestId::new(id)) {
                Some(&i) => outcomes.set(i, true),
                None => unknown.push(id),
            }
        }
        (outcomes, unknown)
    }
}

fn json_error(e: serde_json::Error) -> UniverseError {
    UniverseError::new(UniverseErrorKind::Json {
        position: Position {
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
        },
        message: e.to_string(),
    })
}

/// Which tests of a universe passed in one grading, by position.
///
/// A position beyond the end counts as not passed: the universe, not the
/// run, is the denominator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Outcomes {
    passed: Vec<bool>,
}

impl Outcomes {
    /// `len` tests, none passed.
    pub fn all_failed(len: usize) -> Self {
        Self {
            passed: vec![false; len],
        }
    }

    /// Outcomes from one flag per test position.
    pub fn from_passed(passed: Vec<bool>) -> Self {
        Self { passed }
    }

    /// Sets the outcome of the test at `index` (growing the vector if needed).
    pub fn set(&mut self, index: usize, passed: bool) {
        if index >= self.passed.len() {
            self.passed.resize(index + 1, false);
        }
        self.passed[index] = passed;
    }

    /// Whether the test at `index` passed (`false` beyond the end).
    pub fn passed(&self, index: usize) -> bool {
        self.passed.get(index).copied().unwrap_or(false)
    }

    /// One flag per position.
    pub fn as_slice(&self) -> &[bool] {
        &self.passed
    }
}
