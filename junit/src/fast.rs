//! The whole-case fast path: the children of a `<testcase>` (its
//! `<failure>`, `<error>`, `<skipped>`, outputs and properties) and its end
//! tag, read in one pass straight from the reader's buffer.
//!
//! Everything here reads only what the general path (quick-xml events, the
//! attribute tokenizer, the frames of `reader.rs`) reads identically; on
//! anything else (an unknown element, a comment or CDATA, a reference that
//! is not one of the known ones, invalid UTF-8, a limit reached or nearly
//! reached, text not ended in the buffer) it gives up with `None`, and the
//! caller leaves the same bytes to the general path. Errors therefore always
//! come from the general path.

use std::borrow::Cow;

use crate::attrs::{self, resolve_entity};
use crate::model::{Detail, Property, TestCase};
use crate::options::Options;

/// Bytes allowed in an attribute name on the fast paths.
pub(crate) const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        b += 1;
    }
    t
};

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(data: &[u8], mut i: usize) -> usize {
    while i < data.len() && is_ws(data[i]) {
        i += 1;
    }
    i
}

/// What [`scan_value`] found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// Bytes before the closing quote.
    pub(crate) len: usize,
    /// They contain a `&`.
    pub(crate) amp: bool,
    /// They contain a byte outside ASCII.
    pub(crate) non_ascii: bool,
}

/// Find the closing `quote` of an attribute value in `hay` (the bytes after
/// the opening quote) and, in the same pass, whether the value contains a
/// `&` or a non-ASCII byte: eight bytes at a time in a `u64` (the classic
/// "has zero byte" test, whose lowest hit is exact and whose hits above a
/// true zero byte are all that can be false). `None` without a closing quote.
///
/// On x86-64 the bulk is read sixteen bytes at a time with SSE2 (part of the
/// x86-64 baseline, so no runtime detection), the tail as above.
#[inline]
pub(crate) fn scan_value(hay: &[u8], quote: u8) -> Option<Scan> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut amp = 0u32;
        let mut high = 0u32;
        let mut at = 0;
        let mut chunks = hay.chunks_exact(16);
        for chunk in chunks.by_ref() {
            let (q, a, h) = sse2_masks(chunk, quote);
            if q != 0 {
                let pos = q.trailing_zeros();
                // The bytes before the quote (none when it is the first).
                let before = (1u32 << pos) - 1;
                return Some(Scan {
                    len: at + pos as usize,
                    amp: (amp | (a & before)) != 0,
                    non_ascii: (high | (h & before)) != 0,
                });
            }
            amp |= a;
            high |= h;
            at += 16;
        }
        let tail = scan_value_swar(chunks.remainder(), quote)?;
        Some(Scan {
            len: at + tail.len,
            amp: amp != 0 || tail.amp,
            non_ascii: high != 0 || tail.non_ascii,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scan_value_swar(hay, quote)
    }
}

/// Bit masks (bit `k` for byte `k`) of the bytes of a sixteen-byte `chunk`
/// that are `quote`, that are `&`, and that are not ASCII.
#[cfg(target_arch = "x86_64")]
#[inline]
fn sse2_masks(chunk: &[u8], quote: u8) -> (u32, u32, u32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    assert_eq!(chunk.len(), 16, "sixteen-byte chunks only");
    #[expect(
        unsafe_code,
        reason = "SSE2 loads and compares: sixteen bytes at a time instead of eight"
    )]
    // SAFETY: SSE2 is part of the x86-64 baseline (always enabled), and the
    // unaligned load reads exactly the sixteen bytes of `chunk` (checked
    // above).
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(quote as i8)));
        let a = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'&' as i8)));
        let h = _mm_movemask_epi8(v);
        (q as u32, a as u32, h as u32)
    }
}

/// [`scan_value`] eight bytes at a time in a `u64`.
#[inline]
fn scan_value_swar(hay: &[u8], quote: u8) -> Option<Scan> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quotes = LOW * u64::from(quote);
    let amps = LOW * u64::from(b'&');
    let mut amp = 0u64;
    let mut high = 0u64;
    let mut at = 0;
    let mut chunks = hay.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight bytes"));
        let q = word ^ quotes;
        let found = q.wrapping_sub(LOW) & !q & HIGH;
        let a = word ^ amps;
        let a = a.wrapping_sub(LOW) & !a & HIGH;
        if found != 0 {
            let pos = found.trailing_zeros() / 8;
            // The bytes before the quote (none when it is the first).
            let before = (1u64 << (pos * 8)) - 1;
            amp |= a & before;
            high |= word & HIGH & before;
            return Some(Scan {
                len: at + pos as usize,
                amp: amp != 0,
                non_ascii: high != 0,
            });
        }
        amp |= a;
        high |= word & HIGH;
        at += 8;
    }
    for (k, &b) in chunks.remainder().iter().enumerate() {
        if b == quote {
            return Some(Scan {
                len: at + k,
                amp: amp != 0,
                non_ascii: high != 0,
            });
        }
        amp |= u64::from(b == b'&');
        high |= u64::from(b & 0x80);
    }
    None
}

