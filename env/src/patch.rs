//! Unified diffs (the `Patch` action and the reference fixes), on diffy.
//!
//! A patch is parsed completely and every file's new content computed before
//! anything is written, so a patch either applies as a whole or not at all.

use diffy::patch_set::{FileOperation, ParseOptions, PatchKind, PatchSet};

/// What one file of a patch does.
#[derive(Debug)]
pub(crate) enum Op {
    Create,
    Delete,
    Modify,
}

/// One file of a parsed patch.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) path: String,
    pub(crate) op: Op,
    pub(crate) patch: diffy::Patch<'a, str>,
}

/// Parses a (multi-file) unified diff, `git diff` style (`a/` and `b/`
/// prefixes, stripped) or plain (paths taken as they are).
pub(crate) fn parse(text: &str) -> Result<Vec<Target<'_>>, String> {
    let mut out = Vec::new();
    for (i, item) in PatchSet::parse(text, ParseOptions::unidiff()).enumerate() {
        let file = item.map_err(|e| format!("file {} of the patch: {e}", i + 1))?;
        let op = file.operation();
        let git_style = match op {
            FileOperation::Modify { original, modified } => {
                original.starts_with("a/") && modified.starts_with("b/")
            }
            FileOperation::Create(p) => p.starts_with("b/"),
            FileOperation::Delete(p) => p.starts_with("a/"),
            _ => false,
        };
        let stripped = op.strip_prefix(usize::from(git_style));
        let (path, op) = match stripped {
            FileOperation::Create(p) => (p.to_string(), Op::Create),
            FileOperation::Delete(p) => (p.to_string(), Op::Delete),
            FileOperation::Modify { original, modified } => {
                if original != modified {
                    return Err(format!(
                        "renames are not supported (`{original}` -> `{modified}`)"
                    ));
                }
                (modified.to_string(), Op::Modify)
            }
            _ => return Err("renames and copies are not supported".into()),
        };
        let patch = match file.into_patch() {
            PatchKind::Text(p) => p,
            _ => return Err(format!("`{path}`: binary patches are not supported")),
        };
        out.push(Target { path, op, patch });
    }
    if out.is_empty() {
        return Err("the patch changes no file".into());
    }
    Ok(out)
}

/// Applies one file's patch to its current content (`None`: the file does
/// not exist); returns the new content, `None` for a deletion.
pub(crate) fn apply(target: &Target<'_>, current: Option<&str>) -> Result<Option<String>, String> {
    match (&target.op, current) {
        (Op::Create, Some(_)) => Err(format!(
            "`{}` already exists; the patch creates it",
            target.path
        )),
        (Op::Create, None) => diffy::apply("", &target.patch)
            .map(Some)
            .map_err(|e| format!("`{}`: {e}", target.path)),
        (_, None) => Err(format!("`{}` does not exist", target.path)),
        (Op::Delete, Some(text)) => diffy::apply(text, &target.patch)
            .map(|_| None)
            .map_err(|e| format!("`{}`: {e}", target.path)),
        (Op::Modify, Some(text)) => diffy::apply(text, &target.patch)
            .map(Some)
            .map_err(|e| format!("`{}`: {e}", target.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_style_paths_are_stripped_and_applied() {
        let p = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n";
        let t = parse(p).expect("parses");
        assert_eq!(t[0].path, "x.py");
        assert_eq!(
            apply(&t[0], Some("a = 1\nb = 2\n")).expect("applies"),
            Some("a = 1\nb = 3\n".into())
        );
        assert!(apply(&t[0], Some("a = 1\nb = 9\n")).is_err());
        assert!(apply(&t[0], None).is_err());
    }

    #[test]
    fn create_and_delete() {
        let create = "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n";
        let t = parse(create).expect("parses");
        assert_eq!(t[0].path, "new.py");
        assert_eq!(apply(&t[0], None).expect("creates"), Some("x = 1\n".into()));
        assert!(apply(&t[0], Some("")).is_err());
        let delete = "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n";
        let t = parse(delete).expect("parses");
        assert_eq!(apply(&t[0], Some("x = 1\n")).expect("deletes"), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_and_apply_never_panic(text in "(--- a/x\\.py\n\\+\\+\\+ b/x\\.py\n)?(@@ -[0-9],[0-9] \\+[0-9],[0-9] @@\n)?([ +-][a-z ]{0,8}\n){0,6}", base in "([a-z ]{0,8}\n){0,6}") {
            if let Ok(targets) = parse(&text) {
                for t in &targets {
                    let _ = apply(t, Some(&base));
                    let _ = apply(t, None);
                }
            }
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("hello\n").is_err());
        assert!(parse("").is_err());
    }
}
