//! The bug manifest (`bugs.toml`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{ManifestError, ManifestErrorKind, Position};
use crate::id::BugId;

/// One injected bug, as described in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bug {
    /// Its id (`A1`).
    pub id: BugId,
    /// One-line title.
    pub title: String,
    /// Free-form area (`setup`, `concurrency`, ...).
    pub category: String,
    /// Files where the fix starts.
    pub files: Vec<String>,
    /// What a user sees.
    pub symptom: String,
    /// A hint for humans (never shown to the agent by this crate).
    pub hint: String,
    /// Direct prerequisites: bugs that must be fixed before this one can be.
    pub depends_on: Vec<BugId>,
    /// The pytest marker of its tests (`bug_a1`).
    pub marker: String,
}

impl Bug {
    /// A bug with this id and every other field empty (set the public fields after).
    pub fn new(id: impl Into<BugId>) -> Self {
        Self {
            id: id.into(),
            title: String::new(),
            category: String::new(),
            files: Vec::new(),
            symptom: String::new(),
            hint: String::new(),
            depends_on: Vec::new(),
            marker: String::new(),
        }
    }

    /// Sets the direct prerequisites.
    pub fn with_depends_on<I, T>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<BugId>,
    {
        self.depends_on = ids.into_iter().map(Into::into).collect();
        self
    }
}

/// Where a bug's id and its dependencies sit in the manifest source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BugLocation {
    pub(crate) id: Position,
    pub(crate) depends_on: Vec<Position>,
}

/// The bug manifest: every bug of an environment.
///
/// Parsing checks the TOML and the shape (required fields, no unknown field);
/// cross-checks (duplicate ids, unknown dependencies, cycles, bugs without
/// tests) happen in [`BugGraph::new`](crate::BugGraph::new), which reports
/// them all together with their positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    bugs: Vec<Bug>,
    locations: Option<Vec<BugLocation>>,
    path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    bug: Vec<RawBug>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBug {
    id: Spanned<String>,
    title: String,
    category: String,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    symptom: String,
    #[serde(default)]
    hint: String,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    marker: String,
}

impl Manifest {
    /// A manifest from bugs built in code (no source positions).
    pub fn new(bugs: Vec<Bug>) -> Self {
        Self {
            bugs,
            locations: None,
            path: None,
        }
    }

    /// The bugs, in manifest order.
    pub fn bugs(&self) -> &[Bug] {
        &self.bugs
    }

    /// The file it was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn location(&self, bug: usize) -> Option<&BugLocation> {
        self.locations.as_ref().and_then(|l| l.get(bug))
    }

    /// Parses `bugs.toml` text: `[[bug]]` tables with `id`, `title`,
    /// `category`, `marker` (required), `files`, `symptom`, `hint`,
    /// `depends_on` (optional).
    ///
    /// # Errors
    ///
    /// A [`ManifestError`] with the line and column of the TOML error.
    #[expect(
        clippy::should_implement_trait,
        reason = "mirrors the from_str/from_reader/from_path family of the workspace"
    )]
    pub fn from_str(source: &str) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(source).map_err(|e| ManifestError {
            path: None,
            kind: ManifestErrorKind::Toml {
                position: e.span().map(|s| Position::of_offset(source, s.start)),
                message: e.message().trim_end().to_owned(),
            },
        })?;
        let mut bugs = Vec::with_capacity(raw.bug.len());
        let mut locations = Vec::with_capacity(raw.bug.len());
        for b in raw.bug {
            locations.push(BugLocation {
                id: Position::of_offset(source, b.id.span().start),
                depends_on: b
                    .depends_on
                    .iter()
                    .map(|d| Position::of_offset(source, d.span().start))
                    .collect(),
            });
            bugs.push(Bug {
                id: BugId::new(b.id.into_inner()),
                title: b.title,
                category: b.category,
                files: b.files,
                symptom: b.symptom,
                hint: b.hint,
                depends_on: b
                    .depends_on
                    .into_iter()
                    .map(|d| BugId::new(d.into_inner()))
                    .collect(),
                marker: b.marker,
            });
        }
        Ok(Self {
            bugs,
            locations: Some(locations),
            path: None,
        })
    }

    /// Reads everything from `reader`, then [`Manifest::from_str`].
    ///
    /// # Errors
    ///
    /// As [`Manifest::from_str`], or the read error.
    pub fn from_reader<R: std::io::Read>(mut reader: R) -> Result<Self, ManifestError> {
        let mut source = String::new();
        reader
            .read_to_string(&mut source)
            .map_err(|e| ManifestError {
                path: None,
                kind: e.into(),
            })?;
        Self::from_str(&source)
    }

    /// Reads and parses a manifest file; errors and graph problems name the path.
    ///
    /// # Errors
    ///
    /// As [`Manifest::from_str`], or the read error, with the path.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let with_path = |mut e: ManifestError| {
            e.path = Some(path.to_owned());
            e
        };
        let source = std::fs::read_to_string(path).map_err(|e| {
            with_path(ManifestError {
                path: None,
                kind: e.into(),
            })
        })?;
        let mut manifest = Self::from_str(&source).map_err(with_path)?;
        manifest.path = Some(path.to_owned());
        Ok(manifest)
    }
}
