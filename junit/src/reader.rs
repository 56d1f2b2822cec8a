//! The streaming reader: quick-xml events in, [`Item`]s out.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use quick_xml::errors::IllFormedError;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::attrs::{self, EscapeError, RawAttr, resolve_entity};
use crate::error::{Error, ErrorKind, Limit, Position, shorten};
use crate::fast::{self, NAME_BYTE};
use crate::guard::Guarded;
use crate::model::{
    Counts, DeclaredCounts, Detail, DetailKind, Outcome, Property, Rerun, RerunKind, Root,
    TestCase, TestSuite,
};
use crate::options::{Mode, Options};

/// One unit of a streamed report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Item {
    /// The `<testsuites>` root's attributes, emitted at its start tag.
    Root(Root),
    /// A completed `<testcase>`.
    Case(TestCase),
    /// A completed `<testsuite>` (emitted at its end tag, so inner suites
    /// come before outer ones; [`TestSuite::index`] gives the start order).
    Suite(TestSuite),
}

/// Streams [`Item`]s from a JUnit XML document read from any [`BufRead`].
///
/// Memory stays bounded by the largest single case and the configured
/// [`Limits`](crate::Limits), never by the document. After the first error
/// the iterator yields that error and then ends.
///
/// ```
/// use debugenv_junit::{Item, Parser};
///
/// let xml = r#"<testsuite name="s"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>"#;
/// let mut failed = Vec::new();
/// for case in Parser::new().reader(xml.as_bytes()).cases() {
///     let case = case?;
///     if case.outcome == debugenv_junit::Outcome::Failed {
///         failed.push(case.name);
///     }
/// }
/// assert_eq!(failed, ["b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JunitReader<R> {
    xml: quick_xml::Reader<Guarded<R>>,
    buf: Vec<u8>,
    /// Options, position and buffers the attribute readers need (a separate
    /// field so they can run while the open case is borrowed mutably).
    ctx: Ctx,
    stack: Vec<Frame>,
    pending: VecDeque<Item>,
    seen_root: bool,
    root_closed: bool,
    done: bool,
    next_suite: usize,
    case_seq: usize,
    /// The open `<testcase>` (at most one: a case inside a case is not a
    /// case), filled in place and moved out once at its end tag.
    case: TestCase,
    /// When collecting a whole [`Report`](crate::Report), completed cases go
    /// here directly instead of through `pending`.
    collected: Option<Vec<TestCase>>,
    /// [`read_case`](Self::read_case) is driving: a finished case stays in
    /// `case` (its buffers reused for the next one).
    lend: bool,
    /// A case was finished by the last event (in `lend` mode).
    case_ready: bool,
    /// Bytes consumed by [`fast_case`](Self::fast_case) behind quick-xml's
    /// back (added to its positions).
    skipped: u64,
    /// The last event was markup (a tag, comment, reference...), so
    /// quick-xml consumed exactly up to its end and will read text next: the
    /// underlying reader is at the next byte and may be read directly.
    after_markup: bool,
    /// The `tests` count declared by the last suite started, until the fast
    /// path uses it to reserve room for the collected cases.
    tests_hint: Option<u64>,
    /// Names of the open elements, end to end (`open_starts` marks where
    /// each begins), to check end tags.
    open_names: Vec<u8>,
    open_starts: Vec<usize>,
}

/// What reading attributes needs from the reader.
#[derive(Debug)]
struct Ctx {
    options: Options,
    /// Start of the event being handled.
    position: Position,
    source_name: Option<Arc<str>>,
    /// Reused attribute token buffers.
    scratch: Scratch,
}

/// Buffers reused by [`attrs::tokenize`] for every tag.
#[derive(Default)]
struct Scratch {
    tokens: Cell<Vec<RawAttr>>,
    sort: Cell<Vec<usize>>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

/// One attribute of the tag being read.
struct Attr<'a> {
    /// The qualified name.
    key: &'a [u8],
    /// The raw value, still escaped.
    value: &'a [u8],
    /// The value as text, when the whole tag was checked to be UTF-8.
    text: Option<&'a str>,
    /// Whether the tag contains a `&` at all.
    escaped: bool,
}

#[derive(Debug)]
struct SuiteState {
    suite: TestSuite,
}

#[derive(Debug)]
enum Frame {
    Testsuites,
    Suite(Box<SuiteState>),
    /// The open case itself is [`JunitReader::case`].
    Case,
    Properties,
    Property {
        name: String,
        value: Option<String>,
        text: String,
    },
    Detail {
        kind: DetailKind,
        detail: Detail,
        text: String,
    },
    Rerun {
        rerun: Box<Rerun>,
        text: String,
    },
    StackTrace(String),
    Output {
        err: bool,
        text: String,
    },
    Unknown,
}

impl Frame {
    fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            Frame::Property { text, .. }
            | Frame::Detail { text, .. }
            | Frame::Rerun { text, .. }
            | Frame::StackTrace(text)
            | Frame::Output { text, .. } => Some(text),
            _ => None,
        }
    }
}

fn elem_name(name: &[u8]) -> String {
    format!("<{}>", String::from_utf8_lossy(name))
}

