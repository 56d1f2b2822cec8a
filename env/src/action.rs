//! What an agent can do in one step.

use serde::{Deserialize, Serialize};

/// One agent action. The JSON form is tagged by `"type"`:
///
/// ```
/// use debugenv::Action;
///
/// let a = Action::from_json(r#"{"type": "edit", "file": "app/x.py", "content": "x = 1\n"}"#)?;
/// assert_eq!(a, Action::Edit { file: "app/x.py".into(), content: "x = 1\n".into() });
/// let r = Action::from_json(r#"{"type": "run_command", "command": "ls"}"#)?;
/// assert!(matches!(r, Action::Run { .. }));
/// assert!(Action::from_json(r#"{"type": "teleport"}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Read a workspace file; its text is the action's output.
    Read {
        /// Path relative to the workspace root.
        file: String,
    },
    /// Replace (or create) a whole workspace file.
    Edit {
        /// Path relative to the workspace root.
        file: String,
        /// The new content.
        content: String,
    },
    /// Apply a unified diff (one or more files, `git diff` or plain paths);
    /// all of it or nothing.
    Patch {
        /// The diff text.
        diff: String,
    },
    /// Run a shell command in the workspace.
    #[serde(rename = "run_command", alias = "run")]
    Run {
        /// The shell command line.
        command: String,
        /// Wall-clock limit in seconds (default 60, at most the test timeout).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_seconds: Option<u64>,
    },
    /// Run a selection of tests (pytest node ids or paths; empty: all) and
    /// return pytest's output. Informational: it neither grades nor rewards.
    RunTests {
        /// Node ids or paths; empty runs the whole suite.
        #[serde(default)]
        tests: Vec<String>,
    },
    /// End the episode with a full grading.
    Submit,
}

impl Action {
    /// Parses the JSON form.
    ///
    /// # Errors
    ///
    /// The serde error (unknown `type`, missing or unknown field), with its position.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The action's `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Read { .. } => "read",
            Action::Edit { .. } => "edit",
            Action::Patch { .. } => "patch",
            Action::Run { .. } => "run_command",
            Action::RunTests { .. } => "run_tests",
            Action::Submit => "submit",
        }
    }

    /// Whether the action can change the workspace (and so triggers a grading).
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Action::Edit { .. } | Action::Patch { .. } | Action::Run { .. }
        )
    }
}
