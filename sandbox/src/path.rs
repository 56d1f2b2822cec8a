//! Lexical checks of workspace-relative paths (the backends add the symlink check).

use crate::{Error, ErrorKind, Result};

/// Checks that `path` is relative and free of `..`; returns it normalised
/// (`/`-separated, no `.` or empty components). The empty path is the root.
pub(crate) fn normalize(op: &str, path: &str) -> Result<String> {
    let refuse = |reason: &str| {
        Error::new(
            format!("failed to {op}"),
            ErrorKind::PathEscape {
                path: path.to_owned(),
                reason: reason.to_owned(),
            },
        )
    };
    if path.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    if path.starts_with('/') {
        return Err(refuse(
            "absolute paths are not allowed; use a path relative to the workspace",
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse("`..` components are not allowed")),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

pub(crate) fn symlink_escape(op: &str, path: &str) -> Error {
    Error::new(
        format!("failed to {op}"),
        ErrorKind::PathEscape {
            path: path.to_owned(),
            reason: "a symlink on the path leads outside the workspace".to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn accepts_relative_and_refuses_escapes() {
        assert_eq!(normalize("read", "a/./b//c").expect("ok"), "a/b/c");
        assert_eq!(normalize("read", "").expect("ok"), "");
        let e = normalize("read", "a/../../etc/passwd").unwrap_err();
        assert!(e.to_string().contains("`..` components"), "{e}");
        let e = normalize("read", "/etc/passwd").unwrap_err();
        assert!(e.to_string().contains("absolute paths"), "{e}");
    }
}
