//! A `BufRead` wrapper that caps the bytes of one XML event and tracks lines.

use std::io::{self, BufRead, Read};

/// Wraps the caller's reader: counts offset/lines of consumed bytes and
/// refuses to hand out more than `budget` bytes between two [`reset`]s, so no
/// single tag or text run can grow quick-xml's event buffer without bound.
///
/// [`reset`]: Guarded::reset
#[derive(Debug)]
pub(crate) struct Guarded<R> {
    inner: R,
    max: usize,
    budget: usize,
    pub(crate) exceeded: bool,
    /// Bytes consumed so far.
    pub(crate) consumed: u64,
    /// 1-based line number at `consumed`.
    pub(crate) line: u64,
    /// Offset of the first byte of the current line.
    pub(crate) line_start: u64,
}

impl<R: BufRead> Guarded<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Guarded {
            inner,
            max,
            budget: max,
            exceeded: false,
            consumed: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Start a new event: the full budget is available again.
    pub(crate) fn reset(&mut self) {
        self.budget = self.max;
    }

    /// [`consume`](BufRead::consume) `amt` bytes the caller has checked to
    /// contain no `\n` (so the line count stays as it is).
    pub(crate) fn consume_single_line(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.consumed += amt as u64;
        self.budget = self.budget.saturating_sub(amt);
    }

    /// Line and column of `offset`, which must lie on the current line (it is
    /// the start of the event being read; the bytes between it and `consumed`
    /// are at most a `<`).
    pub(crate) fn line_col(&self, offset: u64) -> (u64, u64) {
        (self.line, offset.saturating_sub(self.line_start) + 1)
    }
}

impl<R: BufRead> Read for Guarded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Guarded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let budget = self.budget;
        let buf = self.inner.fill_buf()?;
        if budget == 0 && !buf.is_empty() {
            self.exceeded = true;
            return Err(io::Error::other("event size limit exceeded"));
        }
        let n = buf.len().min(budget);
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let seen = &buf[..amt.min(buf.len())];
            // One pass: count the newlines and remember the last.
            let mut last = None;
            for i in memchr::memchr_iter(b'\n', seen) {
                self.line += 1;
                last = Some(i);
            }
            if let Some(last) = last {
                self.line_start = self.consumed + last as u64 + 1;
            }
        }
        self.inner.consume(amt);
        self.consumed += amt as u64;
        self.budget = self.budget.saturating_sub(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_bytes_between_resets() {
        let mut g = Guarded::new(&b"abcdefgh"[..], 3);
        assert_eq!(g.fill_buf().expect("first fill"), b"abc");
        g.consume(3);
        assert!(g.fill_buf().is_err());
        assert!(g.exceeded);
        g.reset();
        assert_eq!(g.fill_buf().expect("after reset"), b"def");
    }

    #[test]
    fn tracks_lines() {
        let mut g = Guarded::new(&b"ab\ncd\nef"[..], 100);
        g.consume(7);
        assert_eq!(g.line, 3);
        assert_eq!(g.line_start, 6);
        assert_eq!(g.line_col(7), (3, 2));
    }

    #[test]
    fn single_line_consumption_keeps_the_line_and_the_budget() {
        let mut g = Guarded::new(&b"ab\ncdef"[..], 6);
        g.consume(3);
        g.consume_single_line(2);
        assert_eq!((g.consumed, g.line, g.line_start), (5, 2, 3));
        assert_eq!(g.line_col(5), (2, 3));
        assert_eq!(g.fill_buf().expect("budget left"), b"e");
    }

    #[test]
    fn empty_input_is_not_an_overflow() {
        let mut g = Guarded::new(&b""[..], 0);
        assert!(g.fill_buf().expect("eof").is_empty());
        assert!(!g.exceeded);
    }
}
