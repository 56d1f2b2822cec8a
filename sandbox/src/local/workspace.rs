//! The local workspace: copy, pristine manifest, diff and selective restore.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Change, ChangeKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
}

/// What is remembered of one workspace entry to notice changes cheaply: the
/// inode and ctime change on every write, chmod, rename or touch, and cannot be
/// set back by the sandbox's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    mode: u32,
    size: u64,
    ino: u64,
    ctime: (i64, i64),
}

fn entry(m: &fs::Metadata) -> Option<Entry> {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        return None;
    };
    Some(Entry {
        kind,
        mode: m.mode() & 0o7777,
        size: m.len(),
        ino: m.ino(),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

/// Copies `src` into the new directory `dst` (files, directories, symlinks; other
/// file types are skipped), giving everything to `owner` when set.
pub(crate) fn copy_tree(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    fs::create_dir(dst)?;
    copy_children(src, dst, owner)?;
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    if let Some((u, g)) = owner {
        std::os::unix::fs::lchown(dst, Some(u), Some(g))?;
    }
    Ok(())
}

fn copy_children(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    for e in fs::read_dir(src)? {
        let e = e?;
        let (s, d) = (e.path(), dst.join(e.file_name()));
        copy_one(&s, &d, owner)?;
    }
    Ok(())
}

fn copy_one(s: &Path, d: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let ft = fs::symlink_metadata(s)?.file_type();
    if ft.is_dir() {
        copy_tree(s, d, owner)?;
        return Ok(());
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(s)?, d)?;
    } else if ft.is_file() {
        fs::copy(s, d)?;
    } else {
        tracing::warn!(path = %s.display(), "skipping special file in workspace copy");
        return Ok(());
    }
    if let Some((u, g)) = owner {
        std::os::unix::fs::lchown(d, Some(u), Some(g))?;
    }
    Ok(())
}

/// Removes a file, symlink or directory tree, making directories writable
/// first when a non-root owner has locked them.
pub(crate) fn remove_any(p: &Path) -> io::Result<()> {
    let m = match fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if !m.is_dir() {
        return fs::remove_file(p);
    }
    if fs::remove_dir_all(p).is_ok() {
        return Ok(());
    }
    unlock_tree(p);
    fs::remove_dir_all(p)
}

fn unlock_tree(p: &Path) {
    let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o700));
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                unlock_tree(&e.path());
            }
        }
    }
}

/// The pristine copy and the live workspace, with the manifest of the live one.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    pristine: PathBuf,
    owner: Option<(u32, u32)>,
    manifest: BTreeMap<String, Entry>,
}

impl Workspace {
    /// A placeholder until [`Workspace::create`] has run.
    pub(crate) fn empty() -> Self {
        Self {
            root: PathBuf::new(),
            pristine: PathBuf::new(),
            owner: None,
            manifest: BTreeMap::new(),
        }
    }

    /// Copies `src` to `pristine` and `root`; `root` is given to `owner`.
    pub(crate) fn create(
        src: &Path,
        pristine: PathBuf,
        root: PathBuf,
        owner: Option<(u32, u32)>,
    ) -> io::Result<Self> {
        copy_tree(src, &pristine, None)?;
        copy_tree(src, &root, owner)?;
        let mut ws = Self {
            root,
            pristine,
            owner,
            manifest: BTreeMap::new(),
        };
        let mut manifest = BTreeMap::new();
        ws.scan("", &mut manifest)?;
        ws.manifest = manifest;
        Ok(ws)
    }

    fn abs(&self, base: &Path, rel: &str) -> PathBuf {
        if rel.is_empty() {
            base.to_path_buf()
        } else {
            base.join(rel)
        }
    }

    fn scan(&self, rel: &str, out: &mut BTreeMap<String, Entry>) -> io::Result<()> {
        let p = self.abs(&self.root, rel);
        let m = fs::symlink_metadata(&p)?;
        let Some(e) = entry(&m) else { return Ok(()) };
        out.insert(rel.to_owned(), e);
        if e.kind == Kind::Dir {
            for child in fs::read_dir(&p)? {
                let name = child?.file_name();
                let name = name.to_string_lossy();
                let crel = if rel.is_empty() {
                    name.into_owned()
                } else {
                    format!("{rel}/{name}")
                };
                self.scan(&crel, out)?;
            }
        }
        Ok(())
    }