/// `bytes` as text, given what [`scan_value`] found in them: without a
/// second pass when they are ASCII (the commonest case by far: names, class
/// names, paths), otherwise checked as UTF-8 (`None` if they are not).
#[inline]
pub(crate) fn text_of(bytes: &[u8], non_ascii: bool) -> Option<&str> {
    if non_ascii {
        return std::str::from_utf8(bytes).ok();
    }
    debug_assert!(bytes.is_ascii(), "scan_value missed a non-ASCII byte");
    #[expect(
        unsafe_code,
        reason = "skips a second validation of bytes scan_value found to be ASCII"
    )]
    // SAFETY: `scan_value` ORs the high bit of every byte before the
    // closing quote into `non_ascii` (tested against a byte loop in
    // `scan_value_agrees_with_a_byte_loop`): none is set, so every byte is
    // below 0x80, and ASCII is valid UTF-8.
    let s = unsafe { std::str::from_utf8_unchecked(bytes) };
    Some(s)
}

/// An attribute of a child tag.
#[derive(Debug, Clone, Copy)]
struct ChildAttr<'a> {
    key: &'a [u8],
    /// The raw value, still escaped.
    value: &'a [u8],
    /// See [`Scan`].
    amp: bool,
    non_ascii: bool,
}

impl ChildAttr<'_> {
    /// The value as text, unescaped if needed.
    fn text(&self) -> Option<String> {
        let text = text_of(self.value, self.non_ascii)?;
        if self.amp {
            attrs::unescape(text).ok().map(Cow::into_owned)
        } else {
            Some(text.to_owned())
        }
    }
}

/// At most this many attributes on a child tag read here.
const MAX_CHILD_ATTRS: usize = 8;

/// The attributes of a plain child tag: `data[i..]` follows the element
/// name. Every name made of [`NAME_BYTE`]s, every value quoted, no
/// duplicate, at most [`MAX_CHILD_ATTRS`] and `max`. Calls `f` with each
/// attribute in turn (its `None` gives up) and returns the index after the
/// tag and whether it is empty (`/>`).
fn child_attrs<'a>(
    data: &'a [u8],
    mut i: usize,
    max: usize,
    mut f: impl FnMut(&ChildAttr<'a>) -> Option<()>,
) -> Option<(usize, bool)> {
    let mut keys: [&[u8]; MAX_CHILD_ATTRS] = [&[]; MAX_CHILD_ATTRS];
    let mut n = 0;
    // The element name must end with whitespace, `/` or `>`.
    if !matches!(data.get(i)?, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
        return None;
    }
    loop {
        i = skip_ws(data, i);
        match data.get(i)? {
            b'/' => {
                return (data.get(i + 1) == Some(&b'>')).then_some((i + 2, true));
            }
            b'>' => return Some((i + 1, false)),
            _ => {}
        }
        let key_start = i;
        let window = &data[key_start..data.len().min(key_start + 64)];
        i = key_start + attrs::find_byte(b'=', window)?;
        let key = &data[key_start..i];
        if key.is_empty()
            || !key.iter().all(|&b| NAME_BYTE[usize::from(b)])
            || n == MAX_CHILD_ATTRS
            || n >= max
            || keys[..n].contains(&key)
        {
            return None;
        }
        keys[n] = key;
        n += 1;
        let quote = *data.get(i + 1)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = i + 2;
        let scan = scan_value(data.get(value_start..)?, quote)?;
        f(&ChildAttr {
            key,
            value: &data[value_start..value_start + scan.len],
            amp: scan.amp,
            non_ascii: scan.non_ascii,
        })?;
        i = value_start + scan.len + 1;
    }
}

