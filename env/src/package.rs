//! An environment package on disk, loaded and cross-checked in one pass.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use debugenv_bugs::{
    BugGraph, BugId, Manifest, ManifestErrorKind, TestUniverse, UniverseErrorKind,
};
use debugenv_reward::{Category, RewardConfig, RewardConfigBuilder};
use debugenv_sandbox::{NetworkPolicy, SandboxSpec};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{PackageError, Problem};
use crate::spec::EnvironmentSpec;

/// A loaded environment package: the spec, the bug graph, the test universe,
/// the reference fixes and the reward configuration, all cross-checked.
///
/// ```no_run
/// let package = debugenv::Package::load("examples/talentflow")?;
/// println!("{}: {} tests, {} bugs", package.spec().name, package.universe().len(), package.graph().len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Package {
    dir: PathBuf,
    spec: EnvironmentSpec,
    universe: TestUniverse,
    graph: BugGraph,
    solutions: BTreeMap<BugId, String>,
    reward: RewardConfig,
    protect: GlobSet,
    /// Category index (in `spec.tests.categories`) of every universe test.
    categories: Vec<usize>,
    /// Workspace file -> universe tests that execute it, per file and per
    /// function body.
    affected: Option<HashMap<String, FileTests>>,
    /// Milliseconds of every universe test in the run that made the map
    /// (empty without durations): the weights of sharded full gradings.
    durations: Vec<u64>,
    full_on: GlobSet,
    fresh_on: GlobSet,
}

/// The affected-tests map file: which tests execute each workspace file
/// and, from version 2, each function body in it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AffectedFile {
    pub(crate) version: u32,
    /// How the map was made (free text).
    #[serde(default)]
    pub(crate) generated_by: String,
    pub(crate) files: BTreeMap<String, AffectedEntry>,
    /// Node id -> seconds in the run that made the map (shard balance).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) durations: BTreeMap<String, f64>,
}

/// One file of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum AffectedEntry {
    /// Version 1: the node ids of the tests that execute the file.
    Tests(Vec<String>),
    /// Version 2: those tests, and per function body (its qualified name,
    /// see [`Affected`]) the positions in `tests` of the ones that execute it.
    Functions {
        tests: Vec<String>,
        #[serde(default)]
        functions: BTreeMap<String, Vec<usize>>,
    },
}

/// The tests of one file of the map, as universe indices (sorted).
#[derive(Debug, Clone, Default)]
struct FileTests {
    file: Vec<usize>,
    /// `None` in a version 1 map.
    functions: Option<HashMap<String, Vec<usize>>>,
}

/// The universe tests a change of one file can affect
/// ([`Package::affected_by_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Affected<'a> {
    /// The tests that execute any line of the file (sorted indices).
    pub file: &'a [usize],
    /// The tests that execute a function body that changed (sorted
    /// indices), when the change is confined to bodies of functions the map
    /// knows: a body is a `def` at module level or in a class body, named
    /// `function`, `Class.method` or `Outer.Inner.method` (`@2`, `@3` for
    /// later definitions of the same name). `None` when anything else
    /// changed (imports, module or class statements, decorators,
    /// signatures, comments between definitions), when a version does not
    /// parse, or when the map has no function data.
    pub functions: Option<Vec<usize>>,
}

/// The reward configuration of a spec: its preset, its categories (weights
/// from the spec or the preset), `max_steps`, the dependency penalty.
fn reward_config(spec: &EnvironmentSpec) -> Result<RewardConfig, Vec<String>> {
    let preset = RewardConfig::preset(spec.preset);
    let mut builder = RewardConfigBuilder::from_preset(spec.preset)
        .clear_categories()
        .max_steps(spec.max_steps);
    if let Some(p) = spec.dependency_penalty {
        builder = builder.dependency_penalty(p);
    }
    let mut problems = Vec::new();
    for c in &spec.tests.categories {
        let weight = c.weight.or_else(|| {
            preset
                .categories()
                .iter()
                .find(|(name, _)| name.as_str() == c.name)
                .map(|(_, w)| *w)
        });
        match weight {
            Some(w) => builder = builder.category_weight(Category::new(c.name.clone()), w),
            None => problems.push(format!(
                "category `{}` has no `weight` and the `{}` preset has no weight for it",
                c.name,
                spec.preset.name()
            )),
        }
    }
    match builder.build() {
        Ok(r) if problems.is_empty() => Ok(r),
        Ok(_) => Err(problems),
        Err(e) => {
            problems.push(format!("reward: {e}"));
            Err(problems)
        }
    }
}

