//! pytest node ids for JUnit test cases.
//!
//! pytest's `junitxml` plugin turns a node id such as
//! `tests/unit/test_x.py::TestY::test_z[a.b/c]` into
//! `classname="tests.unit.test_x.TestY"` and `name="test_z[a.b/c]"` (the
//! path's `/` become `.`, `.py` is dropped, parameters stay in `name`), plus
//! `file`/`line` in the `xunit1` family. That mapping loses information (a
//! directory named `v1.2` is indistinguishable from a package `v1.2`), so:
//!
//! * [`junit_names`] reproduces pytest's mapping exactly (node id ->
//!   classname, name);
//! * [`Resolver`] inverts it *exactly* against a known list of node ids (the
//!   output of `pytest --collect-only -q`), which is what an environment with
//!   a fixed test universe needs;
//! * [`node_id`] is the best guess without such a list: exact whenever the
//!   case carries `file` (xunit1), a heuristic otherwise (class names start
//!   with an upper-case letter, modules do not).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use crate::model::{Outcome, TestCase};

/// A pytest node id (`path/to/test_file.py::Class::test_name[params]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// Wrap a node id.
    pub fn new(id: impl Into<String>) -> Self {
        NodeId(id.into())
    }

    /// The node id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file part (before the first `::`).
    pub fn path(&self) -> &str {
        self.0.split("::").next().unwrap_or(&self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for NodeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What pytest writes as `classname` and `name` for `node_id`, given the
/// `junit_prefix` ini option (`None` when unset). Mirrors
/// `_pytest.junitxml.mangle_test_address` and `bin_xml_escape`.
///
/// ```
/// use debugenv_junit::pytest::junit_names;
/// assert_eq!(
///     junit_names("tests/unit/test_x.py::TestY::test_z[1.5-a/b]", None),
///     ("tests.unit.test_x.TestY".to_owned(), "test_z[1.5-a/b]".to_owned()),
/// );
/// ```
pub fn junit_names(node_id: &str, prefix: Option<&str>) -> (String, String) {
    let (path, bracket, params) = match node_id.find('[') {
        Some(i) => (&node_id[..i], "[", &node_id[i + 1..]),
        None => (node_id, "", ""),
    };
    let mut names: Vec<String> = path.split("::").map(str::to_owned).collect();
    let first = names[0].replace('/', ".");
    names[0] = first.strip_suffix(".py").unwrap_or(&first).to_owned();
    let last = names.len() - 1;
    names[last].push_str(bracket);
    names[last].push_str(params);
    let name = names.pop().unwrap_or_default();
    let mut classnames = names;
    if let Some(p) = prefix {
        classnames.insert(0, p.to_owned());
    }
    (
        escape_like_pytest(&classnames.join(".")),
        escape_like_pytest(&name),
    )
}

/// pytest's `bin_xml_escape`: characters not allowed in XML 1.0 become `#xNN`.
fn escape_like_pytest(s: &str) -> String {
    let legal = |c: char| {
        matches!(c,
            '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{7E}' | '\u{80}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    };
    if s.chars().all(legal) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if legal(c) {
                c.to_string()
            } else if (c as u32) <= 0xFF {
                format!("#x{:02X}", c as u32)
            } else {
                format!("#x{:04X}", c as u32)
            }
        })
        .collect()
}

/// Whether a case is pytest's report of a module that failed to import: an
/// `<error message="collection failure">` (its `classname` is empty, or the
/// `junit_prefix`, and its `name` the dotted module path).
pub fn is_collection_error(case: &TestCase) -> bool {
    case.errors
        .iter()
        .any(|e| e.message.as_deref() == Some("collection failure"))
}

/// Best-effort node id of a case without a list of known node ids.
///
/// With `file` (pytest's xunit1 family) the result is exact for tests
/// defined in the module they are collected from. Without it, the trailing
/// `classname` segments that start with an upper-case letter are taken as
/// classes and the rest as the module path. For a collection error the
/// node id is the module's path. Use [`Resolver`] when the universe of node
/// ids is known.
pub fn node_id(case: &TestCase) -> Option<NodeId> {
    let classname = case.classname.as_deref().unwrap_or("");
    if classname.is_empty() || is_collection_error(case) {
        if case.name.is_empty() {
            return None;
        }
        // Collection error: name is the dotted module path.
        return Some(NodeId(match &case.file {
            Some(f) => f.replace('\\', "/"),
            None => format!("{}.py", case.name.replace('.', "/")),
        }));
    }
    if let Some(file) = &case.file {
        let file = file.replace('\\', "/");
        let module = file.strip_suffix(".py").unwrap_or(&file).replace('/', ".");
        if classname == module {
            return Some(NodeId(format!("{file}::{}", case.name)));
        }
        if let Some(classes) = classname
            .strip_prefix(&module)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            return Some(NodeId(format!(
                "{file}::{}::{}",
                classes.replace('.', "::"),
                case.name
            )));
        }
    }
    let segments: Vec<&str> = classname.split('.').collect();
    let mut split = segments.len();
    while split > 1
        && segments[split - 1]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
    {
        split -= 1;
    }
    let mut id = format!("{}.py", segments[..split].join("/"));
    for class in &segments[split..] {
        id.push_str("::");
        id.push_str(class);
    }
    id.push_str("::");
    id.push_str(&case.name);
    Some(NodeId(id))
}

/// How a case maps onto the known node ids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolution {
    /// Exactly one known node id.
    Test(NodeId),
    /// A collection error of this module: every known test in it did not
    /// run. The path is a known node id's file when one matches, otherwise
    /// derived from the case (`file`, or the dotted module name).
    Module(NodeId),
    /// Several known node ids mangle to this case and `file` did not decide.
    Ambiguous(Vec<NodeId>),
    /// Not in the universe.
    Unknown,
}