/// The text at `data[i..]` up to the next `<` (which must be in `data`):
/// runs and known references, each run's line ends normalised as quick-xml's
/// text events are (runs are cut at every `&`, like quick-xml's). Appended
/// to `out` if given, but only if `room` allows the raw bytes; `None` on
/// anything the general path might read differently. Returns the index of
/// the `<`.
fn text(data: &[u8], i: usize, out: Option<&mut String>, room: usize) -> Option<usize> {
    let lt = i + memchr::memchr(b'<', &data[i..])?;
    if lt == i {
        return Some(lt);
    }
    if lt - i > room {
        return None;
    }
    // One UTF-8 check for the whole text (references are ASCII, so every
    // cut at a `&` or `;` is a character boundary).
    let s = std::str::from_utf8(&data[i..lt]).ok()?;
    let mut out = out;
    if let Some(out) = out.as_deref_mut() {
        out.reserve(s.len());
    }
    // Line ends are normalised run by run, as quick-xml's text events are;
    // most texts have no `\r` at all.
    let has_cr = memchr::memchr(b'\r', s.as_bytes()).is_some();
    let mut rest = s;
    loop {
        let amp = attrs::find_byte(b'&', rest.as_bytes());
        let run = &rest[..amp.unwrap_or(rest.len())];
        if let Some(out) = out.as_deref_mut() {
            if has_cr && run.contains('\r') {
                out.push_str(&run.replace("\r\n", "\n").replace('\r', "\n"));
            } else {
                out.push_str(run);
            }
        }
        let Some(amp) = amp else {
            return Some(lt);
        };
        // A reference: `&name;` with no `&` before the `;` (names are short:
        // a longer one is not known anyway).
        let after = &rest[amp + 1..];
        let window = &after.as_bytes()[..after.len().min(12)];
        let semi = attrs::find_byte(b';', window)?;
        let c = resolve_entity(&after[..semi])?;
        if let Some(out) = out.as_deref_mut() {
            out.push(c);
        }
        rest = &after[semi + 1..];
    }
}

/// `data[i..]` starts with `</name>` exactly: the index after it.
fn end_tag(data: &[u8], i: usize, name: &[u8]) -> Option<usize> {
    let rest = data.get(i..)?;
    let n = name.len();
    (rest.len() > n + 2 && &rest[..2] == b"</" && &rest[2..2 + n] == name && rest[2 + n] == b'>')
        .then_some(i + n + 3)
}

/// Read the children and the end tag of the `<testcase>` whose start tag
/// ends at `data[i]` into `case` (reset, attributes set, no children yet).
/// Returns the index after `</testcase>`, or `None` (with `case`'s child
/// fields possibly filled: the caller clears them) when the general path
/// must read them. `depth` is the depth of the case element itself.
pub(crate) fn case_children(
    options: &Options,
    case: &mut TestCase,
    data: &[u8],
    mut i: usize,
    depth: usize,
) -> Option<usize> {
    let limits = &options.limits;
    // Children at depth + 1, properties' children at depth + 2.
    if depth + 2 >= limits.max_depth {
        return None;
    }
    loop {
        i = skip_ws(data, i);
        if *data.get(i)? != b'<' {
            return None;
        }
        let rest = &data[i + 1..];
        match rest.first()? {
            b'/' => return end_tag(data, i, b"testcase"),
            b'f' if rest.starts_with(b"failure") => {
                let (next, detail) = detail(options, data, i + 8, b"failure")?;
                // Most cases have at most one: room for exactly one first.
                case.failures.reserve_exact(1);
                case.failures.push(detail);
                i = next;
            }
            b'e' if rest.starts_with(b"error") => {
                let (next, detail) = detail(options, data, i + 6, b"error")?;
                case.errors.reserve_exact(1);
                case.errors.push(detail);
                i = next;
            }
            b's' if rest.starts_with(b"skipped") => {
                let (next, detail) = detail(options, data, i + 8, b"skipped")?;
                if case.skipped.is_none() {
                    case.skipped = Some(detail);
                }
                i = next;
            }
            b's' if rest.starts_with(b"system-out") || rest.starts_with(b"system-err") => {
                let err = rest[7] == b'e';
                let name: &[u8] = if err { b"system-err" } else { b"system-out" };
                let slot = if err {
                    &mut case.system_err
                } else {
                    &mut case.system_out
                };
                i = output(options, slot, data, i + 11, name)?;
            }
            b'p' if rest.starts_with(b"properties") => {
                i = properties(options, &mut case.properties, data, i + 11)?;
            }
            _ => return None,
        }
        if case.failures.len() + case.errors.len() > limits.max_reruns {
            return None;
        }
    }
}

/// A `<failure>`, `<error>` or `<skipped>` whose name ends at `data[i]`.
fn detail(options: &Options, data: &[u8], i: usize, name: &[u8]) -> Option<(usize, Detail)> {
    let mut detail = Detail::default();
    let (mut i, empty) = child_attrs(data, i, options.limits.max_attributes, |attr| {
        match attr.key {
            b"message" => detail.message = Some(attr.text()?),
            b"type" => detail.kind_attr = Some(attr.text()?),
            _ => {}
        }
        Some(())
    })?;
    if !empty {
        let mut body = String::new();
        i = text(data, i, Some(&mut body), options.limits.max_text_bytes)?;
        i = end_tag(data, i, name)?;
        if !body.is_empty() {
            detail.text = Some(body);
        }
    }
    Some((i, detail))
}

