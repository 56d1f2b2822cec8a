//! Errors: manifest parsing, universe parsing, graph validation.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::id::{BugId, TestId};

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl Position {
    /// The position of a byte offset in `source` (clamped to the end).
    pub fn of_offset(source: &str, offset: usize) -> Self {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// `path:` prefix, or nothing.
struct Origin<'a>(Option<&'a PathBuf>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, " {}", p.display()),
            None => Ok(()),
        }
    }
}

/// The bug manifest could not be read or parsed.
#[derive(Debug, Error)]
#[error("failed to parse bug manifest{}: {kind}", Origin(.path.as_ref()))]
pub struct ManifestError {
    pub(crate) path: Option<PathBuf>,
    pub(crate) kind: ManifestErrorKind,
}

impl ManifestError {
    /// The file, when read with `from_path`.
    pub fn path(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }

    /// What is wrong.
    pub fn kind(&self) -> &ManifestErrorKind {
        &self.kind
    }
}

/// The kinds of [`ManifestError`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// TOML syntax, a missing or unknown field, a wrong type.
    #[error("{}{message}", .position.map(|p| format!("{p}: ")).unwrap_or_default())]
    Toml {
        /// Where, when TOML knows.
        position: Option<Position>,
        /// The parser's message.
        message: String,
    },
}

/// The test universe could not be read, parsed or validated.
#[derive(Debug, Error)]
#[error("failed to load test universe{}: {kind}", Origin(.path.as_ref()))]
pub struct UniverseError {
    pub(crate) path: Option<PathBuf>,
    pub(crate) kind: UniverseErrorKind,
}

impl UniverseError {
    pub(crate) fn new(kind: UniverseErrorKind) -> Self {
        Self { path: None, kind }
    }

    /// The file, when read with `from_path`.
    pub fn path(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }

    /// What is wrong.
    pub fn kind(&self) -> &UniverseErrorKind {
        &self.kind
    }
}

/// The kinds of [`UniverseError`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UniverseErrorKind {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// JSON syntax or shape.
    #[error("{position}: {message}")]
    Json {
        /// Where.
        position: Position,
        /// The parser's message.
        message: String,
    },
    /// An unsupported format version.
    #[error("unsupported version {got} (expected 1)")]
    Version {
        /// The version found.
        got: u64,
    },
    /// Entries are invalid; every problem found is listed.
    #[error("{} problem(s): {}", .0.len(), join(.0))]
    Invalid(Vec<UniverseProblem>),
}

/// One invalid entry of a test universe.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UniverseProblem {
    /// A test has an empty id.
    #[error("tests[{index}]: empty test id")]
    EmptyId {
        /// Position in `tests`.
        index: usize,
    },
    /// Two tests share an id.
    #[error("tests[{index}]: duplicate test id `{id}` (first at tests[{first}])")]
    DuplicateId {
        /// The id.
        id: TestId,
        /// Position of the first occurrence.
        first: usize,
        /// Position of this occurrence.
        index: usize,
    },
    /// A test has an empty category.
    #[error("tests[{index}] `{id}`: empty category")]
    EmptyCategory {
        /// Position in `tests`.
        index: usize,
        /// The test.
        id: TestId,
    },
    /// A test names an empty bug id.
    #[error("tests[{index}] `{id}`: empty bug id")]
    EmptyBugId {
        /// Position in `tests`.
        index: usize,
        /// The test.
        id: TestId,
    },
    /// A test names the same bug twice.
    #[error("tests[{index}] `{id}`: bug `{bug}` listed twice")]
    DuplicateBug {
        /// Position in `tests`.
        index: usize,
        /// The test.
        id: TestId,
        /// The bug.
        bug: BugId,
    },
}

/// The manifest and the universe do not form a valid bug graph; every
/// problem found in one pass is listed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid bug graph: {}", join(.problems))]
pub struct GraphError {
    pub(crate) problems: Vec<GraphProblem>,
}

impl GraphError {
    /// Every problem, in manifest order, then universe order.
    pub fn problems(&self) -> &[GraphProblem] {
        &self.problems
    }
}

/// One problem of a bug graph, with its manifest position when known.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{kind}", location(.path.as_ref(), *.position))]
pub struct GraphProblem {
    /// The manifest file, when read with `from_path`.
    pub path: Option<PathBuf>,
    /// Where in the manifest, when known.
    pub position: Option<Position>,
    /// What is wrong.
    pub kind: GraphProblemKind,
}

/// The kinds of [`GraphProblem`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GraphProblemKind {
    /// A bug id is empty or has characters other than letters, digits, `_`, `-`, `.`.
    #[error("invalid bug id `{id}`")]
    InvalidId {
        /// The id.
        id: BugId,
    },
    /// Two bugs share an id.
    #[error("duplicate bug id `{id}`{}", .first.map(|p| format!(" (first at {p})")).unwrap_or_default())]
    DuplicateId {
        /// The id.
        id: BugId,
        /// Position of the first definition.
        first: Option<Position>,
    },
    /// A bug depends on a bug the manifest does not define.
    #[error("bug `{bug}` depends on unknown bug `{dependency}`")]
    UnknownDependency {
        /// The bug.
        bug: BugId,
        /// The missing prerequisite.
        dependency: BugId,
    },
    /// A bug lists the same prerequisite twice.
    #[error("bug `{bug}` lists dependency `{dependency}` twice")]
    DuplicateDependency {
        /// The bug.
        bug: BugId,
        /// The repeated prerequisite.
        dependency: BugId,
    },
    /// The dependencies form a cycle; `path` starts and ends with the same bug,
    /// each bug depending on the next.
    #[error("dependency cycle: {}", .path.iter().map(BugId::as_str).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The cycle, first bug repeated at the end.
        path: Vec<BugId>,
    },
    /// No test of the universe names this bug.
    #[error("bug `{bug}` has no tests in the universe")]
    BugWithoutTests {
        /// The bug.
        bug: BugId,
    },
    /// The universe has more than `u32::MAX` tests, or the manifest more than
    /// 16,777,215 (2^24 - 1) bugs.
    #[error("{tests} tests and {bugs} bugs exceed the supported 4294967295 tests / 16777215 bugs")]
    TooLarge {
        /// Tests in the universe.
        tests: usize,
        /// Bugs in the manifest.
        bugs: usize,
    },
    /// A test of the universe names a bug the manifest does not define.
    #[error("test `{test}` names unknown bug `{bug}`")]
    UnknownBugInTest {
        /// The test.
        test: TestId,
        /// The unknown bug.
        bug: BugId,
    },
}

fn location(path: Option<&PathBuf>, position: Option<Position>) -> String {
    match (path, position) {
        (Some(path), Some(p)) => format!("{}, {p}: ", path.display()),
        (Some(path), None) => format!("{}: ", path.display()),
        (None, Some(p)) => format!("{p}: "),
        (None, None) => String::new(),
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
