//! debugenv-sandbox (in progress).
