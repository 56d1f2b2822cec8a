//! [`Environment`]: reset / step with Gymnasium semantics.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use debugenv_bugs::{BugId, Outcomes as BugOutcomes};
use debugenv_reward::{
    BugState, CategoryIndex, Grading, RewardBreakdown, RewardConfig, RewardTracker, TestState,
    Verdict,
};
use debugenv_sandbox::{Command, ErrorKind as SandboxErrorKind, Sandbox};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::error::{Error, ErrorKind, Result};
use crate::grading::{self, RunResult};
use crate::observation::{
    ActionErrorCode, ActionResult, CategoryResult, FailedTest, GradingKind, NoVerdictReason,
    Observation, Step, StepInfo, TestResults, Timings, VerdictInfo,
};
use crate::package::Package;
use crate::patch;
use crate::trajectory::{Record, TrajectoryWriter};

/// Options of [`Environment::reset`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResetOptions {
    /// Seed of the episode's random choices (canary names); `None` draws one.
    pub seed: Option<u64>,
    /// Bugs whose reference fixes the harness applies before the episode
    /// starts (a curriculum can start an agent halfway). Applied in fix order.
    pub fixed: Vec<BugId>,
}

impl ResetOptions {
    /// Options with a seed.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed: Some(seed),
            ..Self::default()
        }
    }

    /// Adds bugs to start fixed.
    pub fn with_fixed<I, B>(mut self, bugs: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<BugId>,
    {
        self.fixed.extend(bugs.into_iter().map(Into::into));
        self
    }
}

impl Episode {
    /// Nothing earlier gradings kept may be reused: the next grading of
    /// every shard slot rebuilds it (`fresh_args`).
    fn distrust_kept(&mut self) {
        self.reusable = false;
        self.kept = 0;
    }
}

/// The state of one episode.
#[derive(Debug)]
struct Episode {
    rng: StdRng,
    step: u32,
    tracker: RewardTracker,
    passed: Vec<bool>,
    messages: Vec<String>,
    reward: f64,
    /// Fingerprint of every changed workspace file at the last grading.
    files: BTreeMap<String, u64>,
    /// Content of the changed, unprotected Python files at the last grading
    /// (the others are as in the package's project): what a targeted
    /// grading diffs an edit against to find the function bodies it changed.
    sources: BTreeMap<String, Vec<u8>>,
    /// Targeted gradings since the last full one.
    targeted_since_full: u32,
    /// Whether the state the last grading kept (`tests.reuse_args`) may be
    /// reused: only edits happened since a grading with a verdict.
    reusable: bool,
    /// Bit k: shard slot k's kept state was built by a harness run since
    /// anything could have changed it (see `tests.shards`); a slot without
    /// it runs with `fresh_args`.
    kept: u64,
    /// The resident pytest server (`tests.preload`), once started; `None`
    /// after a grading that could not use it (the next one starts another).
    preload: Option<grading::Preload>,
    /// The backend cannot keep a resident server, or new servers kept
    /// failing: the episode's gradings run cold.
    preload_off: bool,
    /// Gradings in a row that started with a server and could not use it.
    preload_failures: u32,
    /// Whether every module could be collected at the last grading. A test
    /// that could not be collected has no outcome a targeted grading could
    /// keep: the next grading is full.
    collected: bool,
    done: bool,
}

/// One environment: a package, a sandbox, and the episode in progress.
///
/// See the [crate docs](crate) for a complete example.
#[derive(Debug)]
pub struct Environment<S: Sandbox> {
    package: Arc<Package>,
    sandbox: S,
    /// Reward category index of every universe test.
    reward_categories: Vec<CategoryIndex>,
    episode: Option<Episode>,
    trajectory: Option<TrajectoryWriter>,
    episode_index: u64,
}

impl<S: Sandbox> Environment<S> {
    /// An environment over a sandbox whose workspace is the package's project
    /// (see [`Package::sandbox_spec`]).
    pub fn new(package: Arc<Package>, sandbox: S) -> Self {
        let reward_categories = reward_categories(&package, package.reward_config())
            .expect("Package::load builds the reward categories from the spec");
        Self {
            package,
            sandbox,
            reward_categories,
            episode: None,
            trajectory: None,
            episode_index: 0,
        }
    }

    /// The current pass state of every universe test (`None` before `reset`).
    pub fn passed(&self) -> Option<&[bool]> {
        self.episode.as_ref().map(|e| e.passed.as_slice())
    }

    /// Appends every reset and step to a JSON-lines trajectory file from now on.
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn record_to(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.trajectory = Some(TrajectoryWriter::create(path.as_ref())?);
        Ok(())
    }

    /// The package.
    pub fn package(&self) -> &Package {
        &self.package
    }