/// A glob set of the patterns (the spec checked them; an invalid one is skipped).
fn glob_set<'a>(patterns: impl IntoIterator<Item = &'a String>) -> Option<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    b.build().ok()
}

fn load_affected(
    path: &Path,
    universe: &TestUniverse,
    problems: &mut Vec<Problem>,
) -> Option<(HashMap<String, FileTests>, Vec<u64>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            problems.push(Problem::new(path, format!("cannot read: {e}")));
            return None;
        }
    };
    let file: AffectedFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem::at_line(path, e.line(), e.column(), e.to_string()));
            return None;
        }
    };
    if !(1..=2).contains(&file.version) {
        problems.push(Problem::new(
            path,
            format!("unsupported version {} (expected 1 or 2)", file.version),
        ));
        return None;
    }
    let before = problems.len();
    let mut map = HashMap::new();
    for (source, entry) in file.files {
        let (tests, functions) = match entry {
            AffectedEntry::Tests(t) => (t, None),
            AffectedEntry::Functions { tests, functions } => (tests, Some(functions)),
        };
        let mut ids = Vec::with_capacity(tests.len());
        for t in &tests {
            match universe.position(t) {
                Some(i) => ids.push(i),
                None => problems.push(Problem::new(
                    path,
                    format!("`{source}` maps to test `{t}`, which is not in tests.json"),
                )),
            }
        }
        let functions = functions.map(|f| {
            f.into_iter()
                .map(|(name, positions)| {
                    let mut of = Vec::with_capacity(positions.len());
                    for k in positions {
                        match tests.get(k).and_then(|t| universe.position(t)) {
                            Some(i) => of.push(i),
                            None if k >= tests.len() => problems.push(Problem::new(
                                path,
                                format!(
                                    "`{source}` function `{name}` names test {k}, but the file \
                                     lists {} tests",
                                    tests.len()
                                ),
                            )),
                            None => {} // reported with the file's tests
                        }
                    }
                    of.sort_unstable();
                    of.dedup();
                    (name, of)
                })
                .collect()
        });
        ids.sort_unstable();
        ids.dedup();
        map.insert(
            source,
            FileTests {
                file: ids,
                functions,
            },
        );
    }
    let mut durations = Vec::new();
    if !file.durations.is_empty() {
        durations = vec![0; universe.len()];
        for (id, secs) in &file.durations {
            match universe.position(id) {
                Some(i) if secs.is_finite() && *secs >= 0.0 => {
                    durations[i] = (secs * 1000.0).round() as u64;
                }
                Some(_) => problems.push(Problem::new(
                    path,
                    format!("the duration of `{id}` is {secs}; expected seconds >= 0"),
                )),
                None => problems.push(Problem::new(
                    path,
                    format!("durations name test `{id}`, which is not in tests.json"),
                )),
            }
        }
    }
    (problems.len() == before).then_some((map, durations))
}

impl Package {
    /// Loads the package in `dir`: `environment.toml`, `bugs.toml`,
    /// `tests.json`, `solutions/<ID>.patch` and the project directory.
    ///
    /// # Errors
    ///
    /// A [`PackageError`] listing every problem found, each with its file and,
    /// where it has one, line and column.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, PackageError> {
        let dir = dir.as_ref();
        let mut problems = Vec::new();

        let env_path = dir.join("environment.toml");
        let spec = match std::fs::read_to_string(&env_path) {
            Ok(text) => match EnvironmentSpec::parse(&env_path, &text) {
                Ok(s) => Some(s),
                Err(p) => {
                    problems.extend(p);
                    None
                }
            },
            Err(e) => {
                problems.push(Problem::new(&env_path, format!("cannot read: {e}")));
                None
            }
        };

