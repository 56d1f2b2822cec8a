//! `environment.toml`: what an environment is and how it is graded.
//!
//! Parsed by walking toml's spanned document tree, so that every problem of
//! the file (syntax, unknown keys, wrong types, missing keys, bad values) is
//! reported at once with its line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use debugenv_reward::Preset;
use debugenv_sandbox::Service;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::Problem;

/// One test category: a name, the directory of its tests, an optional weight.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CategorySpec {
    /// The category name (`unit`), as in `tests.json`.
    pub name: String,
    /// The directory of its tests, relative to the project (`tests/unit`).
    pub path: String,
    /// Its weight in the pass rate; `None` keeps the preset's weight.
    pub weight: Option<f64>,
}

/// How the harness runs the tests.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TestsSpec {
    /// The Python interpreter inside the sandbox (`python3`, or a venv path).
    pub python: String,
    /// The pytest configuration file the harness passes with `-c` (relative to
    /// the project; it must be protected so the agent cannot change it).
    pub config: String,
    /// Wall-clock limit of one grading run.
    pub timeout: Duration,
    /// A full grading at least every `full_every` state-changing steps
    /// (1: every grading is full). Between them, gradings are targeted when the
    /// package has an affected-tests map.
    pub full_every: u32,
    /// The affected-tests map (file -> tests, from coverage of the fixed
    /// project), relative to the package; used when the file exists.
    pub affected: String,
    /// Globs of workspace paths whose change always forces a full grading
    /// (settings, migrations, anything coverage cannot see).
    pub full_on: Vec<String>,
    /// pytest plugins the harness loads by name (`-p NAME`); plugin
    /// autoloading is always disabled.
    pub plugins: Vec<String>,
    /// Extra environment of the test run (`DJANGO_SETTINGS_MODULE`, ...).
    pub env: BTreeMap<String, String>,
    /// Extra pytest arguments appended to the harness's own.
    pub args: Vec<String>,
    /// Extra pytest arguments of a grading that may reuse state the previous
    /// grading kept (e.g. pytest-django's `["--reuse-db"]`): used when only
    /// `Edit`/`Patch` happened since a grading with a verdict and no changed
    /// path matches `fresh_on`.
    pub reuse_args: Vec<String>,
    /// Extra pytest arguments of every other grading (the reset's, after a
    /// `Run`, `RunTests`, no-verdict or `fresh_on` change) and of the full
    /// grading that ends an episode (a full grading that passes everything
    /// with `reuse_args` is redone with these): rebuild the state and keep it
    /// for the next (e.g. `["--reuse-db", "--create-db"]`).
    pub fresh_args: Vec<String>,
    /// Globs of workspace paths whose change makes the next grading use
    /// `fresh_args` (default: `**/migrations/**`).
    pub fresh_on: Vec<String>,
    /// The categories, in order; every universe test belongs to one.
    pub categories: Vec<CategorySpec>,
    /// How a grading is split over concurrent pytest processes.
    pub shards: ShardsSpec,
    /// Third-party modules a resident server of the sandbox imports once and
    /// forks every grading's pytest process from (`preload`; empty: every
    /// grading starts a fresh interpreter). Never the workspace's modules:
    /// the server runs outside it, so every edit is seen. pytest plugins the
    /// harness loads (`plugins`) cannot be listed: pytest rewrites a plugin's
    /// asserts at import. Needs a backend with
    /// [`Sandbox::spawn_resident`](debugenv_sandbox::Sandbox::spawn_resident);
    /// without one, gradings run cold. A forked run gets `env` as a cold one
    /// does, but variables Python reads only as it starts (`PYTHONWARNINGS`,
    /// `PYTHONDEVMODE`, `PYTHONUTF8`, ...) come from the server's start, which
    /// does not see `env` (so that no module imports the project's settings
    /// there): a package that needs them set should not preload.
    pub preload: Vec<String>,
}

