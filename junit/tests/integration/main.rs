//! Integration tests of debugenv-junit (one binary, one module per concern).

mod arbitrary;
mod errors;
mod fastpath;
mod fixtures;
mod hostile;
mod junit2json;
mod roundtrip;
mod structure;

/// Parse strictly or panic with the error (tests only).
pub(crate) fn parse(xml: &str) -> debugenv_junit::Report {
    match xml.parse() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}