    /// The sandbox (for inspection; actions should go through [`step`](Self::step)).
    pub fn sandbox(&self) -> &S {
        &self.sandbox
    }

    /// Starts a new episode: the workspace back to the shipped project, the
    /// requested reference fixes applied, a full grading.
    ///
    /// # Errors
    ///
    /// A sandbox failure, or a reference fix that does not apply.
    pub async fn reset(&mut self, options: ResetOptions) -> Result<Observation> {
        let started = Instant::now();
        self.episode = None;
        for b in &options.fixed {
            if self.package.graph().get(b).is_none() {
                return Err(Error::new(
                    "resetting",
                    ErrorKind::Solution {
                        bug: b.to_string(),
                        message: "no such bug in bugs.toml".into(),
                    },
                ));
            }
        }
        grading::reset_state(&self.sandbox).await?;
        self.sandbox
            .reset()
            .await
            .map_err(|e| Error::new("resetting the sandbox", ErrorKind::Sandbox(e)))?;
        apply_fixes(&self.package, &self.sandbox, "resetting", |b| {
            options.fixed.contains(b)
        })
        .await?;
        let seed = options.seed.unwrap_or_else(rand::random);
        let mut episode = Episode {
            rng: StdRng::seed_from_u64(seed),
            step: 0,
            tracker: RewardTracker::new(self.package.reward_config().clone()),
            passed: vec![false; self.package.universe().len()],
            messages: vec!["not graded yet".into(); self.package.universe().len()],
            reward: 0.0,
            files: BTreeMap::new(),
            sources: BTreeMap::new(),
            targeted_since_full: 0,
            reusable: false,
            kept: 0,
            preload: None,
            preload_off: false,
            preload_failures: 0,
            collected: false,
            done: false,
        };
        let (graded, mut timings) = self.grade(&mut episode, None, None).await?;
        self.episode = Some(episode);
        let observation = self
            .observation(ActionResult::ok("reset"), graded.files_changed.clone())
            .await?;
        self.episode_index += 1;
        timings.total = started.elapsed().as_secs_f64();
        if let Some(t) = &mut self.trajectory {
            let passed = &self.episode.as_ref().expect("set above").passed;
            t.write(&Record::reset(
                self.episode_index,
                seed,
                &options,
                &observation,
                &graded,
                passed,
                timings,
            ))?;
        }
        Ok(observation)
    }

    /// Plans a whole patch, then writes it: all or nothing.
    async fn apply_patch(
        &self,
        text: &str,
        agent: bool,
    ) -> std::result::Result<(), (ActionErrorCode, String)> {
        apply_patch_text(&self.sandbox, text, |path, len| {
            if agent {
                self.check_writable(path, len)
            } else {
                Ok(())
            }
        })
        .await
    }

    /// Refuses bad, protected or too large writes.
    fn check_writable(
        &self,
        path: &str,
        len: usize,
    ) -> std::result::Result<(), (ActionErrorCode, String)> {
        check_path(path)?;
        if self.package.is_protected(path) {
            return Err((
                ActionErrorCode::Protected,
                format!("`{path}` is protected (tests and pytest configuration cannot be changed)"),
            ));
        }
        let max = self.package.spec().max_file_bytes;
        if len > max {
            return Err((
                ActionErrorCode::TooLarge,
                format!("`{path}` would be {len} bytes; the limit is {max}"),
            ));
        }
        Ok(())
    }