/// Maps JUnit cases onto a known list of node ids by applying pytest's own
/// mangling to every known id (exact, no guessing).
///
/// ```
/// use debugenv_junit::pytest::{NodeId, Resolution, Resolver};
/// use debugenv_junit::Report;
///
/// let resolver = Resolver::new(["tests/v1.2/test_a.py::TestB::test_c[x.y]"], None);
/// let xml = r#"<testsuite><testcase classname="tests.v1.2.test_a.TestB" name="test_c[x.y]"/></testsuite>"#;
/// let report: Report = xml.parse()?;
/// assert_eq!(
///     resolver.resolve(&report.cases[0]),
///     Resolution::Test(NodeId::new("tests/v1.2/test_a.py::TestB::test_c[x.y]")),
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    tests: HashMap<(String, String), Vec<NodeId>>,
    modules: HashMap<(String, String), NodeId>,
}

impl Resolver {
    /// Index `node_ids` (as `pytest --collect-only -q` prints them) for a
    /// run with the given `junit_prefix` (`None` when unset).
    pub fn new<I, S>(node_ids: I, prefix: Option<&str>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut r = Resolver::default();
        for id in node_ids {
            let id = NodeId(id.into());
            r.tests
                .entry(junit_names(id.as_str(), prefix))
                .or_default()
                .push(id.clone());
            let path = id.path().to_owned();
            r.modules
                .entry(junit_names(&path, prefix))
                .or_insert(NodeId(path));
        }
        r
    }

    /// The node id(s) a case stands for.
    pub fn resolve(&self, case: &TestCase) -> Resolution {
        let key = (
            case.classname.clone().unwrap_or_default(),
            case.name.clone(),
        );
        if is_collection_error(case) {
            // A module whose tests are in the universe, or (when none of its
            // tests is known, as after a fresh import error) its path from
            // `file` / the dotted name.
            if let Some(m) = self.modules.get(&key) {
                return Resolution::Module(m.clone());
            }
            if let Some(guess) = node_id(case) {
                return Resolution::Module(guess);
            }
        }
        match self.tests.get(&key) {
            None => Resolution::Unknown,
            Some(ids) if ids.len() == 1 => Resolution::Test(ids[0].clone()),
            Some(ids) => {
                if let Some(file) = &case.file {
                    let file = file.replace('\\', "/");
                    let matching: Vec<&NodeId> =
                        ids.iter().filter(|id| id.path() == file).collect();
                    if let [one] = matching[..] {
                        return Resolution::Test(one.clone());
                    }
                }
                Resolution::Ambiguous(ids.clone())
            }
        }
    }
}

/// The result of one node id after combining every `<testcase>` written
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Combined {
    /// The outcome (see [`Outcomes::collect`] for the rule).
    pub outcome: Outcome,
    /// How many `<testcase>` elements carried this node id.
    pub elements: usize,
}

/// Per-node-id results of a pytest report.
///
/// pytest can write several `<testcase>` elements for one node id:
/// pytest-rerunfailures writes every attempt (earlier attempts without a
/// result element, the final one last), and pytest writes a teardown error
/// after a failed test as a second element. The *last* element decides,
/// except that a teardown error right after a failure keeps `Failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcomes {
    /// One entry per resolved node id.
    pub tests: BTreeMap<NodeId, Combined>,
    /// Modules that failed to collect (their tests did not run).
    pub broken_modules: BTreeSet<NodeId>,
    /// Indices of cases not in the universe.
    pub unknown: Vec<usize>,
    /// Indices of cases that matched several node ids.
    pub ambiguous: Vec<usize>,
}

