//! The typed report: suites, cases, outcomes.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// The result of one test case.
///
/// Derived from the case's children: an `<error>` or `<failure>` makes it
/// [`Errored`](Outcome::Errored) or [`Failed`](Outcome::Failed) (when both are
/// present, `Failed` wins: the test body's result); otherwise `<skipped>` or
/// a `status` attribute of `disabled`, `notrun` or `skipped` (CTest, behave)
/// makes it [`Skipped`](Outcome::Skipped); otherwise it
/// [`Passed`](Outcome::Passed).
/// xfail/xpass information is kept in [`TestCase::expectation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Outcome {
    /// The test ran and passed.
    Passed,
    /// The test ran and an assertion failed.
    Failed,
    /// The test could not run properly (setup/teardown/collection error).
    Errored,
    /// The test was skipped (including pytest's xfail).
    Skipped,
}

impl Outcome {
    /// The lower-case name: `passed`, `failed`, `errored`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Errored => "errored",
            Outcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// pytest's expected-failure markers, recognised from what pytest writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Expectation {
    /// Marked xfail and failed as expected (pytest writes
    /// `<skipped type="pytest.xfail">`, unittest-xml-reporting
    /// `<skipped type="XFAIL">`); outcome [`Outcome::Skipped`].
    XFailed,
    /// Marked xfail but passed; with `strict=True` pytest writes a
    /// `<failure>` whose message starts with `[XPASS(strict)]` (outcome
    /// [`Outcome::Failed`]), otherwise a plain pass (pytest does not mark it;
    /// nothing to detect).
    XPassedStrict,
}

/// Which of the four result elements a [`Detail`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DetailKind {
    /// `<failure>`.
    Failure,
    /// `<error>`.
    Error,
    /// `<skipped>`.
    Skipped,
}

/// A `<failure>`, `<error>` or `<skipped>` element.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Detail {
    /// The `message` attribute.
    pub message: Option<String>,
    /// The `type` attribute.
    #[serde(rename = "type")]
    pub kind_attr: Option<String>,
    /// The element's text (entities expanded, CDATA included), if not empty.
    pub text: Option<String>,
}

/// Which rerun element (Maven Surefire's names) a [`Rerun`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RerunKind {
    /// `<flakyFailure>`: an earlier run failed, the test finally passed.
    FlakyFailure,
    /// `<flakyError>`: an earlier run errored, the test finally passed.
    FlakyError,
    /// `<rerunFailure>`: a run failed and the test never passed.
    RerunFailure,
    /// `<rerunError>`: a run errored and the test never passed.
    RerunError,
}

/// One earlier, unsuccessful run of a test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rerun {
    /// The element name.
    pub kind: RerunKind,
    /// The `message` attribute.
    pub message: Option<String>,
    /// The `type` attribute.
    #[serde(rename = "type")]
    pub kind_attr: Option<String>,
    /// The `time` attribute, in seconds.
    pub time: Option<f64>,
    /// The `timestamp` attribute, verbatim.
    pub timestamp: Option<String>,
    /// The `<stackTrace>` child (Surefire).
    pub stack_trace: Option<String>,
    /// The element's own text, surrounding whitespace trimmed.
    pub description: Option<String>,
    /// The run's `<system-out>`.
    pub system_out: Option<String>,
    /// The run's `<system-err>`.
    pub system_err: Option<String>,
}

/// A `<property name=".." value=".."/>` (the value may also be the element's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// The `name` attribute.
    pub name: String,
    /// The `value` attribute, or the element's text.
    pub value: String,
}

impl Property {
    /// A property.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Property {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TestCase {
    /// The `name` attribute (empty if missing in tolerant mode).
    pub name: String,
    /// The `classname` attribute.
    pub classname: Option<String>,
    /// The `file` attribute.
    pub file: Option<String>,
    /// The `line` attribute.
    pub line: Option<u64>,
    /// The `time` attribute, in seconds.
    pub time: Option<f64>,
    /// The `timestamp` attribute, verbatim.
    pub timestamp: Option<String>,
    /// The `assertions` attribute.
    pub assertions: Option<u64>,
    /// The `status` attribute (CTest: `run`, `fail`, `notrun`, `disabled`;
    /// behave: `passed`, `failed`, `skipped`).
    pub status: Option<String>,
    /// The result.
    pub outcome: Outcome,
    /// pytest xfail / strict xpass, when recognised.
    pub expectation: Option<Expectation>,
    /// Every `<failure>` in document order.
    pub failures: Vec<Detail>,
    /// Every `<error>` in document order.
    pub errors: Vec<Detail>,
    /// The `<skipped>` element, if any.
    pub skipped: Option<Detail>,
    /// Earlier runs (flaky / rerun elements) in document order.
    pub reruns: Vec<Rerun>,
    /// `<properties>` of the case.
    pub properties: Vec<Property>,
    /// `<system-out>` of the case (several are concatenated).
    pub system_out: Option<String>,
    /// `<system-err>` of the case (several are concatenated).
    pub system_err: Option<String>,
    /// Index (in start order) of the innermost enclosing suite, `None` for a
    /// case directly under `<testsuites>`.
    pub suite: Option<usize>,
    /// Byte offset of the `<testcase` tag in the input.
    pub offset: u64,
}

