//! The streaming reader: quick-xml events in, [`Item`]s out.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::error::{Error, ErrorKind, Limit, Position, shorten};
use crate::guard::Guarded;
use crate::model::{
    Counts, DeclaredCounts, Detail, DetailKind, Property, Rerun, RerunKind, Root, TestCase,
    TestSuite,
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
    options: Options,
    stack: Vec<Frame>,
    pending: VecDeque<Item>,
    seen_root: bool,
    root_closed: bool,
    done: bool,
    next_suite: usize,
    case_seq: usize,
    /// Start of the event being handled.
    position: Position,
    source_name: Option<Arc<str>>,
}

#[derive(Debug)]
struct SuiteState {
    suite: TestSuite,
}

#[derive(Debug)]
enum Frame {
    Testsuites,
    Suite(Box<SuiteState>),
    Case(Box<TestCase>),
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
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        JunitReader {
            xml,
            buf: Vec::new(),
            options,
            stack: Vec::new(),
            pending: VecDeque::new(),
            seen_root: false,
            root_closed: false,
            done: false,
            next_suite: 0,
            case_seq: 0,
            position: Position {
                offset: 0,
                line: 1,
                column: 1,
            },
            source_name: None,
        }
    }

    /// Name the input (usually its path) in error messages.
    #[must_use]
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(Arc::from(name.into()));
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
        let mut e = Error::new(kind, self.position);
        if let Some(name) = &self.source_name {
            e = e.with_source_name(name.to_string());
        }
        e
    }

    fn tolerant(&self) -> bool {
        self.options.mode == Mode::Tolerant
    }

    fn next_item(&mut self) -> Result<Option<Item>, Error> {
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
        let offset = self.xml.buffer_position();
        let (line, column) = self.xml.get_ref().line_col(offset);
        self.position = Position {
            offset,
            line,
            column,
        };
        let event = match self.xml.read_event_into(buf) {
            Ok(ev) => ev,
            Err(e) => {
                let kind = if self.xml.get_ref().exceeded {
                    ErrorKind::LimitExceeded {
                        limit: Limit::EventBytes,
                        max: self.options.limits.max_event_bytes as u64,
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
        match event {
            Event::Start(e) => self.start(&e, false)?,
            Event::Empty(e) => self.start(&e, true)?,
            Event::End(_) => self.end()?,
            Event::Text(t) => self.text(&t, true)?,
            Event::CData(c) => self.text(&c, false)?,
            Event::GeneralRef(r) => self.entity(&r)?,
            Event::Eof => {
                if let Some(frame) = self.stack.last() {
                    let expected = match frame {
                        Frame::Testsuites => "</testsuites>".to_owned(),
                        Frame::Suite(_) => "</testsuite>".to_owned(),
                        Frame::Case(_) => "</testcase>".to_owned(),
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
        if self.stack.len() >= self.options.limits.max_depth {
            return Err(self.err(ErrorKind::LimitExceeded {
                limit: Limit::Depth,
                max: self.options.limits.max_depth as u64,
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
            Some(Frame::Case(_)) => match name {
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
        let max_props = self.options.limits.max_properties;
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
            Frame::Case(mut case) => {
                case.settle();
                if let Some(Frame::Suite(s)) = self.stack.last_mut() {
                    s.suite.actual.add_case(&case);
                }
                self.case_seq += 1;
                self.pending.push_back(Item::Case(*case));
            }
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
                        Frame::Case(c) => Some(&mut c.properties),
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
                if let Some(Frame::Case(case)) = self.stack.last_mut() {
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
                    if details > self.options.limits.max_reruns {
                        return Err(self.err(ErrorKind::LimitExceeded {
                            limit: Limit::Reruns,
                            max: self.options.limits.max_reruns as u64,
                        }));
                    }
                }
            }
            Frame::Rerun { mut rerun, text } => {
                rerun.description = non_empty(text.trim().to_owned());
                let max = self.options.limits.max_reruns;
                if let Some(Frame::Case(case)) = self.stack.last_mut() {
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
                let max_text = self.options.limits.max_text_bytes;
                if self.options.skip_output {
                    return Ok(());
                }
                let slot = match self.stack.last_mut() {
                    Some(Frame::Case(c)) => Some(if err {
                        &mut c.system_err
                    } else {
                        &mut c.system_out
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

    fn push_text(&mut self, s: &str) {
        let max = self.options.limits.max_text_bytes;
        let skip_output = self.options.skip_output;
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
            Some(Frame::Output { .. }) => !self.options.skip_output,
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

    fn attrs(
        &self,
        e: &BytesStart<'_>,
        mut f: impl FnMut(&[u8], &Attribute<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.err(ErrorKind::Xml(err.to_string())))?;
            let key = attr.key.local_name();
            f(key.as_ref(), &attr)?;
        }
        Ok(())
    }

    fn value(&self, element: &str, attr: &Attribute<'_>) -> Result<String, Error> {
        match attr.unescape_value() {
            Ok(v) => Ok(v.into_owned()),
            Err(err) => {
                let raw = std::str::from_utf8(&attr.value).map_err(|_| {
                    self.err(ErrorKind::InvalidUtf8 {
                        context: format!(
                            "attribute `{}` of <{element}>",
                            String::from_utf8_lossy(attr.key.as_ref())
                        ),
                    })
                })?;
                if self.tolerant() {
                    tracing::debug!(%err, "attribute value kept unescaped");
                    Ok(raw.to_owned())
                } else {
                    match err {
                        quick_xml::Error::Escape(
                            quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                        ) => Err(self.err(ErrorKind::UnknownEntity(shorten(&name)))),
                        other => Err(self.err(ErrorKind::Xml(other.to_string()))),
                    }
                }
            }
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        element: &str,
        attr: &Attribute<'_>,
        expected: &'static str,
    ) -> Result<Option<T>, Error> {
        let v = self.value(element, attr)?;
        let trimmed = v.trim();
        if let Ok(n) = trimmed.parse::<T>() {
            return Ok(Some(n));
        }
        if self.tolerant() {
            tracing::debug!(element, value = %v, "unparsable number ignored");
            return Ok(None);
        }
        Err(self.err(ErrorKind::InvalidAttribute {
            element: element.to_owned(),
            attribute: String::from_utf8_lossy(attr.key.as_ref()).into_owned(),
            value: shorten(&v),
            expected,
        }))
    }

    fn seconds(&self, element: &str, attr: &Attribute<'_>) -> Result<Option<f64>, Error> {
        const EXPECTED: &str = "a non-negative decimal number of seconds";
        let v = self.value(element, attr)?;
        // Surefire writes thousands separators ("1,234.5") in some locales.
        let cleaned: String = v.trim().chars().filter(|&c| c != ',').collect();
        match cleaned.parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Ok(Some(t)),
            _ if v.trim().is_empty() || self.tolerant() => {
                tracing::debug!(element, value = %v, "unparsable time ignored");
                Ok(None)
            }
            _ => Err(self.err(ErrorKind::InvalidAttribute {
                element: element.to_owned(),
                attribute: String::from_utf8_lossy(attr.key.as_ref()).into_owned(),
                value: shorten(&v),
                expected: EXPECTED,
            })),
        }
    }

    fn declared(
        &self,
        element: &str,
        key: &[u8],
        attr: &Attribute<'_>,
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
        *slot = self.number::<u64>(element, attr, N)?;
        Ok(true)
    }

    fn root(&self, e: &BytesStart<'_>) -> Result<Root, Error> {
        let mut root = Root::default();
        self.attrs(e, |key, attr| {
            if self.declared("testsuites", key, attr, &mut root.declared)? {
                return Ok(());
            }
            match key {
                b"name" => root.name = Some(self.value("testsuites", attr)?),
                b"time" => root.time = self.seconds("testsuites", attr)?,
                b"timestamp" => root.timestamp = Some(self.value("testsuites", attr)?),
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
            offset: self.position.offset,
        };
        self.attrs(e, |key, attr| {
            if self.declared(EL, key, attr, &mut suite.declared)? {
                return Ok(());
            }
            match key {
                b"name" => suite.name = self.value(EL, attr)?,
                b"time" => suite.time = self.seconds(EL, attr)?,
                b"timestamp" => suite.timestamp = Some(self.value(EL, attr)?),
                b"hostname" => suite.hostname = Some(self.value(EL, attr)?),
                b"id" => suite.id = Some(self.value(EL, attr)?),
                b"package" => suite.package = Some(self.value(EL, attr)?),
                b"file" | b"filepath" => suite.file = Some(self.value(EL, attr)?),
                b"assertions" => {
                    suite.assertions = self.number(EL, attr, "a non-negative integer")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        self.next_suite += 1;
        Ok(Frame::Suite(Box::new(SuiteState { suite })))
    }

    fn case(&mut self, e: &BytesStart<'_>) -> Result<Frame, Error> {
        const EL: &str = "testcase";
        let mut case = TestCase::new(String::new());
        case.offset = self.position.offset;
        case.suite = self.stack.iter().rev().find_map(|f| match f {
            Frame::Suite(s) => Some(s.suite.index),
            _ => None,
        });
        let mut has_name = false;
        self.attrs(e, |key, attr| {
            match key {
                b"name" => {
                    case.name = self.value(EL, attr)?;
                    has_name = true;
                }
                b"classname" => case.classname = Some(self.value(EL, attr)?),
                b"file" => case.file = Some(self.value(EL, attr)?),
                b"line" => case.line = self.number(EL, attr, "a line number")?,
                b"time" => case.time = self.seconds(EL, attr)?,
                b"timestamp" => case.timestamp = Some(self.value(EL, attr)?),
                b"status" => case.status = Some(self.value(EL, attr)?),
                b"assertions" => {
                    case.assertions = self.number(EL, attr, "a non-negative integer")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        if !has_name && !self.tolerant() {
            return Err(self.err(ErrorKind::MissingAttribute {
                element: EL.into(),
                attribute: "name",
            }));
        }
        Ok(Frame::Case(Box::new(case)))
    }

    fn detail(&self, e: &BytesStart<'_>, kind: DetailKind) -> Result<Frame, Error> {
        let el = match kind {
            DetailKind::Failure => "failure",
            DetailKind::Error => "error",
            DetailKind::Skipped => "skipped",
        };
        let mut detail = Detail::default();
        self.attrs(e, |key, attr| {
            match key {
                b"message" => detail.message = Some(self.value(el, attr)?),
                b"type" => detail.kind_attr = Some(self.value(el, attr)?),
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
        self.attrs(e, |key, attr| {
            match key {
                b"message" => rerun.message = Some(self.value(EL, attr)?),
                b"type" => rerun.kind_attr = Some(self.value(EL, attr)?),
                b"time" => rerun.time = self.seconds(EL, attr)?,
                b"timestamp" => rerun.timestamp = Some(self.value(EL, attr)?),
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
        self.attrs(e, |key, attr| {
            match key {
                b"name" => name = Some(self.value(EL, attr)?),
                b"value" => value = Some(self.value(EL, attr)?),
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

/// The five predefined entities and character references; nothing else.
fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse::<u32>().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0')
        }
    }
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

#[cfg(test)]
mod tests {
    use super::resolve_entity;

    #[test]
    fn entities() {
        assert_eq!(resolve_entity("lt"), Some('<'));
        assert_eq!(resolve_entity("#x41"), Some('A'));
        assert_eq!(resolve_entity("#65"), Some('A'));
        assert_eq!(resolve_entity("#0"), None);
        assert_eq!(resolve_entity("#xD800"), None);
        assert_eq!(resolve_entity("lol9"), None);
    }
}
