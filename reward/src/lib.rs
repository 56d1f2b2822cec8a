//! debugenv-reward (in progress).