/// `[tests.shards]`: a grading of many tests runs as `count` pytest
/// processes at once, each with whole test modules and its own state.
///
/// Shard `k` (0-based) gets the variables of `env` with `{shard}` replaced
/// by `k` (pytest-django's `TOX_PARALLEL_ENV` gives each shard its own test
/// database), and with `private_redis` every shard but the first gets a
/// Redis server of its own for the run (`REDIS_URL`, `REDIS_SOCKET` on a
/// unix socket in the sandbox's temp dir; the first uses the sandbox's).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShardsSpec {
    /// pytest processes per full grading (1: no sharding).
    pub count: u32,
    /// pytest processes per targeted grading (default: `count`): a small
    /// selection may gain less from more processes than it pays in start-up.
    pub targeted_count: u32,
    /// A selection of fewer tests runs in one process.
    pub min_tests: usize,
    /// Every shard but the first runs against a Redis server of its own.
    pub private_redis: bool,
    /// Per-shard variables; `{shard}` in a value is the shard's index.
    pub env: BTreeMap<String, String>,
}

impl Default for ShardsSpec {
    fn default() -> Self {
        Self {
            count: 1,
            targeted_count: 1,
            min_tests: 40,
            private_redis: false,
            env: BTreeMap::new(),
        }
    }
}

/// The parsed `environment.toml`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EnvironmentSpec {
    /// Short name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// The project directory (what the agent sees), relative to the package.
    pub project: PathBuf,
    /// Episode length: `truncated` is set at this step.
    pub max_steps: u32,
    /// The reward preset.
    pub preset: Preset,
    /// The bug dependency penalty, when it differs from the preset's.
    pub dependency_penalty: Option<f64>,
    /// How the tests run.
    pub tests: TestsSpec,
    /// Protected path globs (relative to the project): `Edit`/`Patch` on them
    /// are refused and they are restored before every grading.
    pub protect: Vec<String>,
    /// Services the sandbox starts (`postgres`, `redis`).
    pub services: Vec<Service>,
    /// The Docker image directory (relative to the package), for the Docker backend.
    pub image: Option<String>,
    /// Largest file an action may write, in bytes.
    pub max_file_bytes: usize,
    /// Output cap of a `Run` action, in bytes.
    pub max_output_bytes: usize,
}

impl EnvironmentSpec {
    /// Parses `environment.toml` text; `file` names the file in problems.
    ///
    /// # Errors
    ///
    /// Every problem of the file, each with its line and column.
    pub fn parse(file: &Path, source: &str) -> Result<Self, Vec<Problem>> {
        let (doc, errors) = DeTable::parse_recoverable(source);
        let mut w = Walker {
            file,
            source,
            problems: Vec::new(),
        };
        for e in errors {
            let offset = e.span().map_or(0, |s| s.start);
            w.problem(offset, format!("TOML syntax: {}", e.message().trim_end()));
        }
        let root = doc.get_ref();
        let spec = w.root(root, doc.span().start);
        if w.problems.is_empty() {
            return Ok(spec);
        }
        // In file order (a stable sort keeps the order of problems at one place).
        w.problems.sort_by_key(|p| (p.line, p.column));
        Err(w.problems)
    }
}

/// Paths whose change forces a full grading unless `tests.full_on` says otherwise.
pub(crate) const DEFAULT_FULL_ON: &[&str] = &[
    "**/settings.py",
    "**/settings/**",
    "**/migrations/**",
    "**/conftest.py",
    "**/__init__.py",
    "manage.py",
    "requirements*.txt",
];

/// Paths whose change makes the next grading rebuild what earlier runs kept
/// (`tests.fresh_args`) unless `tests.fresh_on` says otherwise.
pub(crate) const DEFAULT_FRESH_ON: &[&str] = &["**/migrations/**"];

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

