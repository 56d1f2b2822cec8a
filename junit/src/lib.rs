//! debugenv-junit (in progress).
