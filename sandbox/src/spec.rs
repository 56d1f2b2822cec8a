//! What a sandbox starts with: [`SandboxSpec`] and its builder.

use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind, Result};

/// A service the sandbox starts for itself, private to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// A PostgreSQL 15 instance on a unix socket. Commands see `PGHOST`,
    /// `PGUSER`, `PGDATABASE` and `DATABASE_URL`.
    Postgres,
    /// A Redis instance on a unix socket. Commands see `REDIS_SOCKET` and `REDIS_URL`.
    Redis,
}

impl Service {
    /// Lower-case service name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }
}

/// Network policy of the sandbox's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NetworkPolicy {
    /// No network: loopback only (local backend: a fresh network namespace per
    /// command; Docker: network mode `none`). Services are reached through unix
    /// sockets. Creating the sandbox fails if the host cannot provide this.
    #[default]
    Isolated,
    /// The host's network (local) or the engine's default bridge (Docker).
    Host,
}

/// Resource limits for the sandbox's commands.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Address space (local `RLIMIT_AS`) or container memory (Docker), in bytes.
    pub memory_bytes: u64,
    /// Maximum number of processes (local `RLIMIT_NPROC`, Docker pids limit).
    pub processes: u32,
    /// CPU time per command in seconds (local `RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// CPUs available to the container (Docker).
    pub cpus: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 2 << 30,
            processes: 256,
            cpu_seconds: 600,
            cpus: 1.0,
        }
    }
}

/// What a sandbox starts with: the workspace source directory, services,
/// limits, network policy and extra environment.
///
/// ```
/// use debugenv_sandbox::{SandboxSpec, Service, NetworkPolicy};
///
/// let dir = tempfile::tempdir()?;
/// let spec = SandboxSpec::builder(dir.path())
///     .service(Service::Postgres)
///     .network(NetworkPolicy::Isolated)
///     .env("DJANGO_SETTINGS_MODULE", "app.settings")
///     .build()?;
/// assert_eq!(spec.services(), &[Service::Postgres]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    workspace: PathBuf,
    services: Vec<Service>,
    limits: Limits,
    network: NetworkPolicy,
    env: Vec<(String, String)>,
}

impl SandboxSpec {
    /// Starts a builder; `workspace` is the project directory copied into each sandbox.
    pub fn builder(workspace: impl Into<PathBuf>) -> SandboxSpecBuilder {
        SandboxSpecBuilder {
            spec: Self {
                workspace: workspace.into(),
                services: Vec::new(),
                limits: Limits::default(),
                network: NetworkPolicy::default(),
                env: Vec::new(),
            },
        }
    }

    /// The workspace source directory.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The services to start.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Resource limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Network policy.
    pub fn network(&self) -> NetworkPolicy {
        self.network
    }

    /// Extra environment variables for every command.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Whether `service` is requested.
    pub fn has(&self, service: Service) -> bool {
        self.services.contains(&service)
    }
}

/// Builder of a [`SandboxSpec`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone)]
pub struct SandboxSpecBuilder {
    spec: SandboxSpec,
}

impl SandboxSpecBuilder {
    /// Adds a service (duplicates are ignored).
    #[must_use]
    pub fn service(mut self, service: Service) -> Self {
        if !self.spec.services.contains(&service) {
            self.spec.services.push(service);
        }
        self
    }

    /// Sets the resource limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.spec.limits = limits;
        self
    }

    /// Sets the network policy.
    #[must_use]
    pub fn network(mut self, network: NetworkPolicy) -> Self {
        self.spec.network = network;
        self
    }

    /// Adds an environment variable for every command.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.env.push((key.into(), value.into()));
        self
    }

    /// Validates and returns the spec.
    pub fn build(self) -> Result<SandboxSpec> {
        let s = self.spec;
        let invalid = |field: &str, message: String| {
            Error::new(
                "failed to build sandbox spec",
                ErrorKind::InvalidSpec {
                    field: field.to_owned(),
                    message,
                },
            )
        };
        match std::fs::metadata(&s.workspace) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(invalid(
                    "workspace",
                    format!("{} is not a directory", s.workspace.display()),
                ));
            }
            Err(e) => {
                return Err(invalid(
                    "workspace",
                    format!("{}: {e}", s.workspace.display()),
                ));
            }
        }
        for (k, v) in &s.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return Err(invalid(
                    "env",
                    format!("invalid variable name or value `{k}`"),
                ));
            }
        }
        let l = &s.limits;
        if l.memory_bytes < (16 << 20) {
            return Err(invalid(
                "limits.memory_bytes",
                format!("{} is below the 16 MiB minimum", l.memory_bytes),
            ));
        }
        if l.processes < 8 {
            return Err(invalid(
                "limits.processes",
                format!("{} is below the minimum of 8", l.processes),
            ));
        }
        if l.cpu_seconds == 0 {
            return Err(invalid("limits.cpu_seconds", "must be positive".into()));
        }
        if !(l.cpus > 0.0 && l.cpus.is_finite()) {
            return Err(invalid(
                "limits.cpus",
                format!("{} is not positive", l.cpus),
            ));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_rejects_missing_workspace_and_bad_limits() {
        let e = SandboxSpec::builder("/nonexistent/debugenv")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("field `workspace`"), "{e}");
        let dir = tempfile::tempdir().expect("tempdir");
        let limits = Limits {
            processes: 1,
            ..Limits::default()
        };
        let e = SandboxSpec::builder(dir.path())
            .limits(limits)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("limits.processes"), "{e}");
        let e = SandboxSpec::builder(dir.path())
            .env("A=B", "x")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("field `env`"), "{e}");
    }
}
