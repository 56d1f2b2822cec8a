//! TalentFlow: the first environment built on debugenv.
//!
//! TalentFlow is a Django + PostgreSQL + Redis + Celery talent-management
//! project shipped with injected bugs. This crate locates its environment
//! package (`examples/talentflow/` in this repository) and loads it through
//! [`debugenv::Package::load`], the same code every package goes through.
//!
//! ```
//! let package = talentflow::load().expect("TalentFlow loads");
//! assert_eq!(package.spec().name, "talentflow");
//! assert_eq!(package.graph().len(), 31);
//! assert!(package.universe().len() >= 300);
//!
//! let tiny = debugenv::Package::load(talentflow::tiny_package_dir()).unwrap();
//! assert_eq!(tiny.graph().len(), 3);
//! ```
//!
//! Minimum supported Rust version: 1.85.

use std::path::PathBuf;

pub use debugenv;

/// The directory of the TalentFlow environment package in this source tree.
///
/// The path is fixed at compile time from this crate's manifest directory.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/talentflow")
}

/// The tiny package of the env crate's tests (3 bugs, 12 tests, no services):
/// the quickest complete package to try the API on.
pub fn tiny_package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("env/tests/fixtures/tiny")
}

/// Loads the TalentFlow package.
///
/// # Errors
///
/// Every problem of the package, with file and position.
pub fn load() -> Result<debugenv::Package, debugenv::PackageError> {
    debugenv::Package::load(package_dir())
}