    /// Takes one step.
    ///
    /// Invalid actions come back as a refusal in `observation.action_result`
    /// and count as a step. A no-verdict grading (timeout, crash, sandbox
    /// failure, tampering) earns 0 and leaves outcomes and the regression
    /// baseline as they were; the reason is in `info.verdict`.
    ///
    /// # Errors
    ///
    /// Only when `reset` was not called or the episode is over.
    pub async fn step(&mut self, action: Action) -> Result<Step> {
        let started = Instant::now();
        let episode = self.open_episode()?;
        episode.step += 1;
        let result = self.act(&action).await;
        let sandbox_time = started.elapsed();
        let mut episode = self.episode.take().expect("checked above");
        if matches!(action, Action::Run { .. } | Action::RunTests { .. }) {
            // A command may have changed what the last grading kept.
            episode.distrust_kept();
        }

        let submit = matches!(action, Action::Submit);
        let mut info = StepInfo {
            breakdown: None,
            grading: GradingKind::None,
            tests_run: 0,
            preloaded: false,
            verdict: VerdictInfo::Ok,
            timings: Timings::default(),
            extra_tests: Vec::new(),
            pytest_internals: Vec::new(),
        };
        let mut step_reward = episode.reward;
        let check =
            submit || (action.mutates() && result.ok) || matches!(action, Action::Run { .. });
        let mut files_changed = None;
        let changed: Option<(Vec<String>, Option<Snapshot>)> = if check {
            match self.snapshot().await {
                Ok(now) => {
                    let diff = changed_paths(&episode.files, &now.hashes);
                    files_changed = Some(now.paths());
                    (submit || !diff.is_empty()).then_some((diff, Some(now)))
                }
                // Cannot tell: grade everything, keep nothing.
                Err(_) => {
                    episode.distrust_kept();
                    Some((Vec::new(), None))
                }
            }
        } else {
            None
        };
        if let Some((paths, before)) = changed {
            if paths.iter().any(|p| self.package.forces_fresh(p)) {
                // A change of what was kept (a migration).
                episode.distrust_kept();
            }
            let selection = if submit {
                None
            } else {
                self.selection(&episode, &paths, before.as_ref())
            };
            let graded = self.grade(&mut episode, selection, before).await;
            let (g, timings) = match graded {
                Ok(x) => x,
                Err(e) => {
                    self.episode = Some(episode);
                    return Err(e);
                }
            };
            info.grading = g.kind;
            info.tests_run = g.tests_run;
            info.preloaded = g.preloaded;
            info.timings = timings;
            info.extra_tests = g.extra_tests;
            info.pytest_internals = g.pytest_internals;
            if g.files_changed.is_some() {
                files_changed = g.files_changed;
            }
            match g.verdict {
                Some((reason, detail)) => {
                    info.verdict = VerdictInfo::NoVerdict { reason, detail };
                    step_reward = 0.0;
                }
                None => {
                    step_reward = episode.reward;
                    info.breakdown = g.breakdown;
                }
            }
        }
        info.timings.sandbox += sandbox_time.as_secs_f64();
        let all_pass = episode.passed.iter().all(|&p| p);
        let terminated = info.grading == GradingKind::Full
            && matches!(info.verdict, VerdictInfo::Ok)
            && all_pass;
        let truncated = !terminated && (submit || episode.step >= self.package.spec().max_steps);
        episode.done = terminated || truncated;
        let step_count = episode.step;
        self.episode = Some(episode);
        let mut observation = self.observation(result, files_changed).await?;
        observation.reward = step_reward;
        info.timings.total = started.elapsed().as_secs_f64();
        let step = Step {
            observation,
            reward: step_reward,
            terminated,
            truncated,
            info,
        };
        if let Some(t) = &mut self.trajectory {
            let passed = &self.episode.as_ref().expect("set above").passed;
            t.write(&Record::step(
                self.episode_index,
                step_count,
                &action,
                &step,
                passed,
            ))?;
        }
        Ok(step)
    }

    /// Parses a JSON action and steps; a malformed action is a refused step.
    ///
    /// # Errors
    ///
    /// As [`step`](Self::step).
    pub async fn step_json(&mut self, json: &str) -> Result<Step> {
        match Action::from_json(json) {
            Ok(a) => self.step(a).await,
            Err(e) => {
                self.refuse(
                    ActionErrorCode::InvalidAction,
                    format!("invalid action: {e}"),
                )
                .await
            }
        }
    }

    /// The episode in progress, or why there is none to step.
    fn open_episode(&mut self) -> Result<&mut Episode> {
        match self.episode.as_mut() {
            None => Err(Error::new(
                "step",
                ErrorKind::State("call reset before step".into()),
            )),
            Some(e) if e.done => Err(Error::new(
                "step",
                ErrorKind::State("the episode has ended; call reset".into()),
            )),
            Some(e) => Ok(e),
        }
    }

    async fn refuse(&mut self, code: ActionErrorCode, message: String) -> Result<Step> {
        let max_steps = self.package.spec().max_steps;
        let episode = self.open_episode()?;
        episode.step += 1;
        let truncated = episode.step >= max_steps;
        episode.done = truncated;
        let reward = episode.reward;
        let observation = self
            .observation(ActionResult::refused(code, message), None)
            .await?;
        Ok(Step {
            observation,
            reward,
            terminated: false,
            truncated,
            info: StepInfo {
                breakdown: None,
                grading: GradingKind::None,
                tests_run: 0,
                preloaded: false,
                verdict: VerdictInfo::Ok,
                timings: Timings::default(),
                extra_tests: Vec::new(),
                pytest_internals: Vec::new(),
            },
        })
    }