struct Walker<'a> {
    file: &'a Path,
    source: &'a str,
    problems: Vec<Problem>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Walker<'_> {
    fn problem(&mut self, offset: usize, message: String) {
        self.problems
            .push(Problem::at(self.file, self.source, offset, message));
    }

    /// Checks that `table` has only `allowed` keys.
    fn keys(&mut self, table: &Table<'_>, what: &str, allowed: &[&str]) {
        for (k, _) in table.iter() {
            if !allowed.contains(&&**k.get_ref()) {
                let expected = allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.problem(
                    k.span().start,
                    format!(
                        "unknown key `{}` in {what}; expected one of {expected}",
                        k.get_ref()
                    ),
                );
            }
        }
    }

    fn get<'t, 'i>(table: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
        table
            .iter()
            .find(|(k, _)| *k.get_ref() == key)
            .map(|(_, v)| v)
    }

    fn string(
        &mut self,
        table: &Table<'_>,
        key: &str,
        at: usize,
        required: bool,
    ) -> Option<String> {
        match Self::get(table, key) {
            None => {
                if required {
                    self.problem(at, format!("missing key `{key}` (a string)"));
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
                DeValue::String(_) => {
                    self.problem(
                        v.span().start,
                        format!("`{key}` is empty; expected a non-empty string"),
                    );
                    None
                }
                other => {
                    self.problem(
                        v.span().start,
                        format!("`{key}` is {}; expected a string", type_name(other)),
                    );
                    None
                }
            },
        }
    }

    fn integer(&mut self, table: &Table<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let v = Self::get(table, key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.problem(
                v.span().start,
                format!("`{key}` is {}; expected an integer", type_name(v.get_ref())),
            );
            return None;
        };
        let parsed = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok();
        match parsed {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(
                    v.span().start,
                    format!(
                        "`{key}` = {} is out of range; expected an integer in {min}..={max}",
                        i.as_str()
                    ),
                );
                None
            }
        }
    }

    fn float(&mut self, table: &Table<'_>, key: &str, min: f64, max: f64) -> Option<f64> {
        let v = Self::get(table, key)?;
        let text = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', ""),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', ""),
            other => {
                self.problem(
                    v.span().start,
                    format!("`{key}` is {}; expected a number", type_name(other)),
                );
                return None;
            }
        };
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && (min..=max).contains(&x) => Some(x),
            _ => {
                self.problem(
                    v.span().start,
                    format!(
                        "`{key}` = {text} is out of range; expected a number in [{min}, {max}]"
                    ),
                );
                None
            }
        }
    }

    fn strings(&mut self, table: &Table<'_>, key: &str) -> Vec<String> {
        let Some(v) = Self::get(table, key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.problem(
                v.span().start,
                format!(
                    "`{key}` is {}; expected an array of strings",
                    type_name(v.get_ref())
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !s.is_empty() => out.push(s.to_string()),
                other => self.problem(
                    item.span().start,
                    format!(
                        "an entry of `{key}` is {}; expected a non-empty string",
                        type_name(other)
                    ),
                ),
            }
        }
        out
    }

    fn table<'t, 'i>(
        &mut self,
        parent: &'t Table<'i>,
        key: &str,
    ) -> Option<(&'t Table<'i>, usize)> {
        let v = Self::get(parent, key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some((t, v.span().start)),
            other => {
                self.problem(
                    v.span().start,
                    format!("`{key}` is {}; expected a table", type_name(other)),
                );
                None
            }
        }
    }

    fn root(&mut self, root: &Table<'_>, at: usize) -> EnvironmentSpec {
        self.keys(
            root,
            "the top level",
            &[
                "name",
                "description",
                "project",
                "max_steps",
                "reward",
                "tests",
                "protect",
                "services",
                "image",
                "limits",
            ],
        );
        let name = self.string(root, "name", at, true).unwrap_or_default();
        let description = self
            .string(root, "description", at, false)
            .unwrap_or_default();
        let project = self
            .string(root, "project", at, false)
            .unwrap_or_else(|| "project".into());
        if Path::new(&project).is_absolute() || project.split('/').any(|c| c == "..") {
            if let Some(v) = Self::get(root, "project") {
                self.problem(
                    v.span().start,
                    "`project` must be a relative path inside the package".into(),
                );
            }
        }
        let max_steps = self
            .integer(root, "max_steps", 1, i64::from(u32::MAX))
            .unwrap_or(100) as u32;

        let (mut preset, mut dependency_penalty) = (Preset::Talentflow, None);
        if let Some((reward, at)) = self.table(root, "reward") {
            self.keys(reward, "[reward]", &["preset", "dependency_penalty"]);
            if let Some(p) = self.string(reward, "preset", at, false) {
                match Preset::from_str(&p) {
                    Ok(p) => preset = p,
                    Err(_) => {
                        let names: Vec<_> = Preset::ALL.iter().map(|p| p.name()).collect();
                        let off = Self::get(reward, "preset").map_or(at, |v| v.span().start);
                        self.problem(
                            off,
                            format!(
                                "unknown reward preset `{p}`; expected one of {}",
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
            dependency_penalty = self.float(reward, "dependency_penalty", 0.0, 1.0);
        }

        let tests = match self.table(root, "tests") {
            Some((t, at)) => self.tests(t, at),
            None => {
                self.problem(
                    at,
                    "missing table `[tests]` (how the harness runs the tests)".into(),
                );
                TestsSpec {
                    python: String::new(),
                    config: String::new(),
                    timeout: Duration::ZERO,
                    full_every: 1,
                    affected: String::new(),
                    full_on: Vec::new(),
                    plugins: Vec::new(),
                    env: BTreeMap::new(),
                    args: Vec::new(),
                    reuse_args: Vec::new(),
                    fresh_args: Vec::new(),
                    fresh_on: Vec::new(),
                    categories: Vec::new(),
                    shards: ShardsSpec::default(),
                    preload: Vec::new(),
                }
            }
        };

        let mut protect = Vec::new();
        if let Some((p, _)) = self.table(root, "protect") {
            self.keys(p, "[protect]", &["paths"]);
            protect = self.strings(p, "paths");
            if let Some(v) = Self::get(p, "paths") {
                for pattern in &protect {
                    if let Err(e) = globset::Glob::new(pattern) {
                        self.problem(
                            v.span().start,
                            format!("protected path `{pattern}` is not a valid glob: {e}"),
                        );
                    }
                }
            }
        }

        let mut services = Vec::new();
        let service_names = self.strings(root, "services");
        for s in service_names {
            match s.as_str() {
                "postgres" | "postgresql" => services.push(Service::Postgres),
                "redis" => services.push(Service::Redis),
                other => {
                    let off = Self::get(root, "services").map_or(at, |v| v.span().start);
                    self.problem(
                        off,
                        format!("unknown service `{other}`; expected `postgres` or `redis`"),
                    );
                }
            }
        }
        let image = self.string(root, "image", at, false);

        let (mut max_file_bytes, mut max_output_bytes) = (1 << 20, 64 << 10);
        if let Some((l, _)) = self.table(root, "limits") {
            self.keys(l, "[limits]", &["max_file_bytes", "max_output_bytes"]);
            if let Some(n) = self.integer(l, "max_file_bytes", 1, 1 << 30) {
                max_file_bytes = n as usize;
            }
            if let Some(n) = self.integer(l, "max_output_bytes", 1, 1 << 30) {
                max_output_bytes = n as usize;
            }
        }

        EnvironmentSpec {
            name,
            description,
            project: PathBuf::from(project),
            max_steps,
            preset,
            dependency_penalty,
            tests,
            protect,
            services,
            image,
            max_file_bytes,
            max_output_bytes,
        }
    }

    /// A list of globs (`default` when the key is absent), each checked.
    fn globs(&mut self, t: &Table<'_>, key: &str, default: &[&str]) -> Vec<String> {
        let Some(v) = Self::get(t, key) else {
            return default.iter().map(|s| (*s).to_owned()).collect();
        };
        let globs = self.strings(t, key);
        for pattern in &globs {
            if let Err(e) = globset::Glob::new(pattern) {
                self.problem(
                    v.span().start,
                    format!("`{key}` entry `{pattern}` is not a valid glob: {e}"),
                );
            }
        }
        globs
    }

    /// A table of string values (`key` in `t`), named `what` in problems.
    fn env_table(&mut self, t: &Table<'_>, key: &str, what: &str) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if let Some((e, _)) = self.table(t, key) {
            for (k, v) in e.iter() {
                match v.get_ref() {
                    DeValue::String(s) => {
                        env.insert(k.get_ref().to_string(), s.to_string());
                    }
                    other => self.problem(
                        v.span().start,
                        format!(
                            "`{what}.{}` is {}; expected a string",
                            k.get_ref(),
                            type_name(other)
                        ),
                    ),
                }
            }
        }
        env
    }

    /// `[tests.shards]`, defaults when absent.
    fn shards(&mut self, t: &Table<'_>) -> ShardsSpec {
        let mut shards = ShardsSpec::default();
        let Some((s, _)) = self.table(t, "shards") else {
            return shards;
        };
        self.keys(
            s,
            "[tests.shards]",
            &[
                "count",
                "targeted_count",
                "min_tests",
                "private_redis",
                "env",
            ],
        );
        if let Some(n) = self.integer(s, "count", 1, 64) {
            shards.count = n as u32;
        }
        shards.targeted_count = shards.count;
        if let Some(n) = self.integer(s, "targeted_count", 1, 64) {
            shards.targeted_count = n as u32;
        }
        if let Some(n) = self.integer(s, "min_tests", 1, 1_000_000) {
            shards.min_tests = n as usize;
        }
        if let Some(v) = Self::get(s, "private_redis") {
            match v.get_ref() {
                DeValue::Boolean(b) => shards.private_redis = *b,
                other => self.problem(
                    v.span().start,
                    format!(
                        "`tests.shards.private_redis` is {}; expected a boolean",
                        type_name(other)
                    ),
                ),
            }
        }
        shards.env = self.env_table(s, "env", "tests.shards.env");
        let valid = |n: &str| {
            n.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if let Some(DeValue::Table(e)) = Self::get(s, "env").map(|v| v.get_ref()) {
            for (k, v) in e.iter() {
                if !valid(k.get_ref()) {
                    self.problem(
                        v.span().start,
                        format!(
                            "`tests.shards.env` key `{}` is not a variable name (letters, digits, `_`)",
                            k.get_ref()
                        ),
                    );
                }
            }
        }
        shards
    }

    fn tests(&mut self, t: &Table<'_>, at: usize) -> TestsSpec {
        self.keys(
            t,
            "[tests]",
            &[
                "python",
                "config",
                "timeout_seconds",
                "full_every",
                "affected",
                "full_on",
                "plugins",
                "env",
                "args",
                "reuse_args",
                "fresh_args",
                "fresh_on",
                "categories",
                "shards",
                "preload",
            ],
        );
        let python = self
            .string(t, "python", at, false)
            .unwrap_or_else(|| "python3".into());
        let config = self.string(t, "config", at, true).unwrap_or_default();
        let timeout = Duration::from_secs(
            self.integer(t, "timeout_seconds", 1, 86_400).unwrap_or(600) as u64,
        );
        let full_every = self.integer(t, "full_every", 1, 1_000_000).unwrap_or(1) as u32;
        let affected = self
            .string(t, "affected", at, false)
            .unwrap_or_else(|| "affected.json".into());
        let full_on = self.globs(t, "full_on", DEFAULT_FULL_ON);
        let fresh_on = self.globs(t, "fresh_on", DEFAULT_FRESH_ON);
        let plugins = self.strings(t, "plugins");
        let args = self.strings(t, "args");
        let reuse_args = self.strings(t, "reuse_args");
        let fresh_args = self.strings(t, "fresh_args");
        let env = self.env_table(t, "env", "tests.env");
        let shards = self.shards(t);
        let preload = self.strings(t, "preload");
        if let Some(v) = Self::get(t, "preload") {
            let dotted = |m: &str| {
                m.split('.').all(|part| {
                    part.bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
            };
            for m in &preload {
                if !dotted(m) {
                    self.problem(
                        v.span().start,
                        format!(
                            "`tests.preload` entry `{m}` is not a module name (dotted identifiers)"
                        ),
                    );
                }
                if let Some(p) = plugins
                    .iter()
                    .find(|p| m == *p || m.starts_with(&format!("{p}.")))
                {
                    self.problem(
                        v.span().start,
                        format!(
                            "`tests.preload` entry `{m}` is loaded as the plugin `{p}` \
                             (`tests.plugins`): pytest rewrites a plugin's asserts when it \
                             imports it, and cannot once it is preloaded"
                        ),
                    );
                }
            }
        }
        let mut categories = Vec::new();
        match Self::get(t, "categories") {
            None => self.problem(
                at,
                "missing `[[tests.categories]]` (at least one category)".into(),
            ),
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if !items.is_empty() => {
                    for item in items.iter() {
                        let DeValue::Table(c) = item.get_ref() else {
                            self.problem(
                                item.span().start,
                                "a category is not a table; expected `{name, path}`".into(),
                            );
                            continue;
                        };
                        let cat_at = item.span().start;
                        self.keys(c, "a category", &["name", "path", "weight"]);
                        let name = self.string(c, "name", cat_at, true);
                        let path = self.string(c, "path", cat_at, true);
                        let weight = self.float(c, "weight", f64::MIN_POSITIVE, 1e6);
                        if let Some(n) = &name {
                            if categories.iter().any(|x: &CategorySpec| &x.name == n) {
                                self.problem(cat_at, format!("category `{n}` is defined twice"));
                            }
                        }
                        if let (Some(name), Some(path)) = (name, path) {
                            categories.push(CategorySpec {
                                name,
                                path: path.trim_end_matches('/').to_owned(),
                                weight,
                            });
                        }
                    }
                }
                other => self.problem(
                    v.span().start,
                    format!(
                        "`categories` is {}; expected a non-empty array of tables",
                        type_name(other)
                    ),
                ),
            },
        }
        TestsSpec {
            python,
            config,
            timeout,
            full_every,
            affected,
            full_on,
            plugins,
            env,
            args,
            reuse_args,
            fresh_args,
            fresh_on,
            categories,
            shards,
            preload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "tiny"
max_steps = 20
[reward]
preset = "senior"
[tests]
config = "pytest.ini"
[[tests.categories]]
name = "unit"
path = "tests/unit/"
"#;

    #[test]
    fn parses_a_minimal_file_with_defaults() {
        let s = EnvironmentSpec::parse(Path::new("environment.toml"), GOOD).expect("valid");
        assert_eq!(s.name, "tiny");
        assert_eq!(s.max_steps, 20);
        assert_eq!(s.preset, Preset::Senior);
        assert_eq!(s.project, PathBuf::from("project"));
        assert_eq!(s.tests.python, "python3");
        assert_eq!(s.tests.categories[0].path, "tests/unit");
        assert_eq!(s.tests.timeout, Duration::from_secs(600));
        assert_eq!(s.tests.shards, ShardsSpec::default());
    }

    #[test]
    fn preload_parses_and_refuses_plugins_and_bad_names() {
        let src = GOOD.replace(
            "[tests]\n",
            "[tests]\npreload = [\"django.db\", \"redis\"]\n",
        );
        let s = EnvironmentSpec::parse(Path::new("environment.toml"), &src).expect("parses");
        assert_eq!(s.tests.preload, ["django.db", "redis"]);
        assert!(
            EnvironmentSpec::parse(Path::new("environment.toml"), GOOD)
                .expect("valid")
                .tests
                .preload
                .is_empty()
        );
        let bad = GOOD.replace(
            "[tests]\n",
            "[tests]\nplugins = [\"pytest_django.plugin\"]\n\
             preload = [\"pytest_django.plugin.sub\", \"a-b\", \"ok\"]\n",
        );
        let problems =
            EnvironmentSpec::parse(Path::new("environment.toml"), &bad).expect_err("refused");
        let e = format!("{problems:?}");
        assert_eq!(problems.len(), 2, "{e}");
        assert!(
            e.contains("`pytest_django.plugin.sub` is loaded as the plugin"),
            "{e}"
        );
        assert!(e.contains("`a-b` is not a module name"), "{e}");
    }

    #[test]
    fn shards_parse_and_bad_values_are_reported() {
        let src = format!(
            "{GOOD}\n[tests.shards]\ncount = 3\ntargeted_count = 2\nmin_tests = 8\nprivate_redis = true\n\
             env = {{ TOX_PARALLEL_ENV = \"shard{{shard}}\" }}\n"
        );
        let s = EnvironmentSpec::parse(Path::new("e.toml"), &src).expect("valid");
        assert_eq!(s.tests.shards.count, 3);
        assert_eq!(s.tests.shards.targeted_count, 2);
        assert_eq!(s.tests.shards.min_tests, 8);
        assert!(s.tests.shards.private_redis);
        assert_eq!(s.tests.shards.env["TOX_PARALLEL_ENV"], "shard{shard}");
        let src = format!("{GOOD}\n[tests.shards]\ncount = 3\n");
        let d = EnvironmentSpec::parse(Path::new("e.toml"), &src).expect("valid");
        assert_eq!(d.tests.shards.targeted_count, 3, "defaults to count");
        let bad = format!(
            "{GOOD}\n[tests.shards]\ncount = 0\nprivate_redis = \"yes\"\nspeed = 1\n\
             env = {{ \"A B\" = \"x\", N = 3 }}\n"
        );
        let problems = EnvironmentSpec::parse(Path::new("e.toml"), &bad).expect_err("invalid");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let all = text.join("\n");
        assert_eq!(problems.len(), 5, "{all}");
        for needle in [
            "count",
            "private_redis",
            "speed",
            "`A B` is not a variable name",
            "tests.shards.env.N",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
    }

    #[test]
    fn reports_every_problem_with_positions() {
        let src = "name = 3\nmax_steps = -1\ncolour = 1\n[reward]\npreset = \"gold\"\n[tests]\ntimeout_seconds = \"x\"\n";
        let problems = EnvironmentSpec::parse(Path::new("e.toml"), src).expect_err("invalid");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "e.toml:1:8: `name` is an integer; expected a string",
                "e.toml:2:13: `max_steps` = -1 is out of range; expected an integer in 1..=4294967295",
                "e.toml:3:1: unknown key `colour` in the top level; expected one of `name`, `description`, `project`, `max_steps`, `reward`, `tests`, `protect`, `services`, `image`, `limits`",
                "e.toml:5:10: unknown reward preset `gold`; expected one of talentflow, senior, principal, apex, linear, sublinear, smoothstep",
                "e.toml:6:1: missing key `config` (a string)",
                "e.toml:6:1: missing `[[tests.categories]]` (at least one category)",
                "e.toml:7:19: `timeout_seconds` is a string; expected an integer",
            ]
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let problems =
            EnvironmentSpec::parse(Path::new("e.toml"), "name = \"a\"\nmax_steps = = 3\n")
                .expect_err("invalid");
        let syntax = problems
            .iter()
            .find(|p| p.message.starts_with("TOML syntax"))
            .expect("a syntax problem");
        assert_eq!(syntax.line, Some(2), "{problems:#?}");
    }
}
