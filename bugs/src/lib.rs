//! debugenv-bugs (in progress).