impl TestCase {
    /// A passed case with only a name; the other fields empty.
    pub fn new(name: impl Into<String>) -> Self {
        TestCase {
            name: name.into(),
            classname: None,
            file: None,
            line: None,
            time: None,
            timestamp: None,
            assertions: None,
            status: None,
            outcome: Outcome::Passed,
            expectation: None,
            failures: Vec::new(),
            errors: Vec::new(),
            skipped: None,
            reruns: Vec::new(),
            properties: Vec::new(),
            system_out: None,
            system_err: None,
            suite: None,
            offset: 0,
        }
    }

    /// The message that explains the outcome: the first failure's (for
    /// `Failed`), error's (for `Errored`) or the skip's (for `Skipped`)
    /// `message` attribute; `None` for a pass.
    pub fn message(&self) -> Option<&str> {
        let detail = match self.outcome {
            Outcome::Passed => None,
            Outcome::Failed => self.failures.first(),
            Outcome::Errored => self.errors.first(),
            Outcome::Skipped => self.skipped.as_ref(),
        };
        detail.and_then(|d| d.message.as_deref())
    }

    /// The primary detail element of the outcome (see [`TestCase::message`]).
    pub fn detail(&self) -> Option<&Detail> {
        match self.outcome {
            Outcome::Passed => None,
            Outcome::Failed => self.failures.first(),
            Outcome::Errored => self.errors.first(),
            Outcome::Skipped => self.skipped.as_ref(),
        }
    }

    /// Passed after at least one unsuccessful earlier run.
    pub fn is_flaky(&self) -> bool {
        self.outcome == Outcome::Passed && !self.reruns.is_empty()
    }

    /// Recompute [`outcome`](Self::outcome) and
    /// [`expectation`](Self::expectation) from the detail elements.
    pub(crate) fn settle(&mut self) {
        self.outcome = if !self.failures.is_empty() {
            Outcome::Failed
        } else if !self.errors.is_empty() {
            Outcome::Errored
        } else if self.skipped.is_some()
            || self
                .status
                .as_deref()
                .is_some_and(|s| matches!(s, "disabled" | "notrun" | "skipped"))
        {
            // CTest writes a disabled test as `status="disabled"` without `<skipped>`.
            Outcome::Skipped
        } else {
            Outcome::Passed
        };
        self.expectation = match self.outcome {
            Outcome::Skipped
                if self
                    .skipped
                    .as_ref()
                    .and_then(|s| s.kind_attr.as_deref())
                    .is_some_and(|t| t == "pytest.xfail" || t == "XFAIL") =>
            {
                Some(Expectation::XFailed)
            }
            Outcome::Failed
                if self
                    .failures
                    .iter()
                    .filter_map(|f| f.message.as_deref())
                    .any(|m| m.starts_with("[XPASS(strict)]")) =>
            {
                Some(Expectation::XPassedStrict)
            }
            _ => None,
        };
    }
}

/// Counts of cases by result, as declared in attributes or as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// `tests`.
    pub tests: u64,
    /// `failures`: cases with at least one `<failure>`.
    pub failures: u64,
    /// `errors`: cases with at least one `<error>`.
    pub errors: u64,
    /// `skipped`: cases whose outcome is skipped.
    pub skipped: u64,
}

impl Counts {
    pub(crate) fn add_case(&mut self, case: &TestCase) {
        self.tests += 1;
        self.failures += u64::from(!case.failures.is_empty());
        self.errors += u64::from(!case.errors.is_empty());
        self.skipped += u64::from(case.outcome == Outcome::Skipped);
    }

    pub(crate) fn add(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

/// The declared counts of a suite or of the root (`None` = attribute absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DeclaredCounts {
    /// `tests`.
    pub tests: Option<u64>,
    /// `failures`.
    pub failures: Option<u64>,
    /// `errors`.
    pub errors: Option<u64>,
    /// `skipped` (or `skip`, as nose2 and some others write).
    pub skipped: Option<u64>,
    /// `disabled` (not compared: producers disagree on its meaning).
    pub disabled: Option<u64>,
}

/// A declared count that disagrees with the cases actually present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountMismatch {
    /// The suite's name (`None` for the root `<testsuites>`).
    pub suite: Option<String>,
    /// Which attribute: `tests`, `failures`, `errors`, `skipped`.
    pub attribute: &'static str,
    /// The value written in the file.
    pub declared: u64,
    /// The number of cases counted.
    pub actual: u64,
}

impl fmt::Display for CountMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.suite {
            Some(s) => write!(f, "suite {s:?}")?,
            None => f.write_str("<testsuites>")?,
        }
        write!(
            f,
            " declares {}={} but contains {}",
            self.attribute, self.declared, self.actual
        )
    }
}