impl<R: BufRead> JunitReader<R> {
    pub(crate) fn new(reader: R, options: Options) -> Self {
        let guarded = Guarded::new(reader, options.limits.max_event_bytes);
        let mut xml = quick_xml::Reader::from_reader(guarded);
        let config = xml.config_mut();
        // End tags are checked here (`check_end`), not by quick-xml: the
        // fast path opens `<testcase>` elements quick-xml never sees.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        JunitReader {
            xml,
            buf: Vec::new(),
            ctx: Ctx {
                options,
                position: Position {
                    offset: 0,
                    line: 1,
                    column: 1,
                },
                source_name: None,
                scratch: Scratch::default(),
            },
            stack: Vec::new(),
            pending: VecDeque::new(),
            seen_root: false,
            root_closed: false,
            done: false,
            next_suite: 0,
            case_seq: 0,
            case: TestCase::new(String::new()),
            collected: None,
            lend: false,
            case_ready: false,
            skipped: 0,
            after_markup: false,
            tests_hint: None,
            open_names: Vec::new(),
            open_starts: Vec::new(),
        }
    }

    /// Deliver completed cases into a vector instead of the iterator.
    pub(crate) fn collect_cases_into(&mut self, cases: Vec<TestCase>) {
        self.collected = Some(cases);
    }

    /// The vector given to [`collect_cases_into`](Self::collect_cases_into).
    pub(crate) fn take_collected(&mut self) -> Vec<TestCase> {
        self.collected.take().unwrap_or_default()
    }

    /// Name the input (usually its path) in error messages.
    #[must_use]
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.ctx.source_name = Some(Arc::from(name.into()));
        self
    }

    /// Only the test cases (suites and root are skipped).
    pub fn cases(self) -> Cases<R> {
        Cases { inner: self }
    }

    /// The suites still open (started, not ended), outermost first, with
    /// the cases counted so far; used after an error to keep partial suites.
    pub fn open_suites(&self) -> Vec<TestSuite> {
        self.stack
            .iter()
            .filter_map(|f| match f {
                Frame::Suite(s) => {
                    let mut suite = s.suite.clone();
                    suite.cases.end = self.case_seq;
                    Some(suite)
                }
                _ => None,
            })
            .collect()
    }

    fn err(&self, kind: ErrorKind) -> Error {
        self.ctx.err(kind)
    }

    fn tolerant(&self) -> bool {
        self.ctx.tolerant()
    }

    /// The next test case, parsed into a case the reader owns and reuses:
    /// the fastest way to stream a report, allocating nothing per case once
    /// the buffers have grown. The case is valid until the next call; clone
    /// it to keep it. Suites and the root are skipped (as in
    /// [`cases`](Self::cases)). `Ok(None)` at the end of the document and
    /// after an error.
    ///
    /// ```
    /// use debugenv_junit::{Outcome, Parser};
    ///
    /// let xml = r#"<testsuite><testcase name="a"/><testcase name="b"><error/></testcase></testsuite>"#;
    /// let mut reader = Parser::new().reader(xml.as_bytes());
    /// let mut errored = Vec::new();
    /// while let Some(case) = reader.read_case()? {
    ///     if case.outcome == Outcome::Errored {
    ///         errored.push(case.name.clone());
    ///     }
    /// }
    /// assert_eq!(errored, ["b"]);
    /// # Ok::<(), debugenv_junit::Error>(())
    /// ```
    pub fn read_case(&mut self) -> Result<Option<&TestCase>, Error> {
        if self.done {
            return Ok(None);
        }
        self.lend = true;
        self.case_ready = false;
        loop {
            // Suites and the root are not returned here.
            self.pending.clear();
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let step = self.step(&mut buf);
            self.buf = buf;
            match step {
                Ok(true) if self.case_ready => return Ok(Some(&self.case)),
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
    }

    fn next_item(&mut self) -> Result<Option<Item>, Error> {
        if self.lend {
            // Back from `read_case`: the case slot may hold the last lent case.
            self.lend = false;
            self.case = TestCase::new(String::new());
        }
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let step = self.step(&mut buf);
            self.buf = buf;
            if !step? {
                return Ok(None);
            }
        }
    }

    /// Read and handle one event; `false` at the end of a complete document.
    fn step(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        self.xml.get_mut().reset();
        let offset = self.xml.buffer_position() + self.skipped;
        let (line, column) = self.xml.get_ref().line_col(offset);
        self.ctx.position = Position {
            offset,
            line,
            column,
        };
        if self.after_markup && (self.fast_case() || self.fast_text()) {
            return Ok(true);
        }
        let event = match self.xml.read_event_into(buf) {
            Ok(ev) => ev,
            Err(e) => {
                let kind = if self.xml.get_ref().exceeded {
                    ErrorKind::LimitExceeded {
                        limit: Limit::EventBytes,
                        max: self.ctx.options.limits.max_event_bytes as u64,
                    }
                } else {
                    match e {
                        quick_xml::Error::Io(io) => ErrorKind::Io(io),
                        quick_xml::Error::Encoding(_) => ErrorKind::InvalidUtf8 {
                            context: "markup".into(),
                        },
                        quick_xml::Error::Syntax(s) if self.seen_root => ErrorKind::UnexpectedEof {
                            expected: format!("the end of a tag ({s})"),
                        },
                        other => ErrorKind::Xml(other.to_string()),
                    }
                };
                return Err(self.err(kind));
            }
        };
        self.after_markup = !matches!(event, Event::Text(_));
        match event {
            Event::Start(e) => {
                self.start(&e, false)?;
                self.open_name(e.name().as_ref());
            }
            Event::Empty(e) => self.start(&e, true)?,
            Event::End(e) => {
                self.check_end(e.name().as_ref())?;
                self.end()?;
            }
            Event::Text(t) => self.text(&t, true)?,
            Event::CData(c) => self.text(&c, false)?,
            Event::GeneralRef(r) => self.entity(&r)?,
            Event::Eof => {
                if let Some(frame) = self.stack.last() {
                    let expected = match frame {
                        Frame::Testsuites => "</testsuites>".to_owned(),
                        Frame::Suite(_) => "</testsuite>".to_owned(),
                        Frame::Case => "</testcase>".to_owned(),
                        _ => "the end of an open element".to_owned(),
                    };
                    return Err(self.err(ErrorKind::UnexpectedEof { expected }));
                }
                if !self.seen_root {
                    return Err(self.err(ErrorKind::UnexpectedEof {
                        expected: "<testsuites> or <testsuite>".into(),
                    }));
                }
                return Ok(false);
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        Ok(true)
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), Error> {
        if self.stack.len() >= self.ctx.options.limits.max_depth {
            return Err(self.err(ErrorKind::LimitExceeded {
                limit: Limit::Depth,
                max: self.ctx.options.limits.max_depth as u64,
            }));
        }
        let local = e.local_name();
        let name = local.as_ref();
        let frame = match self.stack.last() {
            None => {
                if self.root_closed {
                    return Err(self.err(ErrorKind::Unexpected {
                        expected: "end of input after the root element".into(),
                        found: elem_name(name),
                    }));
                }
                self.seen_root = true;
                match name {
                    b"testsuites" => {
                        let root = self.root(e)?;
                        self.pending.push_back(Item::Root(root));
                        Frame::Testsuites
                    }
                    b"testsuite" => self.suite(e)?,
                    _ => {
                        return Err(self.err(ErrorKind::Unexpected {
                            expected: "<testsuites> or <testsuite>".into(),
                            found: elem_name(name),
                        }));
                    }
                }
            }
            Some(Frame::Testsuites) => match name {
                b"testsuite" => self.suite(e)?,
                b"testcase" => self.case(e)?,
                _ => Frame::Unknown,
            },
            Some(Frame::Suite(_)) => match name {
                b"testsuite" => self.suite(e)?,
                b"testcase" => self.case(e)?,
                b"properties" => Frame::Properties,
                b"system-out" => self.output(false),
                b"system-err" => self.output(true),
                _ => Frame::Unknown,
            },
            Some(Frame::Case) => match name {
                b"failure" => self.detail(e, DetailKind::Failure)?,
                b"error" => self.detail(e, DetailKind::Error)?,
                b"skipped" => self.detail(e, DetailKind::Skipped)?,
                b"flakyFailure" => self.rerun(e, RerunKind::FlakyFailure)?,
                b"flakyError" => self.rerun(e, RerunKind::FlakyError)?,
                b"rerunFailure" => self.rerun(e, RerunKind::RerunFailure)?,
                b"rerunError" => self.rerun(e, RerunKind::RerunError)?,
                b"properties" => Frame::Properties,
                b"system-out" => self.output(false),
                b"system-err" => self.output(true),
                _ => Frame::Unknown,
            },
            Some(Frame::Properties) => match name {
                b"property" => self.property(e)?,
                _ => Frame::Unknown,
            },
            Some(Frame::Rerun { .. }) => match name {
                b"stackTrace" => Frame::StackTrace(String::new()),
                b"system-out" => self.output(false),
                b"system-err" => self.output(true),
                _ => Frame::Unknown,
            },
            Some(_) => Frame::Unknown,
        };
        if matches!(frame, Frame::Unknown) {
            tracing::trace!(element = %String::from_utf8_lossy(name), "skipping unknown element");
        }
        self.stack.push(frame);
        if empty {
            self.end()?;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), Error> {
        let Some(frame) = self.stack.pop() else {
            // quick-xml rejects unmatched end tags; keep a clear error anyway.
            return Err(self.err(ErrorKind::Xml("end tag without start tag".into())));
        };
        let max_props = self.ctx.options.limits.max_properties;
        match frame {
            Frame::Testsuites => self.root_closed = true,
            Frame::Suite(state) => {
                let mut suite = state.suite;
                suite.cases.end = self.case_seq;
                if let Some(Frame::Suite(parent)) = self.stack.last_mut() {
                    parent.suite.actual.add(&suite.actual);
                }
                if self.stack.is_empty() {
                    self.root_closed = true;
                }
                self.pending.push_back(Item::Suite(suite));
            }
            Frame::Case => self.finish_case(),
            Frame::Properties | Frame::Unknown => {}
            Frame::Property { name, value, text } => {
                let property = Property {
                    name,
                    value: value.unwrap_or(text),
                };
                // The parent of `<properties>` is below it on the stack.
                let len = self.stack.len();
                if len >= 2 {
                    let props = match &mut self.stack[len - 2] {
                        Frame::Case => Some(&mut self.case.properties),
                        Frame::Suite(s) => Some(&mut s.suite.properties),
                        _ => None,
                    };
                    if let Some(props) = props {
                        if props.len() >= max_props {
                            return Err(self.err(ErrorKind::LimitExceeded {
                                limit: Limit::Properties,
                                max: max_props as u64,
                            }));
                        }
                        props.push(property);
                    }
                }
            }
            Frame::Detail {
                kind,
                mut detail,
                text,
            } => {
                detail.text = non_empty(text);
                if let Some(Frame::Case) = self.stack.last() {
                    let case = &mut self.case;
                    match kind {
                        DetailKind::Failure => case.failures.push(detail),
                        DetailKind::Error => case.errors.push(detail),
                        DetailKind::Skipped => {
                            if case.skipped.is_none() {
                                case.skipped = Some(detail);
                            }
                        }
                    }
                    let details = case.failures.len() + case.errors.len();
                    if details > self.ctx.options.limits.max_reruns {
                        return Err(self.err(ErrorKind::LimitExceeded {
                            limit: Limit::Reruns,
                            max: self.ctx.options.limits.max_reruns as u64,
                        }));
                    }
                }
            }
            Frame::Rerun { mut rerun, text } => {
                rerun.description = non_empty(text.trim().to_owned());
                let max = self.ctx.options.limits.max_reruns;
                if let Some(Frame::Case) = self.stack.last() {
                    let case = &mut self.case;
                    if case.reruns.len() >= max {
                        return Err(self.err(ErrorKind::LimitExceeded {
                            limit: Limit::Reruns,
                            max: max as u64,
                        }));
                    }
                    case.reruns.push(*rerun);
                }
            }
            Frame::StackTrace(text) => {
                if let Some(Frame::Rerun { rerun, .. }) = self.stack.last_mut() {
                    rerun.stack_trace = non_empty(text);
                }
            }
            Frame::Output { err, text } => {
                let max_text = self.ctx.options.limits.max_text_bytes;
                if self.ctx.options.skip_output {
                    return Ok(());
                }
                let slot = match self.stack.last_mut() {
                    Some(Frame::Case) => Some(if err {
                        &mut self.case.system_err
                    } else {
                        &mut self.case.system_out
                    }),
                    Some(Frame::Suite(s)) => Some(if err {
                        &mut s.suite.system_err
                    } else {
                        &mut s.suite.system_out
                    }),
                    Some(Frame::Rerun { rerun, .. }) => Some(if err {
                        &mut rerun.system_err
                    } else {
                        &mut rerun.system_out
                    }),
                    _ => None,
                };
                if let Some(slot) = slot {
                    match slot {
                        Some(existing) => append_capped(existing, &text, max_text),
                        None => *slot = Some(text),
                    }
                }
            }
        }
        Ok(())
    }

    /// The open case is complete: settle it, count it in its suite and
    /// deliver it (lend it, collect it or queue it).
    fn finish_case(&mut self) {
        self.case.settle();
        if let Some(Frame::Suite(s)) = self.stack.last_mut() {
            s.suite.actual.add_case(&self.case);
        }
        self.case_seq += 1;
        if self.lend {
            self.case_ready = true;
            return;
        }
        let fresh = || TestCase::new(String::new());
        match &mut self.collected {
            Some(cases) => cases.push(std::mem::replace(&mut self.case, fresh())),
            None => self
                .pending
                .push_back(Item::Case(std::mem::replace(&mut self.case, fresh()))),
        }
    }

    /// The fast path for the commonest element of a report, a
    /// `<testcase ...>` start tag directly in a suite: when the reader's
    /// buffer holds the whole tag and it is plain (see [`fast_case_attrs`]),
    /// read it straight from the buffer, skipping quick-xml's event copy and
    /// the generic dispatch, and consume it; a childless case is complete.
    /// The children and end tag of another case are read the same way in
    /// the same go ([`fast::case_children`]) when they are plain and in the
    /// buffer; otherwise only the start tag is consumed and they follow
    /// through the general path. Anything else (or any doubt) returns
    /// `false` with nothing consumed, and the general path reads the same
    /// bytes, so results and errors are those of the general path.
    fn fast_case(&mut self) -> bool {
        let suite = match self.stack.last() {
            Some(Frame::Suite(s)) => Some(s.suite.index),
            Some(Frame::Testsuites) => None,
            _ => return false,
        };
        if self.stack.len() >= self.ctx.options.limits.max_depth {
            return false;
        }
        let Ok(data) = self.xml.get_mut().fill_buf() else {
            // The general path reads again and reports the error.
            return false;
        };
        if !data.starts_with(b"<testcase") {
            return false;
        }
        if let (Some(tests), Some(cases)) = (self.tests_hint.take(), &mut self.collected) {
            // The suite declares its number of tests: make room for them at
            // once instead of doubling (and copying) the vector repeatedly.
            // Trusted only as far as the input at hand could hold them (at
            // least 128 bytes a case, 2^18 cases at most).
            let room = usize::try_from(tests)
                .unwrap_or(usize::MAX)
                .min(data.len() / 128)
                .min(1 << 18);
            cases.reserve(room);
        }
        reset_case(&mut self.case, self.ctx.position.offset, suite);
        let Some((len, empty)) = fast_case_attrs(&self.ctx, &mut self.case, data) else {
            return false;
        };
        if empty {
            // Most tags are on one line: one search instead of a count.
            if memchr::memchr(b'\n', &data[..len]).is_some() {
                self.xml.get_mut().consume(len);
            } else {
                self.xml.get_mut().consume_single_line(len);
            }
            self.skipped += len as u64;
            self.finish_case();
            return true;
        }
        let depth = self.stack.len();
        if let Some(end) = fast::case_children(&self.ctx.options, &mut self.case, data, len, depth)
        {
            self.xml.get_mut().consume(end);
            self.skipped += end as u64;
            self.finish_case();
        } else {
            // Back to the state after the start tag.
            let case = &mut self.case;
            case.failures.clear();
            case.errors.clear();
            case.skipped = None;
            case.reruns.clear();
            case.properties.clear();
            case.system_out = None;
            case.system_err = None;
            self.xml.get_mut().consume(len);
            self.skipped += len as u64;
            // Its children and end tag come through the general path.
            self.stack.push(Frame::Case);
            self.open_name(b"testcase");
        }
        true
    }

    /// Remember the name of an element just opened, for [`check_end`](Self::check_end).
    fn open_name(&mut self, name: &[u8]) {
        self.open_starts.push(self.open_names.len());
        self.open_names.extend_from_slice(name);
    }

    /// An end tag must close the element opened last; the errors are
    /// quick-xml's own (its check is off, see `new`).
    fn check_end(&mut self, name: &[u8]) -> Result<(), Error> {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap_or_default();
        let Some(start) = self.open_starts.pop() else {
            let e = IllFormedError::UnmatchedEndTag(text(name));
            return Err(self.err(ErrorKind::Xml(quick_xml::Error::IllFormed(e).to_string())));
        };
        let expected = &self.open_names[start..];
        if expected != name {
            let e = IllFormedError::MismatchedEndTag {
                expected: text(expected),
                found: text(name),
            };
            return Err(self.err(ErrorKind::Xml(quick_xml::Error::IllFormed(e).to_string())));
        }
        self.open_names.truncate(start);
        Ok(())
    }

    /// The fast path for text inside an element (a failure's traceback, an
    /// output): straight from the reader's buffer, the runs of text and the
    /// known entity and character references between them, up to the next
    /// `<`, instead of one quick-xml event (and copy) per run and per
    /// reference. Stops, leaving the rest to the general path, before
    /// anything it does not read exactly like it: a reference that is
    /// unknown, unterminated or not in the buffer, invalid UTF-8, text not
    /// ended within the buffer. The runs are cut where quick-xml cuts them
    /// (at every `&`), so the text and its line-end normalisation are the
    /// general path's. `false` when nothing was read.
    fn fast_text(&mut self) -> bool {
        if self.stack.is_empty() {
            return false;
        }
        let collecting = self.collecting();
        let max = self.ctx.options.limits.max_text_bytes;
        let Ok(data) = self.xml.get_mut().fill_buf() else {
            return false;
        };
        if data.first().is_none_or(|&b| b == b'<') {
            return false;
        }
        // Where the text frame is (the stack's top, unchanged here).
        let text = match self.stack.last_mut() {
            Some(frame) if collecting => frame.text_mut(),
            _ => None,
        };
        let mut text = text;
        if let Some(text) = text.as_deref_mut().filter(|t| t.is_empty()) {
            // One allocation for the whole text instead of repeated growth
            // (references only shorten it; `max` bounds it). Only for an
            // empty text: a text this path stopped in (and the general
            // path continued) is not searched again and again.
            if let Some(lt) = memchr::memchr(b'<', data) {
                text.reserve(lt.min(max));
            }
        }
        let mut done = 0;
        let mut i = 0;
        while let Some(p) = memchr::memchr2(b'<', b'&', &data[i..]) {
            let Ok(run) = std::str::from_utf8(&data[i..i + p]) else {
                break;
            };
            if let Some(text) = text.as_deref_mut() {
                if run.contains('\r') {
                    append_capped(text, &run.replace("\r\n", "\n").replace('\r', "\n"), max);
                } else {
                    append_capped(text, run, max);
                }
            }
            i += p;
            done = i;
            if data[i] == b'<' {
                break;
            }
            // A reference: `&name;` with neither `&` nor `<` before the `;`.
            let Some(q) = memchr::memchr3(b';', b'&', b'<', &data[i + 1..]) else {
                break;
            };
            let end = i + 1 + q;
            if data[end] != b';' {
                break;
            }
            let Some(c) = std::str::from_utf8(&data[i + 1..end])
                .ok()
                .and_then(resolve_entity)
            else {
                break;
            };
            if let Some(text) = text.as_deref_mut() {
                let mut tmp = [0u8; 4];
                append_capped(text, c.encode_utf8(&mut tmp), max);
            }
            i = end + 1;
            done = i;
        }
        if done == 0 {
            return false;
        }
        self.xml.get_mut().consume(done);
        self.skipped += done as u64;
        true
    }

    fn push_text(&mut self, s: &str) {
        let max = self.ctx.options.limits.max_text_bytes;
        let skip_output = self.ctx.options.skip_output;
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if skip_output && matches!(frame, Frame::Output { .. }) {
            return;
        }
        if let Some(text) = frame.text_mut() {
            append_capped(text, s, max);
        }
    }

    fn collecting(&self) -> bool {
        match self.stack.last() {
            Some(Frame::Output { .. }) => !self.ctx.options.skip_output,
            Some(f) => matches!(
                f,
                Frame::Property { .. }
                    | Frame::Detail { .. }
                    | Frame::Rerun { .. }
                    | Frame::StackTrace(_)
            ),
            None => false,
        }
    }

    fn text(&mut self, bytes: &[u8], normalize: bool) -> Result<(), Error> {
        if self.stack.is_empty() {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            return Err(self.err(ErrorKind::Unexpected {
                expected: if self.root_closed {
                    "end of input after the root element".into()
                } else {
                    "<testsuites> or <testsuite>".into()
                },
                found: "text".into(),
            }));
        }
        if !self.collecting() {
            // Still reject invalid UTF-8 anywhere in the document.
            if std::str::from_utf8(bytes).is_err() {
                return Err(self.err(ErrorKind::InvalidUtf8 {
                    context: "text".into(),
                }));
            }
            return Ok(());
        }
        let s = std::str::from_utf8(bytes).map_err(|_| {
            self.err(ErrorKind::InvalidUtf8 {
                context: "text".into(),
            })
        })?;
        if normalize && s.contains('\r') {
            let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
            self.push_text(&normalized);
        } else {
            self.push_text(s);
        }
        Ok(())
    }

    fn entity(&mut self, r: &BytesRef<'_>) -> Result<(), Error> {
        let raw = r.decode().map_err(|_| {
            self.err(ErrorKind::InvalidUtf8 {
                context: "entity".into(),
            })
        })?;
        let resolved = resolve_entity(&raw);
        match resolved {
            Some(c) => {
                if self.collecting() {
                    let mut tmp = [0u8; 4];
                    self.push_text(c.encode_utf8(&mut tmp));
                }
                Ok(())
            }
            None if self.tolerant() => {
                tracing::debug!(entity = %raw, "unknown entity kept literally");
                if self.collecting() {
                    let literal = format!("&{raw};");
                    self.push_text(&literal);
                }
                Ok(())
            }
            None => Err(self.err(ErrorKind::UnknownEntity(shorten(&raw)))),
        }
    }

    // ----- element constructors -------------------------------------------------

    fn root(&self, e: &BytesStart<'_>) -> Result<Root, Error> {
        let mut root = Root::default();
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            if ctx.declared("testsuites", key, attr, &mut root.declared)? {
                return Ok(());
            }
            match key {
                b"name" => root.name = Some(ctx.string("testsuites", attr)?),
                b"time" => root.time = ctx.seconds("testsuites", attr)?,
                b"timestamp" => root.timestamp = Some(ctx.string("testsuites", attr)?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(root)
    }

    fn suite(&mut self, e: &BytesStart<'_>) -> Result<Frame, Error> {
        const EL: &str = "testsuite";
        let parent = self.stack.iter().rev().find_map(|f| match f {
            Frame::Suite(s) => Some(s.suite.index),
            _ => None,
        });
        let mut suite = TestSuite {
            index: self.next_suite,
            parent,
            name: String::new(),
            declared: DeclaredCounts::default(),
            actual: Counts::default(),
            time: None,
            timestamp: None,
            hostname: None,
            id: None,
            package: None,
            file: None,
            assertions: None,
            properties: Vec::new(),
            system_out: None,
            system_err: None,
            cases: self.case_seq..self.case_seq,
            offset: self.ctx.position.offset,
        };
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            if ctx.declared(EL, key, attr, &mut suite.declared)? {
                return Ok(());
            }
            match key {
                b"name" => suite.name = ctx.string(EL, attr)?,
                b"time" => suite.time = ctx.seconds(EL, attr)?,
                b"timestamp" => suite.timestamp = Some(ctx.string(EL, attr)?),
                b"hostname" => suite.hostname = Some(ctx.string(EL, attr)?),
                b"id" => suite.id = Some(ctx.string(EL, attr)?),
                b"package" => suite.package = Some(ctx.string(EL, attr)?),
                b"file" | b"filepath" => suite.file = Some(ctx.string(EL, attr)?),
                b"assertions" => {
                    suite.assertions = ctx.number(EL, attr, "a non-negative integer")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        self.next_suite += 1;
        self.tests_hint = suite.declared.tests;
        Ok(Frame::Suite(Box::new(SuiteState { suite })))
    }

    fn case(&mut self, e: &BytesStart<'_>) -> Result<Frame, Error> {
        const EL: &str = "testcase";
        let suite = self.stack.iter().rev().find_map(|f| match f {
            Frame::Suite(s) => Some(s.suite.index),
            _ => None,
        });
        // Refill the case slot in place: after `read_case` its strings keep
        // their capacity, so streaming allocates nothing per case.
        let case = &mut self.case;
        reset_case(case, self.ctx.position.offset, suite);
        let mut seen = 0u8;
        const NAME: u8 = 1;
        const CLASSNAME: u8 = 2;
        const FILE: u8 = 4;
        const TIMESTAMP: u8 = 8;
        const STATUS: u8 = 16;
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            match key {
                b"name" => {
                    set(&mut case.name, &ctx.value(EL, attr)?);
                    seen |= NAME;
                }
                b"classname" => {
                    set_opt(&mut case.classname, &ctx.value(EL, attr)?);
                    seen |= CLASSNAME;
                }
                b"file" => {
                    set_opt(&mut case.file, &ctx.value(EL, attr)?);
                    seen |= FILE;
                }
                b"line" => case.line = ctx.number(EL, attr, "a line number")?,
                b"time" => case.time = ctx.seconds(EL, attr)?,
                b"timestamp" => {
                    set_opt(&mut case.timestamp, &ctx.value(EL, attr)?);
                    seen |= TIMESTAMP;
                }
                b"status" => {
                    set_opt(&mut case.status, &ctx.value(EL, attr)?);
                    seen |= STATUS;
                }
                b"assertions" => {
                    case.assertions = ctx.number(EL, attr, "a non-negative integer")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        if seen & NAME == 0 {
            case.name.clear();
        }
        for (bit, slot) in [
            (CLASSNAME, &mut case.classname),
            (FILE, &mut case.file),
            (TIMESTAMP, &mut case.timestamp),
            (STATUS, &mut case.status),
        ] {
            if seen & bit == 0 {
                *slot = None;
            }
        }
        if seen & NAME == 0 && !self.tolerant() {
            return Err(self.err(ErrorKind::MissingAttribute {
                element: EL.into(),
                attribute: "name",
            }));
        }
        Ok(Frame::Case)
    }

    fn detail(&self, e: &BytesStart<'_>, kind: DetailKind) -> Result<Frame, Error> {
        let el = match kind {
            DetailKind::Failure => "failure",
            DetailKind::Error => "error",
            DetailKind::Skipped => "skipped",
        };
        let mut detail = Detail::default();
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            match key {
                b"message" => detail.message = Some(ctx.string(el, attr)?),
                b"type" => detail.kind_attr = Some(ctx.string(el, attr)?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(Frame::Detail {
            kind,
            detail,
            text: String::new(),
        })
    }

    fn rerun(&self, e: &BytesStart<'_>, kind: RerunKind) -> Result<Frame, Error> {
        const EL: &str = "rerun";
        let mut rerun = Rerun {
            kind,
            message: None,
            kind_attr: None,
            time: None,
            timestamp: None,
            stack_trace: None,
            description: None,
            system_out: None,
            system_err: None,
        };
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            match key {
                b"message" => rerun.message = Some(ctx.string(EL, attr)?),
                b"type" => rerun.kind_attr = Some(ctx.string(EL, attr)?),
                b"time" => rerun.time = ctx.seconds(EL, attr)?,
                b"timestamp" => rerun.timestamp = Some(ctx.string(EL, attr)?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(Frame::Rerun {
            rerun: Box::new(rerun),
            text: String::new(),
        })
    }

    fn property(&self, e: &BytesStart<'_>) -> Result<Frame, Error> {
        const EL: &str = "property";
        let mut name = None;
        let mut value = None;
        let ctx = &self.ctx;
        ctx.attrs(e, |key, attr| {
            match key {
                b"name" => name = Some(ctx.string(EL, attr)?),
                b"value" => value = Some(ctx.string(EL, attr)?),
                _ => {}
            }
            Ok(())
        })?;
        if name.is_none() && !self.tolerant() {
            return Err(self.err(ErrorKind::MissingAttribute {
                element: EL.into(),
                attribute: "name",
            }));
        }
        Ok(Frame::Property {
            name: name.unwrap_or_default(),
            value,
            text: String::new(),
        })
    }

    fn output(&self, err: bool) -> Frame {
        Frame::Output {
            err,
            text: String::new(),
        }
    }
}

impl Ctx {
    fn err(&self, kind: ErrorKind) -> Error {
        let mut e = Error::new(kind, self.position);
        if let Some(name) = &self.source_name {
            e = e.with_source_name(name.to_string());
        }
        e
    }

    fn tolerant(&self) -> bool {
        self.options.mode == Mode::Tolerant
    }

    /// Call `f` with the local name and the value of every attribute of `e`,
    /// after checking that they are well-formed and not repeated.
    fn attrs(
        &self,
        e: &BytesStart<'_>,
        mut f: impl FnMut(&[u8], &Attr<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let raw = e.attributes_raw();
        let mut tokens = self.scratch.tokens.take();
        let mut sort = self.scratch.sort.take();
        let max = self.options.limits.max_attributes;
        // One UTF-8 check and one `&` search for the whole tag instead of one
        // per value (quotes are ASCII, so every value slice stays valid).
        let text = std::str::from_utf8(raw).ok();
        let escaped = memchr::memchr(b'&', raw).is_some();
        let result = match attrs::tokenize(raw, &mut tokens, &mut sort, max) {
            Err(attrs::AttrError::TooMany) => Err(self.err(ErrorKind::LimitExceeded {
                limit: Limit::Attributes,
                max: max as u64,
            })),
            Err(err) => Err(self.err(ErrorKind::Xml(err.to_string()))),
            Ok(()) => tokens.iter().try_for_each(|t| {
                let attr = Attr {
                    key: &raw[t.key.clone()],
                    value: &raw[t.value.clone()],
                    text: text.map(|s| &s[t.value.clone()]),
                    escaped,
                };
                f(attrs::local_name(attr.key), &attr)
            }),
        };
        self.scratch.tokens.set(tokens);
        self.scratch.sort.set(sort);
        result
    }

    /// The unescaped value (borrowed unless it contains a reference).
    fn value<'a>(&self, element: &str, attr: &Attr<'a>) -> Result<Cow<'a, str>, Error> {
        let raw = match attr.text {
            Some(text) => text,
            None => std::str::from_utf8(attr.value).map_err(|_| {
                self.err(ErrorKind::InvalidUtf8 {
                    context: format!(
                        "attribute `{}` of <{element}>",
                        String::from_utf8_lossy(attr.key)
                    ),
                })
            })?,
        };
        if !attr.escaped {
            return Ok(Cow::Borrowed(raw));
        }
        match attrs::unescape(raw) {
            Ok(v) => Ok(v),
            Err(err) if self.tolerant() => {
                tracing::debug!(?err, "attribute value kept unescaped");
                Ok(Cow::Borrowed(raw))
            }
            Err(EscapeError::Unknown(name)) => {
                Err(self.err(ErrorKind::UnknownEntity(shorten(&name))))
            }
            Err(EscapeError::Unterminated) => Err(self.err(ErrorKind::Xml(format!(
                "`&` without a closing `;` in attribute `{}` of <{element}>",
                String::from_utf8_lossy(attr.key)
            )))),
        }
    }

    /// The value as an owned string.
    fn string(&self, element: &str, attr: &Attr<'_>) -> Result<String, Error> {
        self.value(element, attr).map(Cow::into_owned)
    }

    fn number(
        &self,
        element: &str,
        attr: &Attr<'_>,
        expected: &'static str,
    ) -> Result<Option<u64>, Error> {
        if let Some(n) = attr.text.and_then(attrs::fast_u64) {
            return Ok(Some(n));
        }
        let v = self.value(element, attr)?;
        let trimmed = v.trim();
        if let Ok(n) = trimmed.parse::<u64>() {
            return Ok(Some(n));
        }
        if self.tolerant() {
            tracing::debug!(element, value = %v, "unparsable number ignored");
            return Ok(None);
        }
        Err(self.err(ErrorKind::InvalidAttribute {
            element: element.to_owned(),
            attribute: String::from_utf8_lossy(attr.key).into_owned(),
            value: shorten(&v),
            expected,
        }))
    }

    fn seconds(&self, element: &str, attr: &Attr<'_>) -> Result<Option<f64>, Error> {
        const EXPECTED: &str = "a non-negative decimal number of seconds";
        if let Some(t) = attr.text.and_then(attrs::fast_seconds) {
            return Ok(Some(t));
        }
        let v = self.value(element, attr)?;
        let trimmed = v.trim();
        // Surefire writes thousands separators ("1,234.5") in some locales.
        let parsed = if trimmed.contains(',') {
            trimmed.replace(',', "").parse::<f64>()
        } else {
            trimmed.parse::<f64>()
        };
        match parsed {
            Ok(t) if t.is_finite() && t >= 0.0 => Ok(Some(t)),
            _ if trimmed.is_empty() || self.tolerant() => {
                tracing::debug!(element, value = %v, "unparsable time ignored");
                Ok(None)
            }
            _ => Err(self.err(ErrorKind::InvalidAttribute {
                element: element.to_owned(),
                attribute: String::from_utf8_lossy(attr.key).into_owned(),
                value: shorten(&v),
                expected: EXPECTED,
            })),
        }
    }

    fn declared(
        &self,
        element: &str,
        key: &[u8],
        attr: &Attr<'_>,
        d: &mut DeclaredCounts,
    ) -> Result<bool, Error> {
        const N: &str = "a non-negative integer";
        let slot = match key {
            b"tests" => &mut d.tests,
            b"failures" => &mut d.failures,
            b"errors" => &mut d.errors,
            b"skipped" | b"skip" => &mut d.skipped,
            b"disabled" => &mut d.disabled,
            _ => return Ok(false),
        };
        *slot = self.number(element, attr, N)?;
        Ok(true)
    }
}

/// Empty the case slot for a new `<testcase>` (keeping the allocations of
/// its strings, which the attributes overwrite).
fn reset_case(case: &mut TestCase, offset: u64, suite: Option<usize>) {
    case.offset = offset;
    case.suite = suite;
    case.line = None;
    case.time = None;
    case.assertions = None;
    case.outcome = Outcome::Passed;
    case.expectation = None;
    // Most cases have no children: one test instead of seven drops.
    let childless = case.failures.is_empty()
        && case.errors.is_empty()
        && case.skipped.is_none()
        && case.reruns.is_empty()
        && case.properties.is_empty()
        && case.system_out.is_none()
        && case.system_err.is_none();
    if !childless {
        case.failures.clear();
        case.errors.clear();
        case.skipped = None;
        case.reruns.clear();
        case.properties.clear();
        case.system_out = None;
        case.system_err = None;
    }
}

/// Read `<testcase ATTRS/>` or `<testcase ATTRS>` at the start of `data`
/// into `case` (already reset) and return its length and whether it is
/// empty (`/>`), or `None` unless the tag is complete in
/// `data` and plain: every name made of ASCII letters, digits, `_`, `-` and
/// `.` (no prefix), every value quoted, every value it uses UTF-8 (unknown
/// attributes ASCII), with `name`, no duplicate, no more than 8 unknown
/// names nor than `max_attributes`, and every value it uses read without
/// error or general parsing (numbers and times as [`attrs::fast_u64`] and
/// [`attrs::fast_seconds`] read them; references known). On such a tag the
/// general path (quick-xml's `Empty` or `Start` event, then
/// [`attrs::tokenize`] and `JunitReader::case`) finds the same tokens and
/// fills the case identically; for anything else it runs instead, after
/// `None` left `case` partly filled (`JunitReader::case` resets or
/// overwrites every field set here).
fn fast_case_attrs(ctx: &Ctx, case: &mut TestCase, data: &[u8]) -> Option<(usize, bool)> {
    const OPEN: &[u8] = b"<testcase";
    const NAME: u16 = 1;
    const CLASSNAME: u16 = 2;
    const FILE: u16 = 4;
    const LINE: u16 = 8;
    const TIME: u16 = 16;
    const TIMESTAMP: u16 = 32;
    const STATUS: u16 = 64;
    const ASSERTIONS: u16 = 128;
    if !data.starts_with(OPEN) {
        return None;
    }
    let n = data.len();
    let mut i = OPEN.len();
    if !matches!(data.get(i), Some(b' ' | b'\t' | b'\r' | b'\n' | b'/')) {
        return None;
    }
    let mut seen = 0u16;
    let mut unknown: [&[u8]; 8] = [&[]; 8];
    let mut unknowns = 0;
    let mut count = 0;
    let (end, empty) = loop {
        // Usually exactly one space, then a name (no byte of a name, nor
        // `/` or `>`, is at or below the space).
        if data.get(i) == Some(&b' ') {
            i += 1;
        }
        while data.get(i).is_some_and(|&b| b <= b' ') {
            if !matches!(data[i], b' ' | b'\t' | b'\r' | b'\n') {
                return None;
            }
            i += 1;
        }
        match data.get(i)? {
            b'/' => {
                if data.get(i + 1) == Some(&b'>') {
                    break (i + 2, true);
                }
                return None;
            }
            b'>' => break (i + 1, false),
            _ => {}
        }
        // The name runs to the `=`: the names pytest writes are recognised
        // by their spelling with the `=`, others searched (eight bytes at a
        // time, in at most 64 bytes); only names that are not the known
        // ones are checked byte by byte.
        let key_start = i;
        let rest = &data[key_start..];
        let (known, known_len) = match rest[0] {
            b'n' if rest.starts_with(b"name=") => (NAME, 4),
            b'c' if rest.starts_with(b"classname=") => (CLASSNAME, 9),
            b'f' if rest.starts_with(b"file=") => (FILE, 4),
            b'l' if rest.starts_with(b"line=") => (LINE, 4),
            b't' if rest.starts_with(b"time=") => (TIME, 4),
            _ => (0, 0),
        };
        i = if known != 0 {
            key_start + known_len
        } else {
            let window = &rest[..rest.len().min(64)];
            key_start + attrs::find_byte(b'=', window)?
        };
        let key = &data[key_start..i];
        let quote = *data.get(i + 1)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = i + 2;
        let scan = if known & (LINE | TIME) != 0 {
            // Numbers are short (longer ones are not read here anyway): a
            // byte loop beats the word scan, and only digits and `.` are
            // accepted below, so `&` needs no flag; `non_ascii` is set so
            // that the value could never skip a UTF-8 check as text.
            let window = data.get(value_start..n.min(value_start + 20))?;
            let len = window.iter().position(|&b| b == quote)?;
            fast::Scan {
                len,
                amp: false,
                non_ascii: true,
            }
        } else {
            fast::scan_value(data.get(value_start..)?, quote)?
        };
        let raw = &data[value_start..value_start + scan.len];
        i = value_start + scan.len + 1;
        count += 1;
        if count > ctx.options.limits.max_attributes {
            return None;
        }
        let bit = match key {
            _ if known != 0 => known,
            b"name" => NAME,
            b"classname" => CLASSNAME,
            b"file" => FILE,
            b"line" => LINE,
            b"time" => TIME,
            b"timestamp" => TIMESTAMP,
            b"status" => STATUS,
            b"assertions" => ASSERTIONS,
            _ => {
                if key.is_empty()
                    || scan.non_ascii
                    || !key.iter().all(|&b| NAME_BYTE[usize::from(b)])
                    || unknowns == unknown.len()
                    || unknown[..unknowns].contains(&key)
                {
                    return None;
                }
                unknown[unknowns] = key;
                unknowns += 1;
                continue;
            }
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match bit {
            LINE => case.line = Some(attrs::fast_u64_bytes(raw)?),
            TIME => case.time = Some(attrs::fast_seconds_bytes(raw)?),
            ASSERTIONS => case.assertions = Some(attrs::fast_u64_bytes(raw)?),
            _ => {
                let text = fast::text_of(raw, scan.non_ascii)?;
                let v = if scan.amp {
                    attrs::unescape(text).ok()?
                } else {
                    Cow::Borrowed(text)
                };
                match bit {
                    NAME => set(&mut case.name, &v),
                    CLASSNAME => set_opt(&mut case.classname, &v),
                    FILE => set_opt(&mut case.file, &v),
                    TIMESTAMP => set_opt(&mut case.timestamp, &v),
                    _ => set_opt(&mut case.status, &v),
                }
            }
        }
    };
    if seen & NAME == 0 {
        return None;
    }
    for (bit, slot) in [
        (CLASSNAME, &mut case.classname),
        (FILE, &mut case.file),
        (TIMESTAMP, &mut case.timestamp),
        (STATUS, &mut case.status),
    ] {
        if seen & bit == 0 {
            *slot = None;
        }
    }
    Some((end, empty))
}

/// Overwrite `slot` with `v`, reusing its allocation (or allocating exactly
/// `v`'s length at once when there is none, as when collecting a report).
#[inline]
fn set(slot: &mut String, v: &str) {
    if slot.capacity() == 0 {
        *slot = v.to_owned();
        return;
    }
    slot.clear();
    slot.push_str(v);
}

/// Overwrite `slot` with `Some(v)`, reusing its allocation.
#[inline]
fn set_opt(slot: &mut Option<String>, v: &str) {
    match slot {
        Some(s) => set(s, v),
        None => *slot = Some(v.to_owned()),
    }
}

/// Append `s` to `text` without letting `text` grow past `max` bytes (cut at
/// a character boundary).
fn append_capped(text: &mut String, s: &str, max: usize) {
    let room = max.saturating_sub(text.len());
    if s.len() <= room {
        text.push_str(s);
        return;
    }
    let mut cut = room;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    tracing::warn!(max, "text longer than max_text_bytes truncated");
    text.push_str(&s[..cut]);
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

impl<R: BufRead> Iterator for JunitReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<R: BufRead> std::iter::FusedIterator for JunitReader<R> {}

/// The test cases of a [`JunitReader`], from [`JunitReader::cases`].
#[derive(Debug)]
pub struct Cases<R> {
    inner: JunitReader<R>,
}

impl<R: BufRead> Cases<R> {
    /// The underlying reader (for example to get [`JunitReader::open_suites`]).
    pub fn get_ref(&self) -> &JunitReader<R> {
        &self.inner
    }
}

impl<R: BufRead> Iterator for Cases<R> {
    type Item = Result<TestCase, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next()? {
                Ok(Item::Case(c)) => return Some(Ok(c)),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl<R: BufRead> std::iter::FusedIterator for Cases<R> {}
