//! Attributes of a start tag and entity references, read without allocating.
//!
//! quick-xml hands us the raw bytes of a tag; this module splits them into
//! `name="value"` pairs in one pass (memchr for the closing quote), rejects
//! what is not well-formed (no `=`, unquoted or unclosed value, a duplicate
//! name), and expands the predefined entities and character references of a
//! value only when it contains a `&`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// One attribute: ranges into the tag's attribute bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAttr {
    /// The qualified name (`xsi:type`).
    pub(crate) key: Range<usize>,
    /// The value between the quotes, still escaped.
    pub(crate) value: Range<usize>,
}

/// Why the attributes of a tag are not well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttrError {
    /// A `=` where a name should start.
    NoName,
    /// A name not followed by `=`.
    NoValue(String),
    /// `name=` followed by something other than a quote.
    Unquoted(String),
    /// A value whose closing quote is missing.
    Unclosed(String),
    /// The same name twice.
    Duplicate(String),
    /// More attributes than allowed.
    TooMany,
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrError::NoName => f.write_str("expected an attribute name, found `=`"),
            AttrError::NoValue(k) => write!(f, "attribute `{k}` has no `=\"value\"`"),
            AttrError::Unquoted(k) => write!(f, "value of attribute `{k}` is not quoted"),
            AttrError::Unclosed(k) => write!(f, "value of attribute `{k}` has no closing quote"),
            AttrError::Duplicate(k) => write!(f, "duplicate attribute `{k}`"),
            AttrError::TooMany => f.write_str("too many attributes"),
        }
    }
}

/// The first `needle` in `haystack`. Most values and names are short, where
/// the call and setup of `memchr`'s vector search cost more than the search:
/// up to 64 bytes are searched eight at a time in a `u64` (the classic
/// "has zero byte" test on `word ^ needle`), longer ones with `memchr`.
#[inline]
pub(crate) fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = LOW * u64::from(needle);
    let head = &haystack[..haystack.len().min(64)];
    let mut chunks = head.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let bytes: [u8; 8] = chunk.try_into().expect("chunks of eight bytes");
        let x = u64::from_le_bytes(bytes) ^ pattern;
        // A set high bit marks a zero byte of `x`; the lowest one is exact.
        let found = x.wrapping_sub(LOW) & !x & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if let Some(i) = chunks.remainder().iter().position(|&b| b == needle) {
        return Some(at + i);
    }
    if haystack.len() <= 64 {
        return None;
    }
    memchr::memchr(needle, &haystack[64..]).map(|i| i + 64)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn key_text(raw: &[u8], key: &Range<usize>) -> String {
    crate::error::shorten(&String::from_utf8_lossy(&raw[key.clone()]))
}

