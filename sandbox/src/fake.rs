//! [`FakeSandbox`]: an in-memory test double (feature `testing`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::path::normalize;
use crate::{Change, ChangeKind, Command, Error, ErrorKind, ExecOutput, ExitStatus, Program};
use crate::{Result, Sandbox};

type Responder = Box<dyn Fn(&Command) -> Option<ExecOutput> + Send + Sync>;

/// An in-memory [`Sandbox`] for fast tests of code that uses the trait.
///
/// Files live in a map; `reset` and `changed_files` compare it with the initial
/// map. `exec` records every command and answers with the first matching
/// responder (exit code 127 and an error on stderr when none matches).
///
/// ```
/// use debugenv_sandbox::{Command, ExecOutput, ExitStatus, FakeSandbox, Sandbox};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let fake = FakeSandbox::new([("app.py", "print(1)\n")]);
/// fake.respond(|cmd| Some(ExecOutput::new(b"ok\n".to_vec(), vec![], ExitStatus::Code(0))));
/// fake.write_file("app.py", b"print(2)\n").await?;
/// assert_eq!(fake.exec(&Command::shell("pytest")).await?.stdout, b"ok\n");
/// assert_eq!(fake.changed_files().await?.len(), 1);
/// fake.reset().await?;
/// assert_eq!(fake.read_file("app.py").await?, b"print(1)\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FakeSandbox {
    pristine: BTreeMap<String, Vec<u8>>,
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    log: Mutex<Vec<Command>>,
    responders: Mutex<Vec<Responder>>,
}

impl std::fmt::Debug for FakeSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSandbox")
            .field("files", &self.lock_files().len())
            .finish_non_exhaustive()
    }
}

impl FakeSandbox {
    /// A fake whose pristine workspace holds `files` (path, contents).
    pub fn new<I, P, C>(files: I) -> Self
    where
        I: IntoIterator<Item = (P, C)>,
        P: Into<String>,
        C: Into<Vec<u8>>,
    {
        let pristine: BTreeMap<String, Vec<u8>> = files
            .into_iter()
            .map(|(p, c)| (p.into(), c.into()))
            .collect();
        Self {
            files: Mutex::new(pristine.clone()),
            pristine,
            log: Mutex::new(Vec::new()),
            responders: Mutex::new(Vec::new()),
        }
    }

    /// Adds a responder; the first one returning `Some` answers a command.
    pub fn respond(&self, f: impl Fn(&Command) -> Option<ExecOutput> + Send + Sync + 'static) {
        self.responders
            .lock()
            .expect("fake sandbox lock poisoned")
            .push(Box::new(f));
    }

    /// Every command executed so far, in order.
    pub fn executed(&self) -> Vec<Command> {
        self.log.lock().expect("fake sandbox lock poisoned").clone()
    }

    fn lock_files(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.files.lock().expect("fake sandbox lock poisoned")
    }

    fn diff(&self) -> Vec<Change> {
        let files = self.lock_files();
        let mut out = Vec::new();
        for (p, c) in files.iter() {
            match self.pristine.get(p) {
                None => out.push(Change::new(p.clone(), ChangeKind::Added)),
                Some(orig) if orig != c => out.push(Change::new(p.clone(), ChangeKind::Modified)),
                Some(_) => {}
            }
        }
        for p in self.pristine.keys() {
            if !files.contains_key(p) {
                out.push(Change::new(p.clone(), ChangeKind::Deleted));
            }
        }
        out.sort();
        out
    }
}

impl Sandbox for FakeSandbox {
    async fn exec(&self, cmd: &Command) -> Result<ExecOutput> {
        cmd.validate()?;
        self.log
            .lock()
            .expect("fake sandbox lock poisoned")
            .push(cmd.clone());
        let responders = self.responders.lock().expect("fake sandbox lock poisoned");
        if let Some(mut out) = responders.iter().find_map(|r| r(cmd)) {
            if out.stdout.len() > cmd.output_limit || out.stderr.len() > cmd.output_limit {
                out.stdout.truncate(cmd.output_limit);
                out.stderr.truncate(cmd.output_limit);
                out.truncated = true;
            }
            return Ok(out);
        }
        let name = match &cmd.program {
            Program::Argv(v) => v.first().cloned().unwrap_or_default(),
            Program::Shell(l) => l.clone(),
        };
        Ok(ExecOutput::new(
            Vec::new(),
            format!("fake sandbox: no responder for `{name}`\n").into_bytes(),
            ExitStatus::Code(127),
        ))
    }

    async fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let p = normalize("read file", path)?;
        self.lock_files().get(&p).cloned().ok_or_else(|| {
            Error::new(
                "failed to read file",
                ErrorKind::NotFound {
                    path: path.to_owned(),
                },
            )
        })
    }

    async fn write_file(&self, path: &str, contents: &[u8]) -> Result<()> {
        let p = normalize("write file", path)?;
        self.lock_files().insert(p, contents.to_vec());
        Ok(())
    }

    async fn reset(&self) -> Result<Vec<Change>> {
        let changes = self.diff();
        *self.lock_files() = self.pristine.clone();
        Ok(changes)
    }

    async fn changed_files(&self) -> Result<Vec<Change>> {
        Ok(self.diff())
    }

    async fn destroy(self) -> Result<()> {
        Ok(())
    }
}