/// A `<system-out>` or `<system-err>` (no attributes) whose name ends at
/// `data[i]`, appended to `slot` (or skipped with `skip_output`).
fn output(
    options: &Options,
    slot: &mut Option<String>,
    data: &[u8],
    i: usize,
    name: &[u8],
) -> Option<usize> {
    let max = options.limits.max_text_bytes;
    match data.get(i..i + 2)? {
        [b'/', b'>', ..] => {
            if !options.skip_output && slot.is_none() {
                *slot = Some(String::new());
            }
            return Some(i + 2);
        }
        [b'>', ..] => {}
        _ => return None,
    }
    let i = i + 1;
    let lt = if options.skip_output {
        text(data, i, None, usize::MAX)?
    } else {
        match slot {
            Some(existing) => {
                let room = max.checked_sub(existing.len())?;
                text(data, i, Some(existing), room)?
            }
            None => {
                let mut body = String::new();
                let lt = text(data, i, Some(&mut body), max)?;
                *slot = Some(body);
                lt
            }
        }
    };
    end_tag(data, lt, name)
}

/// `<properties>` (no attributes) whose name ends at `data[i]`, its
/// `<property>` children appended to `props`.
fn properties(
    options: &Options,
    props: &mut Vec<Property>,
    data: &[u8],
    i: usize,
) -> Option<usize> {
    let limits = &options.limits;
    match data.get(i)? {
        b'/' => return (data.get(i + 1) == Some(&b'>')).then_some(i + 2),
        b'>' => {}
        _ => return None,
    }
    let mut i = i + 1;
    loop {
        i = skip_ws(data, i);
        if *data.get(i)? != b'<' {
            return None;
        }
        let rest = &data[i + 1..];
        if rest.first() == Some(&b'/') {
            return end_tag(data, i, b"properties");
        }
        if !rest.starts_with(b"property") {
            return None;
        }
        let mut name = None;
        let mut value_attr = None;
        let (next, empty) = child_attrs(data, i + 9, limits.max_attributes, |attr| {
            match attr.key {
                b"name" => name = Some(attr.text()?),
                b"value" => value_attr = Some(attr.text()?),
                _ => {}
            }
            Some(())
        })?;
        // A missing name is the general path's error (or its tolerance).
        let name = name?;
        i = next;
        let mut body = String::new();
        if !empty {
            i = text(data, i, Some(&mut body), limits.max_text_bytes)?;
            i = end_tag(data, i, b"property")?;
        }
        if props.len() >= limits.max_properties {
            return None;
        }
        props.push(Property {
            name,
            value: value_attr.unwrap_or(body),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: a byte loop.
    fn naive(hay: &[u8], quote: u8) -> Option<(usize, bool, bool)> {
        let len = hay.iter().position(|&b| b == quote)?;
        let value = &hay[..len];
        Some((len, value.contains(&b'&'), !value.is_ascii()))
    }

    #[test]
    fn scan_value_agrees_with_a_byte_loop() {
        // Every short mix of the interesting bytes, at every offset of a
        // longer buffer (so the quote lands in every lane of a word and in
        // the tail).
        let alphabet = [
            b'a',
            b'"',
            b'\'',
            b'&',
            0x80,
            0xc3,
            0xff,
            0x7f,
            0x00,
            0x26 ^ 0x80,
        ];
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 72) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|k| alphabet[((state >> (k % 60)) as usize + k * 7) % alphabet.len()])
                .collect();
            for quote in [b'"', b'\''] {
                for start in 0..hay.len().min(17) {
                    let got = scan_value(&hay[start..], quote).map(|s| (s.len, s.amp, s.non_ascii));
                    assert_eq!(got, naive(&hay[start..], quote), "{:?}", &hay[start..]);
                    let swar =
                        scan_value_swar(&hay[start..], quote).map(|s| (s.len, s.amp, s.non_ascii));
                    assert_eq!(swar, got, "{:?}", &hay[start..]);
                }
            }
        }
        // Long values: the quote after many words, non-ASCII only early.
        let mut long = vec![b'x'; 200];
        long[3] = 0xe9;
        long[150] = b'"';
        let s = scan_value(&long, b'"').expect("closed");
        assert_eq!((s.len, s.amp, s.non_ascii), (150, false, true));
        long[3] = b'&';
        let s = scan_value(&long, b'"').expect("closed");
        assert_eq!((s.len, s.amp, s.non_ascii), (150, true, false));
        assert!(scan_value(&long[151..], b'"').is_none());
    }

    #[test]
    fn text_of_checks_non_ascii_values() {
        assert_eq!(text_of(b"plain", false), Some("plain"));
        assert_eq!(text_of("na\u{ef}ve".as_bytes(), true), Some("na\u{ef}ve"));
        assert_eq!(text_of(b"bad\xff", true), None);
    }
}