/// Split `raw` (a tag's bytes after its name) into `out`, at most `max`
/// attributes; `scratch` is reused for the duplicate check of tags with many
/// attributes. Time is linear in `raw` (n log n in the number of attributes).
pub(crate) fn tokenize(
    raw: &[u8],
    out: &mut Vec<RawAttr>,
    scratch: &mut Vec<usize>,
    max: usize,
) -> Result<(), AttrError> {
    out.clear();
    let n = raw.len();
    let mut i = 0;
    loop {
        while i < n && is_ws(raw[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        while i < n && raw[i] != b'=' && !is_ws(raw[i]) {
            i += 1;
        }
        if i == start {
            return Err(AttrError::NoName);
        }
        let key = start..i;
        while i < n && is_ws(raw[i]) {
            i += 1;
        }
        if i == n || raw[i] != b'=' {
            return Err(AttrError::NoValue(key_text(raw, &key)));
        }
        i += 1;
        while i < n && is_ws(raw[i]) {
            i += 1;
        }
        let quote = match raw.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(AttrError::Unquoted(key_text(raw, &key))),
        };
        let value_start = i + 1;
        let Some(len) = find_byte(quote, &raw[value_start..]) else {
            return Err(AttrError::Unclosed(key_text(raw, &key)));
        };
        let value = value_start..value_start + len;
        i = value.end + 1;
        if out.len() == max {
            return Err(AttrError::TooMany);
        }
        out.push(RawAttr { key, value });
    }
    check_duplicates(raw, out, scratch)
}

fn check_duplicates(
    raw: &[u8],
    attrs: &[RawAttr],
    scratch: &mut Vec<usize>,
) -> Result<(), AttrError> {
    let key = |i: usize| &raw[attrs[i].key.clone()];
    if attrs.len() <= 16 {
        for (j, attr) in attrs.iter().enumerate().skip(1) {
            if (0..j).any(|k| key(k) == key(j)) {
                return Err(AttrError::Duplicate(key_text(raw, &attr.key)));
            }
        }
        return Ok(());
    }
    scratch.clear();
    scratch.extend(0..attrs.len());
    scratch.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
    match scratch.windows(2).find(|w| key(w[0]) == key(w[1])) {
        Some(w) => Err(AttrError::Duplicate(key_text(raw, &attrs[w[1]].key))),
        None => Ok(()),
    }
}

/// The part of a qualified name after its prefix (`xsi:type` -> `type`).
pub(crate) fn local_name(key: &[u8]) -> &[u8] {
    match find_byte(b':', key) {
        Some(i) => &key[i + 1..],
        None => key,
    }
}

/// A plain run of 1 to 19 ASCII digits (what producers write for counts and
/// lines), parsed without the generality of `str::parse`; `None` for
/// anything else, which then takes the general path.
pub(crate) fn fast_u64(s: &str) -> Option<u64> {
    fast_u64_bytes(s.as_bytes())
}

/// [`fast_u64`] of raw bytes (only ASCII digits are accepted).
pub(crate) fn fast_u64_bytes(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// `digits[.digits]` with at most 15 significant digits (what producers
/// write for times), parsed exactly: the integer mantissa and the power of
/// ten are both exact in `f64`, so one division rounds correctly (the
/// classic fast path). `None` for anything else, which then takes the
/// general path.
pub(crate) fn fast_seconds(s: &str) -> Option<f64> {
    fast_seconds_bytes(s.as_bytes())
}

/// [`fast_seconds`] of raw bytes (only ASCII digits and `.` are accepted).
#[inline]
pub(crate) fn fast_seconds_bytes(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    const NO_DOT: usize = usize::MAX;
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    // At most 16 digits: the mantissa cannot overflow.
    let mut mantissa = 0u64;
    let mut dot = NO_DOT;
    for (k, &c) in b.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa * 10 + u64::from(d);
        } else if c == b'.' && dot == NO_DOT {
            dot = k;
        } else {
            return None;
        }
    }
    let (digits, frac) = if dot == NO_DOT {
        (b.len(), 0)
    } else {
        (b.len() - 1, b.len() - dot - 1)
    };
    if digits == 0 || digits > 15 {
        return None;
    }
    // Below 10^16 < 2^63: the signed conversion is exact and cheaper.
    let mantissa = mantissa as i64;
    Some(mantissa as f64 / POW10[frac])
}

/// Why a value could not be unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EscapeError {
    /// `&name;` with a name that is neither predefined nor a character reference.
    Unknown(String),
    /// A `&` without a `;` closing the reference.
    Unterminated,
}

/// Expand the predefined entities and character references of `s`; borrowed
/// when there is nothing to expand. (Values and their runs between
/// references are short: [`find_byte`] rather than `memchr`.)
pub(crate) fn unescape(s: &str) -> Result<Cow<'_, str>, EscapeError> {
    let Some(first) = find_byte(b'&', s.as_bytes()) else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    loop {
        // `rest` starts with `&`.
        let end = find_byte(b';', rest.as_bytes()).ok_or(EscapeError::Unterminated)?;
        let name = &rest[1..end];
        if name.bytes().any(|b| b == b'&' || is_ws(b)) {
            return Err(EscapeError::Unterminated);
        }
        out.push(resolve_entity(name).ok_or_else(|| EscapeError::Unknown(name.to_owned()))?);
        rest = &rest[end + 1..];
        match find_byte(b'&', rest.as_bytes()) {
            Some(p) => {
                out.push_str(&rest[..p]);
                rest = &rest[p..];
            }
            None => {
                out.push_str(rest);
                return Ok(Cow::Owned(out));
            }
        }
    }
}

