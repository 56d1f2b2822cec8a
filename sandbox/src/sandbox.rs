//! The [`Sandbox`] trait.

use std::future::Future;

use crate::{Change, Command, ExecOutput, Result};

/// A place where an untrusted agent's commands run.
///
/// Every backend ([`LocalSandbox`](crate::LocalSandbox),
/// `DockerSandbox`, `FakeSandbox`) implements it with the same semantics, checked
/// by one conformance suite:
///
/// * [`exec`](Self::exec) runs a [`Command`] with its own timeout and output cap;
///   a timed-out command's whole process tree is killed (SIGTERM, grace, SIGKILL).
/// * [`read_file`](Self::read_file) and [`write_file`](Self::write_file) take
///   paths relative to the workspace root; `..`, absolute paths and symlinks
///   that lead outside the workspace are refused with
///   [`ErrorKind::PathEscape`](crate::ErrorKind::PathEscape).
/// * [`reset`](Self::reset) brings the workspace back to its pristine state and
///   returns what it reverted; [`changed_files`](Self::changed_files) lists the
///   differences without touching them.
/// * [`destroy`](Self::destroy) stops every process and service and removes
///   every file or object the sandbox created. Dropping a sandbox without
///   calling it cleans up on a best-effort basis and logs a warning.
///
/// A minimal implementation, the shape every backend follows:
///
/// ```
/// use debugenv_sandbox::{Change, Command, ExecOutput, ExitStatus, Result, Sandbox};
///
/// struct Echo;
///
/// impl Sandbox for Echo {
///     async fn exec(&self, cmd: &Command) -> Result<ExecOutput> {
///         Ok(ExecOutput::new(format!("{:?}", cmd.program).into_bytes(), vec![], ExitStatus::Code(0)))
///     }
///     async fn read_file(&self, _path: &str) -> Result<Vec<u8>> { Ok(Vec::new()) }
///     async fn write_file(&self, _path: &str, _contents: &[u8]) -> Result<()> { Ok(()) }
///     async fn reset(&self) -> Result<Vec<Change>> { Ok(Vec::new()) }
///     async fn changed_files(&self) -> Result<Vec<Change>> { Ok(Vec::new()) }
///     async fn destroy(self) -> Result<()> { Ok(()) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let out = Echo.exec(&Command::shell("ls")).await?;
/// assert!(out.status.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Sandbox: Send + Sync {
    /// Runs a command and returns its (capped) output, exit status and timing.
    fn exec(&self, cmd: &Command) -> impl Future<Output = Result<ExecOutput>> + Send;

    /// Reads a workspace file.
    fn read_file(&self, path: &str) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Writes (creates or replaces) a workspace file, creating parent directories.
    fn write_file(&self, path: &str, contents: &[u8]) -> impl Future<Output = Result<()>> + Send;

    /// Restores the pristine workspace; returns the changes it reverted.
    fn reset(&self) -> impl Future<Output = Result<Vec<Change>>> + Send;

    /// Lists the workspace's differences from the pristine state, sorted by path.
    fn changed_files(&self) -> impl Future<Output = Result<Vec<Change>>> + Send;

    /// Starts `cmd` as a *resident*: a long-lived process of the sandbox's
    /// user that outlives the call, with stdin, stdout and stderr on
    /// `/dev/null`, in its own process group. The sandbox's own clean-ups
    /// between and after commands spare it (the processes it forks are not
    /// spared); [`destroy`](Self::destroy) stops it. The command's timeout
    /// does not apply. Returns its pid, as the sandbox's own commands see it,
    /// and its start time, so that a caller can tell it from a process that
    /// later reuses the pid.
    ///
    /// Harnesses use it for helpers that must survive the agent's commands
    /// (a pre-importing test server). The agent's commands run as the same
    /// user and may kill a resident: a caller must treat a resident as gone
    /// at any time. Backends without it return
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) (the default).
    fn spawn_resident(&self, cmd: &Command) -> impl Future<Output = Result<Resident>> + Send {
        let _ = cmd;
        std::future::ready(Err(crate::Error::new(
            "failed to start a resident process",
            crate::ErrorKind::Unsupported {
                operation: "spawn_resident".into(),
            },
        )))
    }

    /// Stops everything the sandbox started and removes everything it created.
    fn destroy(self) -> impl Future<Output = Result<()>> + Send
    where
        Self: Sized;
}

/// A long-lived process started by [`Sandbox::spawn_resident`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Resident {
    /// Its pid, as the sandbox's own commands see it.
    pub pid: u32,
    /// Its start time in clock ticks since boot (field 22 of `/proc/PID/stat`):
    /// a process that later gets the same pid has another start time.
    pub start_time: u64,
}

impl Resident {
    /// A resident's identity (for backends and tests).
    pub fn new(pid: u32, start_time: u64) -> Self {
        Self { pid, start_time }
    }
}
