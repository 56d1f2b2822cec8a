//! Identifier newtypes: [`BugId`], [`TestId`], [`Category`].

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A bug's id from the manifest (`A1`, `S10`).
///
/// Ordered naturally, so `S5 < S10` (digit runs compare as numbers; ties fall
/// back to plain string order, so the order stays consistent with `==`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BugId(String);

impl BugId {
    /// A bug id. Validity (non-empty, letters, digits, `_`, `-`, `.`) is
    /// checked when a [`BugGraph`](crate::BugGraph) is built, where the error
    /// can name the manifest position.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_valid(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    }
}

impl fmt::Display for BugId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for BugId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for BugId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl PartialOrd for BugId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BugId {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.0, &other.0).then_with(|| self.0.cmp(&other.0))
    }
}

/// Compares digit runs as numbers, everything else byte by byte.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// A test's pytest node id (`tests/unit/test_x.py::TestY::test_z[p]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TestId(String);

impl TestId {
    /// A test id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TestId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for TestId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

/// A test category of the universe (`unit`, `integration`, `system`, `security`, or any other).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    /// A category.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Category {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bug_ids_order_naturally() {
        let mut ids: Vec<BugId> = ["S10", "A2", "S5", "A10", "A1", "B1", "A01"]
            .into_iter()
            .map(BugId::from)
            .collect();
        ids.sort();
        let got: Vec<&str> = ids.iter().map(BugId::as_str).collect();
        assert_eq!(got, ["A01", "A1", "A2", "A10", "B1", "S5", "S10"]);
    }

    #[test]
    fn bug_id_validity() {
        assert!(BugId::from("S10").is_valid());
        assert!(BugId::from("bug_a-1.2").is_valid());
        assert!(!BugId::from("").is_valid());
        assert!(!BugId::from("A 1").is_valid());
        assert!(!BugId::from("A\"1").is_valid());
    }
}