pub(crate) fn mismatches(
    suite: Option<&str>,
    declared: &DeclaredCounts,
    actual: &Counts,
) -> Vec<CountMismatch> {
    let pairs = [
        ("tests", declared.tests, actual.tests),
        ("failures", declared.failures, actual.failures),
        ("errors", declared.errors, actual.errors),
        ("skipped", declared.skipped, actual.skipped),
    ];
    pairs
        .into_iter()
        .filter_map(|(attribute, d, a)| {
            d.filter(|&d| d != a).map(|declared| CountMismatch {
                suite: suite.map(str::to_owned),
                attribute,
                declared,
                actual: a,
            })
        })
        .collect()
}

/// One `<testsuite>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TestSuite {
    /// Position in start order (the index in [`Report::suites`]).
    pub index: usize,
    /// The enclosing suite's index, for nested suites.
    pub parent: Option<usize>,
    /// The `name` attribute (empty if absent).
    pub name: String,
    /// Counts declared in attributes.
    pub declared: DeclaredCounts,
    /// Counts of the cases inside (nested suites included).
    pub actual: Counts,
    /// The `time` attribute, in seconds.
    pub time: Option<f64>,
    /// The `timestamp` attribute, verbatim.
    pub timestamp: Option<String>,
    /// The `hostname` attribute.
    pub hostname: Option<String>,
    /// The `id` attribute.
    pub id: Option<String>,
    /// The `package` attribute.
    pub package: Option<String>,
    /// The `file` attribute.
    pub file: Option<String>,
    /// The `assertions` attribute.
    pub assertions: Option<u64>,
    /// `<properties>` of the suite.
    pub properties: Vec<Property>,
    /// `<system-out>` of the suite.
    pub system_out: Option<String>,
    /// `<system-err>` of the suite.
    pub system_err: Option<String>,
    /// The cases of this suite and its nested suites: indices into
    /// [`Report::cases`] (in streaming, case sequence numbers).
    pub cases: Range<usize>,
    /// Byte offset of the `<testsuite` tag.
    pub offset: u64,
}

impl TestSuite {
    /// Declared counts that disagree with the cases present.
    pub fn mismatches(&self) -> Vec<CountMismatch> {
        mismatches(Some(&self.name), &self.declared, &self.actual)
    }
}

/// The root `<testsuites>` element's attributes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Root {
    /// The `name` attribute.
    pub name: Option<String>,
    /// Counts declared in attributes.
    pub declared: DeclaredCounts,
    /// The `time` attribute, in seconds.
    pub time: Option<f64>,
    /// The `timestamp` attribute.
    pub timestamp: Option<String>,
}

/// A whole report: the suites and cases of one JUnit file.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The `<testsuites>` root, if the root was `<testsuites>`.
    pub root: Option<Root>,
    /// All suites, nested ones included, in start order.
    pub suites: Vec<TestSuite>,
    /// All cases in document order.
    pub cases: Vec<TestCase>,
}

impl Report {
    /// Totals over all cases.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for case in &self.cases {
            s.tests += 1;
            match case.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Errored => s.errored += 1,
                Outcome::Skipped => s.skipped += 1,
            }
            match case.expectation {
                Some(Expectation::XFailed) => s.xfailed += 1,
                Some(Expectation::XPassedStrict) => s.xpassed_strict += 1,
                None => {}
            }
            s.flaky += u64::from(case.is_flaky());
            s.reruns += case.reruns.len() as u64;
            s.time += case.time.unwrap_or(0.0);
        }
        s
    }

    /// Every declared count (root and suites) that disagrees with the cases.
    pub fn mismatches(&self) -> Vec<CountMismatch> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            let mut actual = Counts::default();
            for case in &self.cases {
                actual.add_case(case);
            }
            out.extend(mismatches(None, &root.declared, &actual));
        }
        for suite in &self.suites {
            out.extend(suite.mismatches());
        }
        out
    }

    /// The suite a case belongs to.
    pub fn suite_of(&self, case: &TestCase) -> Option<&TestSuite> {
        case.suite.and_then(|i| self.suites.get(i))
    }
}

/// Totals of a report, from [`Report::summary`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// All cases.
    pub tests: u64,
    /// Outcome passed (flaky ones included).
    pub passed: u64,
    /// Outcome failed (strict xpasses included).
    pub failed: u64,
    /// Outcome errored.
    pub errored: u64,
    /// Outcome skipped (xfails included).
    pub skipped: u64,
    /// pytest xfails (a subset of `skipped`).
    pub xfailed: u64,
    /// pytest strict xpasses (a subset of `failed`).
    pub xpassed_strict: u64,
    /// Passed after unsuccessful reruns (a subset of `passed`).
    pub flaky: u64,
    /// Rerun/flaky elements over all cases.
    pub reruns: u64,
    /// Sum of case times, in seconds.
    pub time: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tests: {} passed, {} failed, {} errored, {} skipped",
            self.tests, self.passed, self.failed, self.errored, self.skipped
        )?;
        if self.xfailed + self.xpassed_strict + self.flaky > 0 {
            write!(
                f,
                " ({} xfailed, {} xpassed strict, {} flaky)",
                self.xfailed, self.xpassed_strict, self.flaky
            )?;
        }
        write!(f, " in {:.3}s", self.time)
    }
}
