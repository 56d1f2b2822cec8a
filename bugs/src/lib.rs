//! Bugs of a debugging environment: manifest, test universe, dependency graph,
//! partial credit.
//!
//! An environment ships a broken project with injected bugs. This crate reads
//! what the environment says about them and answers, for one grading, how far
//! each bug is fixed.
//!
//! # Overview
//!
//! * [`Manifest`]: `bugs.toml`, `[[bug]]` tables with `id`, `title`,
//!   `category`, `files`, `symptom`, `hint`, `depends_on`, `marker`. TOML
//!   errors carry line and column.
//! * [`TestUniverse`]: `tests.json`, every test of the environment with its
//!   category and the bugs it checks ([`UniverseTest`]). Its positions index
//!   [`Outcomes`], the pass flags of one grading.
//! * [`BugGraph`]: the manifest validated against the universe (duplicate ids,
//!   unknown dependencies, cycles with their path, bugs without tests, tests
//!   naming unknown bugs: all reported together in a [`GraphError`]) on a
//!   petgraph `DiGraph`. [`BugGraph::fix_order`], [`BugGraph::blocked`],
//!   [`BugGraph::progress`] / [`BugGraph::credit`] (f_b · penalty^d_b, d_b the
//!   direct prerequisites not fully fixed) and [`BugGraph::to_dot`].
//!
//! # Why the test universe lives here
//!
//! The universe is what ties tests to bugs, and every check that needs both
//! (a bug without tests, a test naming an unknown bug) and the per-bug credit
//! are computed here. `junit` knows nothing of bugs and `reward` takes plain
//! counts; `env` depends on this crate, so putting the universe in `env` would
//! leave `BugGraph` unable to validate against it without a dependency cycle.
//!
//! # I/O boundary
//!
//! The cores are pure: [`Manifest::from_str`], [`TestUniverse::from_str`] /
//! [`TestUniverse::from_reader`]. The only file access is in the thin
//! `from_path` helpers, whose errors name the path.
//!
//! # Example
//!
//! ```
//! use debugenv_bugs::{BugGraph, Manifest, TestUniverse};
//!
//! let manifest = Manifest::from_str(r#"
//! [[bug]]
//! id = "S5"
//! title = "circular import"
//! category = "setup"
//! marker = "bug_s5"
//!
//! [[bug]]
//! id = "A1"
//! title = "connection pool"
//! category = "performance"
//! depends_on = ["S5"]
//! marker = "bug_a1"
//! "#)?;
//! let universe = TestUniverse::from_str(r#"{"version": 1, "tests": [
//!   {"id": "tests/unit/test_a.py::test_x", "category": "unit", "bugs": ["A1"]},
//!   {"id": "tests/unit/test_a.py::test_y", "category": "unit", "bugs": ["A1"]},
//!   {"id": "tests/unit/test_s.py::test_z", "category": "unit", "bugs": ["S5"]}
//! ]}"#)?;
//! let graph = BugGraph::new(&manifest, &universe)?;
//! assert_eq!(graph.fix_order(), ["S5", "A1"].map(Into::into).iter().collect::<Vec<_>>());
//!
//! // One of A1's two tests passes, S5 is not fixed: 0.5 * 0.5^1.
//! let (outcomes, unknown) = universe.outcomes(["tests/unit/test_a.py::test_x"]);
//! assert!(unknown.is_empty());
//! assert_eq!(graph.credit(&outcomes, 0.5), vec![0.0, 0.25]);
//! assert_eq!(graph.blocked(&outcomes), vec![&"A1".into()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! None. Dependencies: `petgraph`, `serde`, `serde_json`, `toml`, `thiserror`, `tracing`.
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024), the workspace's `rust-version`.

mod error;
mod graph;
mod id;
mod manifest;
mod universe;

pub use error::{
    GraphError, GraphProblem, GraphProblemKind, ManifestError, ManifestErrorKind, Position,
    UniverseError, UniverseErrorKind, UniverseProblem,
};
pub use graph::{BugGraph, BugProgress};
pub use id::{BugId, Category, TestId};
pub use manifest::{Bug, Manifest};
pub use universe::{Outcomes, TestUniverse, UniverseTest};
