//! The affected-tests map behind targeted grading: which universe tests
//! execute each workspace file and each function body in it, from per-test
//! coverage contexts (pytest-cov `--cov-context=test`, per line) of the
//! fully fixed project.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use debugenv_sandbox::{Command, Sandbox};

use crate::env::apply_fixes;
use crate::error::{Error, ErrorKind, Result};
use crate::grading::{self, quote};
use crate::package::{AffectedEntry, AffectedFile, Package};
use crate::pyunits;

/// Which universe tests execute each workspace file, and each function body
/// of the files that parse as Python (see [`crate::Affected`] for the names).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AffectedMap {
    /// Workspace path -> node ids (sorted).
    pub files: BTreeMap<String, Vec<String>>,
    /// Workspace path -> function body -> node ids (sorted; each also in
    /// `files[path]`).
    pub functions: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Node id -> seconds it took in the coverage run (rounded to 10 ms):
    /// weights that balance sharded full gradings (`tests.shards`). They
    /// vary from run to run; [`AffectedMap::same_selection`] ignores them.
    pub durations: BTreeMap<String, f64>,
}

impl AffectedMap {
    /// The JSON form a package keeps in `tests.affected` (default `affected.json`).
    pub fn to_json(&self) -> String {
        let files = self
            .files
            .iter()
            .map(|(path, tests)| {
                let entry = match self.functions.get(path) {
                    None => AffectedEntry::Tests(tests.clone()),
                    Some(functions) => AffectedEntry::Functions {
                        tests: tests.clone(),
                        functions: functions
                            .iter()
                            .map(|(name, ids)| {
                                let positions = ids
                                    .iter()
                                    .filter_map(|id| tests.binary_search(id).ok())
                                    .collect();
                                (name.clone(), positions)
                            })
                            .collect(),
                    },
                };
                (path.clone(), entry)
            })
            .collect();
        let file = AffectedFile {
            version: 2,
            generated_by: "pytest-cov --cov-context=test on the fully fixed project, \
                           per line, grouped by function body \
                           (cargo run -p debugenv --example affected)"
                .into(),
            files,
            durations: self.durations.clone(),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("serializable");
        s.push('\n');
        s
    }

    /// Whether `json` (a map file's text) selects the same tests as this
    /// map: the same files, tests and function bodies. Durations and the
    /// free-text `generated_by` are not compared (they are not selections).
    pub fn same_selection(&self, json: &str) -> bool {
        let strip = |text: &str| {
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .map(|mut v| {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("durations");
                        o.remove("generated_by");
                    }
                    v
                })
        };
        let ours = strip(&self.to_json());
        ours.is_some() && ours == strip(json)
    }
}

