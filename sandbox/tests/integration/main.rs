//! Integration tests: one conformance suite run against every backend.
//!
//! The local backend runs in every `cargo test`. The Docker backend runs when
//! `DEBUGENV_DOCKER_TESTS=1` and `DEBUGENV_DOCKER_IMAGE` names an image built by
//! `debugenv-sandbox build-image` (`.ci/parts/20-sandbox.sh` does both).

mod conformance;
#[cfg(feature = "docker")]
mod docker;
mod local;
