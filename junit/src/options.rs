//! Parser configuration: mode and resource limits.

use std::fmt;

/// How forgiving the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Every deviation is an error: unparsable numbers, unknown entities,
    /// a `<testcase>` without `name`.
    #[default]
    Strict,
    /// Recoverable deviations are logged (`tracing`) and skipped: a bad
    /// number becomes `None`, an unknown entity stays literal, a missing
    /// name is empty. Fatal errors (broken XML, truncation, limits) still
    /// end the stream; [`Parser::parse_partial`](crate::Parser::parse_partial)
    /// keeps every case completed before them.
    Tolerant,
}

/// Resource limits. Every allocation the parser makes is bounded by one of
/// these, so hostile input fails with [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded)
/// instead of exhausting memory. Memory held while streaming is about
/// `max_event_bytes` (quick-xml's event buffer) plus the largest test case
/// (its texts capped at `max_text_bytes` each) times `max_depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum element nesting depth. Default 64 (real reports use <= 6).
    pub max_depth: usize,
    /// Maximum bytes of one tag (with its attributes) or one uninterrupted
    /// run of text. Default 64 MiB.
    pub max_event_bytes: usize,
    /// Maximum bytes kept of one text (`<system-out>`, a failure body...);
    /// longer texts are cut at a character boundary (logged). Default 16 MiB.
    pub max_text_bytes: usize,
    /// Maximum properties per case or suite. Default 10,000.
    pub max_properties: usize,
    /// Maximum rerun/flaky elements per case. Default 1,000.
    pub max_reruns: usize,
    /// Maximum attributes of one element. Default 1,000 (real reports use
    /// fewer than 20).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_event_bytes: 64 << 20,
            max_text_bytes: 16 << 20,
            max_properties: 10_000,
            max_reruns: 1_000,
            max_attributes: 1_000,
        }
    }
}

/// The knobs of a [`Parser`](crate::Parser); build one with
/// [`ParserBuilder`](crate::ParserBuilder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Options {
    /// Strict or tolerant.
    pub mode: Mode,
    /// Resource limits.
    pub limits: Limits,
    /// Skip `<system-out>`/`<system-err>` texts (faster, less memory).
    pub skip_output: bool,
}

/// An invalid option value given to [`ParserBuilder`](crate::ParserBuilder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parser option `{option}`: {reason}")]
pub struct OptionsError {
    /// The option's name.
    pub option: &'static str,
    /// Why it is invalid.
    pub reason: String,
}

impl Limits {
    pub(crate) fn validate(&self) -> Result<(), OptionsError> {
        let check = |option: &'static str, value: usize, min: usize| {
            if value < min {
                Err(OptionsError {
                    option,
                    reason: format!("must be at least {min}, got {value}"),
                })
            } else {
                Ok(())
            }
        };
        check("max_depth", self.max_depth, 3)?;
        check("max_event_bytes", self.max_event_bytes, 256)?;
        check("max_text_bytes", self.max_text_bytes, 1)?;
        check("max_properties", self.max_properties, 1)?;
        check("max_reruns", self.max_reruns, 1)?;
        check("max_attributes", self.max_attributes, 1)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Strict => "strict",
            Mode::Tolerant => "tolerant",
        })
    }
}