impl Outcomes {
    /// Resolve and combine `cases` (usually `&report.cases`).
    pub fn collect(cases: &[TestCase], resolver: &Resolver) -> Outcomes {
        let mut out = Outcomes::default();
        for (i, case) in cases.iter().enumerate() {
            match resolver.resolve(case) {
                Resolution::Test(id) => {
                    let entry = out.tests.entry(id).or_insert(Combined {
                        outcome: case.outcome,
                        elements: 0,
                    });
                    let keep_failed =
                        entry.outcome == Outcome::Failed && case.outcome == Outcome::Errored;
                    if entry.elements > 0 && !keep_failed {
                        entry.outcome = case.outcome;
                    }
                    entry.elements += 1;
                }
                Resolution::Module(m) => {
                    out.broken_modules.insert(m);
                }
                Resolution::Ambiguous(_) => out.ambiguous.push(i),
                Resolution::Unknown => out.unknown.push(i),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(classname: &str, name: &str, file: Option<&str>) -> TestCase {
        let mut c = TestCase::new(name);
        c.classname = Some(classname.to_owned());
        c.file = file.map(str::to_owned);
        c
    }

    #[test]
    fn mangling_matches_pytest() {
        assert_eq!(
            junit_names("test_a.py::test_b", None),
            ("test_a".into(), "test_b".into())
        );
        assert_eq!(
            junit_names(
                "a/b/test_c.py::TestD::TestE::test_f[1-x::y[z]]",
                Some("pre")
            ),
            (
                "pre.a.b.test_c.TestD.TestE".into(),
                "test_f[1-x::y[z]]".into()
            )
        );
        assert_eq!(
            junit_names("tests/test_m.py", None),
            (String::new(), "tests.test_m".into())
        );
        assert_eq!(
            junit_names("t.py::test[\u{1}é]", None),
            ("t".into(), "test[#x01é]".into())
        );
    }

    #[test]
    fn heuristic_without_file() {
        let c = case("tests.unit.test_x.TestY", "test_z[a.b/c-ü]", None);
        assert_eq!(
            node_id(&c).map(|n| n.0),
            Some("tests/unit/test_x.py::TestY::test_z[a.b/c-ü]".into())
        );
        let c = case("tests.test_x", "test_fn", None);
        assert_eq!(
            node_id(&c).map(|n| n.0),
            Some("tests/test_x.py::test_fn".into())
        );
    }

    #[test]
    fn exact_with_file() {
        let c = case(
            "tests.v1.2.test_x.TestY",
            "test_z",
            Some("tests/v1.2/test_x.py"),
        );
        assert_eq!(
            node_id(&c).map(|n| n.0),
            Some("tests/v1.2/test_x.py::TestY::test_z".into())
        );
    }

    #[test]
    fn resolver_handles_ambiguity_and_modules() {
        let r = Resolver::new(
            ["a/b.py::test_x", "a.b.py::test_x", "c/test_d.py::test_e"],
            None,
        );
        let amb = r.resolve(&case("a.b", "test_x", None));
        assert!(matches!(amb, Resolution::Ambiguous(ref v) if v.len() == 2));
        assert_eq!(
            r.resolve(&case("a.b", "test_x", Some("a.b.py"))),
            Resolution::Test(NodeId::new("a.b.py::test_x"))
        );
        let mut broken = case("", "c.test_d", None);
        assert_eq!(
            r.resolve(&broken),
            Resolution::Unknown,
            "not a collection error"
        );
        broken.errors.push(crate::Detail {
            message: Some("collection failure".into()),
            ..crate::Detail::default()
        });
        assert_eq!(
            r.resolve(&broken),
            Resolution::Module(NodeId::new("c/test_d.py"))
        );
        assert_eq!(r.resolve(&case("zzz", "test_x", None)), Resolution::Unknown);
    }

    #[test]
    fn outcomes_take_the_last_element_but_keep_a_failure_before_a_teardown_error() {
        let r = Resolver::new(["t.py::a", "t.py::b", "t.py::c"], None);
        let with = |name: &str, outcome: Outcome| {
            let mut c = case("t", name, None);
            c.outcome = outcome;
            c
        };
        let cases = [
            with("a", Outcome::Passed),
            with("a", Outcome::Failed),
            with("b", Outcome::Failed),
            with("b", Outcome::Errored),
            with("c", Outcome::Failed),
            with("c", Outcome::Passed),
            with("zzz", Outcome::Passed),
        ];
        let o = Outcomes::collect(&cases, &r);
        let get = |id: &str| o.tests[&NodeId::new(id)];
        assert_eq!(get("t.py::a").outcome, Outcome::Failed);
        assert_eq!(get("t.py::a").elements, 2);
        assert_eq!(get("t.py::b").outcome, Outcome::Failed);
        assert_eq!(get("t.py::c").outcome, Outcome::Passed);
        assert_eq!(o.unknown, [6]);
    }
}