/// Builds the map in `sandbox` (whose workspace is the package's project):
/// applies every reference fix, runs the universe once under coverage with
/// per-test contexts, splits each covered file into function bodies (the
/// fixed content's), and resets the sandbox. The sandbox's Python needs
/// `pytest-cov`.
///
/// # Errors
///
/// A sandbox failure, a fix that does not apply, or a coverage run that
/// produced no report.
pub async fn affected_map<S: Sandbox>(package: &Package, sandbox: &S) -> Result<AffectedMap> {
    let sb = |context: &'static str| move |e| Error::new(context, ErrorKind::Sandbox(e));
    sandbox.reset().await.map_err(sb("resetting the sandbox"))?;
    apply_fixes(package, sandbox, "building the affected-tests map", |_| {
        true
    })
    .await?;
    let tmp = "\"${TMPDIR:-/tmp}\"";
    let mut line = format!(
        "printf '[run]\\nbranch = False\\n[json]\\nshow_contexts = True\\n' > {tmp}/debugenv-covrc && "
    );
    line.push_str(&grading::pytest_line(package, None));
    line.push_str(&format!(
        " -p pytest_cov --cov=. --cov-context=test --cov-config={tmp}/debugenv-covrc \
         --cov-report=json:{tmp}/debugenv-cov.json \
         -o junit_family=xunit1 \"--junitxml=${{TMPDIR:-/tmp}}/debugenv-cov.xml\""
    ));
    for c in &package.spec().tests.categories {
        line.push(' ');
        line.push_str(&quote(&c.path));
    }
    let run = sandbox
        .exec(&grading::pytest_command(
            package,
            line,
            package.spec().tests.timeout * 2,
        ))
        .await
        .map_err(sb("running the tests under coverage"))?;
    // The JUnit report (durations) first: the coverage read removes both.
    let junit = sandbox
        .exec(
            &Command::shell(format!("cat {tmp}/debugenv-cov.xml"))
                .timeout(Duration::from_secs(60))
                .output_limit(256 << 20),
        )
        .await
        .map_err(sb("reading the JUnit report of the coverage run"))?;
    let read = sandbox
        .exec(
            &Command::shell(format!(
                "cat {tmp}/debugenv-cov.json; s=$?; rm -f {tmp}/debugenv-cov*; exit $s"
            ))
            .timeout(Duration::from_secs(60))
            .output_limit(512 << 20),
        )
        .await
        .map_err(sb("reading the coverage report"))?;
    let json = serde_json::from_slice::<serde_json::Value>(&read.stdout);
    // The fixed sources, for their function bodies.
    let mut sources = BTreeMap::new();
    if let Some(all) = json
        .as_ref()
        .ok()
        .and_then(|j| j.get("files"))
        .and_then(|f| f.as_object())
    {
        for path in all.keys().filter(|p| !package.is_protected(p)) {
            if let Ok(bytes) = sandbox.read_file(path).await {
                sources.insert(path.clone(), bytes);
            }
        }
    }
    sandbox.reset().await.map_err(sb("resetting the sandbox"))?;
    if !read.status.success() {
        return Err(Error::new(
            "building the affected-tests map",
            ErrorKind::State(format!(
                "the coverage run wrote no report (is pytest-cov installed?): {}",
                run.stdout_text()
                    .lines()
                    .chain(run.stderr_text().lines())
                    .last()
                    .unwrap_or("")
            )),
        ));
    }
    let json = json.map_err(|e| {
        Error::new(
            "building the affected-tests map",
            ErrorKind::State(format!("the coverage report is not JSON: {e}")),
        )
    })?;
    let universe = package.universe();
    let mut map = AffectedMap::default();
    if let Some(all) = json.get("files").and_then(|f| f.as_object()) {
        for (path, data) in all {
            if package.is_protected(path) {
                continue;
            }
            // Line -> the universe tests that executed it.
            let mut lines: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
            if let Some(contexts) = data.get("contexts").and_then(|c| c.as_object()) {
                for (line, names) in contexts {
                    let Ok(line) = line.parse::<usize>() else {
                        continue;
                    };
                    for name in names
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_str())
                    {
                        let id = name.rsplit_once('|').map_or(name, |(id, _)| id);
                        if universe.position(id).is_some() {
                            lines.entry(line).or_default().insert(id);
                        }
                    }
                }
            }
            let all_tests: BTreeSet<&str> = lines.values().flatten().copied().collect();
            map.files.insert(
                path.clone(),
                all_tests.iter().map(|s| (*s).to_owned()).collect(),
            );
            if let Some(units) = sources.get(path).and_then(|s| pyunits::split(s)) {
                let functions = units
                    .units
                    .iter()
                    .map(|u| {
                        let tests: BTreeSet<&str> = lines
                            .range(u.lines.clone())
                            .flat_map(|(_, t)| t.iter().copied())
                            .collect();
                        (
                            u.key.clone(),
                            tests.into_iter().map(str::to_owned).collect(),
                        )
                    })
                    .collect();
                map.functions.insert(path.clone(), functions);
            }
        }
    }
    if junit.status.success() {
        let parser = debugenv_junit::Parser::builder()
            .mode(debugenv_junit::Mode::Tolerant)
            .build()
            .expect("the default limits are valid");
        let report = parser.parse_partial(&junit.stdout[..]).report;
        let resolver = debugenv_junit::pytest::Resolver::new(
            universe.tests().iter().map(|t| t.id.as_str().to_owned()),
            None,
        );
        for case in &report.cases {
            if let debugenv_junit::pytest::Resolution::Test(id) = resolver.resolve(case) {
                let secs = (case.time.unwrap_or(0.0).max(0.0) * 100.0).round() / 100.0;
                map.durations.insert(id.as_str().to_owned(), secs);
            }
        }
    }
    Ok(map)
}