    /// Carries out an action (no grading).
    async fn act(&mut self, action: &Action) -> ActionResult {
        let spec = self.package.spec();
        match action {
            Action::Read { file } => {
                if let Err((code, m)) = check_path(file) {
                    return ActionResult::refused(code, m);
                }
                match self.sandbox.read_file(file).await {
                    Ok(bytes) => {
                        let max = spec.max_output_bytes;
                        let mut r = ActionResult::ok(String::from_utf8_lossy(
                            &bytes[..bytes.len().min(max)],
                        ));
                        r.truncated = bytes.len() > max;
                        r
                    }
                    Err(e) => {
                        let (code, m) = sandbox_refusal(e);
                        ActionResult::refused(code, m)
                    }
                }
            }
            Action::Edit { file, content } => {
                if let Err((code, m)) = self.check_writable(file, content.len()) {
                    return ActionResult::refused(code, m);
                }
                match self.sandbox.write_file(file, content.as_bytes()).await {
                    Ok(()) => ActionResult::ok(format!("wrote {} bytes to {file}", content.len())),
                    Err(e) => {
                        let (code, m) = sandbox_refusal(e);
                        ActionResult::refused(code, m)
                    }
                }
            }
            Action::Patch { diff } => match self.apply_patch(diff, true).await {
                Ok(()) => ActionResult::ok("patch applied"),
                Err((code, m)) => ActionResult::refused(code, m),
            },
            Action::Run {
                command,
                timeout_seconds,
            } => {
                let limit = spec.tests.timeout;
                let timeout = timeout_seconds
                    .map_or(Duration::from_secs(60), Duration::from_secs)
                    .min(limit);
                let cmd = Command::shell(command.clone())
                    .timeout(timeout)
                    .output_limit(spec.max_output_bytes);
                self.command_result(cmd).await
            }
            Action::RunTests { tests } => {
                let mut line = grading::pytest_line(&self.package, None);
                for t in tests {
                    line.push(' ');
                    line.push_str(&grading::quote(t));
                }
                if tests.is_empty() {
                    for c in &spec.tests.categories {
                        line.push(' ');
                        line.push_str(&grading::quote(&c.path));
                    }
                }
                let cmd = grading::pytest_command(&self.package, line, spec.tests.timeout)
                    .output_limit(spec.max_output_bytes);
                self.command_result(cmd).await
            }
            Action::Submit => ActionResult::ok("submitted"),
        }
    }

