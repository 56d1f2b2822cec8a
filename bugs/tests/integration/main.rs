//! Integration tests of `debugenv-bugs`: one binary, one module per topic.

mod graph;
mod manifest;
mod properties;
mod universe;