        let bugs_path = dir.join("bugs.toml");
        let manifest = match Manifest::from_path(&bugs_path) {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(match e.kind() {
                    ManifestErrorKind::Toml {
                        position: Some(p),
                        message,
                    } => Problem::at_line(
                        &bugs_path,
                        p.line as usize,
                        p.column as usize,
                        message.clone(),
                    ),
                    other => Problem::new(&bugs_path, other.to_string()),
                });
                None
            }
        };

        let tests_path = dir.join("tests.json");
        let universe = match TestUniverse::from_path(&tests_path) {
            Ok(u) => Some(u),
            Err(e) => {
                match e.kind() {
                    UniverseErrorKind::Json { position, message } => {
                        problems.push(Problem::at_line(
                            &tests_path,
                            position.line as usize,
                            position.column as usize,
                            message.clone(),
                        ))
                    }
                    UniverseErrorKind::Invalid(list) => problems.extend(
                        list.iter()
                            .map(|p| Problem::new(&tests_path, p.to_string())),
                    ),
                    other => problems.push(Problem::new(&tests_path, other.to_string())),
                }
                None
            }
        };

        let graph = match (&manifest, &universe) {
            (Some(m), Some(u)) => match BugGraph::new(m, u) {
                Ok(g) => Some(g),
                Err(e) => {
                    problems.extend(e.problems().iter().map(|p| match p.position {
                        Some(pos) => Problem::at_line(
                            &bugs_path,
                            pos.line as usize,
                            pos.column as usize,
                            p.kind.to_string(),
                        ),
                        None => Problem::new(&bugs_path, p.kind.to_string()),
                    }));
                    None
                }
            },
            _ => None,
        };

        let mut solutions = BTreeMap::new();
        if let Some(m) = &manifest {
            for bug in m.bugs() {
                let path = dir.join("solutions").join(format!("{}.patch", bug.id));
                match std::fs::read_to_string(&path) {
                    Ok(text) => match crate::patch::parse(&text) {
                        Ok(_) => {
                            solutions.insert(bug.id.clone(), text);
                        }
                        Err(e) => problems.push(Problem::new(
                            &path,
                            format!("not a usable unified diff: {e}"),
                        )),
                    },
                    Err(e) => problems.push(Problem::new(
                        &path,
                        format!("cannot read the reference fix of bug `{}`: {e}", bug.id),
                    )),
                }
            }
        }

        let mut reward = None;
        let mut protect = None;
        let mut full_on = None;
        let mut fresh_on = None;
        let mut affected = None;
        let mut durations = Vec::new();
        let mut categories = Vec::new();
        if let Some(spec) = &spec {
            let project = dir.join(&spec.project);
            if !project.is_dir() {
                problems.push(Problem::new(
                    &env_path,
                    format!("project directory {} does not exist", project.display()),
                ));
            } else if !spec.tests.config.is_empty() && !project.join(&spec.tests.config).is_file() {
                problems.push(Problem::new(
                    &env_path,
                    format!(
                        "tests.config `{}` does not exist in the project",
                        spec.tests.config
                    ),
                ));
            }
            // The config file is always protected.
            let config = (!spec.tests.config.is_empty()).then_some(&spec.tests.config);
            protect = glob_set(spec.protect.iter().chain(config));
            full_on = glob_set(&spec.tests.full_on);
            fresh_on = glob_set(&spec.tests.fresh_on);
            if let Some(u) = &universe {
                if let Some((map, d)) =
                    load_affected(&dir.join(&spec.tests.affected), u, &mut problems)
                {
                    affected = Some(map);
                    durations = d;
                }
            }

            match reward_config(spec) {
                Ok(r) => reward = Some(r),
                Err(messages) => {
                    problems.extend(messages.into_iter().map(|m| Problem::new(&env_path, m)))
                }
            }

            if let Some(u) = &universe {
                for t in u.tests() {
                    let id = t.id.as_str();
                    match spec.tests.categories.iter().position(|c| c.name == t.category.as_str()) {
                        None => problems.push(Problem::new(
                            &tests_path,
                            format!("test `{id}` has category `{}`, which environment.toml does not define", t.category),
                        )),
                        Some(i) => {
                            let dir = &spec.tests.categories[i].path;
                            if !id.starts_with(&format!("{dir}/")) {
                                problems.push(Problem::new(
                                    &tests_path,
                                    format!("test `{id}` of category `{}` is not under `{dir}/`", t.category),
                                ));
                            }
                            categories.push(i);
                        }
                    }
                }
            }
        }

        match (spec, universe, graph, reward, protect, full_on, fresh_on) {
            (
                Some(spec),
                Some(universe),
                Some(graph),
                Some(reward),
                Some(protect),
                Some(full_on),
                Some(fresh_on),
            ) if problems.is_empty() => Ok(Self {
                dir: dir.to_owned(),
                spec,
                universe,
                graph,
                solutions,
                reward,
                protect,
                categories,
                affected,
                durations,
                full_on,
                fresh_on,
            }),
            _ => {
                if problems.is_empty() {
                    problems.push(Problem::new(dir, "the package could not be loaded"));
                }
                Err(PackageError::new(dir, problems))
            }
        }
    }

    /// Replaces the Python interpreter the tests run with (`tests.python`),
    /// e.g. a venv with the project's requirements.
    #[must_use]
    pub fn with_python(mut self, python: impl Into<String>) -> Self {
        self.spec.tests.python = python.into();
        self
    }

    /// What a sandbox for this package starts with: the project as its
    /// workspace, the package's services, no network.
    ///
    /// # Errors
    ///
    /// The sandbox crate refuses the spec (e.g. the project dir vanished).
    pub fn sandbox_spec(&self) -> Result<SandboxSpec, debugenv_sandbox::Error> {
        let mut b = SandboxSpec::builder(self.project_dir());
        for s in &self.spec.services {
            b = b.service(*s);
        }
        b.network(NetworkPolicy::Isolated).build()
    }

    /// The package directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `environment.toml`.
    pub fn spec(&self) -> &EnvironmentSpec {
        &self.spec
    }

    /// The project directory (the pristine workspace the agent starts from).
    pub fn project_dir(&self) -> PathBuf {
        self.dir.join(&self.spec.project)
    }

    /// The test universe (`tests.json`).
    pub fn universe(&self) -> &TestUniverse {
        &self.universe
    }

    /// The bug graph (`bugs.toml` checked against the universe).
    pub fn graph(&self) -> &BugGraph {
        &self.graph
    }

    /// The reference fix of a bug (unified diff text).
    pub fn solution(&self, bug: &BugId) -> Option<&str> {
        self.solutions.get(bug).map(String::as_str)
    }

    /// The reward configuration: the preset, the package's categories and
    /// weights, `max_steps`.
    pub fn reward_config(&self) -> &RewardConfig {
        &self.reward
    }

    /// Whether a workspace path is protected (tests, conftest, pytest config).
    pub fn is_protected(&self, path: &str) -> bool {
        self.protect.is_match(path)
    }

    /// Whether the package has an affected-tests map (targeted grading).
    pub fn has_affected_map(&self) -> bool {
        self.affected.is_some()
    }

    /// The universe tests (indices) that execute a workspace file, per the
    /// affected-tests map; `None` when the file is not in the map.
    pub fn affected_tests(&self, path: &str) -> Option<&[usize]> {
        self.affected.as_ref()?.get(path).map(|f| f.file.as_slice())
    }

    /// The universe tests a change of workspace file `path` from `before`
    /// to `after` can affect, per the affected-tests map: every test that
    /// executes the file and, when the change is confined to function
    /// bodies the map knows, only those that execute a changed body.
    /// `None` when the file is not in the map.
    ///
    /// ```no_run
    /// let p = debugenv::Package::load("examples/talentflow")?;
    /// let before = std::fs::read(p.project_dir().join("apps/accounts/oauth.py"))?;
    /// let after = String::from_utf8(before.clone())?.replacen("return", "return  ", 1);
    /// if let Some(a) = p.affected_by_change("apps/accounts/oauth.py", &before, after.as_bytes()) {
    ///     println!("{} tests run the file, {:?} the changed function", a.file.len(), a.functions.map(|f| f.len()));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn affected_by_change(
        &self,
        path: &str,
        before: &[u8],
        after: &[u8],
    ) -> Option<Affected<'_>> {
        let entry = self.affected.as_ref()?.get(path)?;
        let functions = entry.functions.as_ref().and_then(|known| {
            let changed = crate::pyunits::changed_units(before, after)?;
            let mut tests = Vec::new();
            for key in changed {
                tests.extend(known.get(&key)?.iter().copied());
            }
            tests.sort_unstable();
            tests.dedup();
            Some(tests)
        });
        Some(Affected {
            file: &entry.file,
            functions,
        })
    }

    /// The content of project file `path` with the reference fixes of
    /// `bugs` applied (in the order given), as the harness applies them:
    /// the shipped content for no bugs; `Ok(None)` when the fixes delete
    /// the file or it does not exist in any of these states.
    ///
    /// ```no_run
    /// use debugenv::bugs::BugId;
    /// let p = debugenv::Package::load("examples/talentflow")?;
    /// let fixed = p.fixed_file("apps/jobs/matching.py", &[BugId::new("A3"), BugId::new("E1")])?;
    /// assert!(fixed.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A bug without a solution, a solution that does not parse, or one
    /// whose hunks for `path` do not apply, named in the message.
    pub fn fixed_file(&self, path: &str, bugs: &[BugId]) -> Result<Option<String>, String> {
        let mut text = match std::fs::read(self.project_dir().join(path)) {
            Ok(b) => Some(String::from_utf8(b).map_err(|e| format!("`{path}`: {e}"))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("`{path}`: {e}")),
        };
        for bug in bugs {
            let solution = self
                .solution(bug)
                .ok_or_else(|| format!("{bug} has no solution"))?;
            let targets =
                crate::patch::parse(solution).map_err(|e| format!("{bug}'s solution: {e}"))?;
            for t in targets.iter().filter(|t| t.path == path) {
                text = crate::patch::apply(t, text.as_deref())
                    .map_err(|e| format!("{bug}'s solution, `{path}`: {e}"))?;
            }
        }
        Ok(text)
    }

    /// Whether a change of this path makes the next grading rebuild what
    /// earlier runs kept (`tests.fresh_on`, with `tests.fresh_args`).
    pub fn forces_fresh(&self, path: &str) -> bool {
        self.fresh_on.is_match(path)
    }

    /// Whether a change of this path forces a full grading (`tests.full_on`).
    pub fn forces_full(&self, path: &str) -> bool {
        self.full_on.is_match(path)
    }

    /// How long universe test `i` took in the run that made the affected-tests
    /// map, in milliseconds (`None` when the map has no durations): the
    /// weight that balances sharded full gradings.
    pub fn test_duration_ms(&self, i: usize) -> Option<u64> {
        self.durations.get(i).copied()
    }

    /// Drops the affected-tests map (and its durations): every grading is
    /// full, shards are balanced by test count.
    #[must_use]
    pub fn without_affected_map(mut self) -> Self {
        self.affected = None;
        self.durations.clear();
        self
    }

    /// Overrides `max_steps` (the episode length and the reward's efficiency horizon).
    #[must_use]
    pub fn with_max_steps(mut self, max_steps: u32) -> Self {
        self.spec.max_steps = max_steps.max(1);
        self.reward = reward_config(&self.spec).expect("only max_steps changed in a valid spec");
        self
    }

    /// Overrides `tests.timeout_seconds` (the wall-clock limit of one grading run).
    #[must_use]
    pub fn with_test_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.spec.tests.timeout = timeout;
        self
    }

    /// Overrides `tests.full_every`.
    #[must_use]
    pub fn with_full_every(mut self, k: u32) -> Self {
        self.spec.tests.full_every = k.max(1);
        self
    }

    /// Overrides `tests.shards.count` and `tests.shards.targeted_count`
    /// (1: every grading is one pytest process).
    #[must_use]
    pub fn with_shards(mut self, count: u32) -> Self {
        self.spec.tests.shards.count = count.clamp(1, 64);
        self.spec.tests.shards.targeted_count = count.clamp(1, 64);
        self
    }

    /// Overrides `tests.preload`: third-party modules the resident pytest
    /// server imports (empty: every grading runs cold). Not checked against
    /// `tests.plugins` as loading is; the server refuses to serve (gradings
    /// run cold) when a plugin got imported.
    #[must_use]
    pub fn with_preload(mut self, modules: Vec<String>) -> Self {
        self.spec.tests.preload = modules;
        self
    }

    /// Overrides `tests.shards.min_tests` (smaller selections run in one process).
    #[must_use]
    pub fn with_shard_min_tests(mut self, min_tests: usize) -> Self {
        self.spec.tests.shards.min_tests = min_tests.max(1);
        self
    }

    /// The category (index into `spec().tests.categories`) of universe test `i`.
    pub fn category_of(&self, test: usize) -> usize {
        self.categories[test]
    }
}