    async fn command_result(&self, cmd: Command) -> ActionResult {
        match self.sandbox.exec(&cmd).await {
            Ok(out) => {
                let mut text = out.stdout_text().into_owned();
                let err = out.stderr_text();
                if !err.is_empty() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&err);
                }
                ActionResult {
                    ok: true,
                    output: text,
                    error: None,
                    exit_code: out.status.code(),
                    timed_out: out.timed_out,
                    truncated: out.truncated,
                }
            }
            Err(e) => ActionResult::refused(ActionErrorCode::SandboxError, e.to_string()),
        }
    }

    /// The workspace's changed files with a fingerprint (kind and content)
    /// of each, read once, and the pytest-internals flags from the same reads.
    async fn snapshot(&self) -> Result<Snapshot> {
        let changes = self
            .sandbox
            .changed_files()
            .await
            .map_err(|e| Error::new("listing changed files", ErrorKind::Sandbox(e)))?;
        let mut hashes = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut pytest_internals = Vec::new();
        for c in changes.iter().filter(|c| !is_cache(&c.path)) {
            let mut h = DefaultHasher::new();
            format!("{:?}", c.kind).hash(&mut h);
            if let Ok(bytes) = self.sandbox.read_file(&c.path).await {
                bytes.hash(&mut h);
                if c.path.ends_with(".py") && !self.package.is_protected(&c.path) {
                    if imports_pytest(&bytes) {
                        pytest_internals.push(c.path.clone());
                    }
                    sources.insert(c.path.clone(), bytes);
                }
            }
            hashes.insert(c.path.clone(), h.finish());
        }
        Ok(Snapshot {
            changes,
            hashes,
            sources,
            pytest_internals,
        })
    }

    /// The tests a targeted grading re-runs after `changed` paths changed, or
    /// `None` for a full grading: when the package has no affected-tests map,
    /// a full grading is due (`full_every`), the last grading could not
    /// collect every module, or a path is not plain application Python the
    /// map knows (settings, migrations, protected or new files, anything else).
    ///
    /// Per changed file: when the change (against the content at the last
    /// grading, `now` the content today) is confined to function bodies the
    /// map knows, the tests that execute those bodies, plus the file's tests
    /// that fail now (a failing test may take another path through the file
    /// than the fixed project does); otherwise every test of the file.
    fn selection(
        &self,
        episode: &Episode,
        changed: &[String],
        now: Option<&Snapshot>,
    ) -> Option<Vec<usize>> {
        let p = &self.package;
        if !p.has_affected_map()
            || !episode.collected
            || changed.is_empty()
            || episode.targeted_since_full + 1 >= p.spec().tests.full_every
        {
            return None;
        }
        let mut tests = BTreeSet::new();
        for path in changed {
            if !path.ends_with(".py") || p.is_protected(path) || p.forces_full(path) {
                return None;
            }
            let file = p.affected_tests(path)?;
            let narrowed = now.and_then(|now| {
                let before = self.source_at(path, &episode.sources, &episode.files)?;
                let after = self.source_at(path, &now.sources, &now.hashes)?;
                p.affected_by_change(path, &before, &after)?.functions
            });
            match narrowed {
                Some(functions) => {
                    tests.extend(functions);
                    tests.extend(file.iter().copied().filter(|&i| !episode.passed[i]));
                }
                None => tests.extend(file.iter().copied()),
            }
        }
        Some(tests.into_iter().collect())
    }

    /// The content of workspace file `path` when `sources` and `changed`
    /// were taken: from `sources`, or the package's project when the file
    /// had not changed; `None` when it was deleted or unreadable.
    fn source_at<'a>(
        &self,
        path: &str,
        sources: &'a BTreeMap<String, Vec<u8>>,
        changed: &BTreeMap<String, u64>,
    ) -> Option<std::borrow::Cow<'a, [u8]>> {
        if let Some(s) = sources.get(path) {
            return Some(std::borrow::Cow::Borrowed(s));
        }
        if changed.contains_key(path) {
            return None;
        }
        std::fs::read(self.package.project_dir().join(path))
            .ok()
            .map(std::borrow::Cow::Owned)
    }

    /// Starts the resident pytest server when the package preloads modules
    /// and none is running. A backend without residents, or a failure,
    /// leaves the gradings cold (a failure is retried at the next grading).
    async fn ensure_preload(&self, episode: &mut Episode) {
        if self.package.spec().tests.preload.is_empty()
            || episode.preload.is_some()
            || episode.preload_off
        {
            return;
        }
        match grading::start_preload(&self.package, &self.sandbox).await {
            Ok(p) => episode.preload = Some(p),
            Err(e) => {
                if matches!(e.kind(), debugenv_sandbox::ErrorKind::Unsupported { .. }) {
                    episode.preload_off = true;
                } else {
                    tracing::warn!(error = %e, "the resident pytest server did not start; grading cold");
                }
            }
        }
    }

    /// A grading: full (`selection` = `None`) or targeted; updates outcomes,
    /// reward and baseline of `episode`. A targeted run that meets a
    /// collection error is redone in full.
    async fn grade(
        &self,
        episode: &mut Episode,
        selection: Option<Vec<usize>>,
        before: Option<Snapshot>,
    ) -> Result<(Graded, Timings)> {
        let started = Instant::now();
        let mut timings = Timings::default();
        let before = match before {
            Some(b) => Ok(b),
            None => self.snapshot().await,
        };
        let (restored, internals) = match before {
            Ok(b) => (
                grading::restore_protected(
                    &self.package,
                    &self.sandbox,
                    &b.changes,
                    episode.preload.as_ref(),
                )
                .await,
                b.pytest_internals,
            ),
            Err(e) => (Err(e), Vec::new()),
        };
        if restored.is_ok() {
            self.ensure_preload(episode).await;
        }
        let warm = episode.preload.is_some();
        timings.sandbox = started.elapsed().as_secs_f64();
        let mut kind = if selection.is_some() {
            GradingKind::Targeted
        } else {
            GradingKind::Full
        };
        let run = match restored {
            Ok(_) => {
                let state = if episode.reusable {
                    grading::State::Reuse
                } else {
                    grading::State::Fresh
                };
                let first = grading::run(
                    &self.package,
                    &self.sandbox,
                    &mut episode.rng,
                    selection.as_deref(),
                    state,
                    &mut episode.kept,
                    &mut episode.preload,
                )
                .await;
                // Redo in full when a module failed to import (its other
                // tests may be affected too), or when every test would pass:
                // only a full grading may end the episode, and only one that
                // rebuilt what earlier runs kept (`fresh_args`).
                let all_pass = |o: &grading::Outcomes| match &selection {
                    Some(sel) => episode.passed.iter().enumerate().all(|(i, &p)| {
                        if sel.binary_search(&i).is_ok() {
                            o.passed[i]
                        } else {
                            p
                        }
                    }),
                    None => o.passed.iter().all(|&p| p),
                };
                let redo = match (&first, &selection) {
                    (Ok(RunResult::Verdict(o)), Some(_)) => o.collection_errors || all_pass(o),
                    (Ok(RunResult::Verdict(o)), None) => o.reused && all_pass(o),
                    _ => false,
                };
                if redo {
                    kind = GradingKind::Full;
                    // The first run's time is test time too, not overhead.
                    if let Ok(RunResult::Verdict(o)) = &first {
                        timings.tests += o.tests_time.as_secs_f64();
                    }
                    grading::run(
                        &self.package,
                        &self.sandbox,
                        &mut episode.rng,
                        None,
                        grading::State::Fresh,
                        &mut episode.kept,
                        &mut episode.preload,
                    )
                    .await
                } else {
                    first
                }
            }
            Err(e) => Err(e),
        };
        let run = match run {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), ErrorKind::Sandbox(_)) => {
                RunResult::NoVerdict(NoVerdictReason::SandboxFailure, e.to_string())
            }
            Err(e) => return Err(e),
        };
        if warm {
            if episode.preload.is_some() {
                episode.preload_failures = 0;
            } else {
                episode.preload_failures += 1;
                if episode.preload_failures >= PRELOAD_ATTEMPTS {
                    tracing::warn!(
                        "the resident pytest server failed {PRELOAD_ATTEMPTS} gradings in a row; \
                         this episode grades cold"
                    );
                    episode.preload_off = true;
                }
            }
        }
        let mut graded = Graded {
            kind,
            tests_run: match (&selection, kind) {
                (Some(sel), GradingKind::Targeted) => sel.len(),
                _ => self.package.universe().len(),
            },
            preloaded: warm && episode.preload.is_some(),
            files_changed: None,
            verdict: None,
            breakdown: None,
            extra_tests: Vec::new(),
            pytest_internals: internals,
        };
        match run {
            RunResult::NoVerdict(reason, detail) => {
                episode
                    .tracker
                    .grade(Verdict::NoVerdict)
                    .map_err(|e| Error::new("grading", e.into()))?;
                graded.verdict = Some((reason, detail));
                episode.distrust_kept();
            }
            RunResult::Verdict(outcomes) => {
                episode.reusable = true;
                episode.collected = !outcomes.collection_errors;
                timings.tests += outcomes.tests_time.as_secs_f64();
                timings.parse = outcomes.parse_time.as_secs_f64();
                let mut passed = episode.passed.clone();
                let mut messages = episode.messages.clone();
                match (&selection, kind) {
                    (Some(sel), GradingKind::Targeted) => {
                        for &i in sel {
                            passed[i] = outcomes.passed[i];
                            messages[i].clone_from(&outcomes.messages[i]);
                        }
                    }
                    _ => {
                        passed = outcomes.passed;
                        messages = outcomes.messages;
                    }
                }
                let reward_started = Instant::now();
                let breakdown = reward_of(
                    &self.package,
                    &self.reward_categories,
                    &mut episode.tracker,
                    &passed,
                    episode.step,
                )?;
                timings.reward = reward_started.elapsed().as_secs_f64();
                episode.passed = passed;
                episode.messages = messages;
                episode.reward = breakdown.total;
                graded.breakdown = Some(breakdown);
                graded.extra_tests = outcomes.extra;
            }
        }
        if kind == GradingKind::Full {
            episode.targeted_since_full = 0;
        } else {
            episode.targeted_since_full += 1;
        }
        let after = self.snapshot().await.ok();
        graded.files_changed = after.as_ref().map(Snapshot::paths);
        (episode.files, episode.sources) = after.map(|a| (a.hashes, a.sources)).unwrap_or_default();
        Ok((graded, timings))
    }

    /// The observation of the current state.
    async fn observation(
        &self,
        action_result: ActionResult,
        files_changed: Option<Vec<String>>,
    ) -> Result<Observation> {
        let episode = self.episode.as_ref().expect("observation needs an episode");
        let spec = self.package.spec();
        let universe = self.package.universe();
        let mut by_category: Vec<CategoryResult> = spec
            .tests
            .categories
            .iter()
            .map(|c| CategoryResult {
                name: c.name.clone(),
                total: 0,
                passed: 0,
            })
            .collect();
        let mut passed_tests = Vec::new();
        let mut failures = Vec::new();
        for (i, t) in universe.tests().iter().enumerate() {
            let c = &mut by_category[self.package.category_of(i)];
            c.total += 1;
            if episode.passed[i] {
                c.passed += 1;
                passed_tests.push(t.id.as_str().to_owned());
            } else {
                failures.push(FailedTest {
                    id: t.id.as_str().to_owned(),
                    message: episode.messages[i].clone(),
                });
            }
        }
        let total = universe.len();
        let passed = passed_tests.len();
        let graph = self.package.graph();
        let progress = graph.progress(&BugOutcomes::from_passed(episode.passed.clone()));
        let blocked: BTreeSet<String> = graph
            .blocked(&BugOutcomes::from_passed(episode.passed.clone()))
            .into_iter()
            .map(ToString::to_string)
            .collect();
        let mut bugs_remaining = Vec::new();
        let mut bugs_fixed = Vec::new();
        for id in graph.fix_order() {
            let i = graph.position(id).expect("fix_order lists graph bugs");
            if progress[i].fixed() {
                bugs_fixed.push(id.to_string());
            } else {
                bugs_remaining.push(id.to_string());
            }
        }
        let files_changed = match files_changed {
            Some(f) => f,
            None => self
                .sandbox
                .changed_files()
                .await
                .map_err(|e| Error::new("listing changed files", ErrorKind::Sandbox(e)))?
                .into_iter()
                .map(|c| c.path)
                .filter(|p| !is_cache(p))
                .collect(),
        };
        Ok(Observation {
            test_results: TestResults {
                total,
                passed,
                failed: total - passed,
                pass_rate: if total == 0 {
                    0.0
                } else {
                    passed as f64 / total as f64
                },
                passed_tests,
                failed_tests: failures.iter().map(|f| f.id.clone()).collect(),
                failures,
                by_category,
            },
            reward: episode.reward,
            step_count: episode.step,
            action_result,
            bugs_remaining,
            bugs_fixed,
            bugs_blocked: blocked.into_iter().collect(),
            files_changed,
        })
    }

    /// Ends the environment: destroys the sandbox.
    ///
    /// # Errors
    ///
    /// The sandbox failed to clean up.
    pub async fn close(self) -> Result<()> {
        self.sandbox
            .destroy()
            .await
            .map_err(|e| Error::new("destroying the sandbox", ErrorKind::Sandbox(e)))
    }
}

