//! The error type: what went wrong, where, and what was expected.

use std::fmt;
use std::io;
use std::sync::Arc;

/// A position in the input: byte offset (0-based), line and column (1-based,
/// the column counted in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: u64,
    /// Line number, starting at 1.
    pub line: u64,
    /// Column number in bytes, starting at 1.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {} (line {}, column {})",
            self.offset, self.line, self.column
        )
    }
}

/// Which configured limit was exceeded; see [`Limits`](crate::Limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_depth`](crate::Limits::max_depth).
    Depth,
    /// [`Limits::max_event_bytes`](crate::Limits::max_event_bytes).
    EventBytes,
    /// [`Limits::max_properties`](crate::Limits::max_properties).
    Properties,
    /// [`Limits::max_reruns`](crate::Limits::max_reruns).
    Reruns,
    /// [`Limits::max_attributes`](crate::Limits::max_attributes).
    Attributes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Depth => "element nesting depth",
            Limit::EventBytes => "bytes in one tag or text run",
            Limit::Properties => "properties per test case or suite",
            Limit::Reruns => "rerun/flaky elements per test case",
            Limit::Attributes => "attributes of one element",
        })
    }
}

/// What went wrong while reading a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader failed.
    #[error("i/o error: {0}")]
    Io(#[source] Arc<io::Error>),
    /// The bytes are not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The bytes are not valid UTF-8 (the only encoding read).
    #[error("invalid UTF-8 in {context}")]
    InvalidUtf8 {
        /// Where the bytes were (an element or attribute name).
        context: String,
    },
    /// An element appeared where the JUnit structure does not allow it.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What would have been accepted here.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The input ended before the document was complete.
    #[error("unexpected end of input: expected {expected}")]
    UnexpectedEof {
        /// What was still expected (for example `</testcase>`).
        expected: String,
    },
    /// An attribute value could not be interpreted.
    #[error(
        "invalid value {value:?} for attribute `{attribute}` of <{element}>: expected {expected}"
    )]
    InvalidAttribute {
        /// The element carrying the attribute.
        element: String,
        /// The attribute name.
        attribute: String,
        /// The raw value (shortened to 80 characters).
        value: String,
        /// What the value should look like.
        expected: &'static str,
    },
    /// A required attribute is missing (strict mode only).
    #[error("missing attribute `{attribute}` on <{element}>")]
    MissingAttribute {
        /// The element.
        element: String,
        /// The attribute name.
        attribute: &'static str,
    },
    /// An entity other than the five predefined XML entities or a character
    /// reference. DTD entities are never expanded.
    #[error(
        "unknown entity `&{0};` (only the predefined XML entities and character references are expanded)"
    )]
    UnknownEntity(String),
    /// A configured limit was exceeded.
    #[error("limit exceeded: more than {max} {limit}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: u64,
    },
}

/// An error reading a JUnit report: what went wrong ([`ErrorKind`]), where
/// ([`Position`]), and in which input (if a name was given).
#[derive(Debug, Clone)]
pub struct Error {
    kind: Arc<ErrorKind>,
    position: Position,
    source_name: Option<Arc<str>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, position: Position) -> Self {
        Error {
            kind: Arc::new(kind),
            position,
            source_name: None,
        }
    }

    /// Attach the name of the input (usually a path) for messages.
    #[must_use]
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(Arc::from(name.into()));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Where it went wrong.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The input's name, if one was attached.
    pub fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// Whether the error is a truncation (the input ended early).
    pub fn is_eof(&self) -> bool {
        matches!(*self.kind, ErrorKind::UnexpectedEof { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed to parse JUnit XML")?;
        if let Some(name) = &self.source_name {
            write!(f, " {name}")?;
        }
        write!(f, " at {}: {}", self.position, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Shorten a value for an error message.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    if value.len() <= MAX {
        return value.to_owned();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end])
}
