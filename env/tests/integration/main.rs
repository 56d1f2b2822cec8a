//! Integration tests of the `debugenv` crate, on the tiny package in
//! `tests/fixtures/tiny` and local sandboxes.
//!
//! They need a Python with pytest: `DEBUGENV_PYTHON`, else
//! `/opt/debugenv/venv/bin/python` (what `.ci/run` creates), else `python3`.
//! Without one they fail with a message saying so.

mod common;
mod docker;
mod episode;
mod package;
mod parsers;
mod preload;
mod red_team;
mod shards;
mod targeted;
mod trajectory;
mod verdict;