/// What one grading produced besides the outcomes it stored.
#[derive(Debug, Clone)]
pub(crate) struct Graded {
    pub(crate) kind: GradingKind,
    /// Universe tests the grading ran.
    pub(crate) tests_run: usize,
    /// Every pytest process of the grading came from the resident server.
    pub(crate) preloaded: bool,
    /// The workspace's changed files after the grading.
    pub(crate) files_changed: Option<Vec<String>>,
    pub(crate) verdict: Option<(NoVerdictReason, String)>,
    pub(crate) breakdown: Option<RewardBreakdown>,
    pub(crate) extra_tests: Vec<String>,
    pub(crate) pytest_internals: Vec<String>,
}

/// Gradings in a row a resident pytest server may fail before an episode
/// stops starting new ones (each costs the imports a cold run pays).
const PRELOAD_ATTEMPTS: u32 = 3;

/// The workspace's changed files at one moment.
#[derive(Debug)]
struct Snapshot {
    changes: Vec<debugenv_sandbox::Change>,
    /// Path -> fingerprint of kind and content.
    hashes: BTreeMap<String, u64>,
    /// Content of the changed, unprotected Python files that could be read.
    sources: BTreeMap<String, Vec<u8>>,
    /// Changed, unprotected Python files that import pytest or its internals.
    pytest_internals: Vec<String>,
}

