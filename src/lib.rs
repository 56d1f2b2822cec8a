//! TalentFlow: the first environment built on debugenv.
//!
//! TalentFlow is a Django + PostgreSQL + Redis + Celery talent-management
//! project shipped with injected bugs. This crate locates its environment
//! package (`examples/talentflow/` in this repository) so that examples and
//! benches can load it.
//!
//! ```
//! let dir = talentflow::package_dir();
//! assert!(dir.ends_with("examples/talentflow"));
//! ```
//!
//! Minimum supported Rust version: 1.85.

use std::path::PathBuf;

/// The directory of the TalentFlow environment package in this source tree.
///
/// The path is fixed at compile time from this crate's manifest directory; it
/// may not exist yet on a checkout where the package has not been built.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/talentflow")
}
