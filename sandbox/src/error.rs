//! The crate's error type: a context string around a [`ErrorKind`].

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from a sandbox operation: what was being done (`context`) and why it
/// failed (`kind`).
#[derive(Debug, thiserror::Error)]
#[error("{context}: {kind}")]
pub struct Error {
    context: String,
    #[source]
    kind: ErrorKind,
}

impl Error {
    /// Creates an error from a context ("failed to reset sandbox ...") and a kind.
    pub fn new(context: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            context: context.into(),
            kind,
        }
    }

    /// What was being done when the error happened.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Why it failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::new(context, ErrorKind::Io { source })
    }
}

/// The reason a sandbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A workspace path was refused because it leads outside the workspace.
    #[error("path `{path}` is refused: {reason}")]
    PathEscape {
        /// The path as given by the caller.
        path: String,
        /// Why it is refused (`..` component, absolute path, symlink leading outside).
        reason: String,
    },
    /// A workspace path does not exist.
    #[error("path `{path}` does not exist in the workspace")]
    NotFound {
        /// The path as given by the caller.
        path: String,
    },
    /// A required program is missing; `package` names the Debian package providing it.
    #[error("`{}` not found; install the Debian package `{package}`", binary.display())]
    MissingBinary {
        /// The program that was looked for.
        binary: PathBuf,
        /// The Debian package that provides it.
        package: String,
    },
    /// A service (PostgreSQL, Redis) failed to start or to become ready.
    #[error("service {service} failed: {message}")]
    Service {
        /// The service name.
        service: String,
        /// What went wrong, with the tail of the service log when there is one.
        message: String,
    },
    /// The sandbox specification is invalid.
    #[error("invalid sandbox spec, field `{field}`: {message}")]
    InvalidSpec {
        /// The offending field.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// The requested isolation is not available on this host.
    #[error("isolation unavailable: {message}")]
    Isolation {
        /// Why (e.g. namespaces not permitted).
        message: String,
    },
    /// The Docker engine refused a request.
    #[error("docker engine error (status {status}): {message}")]
    Docker {
        /// The HTTP status returned by the engine (0 when there was none).
        status: u16,
        /// The engine's message.
        message: String,
    },
    /// The Docker engine could not be reached in time.
    #[error("cannot reach the docker engine at {host}: {message}")]
    Connect {
        /// The engine address (socket path or `DOCKER_HOST`).
        host: String,
        /// Why the connection failed.
        message: String,
    },
    /// Building or importing an image failed.
    #[error("image build failed: {message}")]
    Image {
        /// What went wrong.
        message: String,
    },
    /// The command could not be started or supervised.
    #[error("command failed to run: {message}")]
    Exec {
        /// What went wrong.
        message: String,
    },
    /// The backend does not offer this operation.
    #[error("`{operation}` is not supported by this sandbox backend")]
    Unsupported {
        /// The operation (a [`Sandbox`](crate::Sandbox) method's name).
        operation: String,
    },
    /// An I/O error.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: std::io::Error,
    },
}
