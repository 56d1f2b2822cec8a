//! Streaming JUnit XML parser: a typed [`Report`] of suites and cases from
//! what any test runner writes, fast, with bounded memory, and with a
//! tolerant mode that keeps every complete case of a truncated file.
//!
//! # Overview
//!
//! * [`JunitReader`] streams [`Item`]s (cases, suites, the root) from any
//!   [`BufRead`]; [`JunitReader::cases`] gives only the [`TestCase`]s, and
//!   [`JunitReader::read_case`] parses them into one reused case (no
//!   allocation per case). It never holds the whole document: memory is
//!   bounded by the largest case.
//! * [`Report`] (suites + cases) is collected from that stream by
//!   [`Report::from_reader`], [`Report::from_path`], `str::parse`, or a
//!   configured [`Parser`]. [`Report::summary`] gives the totals,
//!   [`Report::mismatches`] the declared counts that disagree with the cases.
//! * [`Outcome`] is passed / failed / errored / skipped; pytest's xfail and
//!   strict xpass are kept in [`TestCase::expectation`], Surefire-style
//!   reruns (`flakyFailure`, `rerunFailure`, ...) in [`TestCase::reruns`].
//! * Strict mode ([`Mode::Strict`], the default) rejects any deviation with
//!   an [`Error`] carrying byte offset, line and column and what was
//!   expected; [`Mode::Tolerant`] with [`Parser::parse_partial`] returns
//!   every case completed before a truncation or garbage, plus the error.
//! * Hostile input (deep nesting, entity bombs, huge attributes, invalid
//!   UTF-8) is refused within the [`Limits`]; DTD entities are never
//!   expanded.
//! * [`pytest`] maps cases to pytest node ids.
//!
//! The crate's only I/O is [`Report::from_path`] / [`Parser::parse_path`];
//! everything else works on a caller-supplied reader.
//!
//! ```
//! use debugenv_junit::{Outcome, Report};
//!
//! let xml = r#"<?xml version="1.0"?>
//! <testsuites>
//!   <testsuite name="pytest" tests="3" failures="1" errors="0" skipped="1">
//!     <testcase classname="tests.test_a" name="test_ok[1.5]" time="0.01"/>
//!     <testcase classname="tests.test_a" name="test_bad" time="0.02">
//!       <failure message="assert 1 == 2">tests/test_a.py:5: AssertionError</failure>
//!     </testcase>
//!     <testcase classname="tests.test_a" name="test_later">
//!       <skipped type="pytest.skip" message="not yet"/>
//!     </testcase>
//!   </testsuite>
//! </testsuites>"#;
//! let report: Report = xml.parse()?;
//! assert_eq!(report.cases[1].outcome, Outcome::Failed);
//! assert_eq!(report.cases[1].message(), Some("assert 1 == 2"));
//! let summary = report.summary();
//! assert_eq!((summary.passed, summary.failed, summary.skipped), (1, 1, 1));
//! assert!(report.mismatches().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! No optional features. Text is read as UTF-8 (the encoding every producer
//! checked writes); other encodings are rejected as invalid UTF-8.
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024).

mod attrs;
mod error;
mod fast;
mod guard;
mod model;
mod options;
pub mod pytest;
mod reader;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

pub use error::{Error, ErrorKind, Limit, Position};
pub use model::{
    CountMismatch, Counts, DeclaredCounts, Detail, DetailKind, Expectation, Outcome, Property,
    Report, Rerun, RerunKind, Root, Summary, TestCase, TestSuite,
};
pub use options::{Limits, Mode, Options, OptionsError};
pub use reader::{Cases, Item, JunitReader};

/// A configured parser; cheap to copy and reuse.
///
/// ```
/// use debugenv_junit::{Mode, Parser};
///
/// let parser = Parser::builder().mode(Mode::Tolerant).max_depth(16).build()?;
/// let partial = parser.parse_partial(&b"<testsuite><testcase name=\"a\"/><testcase name=\"b\">"[..]);
/// assert_eq!(partial.report.cases.len(), 1);
/// assert!(partial.error.expect("truncated").is_eof());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Parser {
    options: Options,
}

/// Builds a [`Parser`]; values are checked in [`build`](Self::build).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParserBuilder {
    options: Options,
}

