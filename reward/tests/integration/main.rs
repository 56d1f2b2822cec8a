//! Integration tests of `debugenv-reward`: one binary, one module per topic.

mod config;
mod properties;
mod tracker;
