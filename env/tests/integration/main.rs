//! Integration tests of the env crate (filled below).
