//! Errors of the env crate: package problems with positions, and run-time errors.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found while loading an environment package: the file, the
/// position when the problem sits at one, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, when the problem has a position.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the problem has a position.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// A problem about a whole file.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem at a byte offset of `source` (the file's text).
    pub fn at(
        file: impl Into<PathBuf>,
        source: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_column(source, offset);
        Self {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// A problem at a known line and column.
    pub fn at_line(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past the
/// end (or inside a character) are clamped.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Every problem of an environment package, found in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment package {} has {} problem(s):\n{}", dir.display(), problems.len(), list(problems))]
#[non_exhaustive]
pub struct PackageError {
    /// The package directory.
    pub dir: PathBuf,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PackageError {
    pub(crate) fn new(dir: &Path, problems: Vec<Problem>) -> Self {
        Self {
            dir: dir.to_owned(),
            problems,
        }
    }
}

/// An error of the environment API.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {kind}")]
pub struct Error {
    context: String,
    kind: ErrorKind,
}

impl Error {
    /// An error with its context (what was being done).
    pub fn new(context: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            context: context.into(),
            kind,
        }
    }

    /// What was being done.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Why it failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// Why an environment operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The environment package is invalid.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The sandbox failed (infrastructure, not the agent).
    #[error(transparent)]
    Sandbox(#[from] debugenv_sandbox::Error),
    /// The reward could not be computed.
    #[error(transparent)]
    Reward(#[from] debugenv_reward::RewardError),
    /// `step` was called before `reset` or after the episode ended.
    #[error("{0}")]
    State(String),
    /// A reference fix does not apply.
    #[error("reference fix {bug} does not apply: {message}")]
    Solution {
        /// The bug whose fix failed.
        bug: String,
        /// Why.
        message: String,
    },
    /// A trajectory file is malformed.
    #[error("line {line}: {message}")]
    Trajectory {
        /// 1-based line of the JSON-lines file.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(context: &str, path: &Path, source: std::io::Error) -> Self {
        Self::new(
            context,
            ErrorKind::Io {
                path: path.display().to_string(),
                source,
            },
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let s = "ab\nçd\n";
        assert_eq!(line_column(s, 0), (1, 1));
        assert_eq!(line_column(s, 3), (2, 1));
        assert_eq!(line_column(s, 5), (2, 2)); // after the two-byte ç
        assert_eq!(line_column(s, 4), (2, 1)); // inside ç: clamped back
        assert_eq!(line_column(s, 99), (3, 1));
    }

    #[test]
    fn problem_display_is_file_line_column() {
        let p = Problem::at("env.toml", "a = 1\nb = x\n", 10, "expected a string");
        assert_eq!(p.to_string(), "env.toml:2:5: expected a string");
        assert_eq!(
            Problem::new("tests.json", "missing").to_string(),
            "tests.json: missing"
        );
    }
}
