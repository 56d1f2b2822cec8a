//! Commands run in a sandbox and what they produce.

use std::time::Duration;

/// Default wall-clock timeout of a [`Command`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on each of stdout and stderr, in bytes.
pub const DEFAULT_OUTPUT_LIMIT: usize = 1 << 20;

/// What to run: an argument vector or a shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Program {
    /// `argv[0]` looked up in the sandbox's `PATH`, run without a shell.
    Argv(Vec<String>),
    /// A line run by `bash -c` inside the sandbox.
    Shell(String),
}

/// A command to run in a sandbox, with its working directory, environment,
/// timeout and output cap.
///
/// ```
/// use debugenv_sandbox::Command;
/// use std::time::Duration;
///
/// let cmd = Command::shell("pytest -q")
///     .cwd("app")
///     .env("PYTHONHASHSEED", "0")
///     .timeout(Duration::from_secs(30))
///     .output_limit(64 * 1024);
/// assert_eq!(cmd.cwd.as_deref(), Some("app"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Command {
    /// The program.
    pub program: Program,
    /// Working directory relative to the workspace root (`None`: the root).
    pub cwd: Option<String>,
    /// Extra environment variables, applied after the sandbox's own.
    pub env: Vec<(String, String)>,
    /// Wall-clock timeout; on expiry the whole process tree gets SIGTERM, then
    /// SIGKILL after the backend's grace period.
    pub timeout: Duration,
    /// Cap in bytes on each of stdout and stderr; the rest is read and dropped.
    pub output_limit: usize,
}

impl Command {
    /// A command run without a shell.
    pub fn argv<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Program::Argv(argv.into_iter().map(Into::into).collect()))
    }

    /// A command line run by `bash -c`.
    pub fn shell(line: impl Into<String>) -> Self {
        Self::new(Program::Shell(line.into()))
    }

    fn new(program: Program) -> Self {
        Self {
            program,
            cwd: None,
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }

    /// Sets the working directory (relative to the workspace root).
    #[must_use]
    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets the wall-clock timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the cap on each output stream, in bytes.
    #[must_use]
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// The argument vector actually executed (`bash -c LINE` for a shell line).
    pub(crate) fn full_argv(&self) -> Vec<String> {
        match &self.program {
            Program::Argv(v) => v.clone(),
            Program::Shell(line) => vec!["/bin/bash".into(), "-c".into(), line.clone()],
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |message: &str| {
            Err(crate::Error::new(
                "invalid command",
                crate::ErrorKind::Exec {
                    message: message.to_owned(),
                },
            ))
        };
        match &self.program {
            Program::Argv(v) if v.is_empty() => return bad("empty argv"),
            Program::Argv(v) if v.iter().any(|a| a.contains('\0')) => {
                return bad("argv contains a NUL byte");
            }
            Program::Shell(l) if l.contains('\0') => return bad("shell line contains a NUL byte"),
            _ => {}
        }
        for (k, v) in &self.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return bad(&format!("invalid environment variable `{k}`"));
            }
        }
        if self.timeout.is_zero() {
            return bad("timeout is zero");
        }
        Ok(())
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitStatus {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl ExitStatus {
    /// True for exit code 0.
    pub fn success(self) -> bool {
        self == Self::Code(0)
    }

    /// The exit code, if the command exited normally.
    pub fn code(self) -> Option<i32> {
        match self {
            Self::Code(c) => Some(c),
            Self::Signal(_) => None,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "exit code {c}"),
            Self::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// The result of [`Sandbox::exec`](crate::Sandbox::exec).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// Standard output, at most the command's `output_limit` bytes.
    pub stdout: Vec<u8>,
    /// Standard error, at most the command's `output_limit` bytes.
    pub stderr: Vec<u8>,
    /// How the command ended.
    pub status: ExitStatus,
    /// Wall-clock time from start to end of the command.
    pub duration: std::time::Duration,
    /// The timeout fired and the process tree was killed.
    pub timed_out: bool,
    /// Output was longer than the cap and was cut.
    pub truncated: bool,
}

impl ExecOutput {
    /// Creates an output (for test doubles and other backends).
    pub fn new(stdout: Vec<u8>, stderr: Vec<u8>, status: ExitStatus) -> Self {
        Self {
            stdout,
            stderr,
            status,
            duration: Duration::ZERO,
            timed_out: false,
            truncated: false,
        }
    }

    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// Stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }
}

/// A buffer that keeps the first `limit` bytes written to it and counts the rest.
#[derive(Debug)]
pub(crate) struct CappedBuf {
    pub(crate) data: Vec<u8>,
    limit: usize,
    pub(crate) dropped: u64,
}

impl CappedBuf {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            data: Vec::with_capacity(limit.min(64 * 1024)),
            limit,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let room = self.limit.saturating_sub(self.data.len());
        let take = room.min(chunk.len());
        self.data.extend_from_slice(&chunk[..take]);
        self.dropped += (chunk.len() - take) as u64;
    }
}

/// What happened to a workspace path since the pristine state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Not in the pristine workspace.
    Added,
    /// Contents (or file type) differ from the pristine workspace.
    Modified,
    /// In the pristine workspace, missing now.
    Deleted,
    /// Same contents, different permission bits.
    ModeChanged,
}

/// One changed workspace path, relative to the workspace root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Change {
    /// The path relative to the workspace root.
    pub path: String,
    /// What changed.
    pub kind: ChangeKind,
}

impl Change {
    /// Creates a change record.
    pub fn new(path: impl Into<String>, kind: ChangeKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buf_keeps_prefix_and_counts_rest() {
        let mut b = CappedBuf::new(5);
        b.push(b"abc");
        b.push(b"defgh");
        assert_eq!(b.data, b"abcde");
        assert_eq!(b.dropped, 3);
    }

    #[test]
    fn validation_rejects_bad_commands() {
        assert!(Command::argv(Vec::<String>::new()).validate().is_err());
        assert!(Command::shell("x").env("A=B", "1").validate().is_err());
        assert!(
            Command::shell("x")
                .timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(Command::shell("true").validate().is_ok());
    }
}
