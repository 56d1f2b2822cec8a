//! `debugenv`: environment packages, honest grading and a Gymnasium-style
//! `reset` / `step` API for debugging RL environments.
//!
//! An agent gets a broken project inside a sandbox and acts step by step
//! ([`Action`]: read, edit, patch, run a command, run tests, submit). After
//! every step that changed the workspace the harness grades it: protected
//! paths restored, pytest run with the harness's own options and canary tests,
//! the JUnit report mapped onto the package's test universe, bug credit and
//! the shaped reward computed. This crate is a thin layer over
//! [`debugenv_junit`], [`debugenv_bugs`], [`debugenv_reward`] and
//! [`debugenv_sandbox`], which it re-exports.
//!
//! # Overview
//!
//! * [`Package::load`] reads and cross-checks an environment package,
//!   reporting every problem at once ([`PackageError`]).
//! * [`Environment`] runs episodes in any [`Sandbox`](debugenv_sandbox::Sandbox):
//!   [`Environment::reset`] ([`ResetOptions`]: seed, bugs to start fixed) and
//!   [`Environment::step`] returning a [`Step`] (`observation`, `reward`,
//!   `terminated`, `truncated`, `info`).
//! * Trajectories: [`Environment::record_to`] writes JSON lines;
//!   [`read_trajectory`], [`replay`] and [`rescore`] (new rewards under another
//!   [`RewardConfig`](debugenv_reward::RewardConfig), without running a test).
//! * [`verify()`] proves a package: shipped, all fixed, leave-one-out,
//!   sufficiency, determinism.
//!
//! # Example
//!
//! ```
//! use debugenv::{Action, Package};
//!
//! let package = Package::load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny"))?;
//! assert_eq!(package.spec().name, "tiny");
//! assert_eq!(package.universe().len(), 12);
//! let order: Vec<String> = package.graph().fix_order().iter().map(|b| b.to_string()).collect();
//! assert_eq!(order, ["T1", "T2", "T3"]);
//! assert!(package.is_protected("tests/unit/test_stats.py"));
//! assert!(!package.is_protected("calc/stats.py"));
//!
//! // Actions are JSON-friendly; an episode runs them in a sandbox:
//! // let mut env = Environment::new(Arc::new(package), sandbox);
//! // let obs = env.reset(ResetOptions::seeded(7)).await?;
//! // let step = env.step(Action::Edit { file, content }).await?;
//! let edit = Action::from_json(r#"{"type": "edit", "file": "calc/stats.py", "content": "..."}"#)?;
//! assert!(edit.mutates());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Environment packages
//!
//! A package is a directory:
//!
//! ```text
//! environment.toml   what the environment is and how it is graded (below)
//! bugs.toml          the bug manifest (debugenv-bugs: [[bug]] id, title, category,
//!                    files, symptom, hint, depends_on, marker)
//! tests.json         the test universe from the fully fixed project
//!                    {"version": 1, "tests": [{"id", "category", "bugs"}]}
//! solutions/ID.patch the reference fix of each bug (unified diff); never
//!                    enters the sandbox
//! project/           the shipped (broken) project the agent starts from
//! ```
//!
//! `environment.toml`, every key:
//!
//! ```toml
//! name = "tiny"                       # required
//! description = "..."
//! project = "project"                 # the project dir, relative (default "project")
//! max_steps = 20                      # episode length (default 100)
//! services = ["postgres", "redis"]    # private services of the sandbox
//! image = "docker"                    # image directory for the Docker backend
//!
//! [reward]
//! preset = "talentflow"               # talentflow, senior, principal, apex, linear, sublinear, smoothstep
//! dependency_penalty = 0.5            # optional override
//!
//! [tests]
//! python = "python3"                  # interpreter inside the sandbox
//! config = "pytest.ini"               # required; passed with -c, always protected
//! timeout_seconds = 600               # one grading run
//! full_every = 5                      # a full grading at least every K mutating steps
//! plugins = ["pytest_django.plugin"]  # loaded by name (autoload is disabled)
//! args = ["--ds=app.settings.test"]   # appended to the harness's options
//! env = { DJANGO_SETTINGS_MODULE = "app.settings.test" }
//! affected = "affected.json"          # file/function -> tests map of targeted gradings (default; used if present)
//! full_on = ["**/migrations/**"]      # changed paths that force a full grading (default: settings,
//!                                     # migrations, conftest.py, __init__.py, manage.py, requirements)
//! reuse_args = ["--reuse-db"]         # gradings after edits only: reuse what the last one kept
//! fresh_args = ["--reuse-db", "--create-db"]  # the others, and the one that ends an episode: rebuild, keep
//! fresh_on = ["**/migrations/**"]     # changed paths after which the next grading is fresh (default)
//! preload = ["django.test", "redis"]  # third-party modules a resident server imports once; every
//!                                     # grading's pytest is forked from it (default []: cold starts)
//!
//! [tests.shards]                      # a grading of many tests as concurrent pytest processes
//! count = 3                           # processes per full grading (default 1: no sharding)
//! targeted_count = 2                  # processes per targeted grading (default: count)
//! min_tests = 8                       # fewer selected tests run in one process (default 40)
//! private_redis = true                # shards but the first get a Redis of their own (default false)
//! env = { TOX_PARALLEL_ENV = "shard{shard}" }  # per shard, {shard} = its index (pytest-django:
//!                                     # its own test database)
//!
//! [[tests.categories]]                # at least one; every universe test is in one
//! name = "unit"
//! path = "tests/unit"
//! weight = 1.0                        # optional: the preset's weight for the name
//!
//! [protect]                           # globs, relative to the project
//! paths = ["tests/**", "**/conftest.py", "pytest.ini", "setup.cfg", "tox.ini", "pyproject.toml"]
//!
//! [limits]
//! max_file_bytes = 1048576            # largest file an action may write
//! max_output_bytes = 65536            # output cap of Read / Run / RunTests
//! ```
//!
//! # Grading rules
//!
//! * Protected paths are refused to `Edit`/`Patch` and restored from the
//!   shipped project before every grading (files the agent added under them
//!   are removed), so a `Run` that rewrote a test gains nothing.
//! * pytest runs as `python -s -m pytest -c CONFIG --rootdir=. -o addopts= -p
//!   no:cacheprovider ...` with `PYTEST_DISABLE_PLUGIN_AUTOLOAD=1` and an empty
//!   `PYTEST_ADDOPTS`, writing its JUnit report to a name drawn per run in the
//!   sandbox's private temp dir.
//! * With `tests.preload`, each grading's pytest processes are forked from a
//!   resident server of the sandbox
//!   ([`Sandbox::spawn_resident`](debugenv_sandbox::Sandbox::spawn_resident))
//!   that imported those third-party modules once, outside the workspace,
//!   so every edit is still seen. The server is not dumpable (the agent's
//!   processes cannot trace it or read its memory), the sweep before each
//!   grading spares it by pid and start time, and the client in the grading
//!   checks both on the socket's peer before it hands over the run. A server
//!   that is gone or is not the harness's makes that run cold: the same
//!   command without the server, the same outcomes (`info.preloaded` says
//!   which), and a new server for the next grading.
//! * Canaries: each grading writes a test module at a random name with one
//!   test that must fail and one that must pass; a report that gets either
//!   wrong (code that patches pytest to pass everything) is a no-verdict with
//!   reason `tampered`, never a reward.
//! * The universe is the denominator: a test missing from the report did not
//!   pass; tests not in the universe are listed in `info.extra_tests` and ignored.
//! * pytest ending without a report after a usage or collection failure
//!   (exit 2, 4, 5; a conftest that cannot import) is the project's state:
//!   nothing passes. A timeout, a signal, an internal error (exit 3) or a
//!   sandbox failure is a no-verdict: reward 0 for the step, outcomes and the
//!   regression baseline unchanged.
//! * `terminated` only after a full grading in which every universe test
//!   passed; `truncated` at `max_steps` or on `Submit` without all passing.
//! * Steps that change nothing (reads, refused actions, commands that leave
//!   the files as they were) are not graded and repeat the last reward.
//!
//! # Features
//!
//! * `docker` (default): the Docker backend of `debugenv-sandbox`.
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024), the workspace's `rust-version`.

mod action;
mod affected;
mod env;
mod error;
mod grading;
mod observation;
mod package;
mod patch;
mod pyunits;
mod spec;
mod trajectory;
mod vector;
mod verify;

pub use debugenv_bugs as bugs;
pub use debugenv_junit as junit;
pub use debugenv_reward as reward;
pub use debugenv_sandbox as sandbox;

pub use action::Action;
pub use affected::{AffectedMap, affected_map};
pub use env::{Environment, ResetOptions};
pub use error::{Error, ErrorKind, PackageError, Problem, Result};
pub use observation::{
    ActionError, ActionErrorCode, ActionResult, CategoryResult, FailedTest, GradingKind,
    NoVerdictReason, Observation, Step, StepInfo, TestResults, Timings, VerdictInfo,
};
pub use package::{Affected, Package};
pub use spec::{CategorySpec, EnvironmentSpec, ShardsSpec, TestsSpec};
pub use trajectory::{Record, ReplayReport, Rescored, read_trajectory, replay, rescore};
pub use vector::VecEnv;
pub use verify::{Check, ProgressFn, VerifyOptions, VerifyReport, verify};
