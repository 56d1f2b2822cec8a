//! Sandboxes where an untrusted agent's commands run: local processes or Docker
//! containers, behind one small async trait.
//!
//! An RL environment for coding agents runs thousands of agent commands per
//! training run, many at once. This crate gives each rollout a [`Sandbox`]: a
//! private copy of the project, private services (PostgreSQL, Redis), commands
//! with a timeout that kills the whole process tree and output capped without
//! memory growth, file access confined to the workspace, a cheap
//! [`reset`](Sandbox::reset) back to the pristine project, and a
//! [`destroy`](Sandbox::destroy) (plus a crash-safe `reap`) that leaves nothing
//! behind.
//!
//! # Overview
//!
//! * [`Sandbox`]: the trait (`exec`, `read_file`, `write_file`, `reset`,
//!   `changed_files`, `destroy`).
//! * [`SandboxSpec`]: what a sandbox starts with (workspace, [`Service`]s,
//!   [`Limits`], [`NetworkPolicy`], environment), built with a validating builder.
//! * [`Command`] / [`ExecOutput`]: a command and what it produced.
//! * [`LocalSandbox`]: processes on this host (the embedded default).
//! * `DockerSandbox` (feature `docker`): one container per sandbox, through bollard,
//!   and `ImageBuilder`, which builds sandbox images without a registry.
//! * `FakeSandbox` (feature `testing`): an in-memory double for unit tests.
//!
//! # Example
//!
//! ```
//! use debugenv_sandbox::{Command, LocalOptions, LocalSandbox, NetworkPolicy, Sandbox, SandboxSpec};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let project = tempfile::tempdir()?;
//! std::fs::write(project.path().join("app.py"), "print('hello')\n")?;
//! let spec = SandboxSpec::builder(project.path()).network(NetworkPolicy::Host).build()?;
//! let sandbox = LocalSandbox::create(&spec, &LocalOptions::default()).await?;
//!
//! sandbox.write_file("app.py", b"print('bye')\n").await?;
//! let out = sandbox.exec(&Command::argv(["cat", "app.py"])).await?;
//! assert_eq!(out.stdout, b"print('bye')\n");
//!
//! let reverted = sandbox.reset().await?;
//! assert_eq!(reverted.len(), 1);
//! assert_eq!(sandbox.read_file("app.py").await?, b"print('hello')\n");
//! sandbox.destroy().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! * `docker` (default): `DockerSandbox`, `ImageBuilder` and `reap` for Docker
//!   objects, through `bollard`.
//! * `testing`: `FakeSandbox`.
//!
//! # Host requirements
//!
//! Linux. Services need Debian's `postgresql-15` and `redis-server` packages (a
//! missing binary is an error naming the package). As root, each sandbox runs
//! under a private uid and its services under the system user
//! `debugenv-sandbox` (created with `useradd --system` on first use).
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024).

mod command;
#[cfg(feature = "docker")]
pub mod docker;
mod error;
#[cfg(feature = "testing")]
mod fake;
mod local;
mod path;
mod sandbox;
mod spec;
mod sys;

pub use command::{
    Change, ChangeKind, Command, DEFAULT_OUTPUT_LIMIT, DEFAULT_TIMEOUT, ExecOutput, ExitStatus,
    Program,
};
#[cfg(feature = "docker")]
pub use docker::{DockerOptions, DockerSandbox, ImageBuilder};
pub use error::{Error, ErrorKind, Result};
#[cfg(feature = "testing")]
pub use fake::FakeSandbox;
pub use local::{LocalOptions, LocalSandbox, ReapReport, UID_BASE};
pub use sandbox::{Resident, Sandbox};
pub use spec::{Limits, NetworkPolicy, SandboxSpec, SandboxSpecBuilder, Service};