impl Snapshot {
    /// Changed files, bytecode caches left out.
    fn paths(&self) -> Vec<String> {
        self.hashes.keys().cloned().collect()
    }
}

/// Bytecode and tool caches: not a change of the project by themselves (a
/// plain `pytest` run writes them), so they neither trigger a grading nor
/// show in `files_changed`. Under protected paths they are still removed
/// before every grading, like any file the agent added there.
fn is_cache(path: &str) -> bool {
    path.ends_with(".pyc")
        || path.ends_with(".pyo")
        || path
            .split('/')
            .any(|c| c == "__pycache__" || c == ".pytest_cache")
}

/// Whether Python source imports pytest, its internals or its plugin system
/// (suspicious in application code).
fn imports_pytest(source: &[u8]) -> bool {
    let text = String::from_utf8_lossy(source);
    ["_pytest", "import pytest", "from pytest", "pluggy"]
        .iter()
        .any(|needle| text.contains(needle))
}

/// Paths whose fingerprint differs between two gradings (changed, added or reverted).
fn changed_paths(before: &BTreeMap<String, u64>, now: &BTreeMap<String, u64>) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(p, h)| before.get(*p) != Some(h))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(before.keys().filter(|p| !now.contains_key(*p)).cloned());
    out.sort();
    out
}

/// Refuses paths that are absolute, empty or contain `..` before the sandbox sees them.
fn check_path(path: &str) -> std::result::Result<(), (ActionErrorCode, String)> {
    if path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|c| c == "..")
        || path.contains('\0')
    {
        return Err((
            ActionErrorCode::BadPath,
            format!("`{path}`: paths are relative to the workspace, without `..`"),
        ));
    }
    Ok(())
}