    fn read_dir_forcing(&self, p: &Path) -> io::Result<fs::ReadDir> {
        match fs::read_dir(p) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                // A non-root owner locked its own directory; reopen it.
                fs::set_permissions(p, fs::Permissions::from_mode(0o700))?;
                fs::read_dir(p)
            }
            r => r,
        }
    }

    fn same_content(&self, rel: &str, kind: Kind) -> bool {
        let (a, b) = (self.abs(&self.root, rel), self.abs(&self.pristine, rel));
        match kind {
            Kind::Symlink => fs::read_link(a).ok() == fs::read_link(b).ok(),
            Kind::File => match (fs::read(a), fs::read(b)) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            },
            Kind::Dir => true,
        }
    }

    /// Differences from the pristine state; refreshes the manifest for entries
    /// whose metadata moved but whose content did not.
    ///
    /// Children are stat-ed relative to their open directory (`DirEntry::metadata`,
    /// no symlink followed), so a walk costs one `statx` per entry without a
    /// path lookup from the root.
    pub(crate) fn diff(&mut self) -> io::Result<Vec<Change>> {
        let mut changes = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(self.manifest.len());
        let mut refresh = Vec::new();
        let root_meta = fs::symlink_metadata(&self.root)?;
        let mut stack = vec![(String::new(), root_meta)];
        while let Some((rel, m)) = stack.pop() {
            let Some(now) = entry(&m) else {
                changes.push(Change::new(rel.clone(), ChangeKind::Added));
                continue;
            };
            match self.manifest.get(&rel) {
                None => changes.push(Change::new(rel.clone(), ChangeKind::Added)),
                Some(old) if old.kind != now.kind => {
                    changes.push(Change::new(rel.clone(), ChangeKind::Modified));
                }
                Some(old) if *old == now => {}
                Some(old) => {
                    let content_same = now.kind == Kind::Dir
                        || (old.size == now.size && self.same_content(&rel, now.kind));
                    if !content_same {
                        changes.push(Change::new(rel.clone(), ChangeKind::Modified));
                    } else if old.mode != now.mode {
                        changes.push(Change::new(rel.clone(), ChangeKind::ModeChanged));
                    } else {
                        refresh.push((rel.clone(), now));
                    }
                }
            }
            if now.kind == Kind::Dir {
                let p = self.abs(&self.root, &rel);
                for child in self.read_dir_forcing(&p)? {
                    let child = child?;
                    let cm = match child.metadata() {
                        Ok(cm) => cm,
                        // Removed between listing and stat (a straggler process).
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    let name = child.file_name();
                    let name = name.to_string_lossy();
                    let crel = if rel.is_empty() {
                        name.into_owned()
                    } else {
                        format!("{rel}/{name}")
                    };
                    stack.push((crel, cm));
                }
            }
            seen.insert(rel);
        }
        for (rel, e) in refresh {
            self.manifest.insert(rel, e);
        }
        for rel in self.manifest.keys() {
            if !seen.contains(rel) {
                changes.push(Change::new(rel.clone(), ChangeKind::Deleted));
            }
        }
        changes.sort();
        Ok(changes)
    }

    /// Rewrites a modified regular file in place with its pristine content and
    /// mode (cheaper than unlink + create on most file systems). Returns false,
    /// touching nothing, unless the live path is a regular file with a single
    /// link: a symlink or a hard link planted by the sandbox's commands is
    /// never written through.
    fn rewrite_in_place(&self, rel: &str) -> io::Result<bool> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let src = self.abs(&self.pristine, rel);
        if !fs::symlink_metadata(&src)?.is_file() {
            return Ok(false);
        }
        let live = self.abs(&self.root, rel);
        let mut f = match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&live)
        {
            Ok(f) => f,
            Err(_) => return Ok(false),
        };
        let m = f.metadata()?;
        if !m.is_file() || m.nlink() != 1 {
            return Ok(false);
        }
        let data = fs::read(&src)?;
        // Overwrite, then cut: truncating to zero first would make ext4
        // (auto_da_alloc) flush the file on close.
        f.write_all(&data)?;
        f.set_len(data.len() as u64)?;
        let mode = self.manifest.get(rel).map_or(0o644, |e| e.mode);
        if m.mode() & 0o7777 != mode {
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        if let Some((u, g)) = self.owner {
            if (m.uid(), m.gid()) != (u, g) {
                std::os::unix::fs::fchown(&f, Some(u), Some(g))?;
            }
        }
        Ok(true)
    }

    /// Restores the pristine state; returns what was reverted.
    pub(crate) fn reset(&mut self) -> io::Result<Vec<Change>> {
        let changes = self.diff()?;
        let mut removed_prefixes: Vec<String> = Vec::new();
        let under = |prefixes: &[String], rel: &str| {
            prefixes
                .iter()
                .any(|p| p.is_empty() || rel.starts_with(&format!("{p}/")))
        };
        for c in &changes {
            let live = self.abs(&self.root, &c.path);
            match c.kind {
                ChangeKind::Added => {
                    if !under(&removed_prefixes, &c.path) {
                        remove_any(&live)?;
                        removed_prefixes.push(c.path.clone());
                    }
                }
                ChangeKind::Modified | ChangeKind::Deleted => {
                    if c.kind == ChangeKind::Modified {
                        if self.rewrite_in_place(&c.path)? {
                            continue;
                        }
                        remove_any(&live)?;
                    }
                    if fs::symlink_metadata(&live).is_err() {
                        self.restore(&c.path)?;
                    }
                }
                ChangeKind::ModeChanged => {
                    let mode = self.manifest.get(&c.path).map(|e| e.mode).unwrap_or(0o644);
                    fs::set_permissions(&live, fs::Permissions::from_mode(mode))?;
                }
            }
        }
        // Record the new metadata of everything touched.
        for c in &changes {
            if c.kind == ChangeKind::Added {
                self.manifest.remove(&c.path);
                continue;
            }
            let mut fresh = BTreeMap::new();
            match self.scan(&c.path, &mut fresh) {
                Ok(()) => self.manifest.extend(fresh),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(changes)
    }

    fn restore(&self, rel: &str) -> io::Result<()> {
        let (src, dst) = (self.abs(&self.pristine, rel), self.abs(&self.root, rel));
        if let Some(parent) = dst.parent() {
            if !parent.exists() {
                // Parents sort first and are restored first; be safe anyway.
                let prel = Path::new(rel)
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned());
                if let Some(prel) = prel {
                    self.restore(&prel)?;
                }
            }
        }
        let ft = fs::symlink_metadata(&src)?.file_type();
        if ft.is_dir() {
            // Restore the directory itself; children are restored (or already are) separately.
            let m = fs::symlink_metadata(&src)?;
            fs::create_dir(&dst)?;
            fs::set_permissions(&dst, fs::Permissions::from_mode(m.mode() & 0o7777))?;
            if let Some((u, g)) = self.owner {
                std::os::unix::fs::lchown(&dst, Some(u), Some(g))?;
            }
            // Children that the diff reported as deleted are restored by their own entries.
            for child in fs::read_dir(&src)? {
                let child = child?;
                let d = dst.join(child.file_name());
                if fs::symlink_metadata(&d).is_err() {
                    copy_one(&child.path(), &d, self.owner)?;
                }
            }
            Ok(())
        } else {
            copy_one(&src, &dst, self.owner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, Workspace) {
        let src = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(src.path().join("pkg/sub")).expect("mkdir");
        fs::write(src.path().join("pkg/a.py"), "a = 1\n").expect("write");
        fs::write(src.path().join("pkg/sub/b.py"), "b = 2\n").expect("write");
        fs::write(src.path().join("run.sh"), "#!/bin/sh\n").expect("write");
        fs::set_permissions(src.path().join("run.sh"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let work = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::create(
            src.path(),
            work.path().join("pristine"),
            work.path().join("ws"),
            None,
        )
        .expect("create");
        (work, ws)
    }

    #[test]
    fn diff_and_reset_cover_every_kind_of_change() {
        let (_work, mut ws) = tree();
        assert!(ws.diff().expect("diff").is_empty());
        let r = ws.root.clone();
        fs::write(r.join("pkg/a.py"), "a = 2\n").expect("modify");
        fs::remove_file(r.join("pkg/sub/b.py")).expect("delete");
        fs::write(r.join("new.txt"), "x").expect("add");
        fs::create_dir(r.join("newdir")).expect("add dir");
        fs::write(r.join("newdir/f"), "x").expect("add in dir");
        fs::set_permissions(r.join("run.sh"), fs::Permissions::from_mode(0o600)).expect("chmod");
        let d = ws.diff().expect("diff");
        let kinds: Vec<(&str, ChangeKind)> = d.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("new.txt", ChangeKind::Added),
                ("newdir", ChangeKind::Added),
                ("newdir/f", ChangeKind::Added),
                ("pkg/a.py", ChangeKind::Modified),
                ("pkg/sub/b.py", ChangeKind::Deleted),
                ("run.sh", ChangeKind::ModeChanged),
            ]
        );
        ws.reset().expect("reset");
        assert!(ws.diff().expect("diff").is_empty());
        assert_eq!(
            fs::read_to_string(r.join("pkg/a.py")).expect("read"),
            "a = 1\n"
        );
        assert_eq!(
            fs::read_to_string(r.join("pkg/sub/b.py")).expect("read"),
            "b = 2\n"
        );
        assert!(!r.join("newdir").exists());
        let mode = fs::metadata(r.join("run.sh")).expect("stat").mode() & 0o777;
        assert_eq!(mode, 0o755);
    }

    #[test]
    fn reset_never_writes_through_a_planted_hard_link_or_symlink() {
        let (work, mut ws) = tree();
        let outside = work.path().join("outside.txt");
        fs::write(&outside, "precious\n").expect("write");
        fs::remove_file(ws.root.join("pkg/a.py")).expect("rm");
        fs::hard_link(&outside, ws.root.join("pkg/a.py")).expect("link");
        fs::remove_file(ws.root.join("pkg/sub/b.py")).expect("rm");
        std::os::unix::fs::symlink(&outside, ws.root.join("pkg/sub/b.py")).expect("symlink");
        let d = ws.reset().expect("reset");
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(fs::read_to_string(&outside).expect("read"), "precious\n");
        assert_eq!(
            fs::read_to_string(ws.root.join("pkg/a.py")).expect("read"),
            "a = 1\n"
        );
        assert!(ws.root.join("pkg/sub/b.py").is_file());
        assert_eq!(
            fs::read_to_string(ws.root.join("pkg/sub/b.py")).expect("read"),
            "b = 2\n"
        );
        assert!(ws.diff().expect("diff").is_empty());
    }

    #[test]
    fn modified_file_is_restored_in_place_with_its_mode() {
        let (_work, mut ws) = tree();
        let p = ws.root.join("run.sh");
        let ino = fs::metadata(&p).expect("stat").ino();
        fs::write(&p, "#!/bin/sh\nrm -rf /\n").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod");
        let d = ws.reset().expect("reset");
        assert_eq!(d, vec![Change::new("run.sh", ChangeKind::Modified)]);
        let m = fs::metadata(&p).expect("stat");
        assert_eq!(m.ino(), ino, "restored in place");
        assert_eq!(m.mode() & 0o777, 0o755);
        assert_eq!(fs::read_to_string(&p).expect("read"), "#!/bin/sh\n");
        assert!(ws.diff().expect("diff").is_empty());
    }

    #[test]
    fn rewriting_identical_content_is_not_a_change() {
        let (_work, mut ws) = tree();
        fs::remove_file(ws.root.join("pkg/a.py")).expect("rm");
        fs::write(ws.root.join("pkg/a.py"), "a = 1\n").expect("rewrite");
        assert!(ws.diff().expect("diff").is_empty());
    }

    #[test]
    fn deleted_directory_is_restored_with_children() {
        let (_work, mut ws) = tree();
        fs::remove_dir_all(ws.root.join("pkg")).expect("rm");
        ws.reset().expect("reset");
        assert_eq!(
            fs::read_to_string(ws.root.join("pkg/sub/b.py")).expect("read"),
            "b = 2\n"
        );
        assert!(ws.diff().expect("diff").is_empty());
    }

    #[test]
    fn file_replaced_by_directory_is_restored() {
        let (_work, mut ws) = tree();
        fs::remove_file(ws.root.join("run.sh")).expect("rm");
        fs::create_dir(ws.root.join("run.sh")).expect("mkdir");
        fs::write(ws.root.join("run.sh/x"), "x").expect("write");
        ws.reset().expect("reset");
        assert!(ws.root.join("run.sh").is_file());
        assert!(ws.diff().expect("diff").is_empty());
    }
}