impl ParserBuilder {
    /// Strict (default) or tolerant.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.options.mode = mode;
        self
    }

    /// Replace all limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.options.limits = limits;
        self
    }

    /// See [`Limits::max_depth`].
    pub fn max_depth(mut self, n: usize) -> Self {
        self.options.limits.max_depth = n;
        self
    }

    /// See [`Limits::max_event_bytes`].
    pub fn max_event_bytes(mut self, n: usize) -> Self {
        self.options.limits.max_event_bytes = n;
        self
    }

    /// See [`Limits::max_text_bytes`].
    pub fn max_text_bytes(mut self, n: usize) -> Self {
        self.options.limits.max_text_bytes = n;
        self
    }

    /// See [`Limits::max_properties`].
    pub fn max_properties(mut self, n: usize) -> Self {
        self.options.limits.max_properties = n;
        self
    }

    /// See [`Limits::max_reruns`].
    pub fn max_reruns(mut self, n: usize) -> Self {
        self.options.limits.max_reruns = n;
        self
    }

    /// See [`Limits::max_attributes`].
    pub fn max_attributes(mut self, n: usize) -> Self {
        self.options.limits.max_attributes = n;
        self
    }

    /// Do not keep `<system-out>` / `<system-err>` texts.
    pub fn skip_output(mut self, skip: bool) -> Self {
        self.options.skip_output = skip;
        self
    }

    /// Check the options and build the parser.
    pub fn build(self) -> Result<Parser, OptionsError> {
        self.options.limits.validate()?;
        Ok(Parser {
            options: self.options,
        })
    }
}

/// A report read as far as possible, and the error that stopped it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Partial {
    /// Every case completed before the error; suites still open at the
    /// error are included with the cases seen so far.
    pub report: Report,
    /// The error, `None` if the whole document was read.
    pub error: Option<Error>,
}

impl Parser {
    /// A strict parser with default limits.
    pub fn new() -> Self {
        Parser::default()
    }

    /// A builder starting from the defaults.
    pub fn builder() -> ParserBuilder {
        ParserBuilder::default()
    }

    /// The options in effect.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Stream items from `reader`.
    pub fn reader<R: BufRead>(&self, reader: R) -> JunitReader<R> {
        JunitReader::new(reader, self.options)
    }

    /// Read a whole report; the first error ends it.
    pub fn parse<R: BufRead>(&self, reader: R) -> Result<Report, Error> {
        let partial = self.parse_partial(reader);
        match partial.error {
            Some(e) => Err(e),
            None => Ok(partial.report),
        }
    }

    /// Read as much as possible: the report up to the first error, and the error.
    pub fn parse_partial<R: BufRead>(&self, reader: R) -> Partial {
        collect(self.reader(reader))
    }

    /// Read a report from a file (`parse` in strict mode, `parse_partial`'s
    /// error in tolerant mode); errors name the path.
    pub fn parse_path(&self, path: impl AsRef<Path>) -> Partial {
        let path = path.as_ref();
        let name = path.display().to_string();
        match File::open(path) {
            Ok(f) => collect(
                self.reader(BufReader::with_capacity(64 << 10, f))
                    .with_source_name(name),
            ),
            Err(e) => Partial {
                report: Report::default(),
                error: Some(
                    Error::new(ErrorKind::Io(Arc::new(e)), Position::default())
                        .with_source_name(name),
                ),
            },
        }
    }
}

fn collect<R: BufRead>(mut reader: JunitReader<R>) -> Partial {
    let mut report = Report::default();
    let mut suites: Vec<Option<TestSuite>> = Vec::new();
    let mut error = None;
    // Cases go straight into the report's vector (no trip through `Item`).
    reader.collect_cases_into(Vec::new());
    for item in reader.by_ref() {
        match item {
            Ok(Item::Root(root)) => report.root = Some(root),
            Ok(Item::Case(case)) => report.cases.push(case),
            Ok(Item::Suite(suite)) => {
                let i = suite.index;
                if suites.len() <= i {
                    suites.resize(i + 1, None);
                }
                suites[i] = Some(suite);
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if error.is_some() {
        for suite in reader.open_suites() {
            let i = suite.index;
            if suites.len() <= i {
                suites.resize(i + 1, None);
            }
            suites[i] = Some(suite);
        }
    }
    report.cases = reader.take_collected();
    report.suites = suites.into_iter().flatten().collect();
    Partial { report, error }
}

impl Report {
    /// Read a report in strict mode from any buffered reader.
    pub fn from_reader<R: BufRead>(reader: R) -> Result<Report, Error> {
        Parser::new().parse(reader)
    }

    /// Read in tolerant mode: every complete case before the first fatal
    /// error, and that error.
    pub fn from_reader_tolerant<R: BufRead>(reader: R) -> Partial {
        let parser = Parser {
            options: Options {
                mode: Mode::Tolerant,
                ..Options::default()
            },
        };
        parser.parse_partial(reader)
    }

    /// Read a report file in strict mode.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Report, Error> {
        let partial = Parser::new().parse_path(path);
        match partial.error {
            Some(e) => Err(e),
            None => Ok(partial.report),
        }
    }
}

impl FromStr for Report {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Report::from_reader(s.as_bytes())
    }
}