/// The five predefined entities and character references; nothing else.
pub(crate) fn resolve_entity(name: &str) -> Option<char> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(raw: &str) -> Result<Vec<(String, String)>, AttrError> {
        let mut out = Vec::new();
        tokenize(raw.as_bytes(), &mut out, &mut Vec::new(), 1000)?;
        Ok(out
            .into_iter()
            .map(|a| (raw[a.key].to_owned(), raw[a.value].to_owned()))
            .collect())
    }

    #[test]
    fn splits_attributes() {
        assert_eq!(
            split(" a=\"1\"\n b = 'x\"y' c=\"\"").expect("valid"),
            [
                ("a".into(), "1".into()),
                ("b".into(), "x\"y".into()),
                ("c".into(), String::new())
            ]
        );
        assert_eq!(split("").expect("empty"), []);
        assert_eq!(split("  \t").expect("blank"), []);
    }

    #[test]
    fn rejects_malformed_attributes() {
        assert_eq!(split(" =\"1\""), Err(AttrError::NoName));
        assert_eq!(split(" a"), Err(AttrError::NoValue("a".into())));
        assert_eq!(split(" a b=\"1\""), Err(AttrError::NoValue("a".into())));
        assert_eq!(split(" a=1"), Err(AttrError::Unquoted("a".into())));
        assert_eq!(split(" a="), Err(AttrError::Unquoted("a".into())));
        assert_eq!(split(" a=\"1"), Err(AttrError::Unclosed("a".into())));
        assert_eq!(
            split(" a=\"1\" b=\"2\" a='3'"),
            Err(AttrError::Duplicate("a".into()))
        );
    }

    #[test]
    fn finds_duplicates_among_many_attributes() {
        let mut raw: String = (0..100).map(|i| format!(" k{i}=\"v\"")).collect();
        assert_eq!(split(&raw).expect("distinct").len(), 100);
        raw.push_str(" k42='again'");
        assert_eq!(split(&raw), Err(AttrError::Duplicate("k42".into())));
        let many: String = (0..1001).map(|i| format!(" k{i}=\"v\"")).collect();
        assert_eq!(split(&many), Err(AttrError::TooMany));
    }

    #[test]
    fn unescapes_only_known_references() {
        assert!(matches!(unescape("plain"), Ok(Cow::Borrowed("plain"))));
        assert_eq!(
            unescape("a &lt;b&gt; &amp;&#10;&#x41;&quot;&apos;").expect("valid"),
            "a <b> &\nA\"'"
        );
        assert_eq!(unescape("&lol;"), Err(EscapeError::Unknown("lol".into())));
        assert_eq!(unescape("&#0;"), Err(EscapeError::Unknown("#0".into())));
        assert_eq!(unescape("a & b"), Err(EscapeError::Unterminated));
        assert_eq!(unescape("a &amp"), Err(EscapeError::Unterminated));
        assert_eq!(unescape("&a &amp;"), Err(EscapeError::Unterminated));
    }

    #[test]
    fn fast_numbers_agree_with_the_standard_parsers() {
        for s in ["0", "7", "42", "9999999999999999999", "0000000000000000001"] {
            assert_eq!(fast_u64(s), s.parse().ok(), "{s}");
        }
        // Longer runs take the general path (which may still accept them).
        assert_eq!(fast_u64("18446744073709551615"), None);
        for s in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "99999999999999999999",
            "1e3",
        ] {
            assert_eq!(fast_u64(s), None, "{s}");
        }
        for s in [
            "0",
            "0.0",
            "0.001",
            "1.5",
            "12.345",
            "0.1",
            "0.3",
            "123456789.012345",
            "999999999999999",
            "5.",
            ".5",
            "0.00000000000001",
        ] {
            assert_eq!(fast_seconds(s), s.parse::<f64>().ok(), "{s}");
        }
        for s in [
            "",
            ".",
            "1.2.3",
            "1e3",
            "-1",
            "1,5",
            "1234567890123456",
            "0.1234567890123456",
        ] {
            assert_eq!(fast_seconds(s), None, "{s}");
        }
    }

    #[test]
    fn find_byte_agrees_with_memchr() {
        let text: Vec<u8> = (0..200u8)
            .map(|i| b"ab\"c'=:x"[usize::from(i % 8)] ^ (i & 0x80))
            .collect();
        for needle in [b'"', b'\'', b'=', b':', b'z', 0x80 | b'a', 0xff] {
            for start in 0..40 {
                for end in start..text.len() {
                    let hay = &text[start..end];
                    assert_eq!(find_byte(needle, hay), memchr::memchr(needle, hay));
                }
            }
        }
    }

    #[test]
    fn local_names() {
        assert_eq!(local_name(b"xsi:type"), b"type");
        assert_eq!(local_name(b"name"), b"name");
    }

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
