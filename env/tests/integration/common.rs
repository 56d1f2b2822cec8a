//! Shared helpers: the tiny package, a Python with pytest, environments.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use debugenv::sandbox::{LocalOptions, LocalSandbox};
use debugenv::{Environment, Package};

pub(crate) fn tiny_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

/// A Python interpreter that can import pytest, or a panic naming what was tried.
pub(crate) fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let mut candidates: Vec<String> = Vec::new();
        if let Ok(p) = std::env::var("DEBUGENV_PYTHON") {
            candidates.push(p);
        }
        candidates.push("/opt/debugenv/venv/bin/python".into());
        candidates.push("python3".into());
        for c in &candidates {
            let ok = std::process::Command::new(c)
                .args(["-c", "import pytest"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return c.clone();
            }
        }
        panic!(
            "no Python with pytest found (tried {candidates:?}); run .ci/run or set DEBUGENV_PYTHON"
        );
    })
}

pub(crate) fn tiny() -> Arc<Package> {
    Arc::new(
        Package::load(tiny_dir())
            .expect("the tiny package loads")
            .with_python(python()),
    )
}

pub(crate) async fn env_for(package: Arc<Package>) -> Environment<LocalSandbox> {
    let spec = package.sandbox_spec().expect("sandbox spec");
    let sandbox = LocalSandbox::create(&spec, &LocalOptions::default())
        .await
        .expect("a local sandbox starts");
    Environment::new(package, sandbox)
}

pub(crate) async fn tiny_env() -> Environment<LocalSandbox> {
    env_for(tiny()).await
}

/// The content of a project file after applying the given bugs' reference fixes.
pub(crate) fn fixed_content(package: &Package, path: &str, bugs: &[&str]) -> String {
    let bugs: Vec<debugenv::bugs::BugId> = bugs
        .iter()
        .map(|b| debugenv::bugs::BugId::new(*b))
        .collect();
    package
        .fixed_file(path, &bugs)
        .expect("the fixes apply")
        .expect("the file exists")
}

/// Runs a future on a fresh multi-threaded runtime.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