fn sandbox_refusal(e: debugenv_sandbox::Error) -> (ActionErrorCode, String) {
    let code = match e.kind() {
        SandboxErrorKind::PathEscape { .. } => ActionErrorCode::BadPath,
        SandboxErrorKind::NotFound { .. } => ActionErrorCode::NotFound,
        _ => ActionErrorCode::SandboxError,
    };
    (code, e.to_string())
}

/// The reward category index of every universe test under `config`.
pub(crate) fn reward_categories(
    package: &Package,
    config: &RewardConfig,
) -> Result<Vec<CategoryIndex>> {
    (0..package.universe().len())
        .map(|i| {
            let name = &package.spec().tests.categories[package.category_of(i)].name;
            config.category_index(name).ok_or_else(|| {
                Error::new(
                    "mapping tests onto reward categories",
                    ErrorKind::State(format!("the reward configuration has no category `{name}`")),
                )
            })
        })
        .collect()
}

/// Grades one pass state with `tracker` (the environment's and `rescore`'s rule).
pub(crate) fn reward_of(
    package: &Package,
    categories: &[CategoryIndex],
    tracker: &mut RewardTracker,
    passed: &[bool],
    step: u32,
) -> Result<RewardBreakdown> {
    let tests: Vec<TestState> = passed
        .iter()
        .zip(categories)
        .map(|(&p, &c)| TestState::new(c, p))
        .collect();
    let progress = package
        .graph()
        .progress(&BugOutcomes::from_passed(passed.to_vec()));
    let bugs: Vec<BugState> = progress
        .iter()
        .map(|p| BugState::new(p.passed, p.total, p.unfixed_prerequisites))
        .collect();
    let grading = Grading {
        tests: &tests,
        bugs: &bugs,
        step,
    };
    tracker
        .grade(Verdict::Graded(grading))
        .map_err(|e| Error::new("computing the reward", e.into()))?
        .ok_or_else(|| {
            Error::new(
                "computing the reward",
                ErrorKind::State("no breakdown".into()),
            )
        })
}

/// Parses a whole patch, computes every file's new content (refusing through
/// `check(path, new_len)`), then writes: all or nothing.
pub(crate) async fn apply_patch_text<S: Sandbox>(
    sandbox: &S,
    text: &str,
    check: impl Fn(&str, usize) -> std::result::Result<(), (ActionErrorCode, String)>,
) -> std::result::Result<(), (ActionErrorCode, String)> {
    let targets = patch::parse(text).map_err(|e| (ActionErrorCode::PatchFailed, e))?;
    let mut plan = Vec::with_capacity(targets.len());
    for t in &targets {
        check(&t.path, 0)?;
        let current = match sandbox.read_file(&t.path).await {
            Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
                (
                    ActionErrorCode::PatchFailed,
                    format!("`{}` is not UTF-8 text", t.path),
                )
            })?),
            Err(e) if matches!(e.kind(), SandboxErrorKind::NotFound { .. }) => None,
            Err(e) => return Err(sandbox_refusal(e)),
        };
        let new =
            patch::apply(t, current.as_deref()).map_err(|e| (ActionErrorCode::PatchFailed, e))?;
        if let Some(n) = &new {
            check(&t.path, n.len())?;
        }
        plan.push((t.path.clone(), new));
    }
    let mut deletions = Vec::new();
    for (path, new) in plan {
        match new {
            Some(content) => sandbox
                .write_file(&path, content.as_bytes())
                .await
                .map_err(sandbox_refusal)?,
            None => deletions.push(grading::quote(&path)),
        }
    }
    if !deletions.is_empty() {
        let out = sandbox
            .exec(&Command::shell(format!("rm -f -- {}", deletions.join(" "))))
            .await
            .map_err(sandbox_refusal)?;
        if !out.status.success() {
            return Err((
                ActionErrorCode::SandboxError,
                out.stderr_text().trim().to_owned(),
            ));
        }
    }
    Ok(())
}

/// Applies, in fix order, the reference fixes of the bugs `wanted` accepts.
pub(crate) async fn apply_fixes<S: Sandbox>(
    package: &Package,
    sandbox: &S,
    context: &str,
    wanted: impl Fn(&BugId) -> bool,
) -> Result<()> {
    for bug in package
        .graph()
        .fix_order()
        .into_iter()
        .filter(|b| wanted(b))
    {
        let solution_error = |message: String| {
            Error::new(
                context,
                ErrorKind::Solution {
                    bug: bug.to_string(),
                    message,
                },
            )
        };
        let text = package
            .solution(bug)
            .ok_or_else(|| solution_error("no solutions/<ID>.patch".into()))?;
        apply_patch_text(sandbox, text, |_, _| Ok(()))
            .await
            .map_err(|(_, message)| solution_error(message))?;
    }
    Ok(())
}
