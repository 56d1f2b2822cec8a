//! Running one command of a local sandbox: process group, confinement, capped
//! output, timeout with SIGTERM, grace, SIGKILL of the whole tree.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::Inner;
use crate::command::CappedBuf;
use crate::path::symlink_escape;
use crate::sys;
use crate::{Command, Error, ErrorKind, ExecOutput, ExitStatus, Resident, Result};

/// Reads a stream to its end, keeping at most `limit` bytes: memory stays
/// bounded however much the command writes.
async fn read_capped(mut r: impl AsyncRead + Unpin, limit: usize) -> CappedBuf {
    let mut buf = CappedBuf::new(limit);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.push(&chunk[..n]),
        }
    }
    buf
}

/// The running groups or the residents (a poisoned lock's data is still good).
fn lock_pids(m: &Mutex<Vec<i32>>) -> std::sync::MutexGuard<'_, Vec<i32>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a running command's process group for as long as it lives.
struct GroupGuard<'a> {
    groups: &'a Mutex<Vec<i32>>,
    pgid: i32,
}

impl<'a> GroupGuard<'a> {
    fn new(groups: &'a Mutex<Vec<i32>>, pgid: i32) -> Self {
        lock_pids(groups).push(pgid);
        Self { groups, pgid }
    }
}

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        let mut g = lock_pids(self.groups);
        if let Some(i) = g.iter().position(|p| *p == self.pgid) {
            g.swap_remove(i);
        }
    }
}

fn convert(s: std::process::ExitStatus) -> ExitStatus {
    match (s.code(), s.signal()) {
        (Some(c), _) => ExitStatus::Code(c),
        (None, Some(sig)) => ExitStatus::Signal(sig),
        (None, None) => ExitStatus::Code(-1),
    }
}

/// The confined process for `cmd` (argv, scrubbed environment, working
/// directory, rlimits, uid, network namespace), its standard streams unset.
fn build(inner: &Inner, cmd: &Command) -> Result<(std::process::Command, Vec<String>)> {
    cmd.validate()?;
    let cwd = match &cmd.cwd {
        None => inner.ws_root.clone(),
        Some(dir) => {
            let p = inner.resolve("run command", dir, false)?;
            if !p.is_dir() {
                return Err(Error::new(
                    "failed to run command",
                    ErrorKind::Exec {
                        message: format!("working directory `{dir}` is not a directory"),
                    },
                ));
            }
            if !p.starts_with(&inner.ws_root) {
                return Err(symlink_escape("run command", dir));
            }
            p
        }
    };
    let argv = cmd.full_argv();
    let mut std_cmd = std::process::Command::new(&argv[0]);
    std_cmd
        .args(&argv[1..])
        .env_clear()
        .envs(inner.env.iter().map(|(k, v)| (k, v)))
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&cwd);
    Ok((std_cmd, argv))
}

/// Starts `cmd` as a resident: its own session, streams on `/dev/null`,
/// registered so that clean-ups spare it until it exits (then reaped).
pub(super) async fn spawn_resident(inner: &Arc<Inner>, cmd: &Command) -> Result<Resident> {
    let (mut std_cmd, argv) = build(inner, cmd)?;
    std_cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[expect(
        unsafe_code,
        reason = "pre_exec runs between fork and exec; setsid is async-signal-safe"
    )]
    // SAFETY: setsid takes no arguments and allocates nothing.
    unsafe {
        std_cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    sys::confine(&mut std_cmd, inner.confinement);
    let mut child = tokio::process::Command::from(std_cmd)
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| Error::io(format!("failed to start resident `{}`", argv[0]), e))?;
    let pid = child.id().ok_or_else(|| {
        Error::new(
            "failed to start a resident process",
            ErrorKind::Exec {
                message: "it exited at once".into(),
            },
        )
    })?;
    let start_time = sys::start_time(pid).ok_or_else(|| {
        Error::new(
            "failed to start a resident process",
            ErrorKind::Exec {
                message: format!("no /proc entry for pid {pid}"),
            },
        )
    })?;
    lock_pids(&inner.residents).push(pid as i32);
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        let _ = child.wait().await;
        if let Some(inner) = weak.upgrade() {
            lock_pids(&inner.residents).retain(|p| *p != pid as i32);
        }
    });
    Ok(Resident::new(pid, start_time))
}

impl Inner {
    /// Pids of the residents alive right now.
    pub(super) fn resident_pids(&self) -> Vec<i32> {
        lock_pids(&self.residents).clone()
    }
}

pub(super) async fn run(inner: &Inner, cmd: &Command) -> Result<ExecOutput> {
    let (mut std_cmd, argv) = build(inner, cmd)?;
    std_cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    sys::confine(&mut std_cmd, inner.confinement);
    let mut child_cmd = tokio::process::Command::from(std_cmd);
    child_cmd.kill_on_drop(true);

    let start = Instant::now();
    let mut child = match child_cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            // Mirror a shell: 127 for a missing program, 126 for one that cannot run.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let mut out = ExecOutput::new(
                Vec::new(),
                format!("debugenv-sandbox: {}: {e}\n", argv[0]).into_bytes(),
                ExitStatus::Code(code),
            );
            out.duration = start.elapsed();
            return Ok(out);
        }
    };
    let pgid = child.id().map(|p| p as i32).ok_or_else(|| {
        Error::new(
            "failed to run command",
            ErrorKind::Exec {
                message: "child exited before it could be supervised".into(),
            },
        )
    })?;
    let _group = GroupGuard::new(&inner.running_groups, pgid);
    let out_task = tokio::spawn(read_capped(
        child.stdout.take().expect("piped"),
        cmd.output_limit,
    ));
    let err_task = tokio::spawn(read_capped(
        child.stderr.take().expect("piped"),
        cmd.output_limit,
    ));

    let wait_err = |e: std::io::Error| Error::io("failed to wait for command", e);
    let mut timed_out = false;
    let status = match tokio::time::timeout(cmd.timeout, child.wait()).await {
        Ok(s) => s.map_err(wait_err)?,
        Err(_) => {
            timed_out = true;
            let _ = sys::kill(-pgid, libc::SIGTERM);
            let grace_end = Instant::now() + inner.opts.kill_grace;
            // Wait for the leader and the rest of its group, up to the grace period.
            let mut status = None;
            while Instant::now() < grace_end {
                if status.is_none() {
                    status = child.try_wait().map_err(wait_err)?;
                }
                if status.is_some() && !sys::group_alive(pgid) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = sys::kill(-pgid, libc::SIGKILL);
            match status {
                Some(s) => s,
                None => child.wait().await.map_err(wait_err)?,
            }
        }
    };
    // Background processes do not outlive their command.
    let _ = sys::kill(-pgid, libc::SIGKILL);
    let duration = start.elapsed();

    // Descendants that left the group may still hold the pipes open.
    let readers = async { (out_task.await, err_task.await) };
    tokio::pin!(readers);
    let (out, err) = match tokio::time::timeout(Duration::from_millis(300), &mut readers).await {
        Ok(r) => r,
        Err(_) => {
            if let Some((uid, _)) = inner.agent {
                let keep: Vec<i32> = lock_pids(&inner.running_groups)
                    .iter()
                    .copied()
                    .filter(|g| *g != pgid)
                    .collect();
                let spare = inner.resident_pids();
                tokio::task::spawn_blocking(move || sys::kill_uid_outside(uid, &keep, &spare))
                    .await
                    .ok();
            }
            match tokio::time::timeout(Duration::from_secs(2), &mut readers).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::new(
                        "failed to collect command output",
                        ErrorKind::Exec {
                            message: "a process that escaped the command's group keeps its \
                                      output open"
                                .into(),
                        },
                    ));
                }
            }
        }
    };
    let join_err = |e: tokio::task::JoinError| {
        Error::new(
            "failed to collect command output",
            ErrorKind::Exec {
                message: e.to_string(),
            },
        )
    };
    let (out, err) = (out.map_err(join_err)?, err.map_err(join_err)?);
    if let Some((uid, _)) = inner.agent {
        if timed_out {
            // Everything of the user but the residents.
            let spare = inner.resident_pids();
            tokio::task::spawn_blocking(move || sys::kill_uid_outside(uid, &[], &spare))
                .await
                .ok();
        } else {
            // Processes that left the group (setsid) die too, sparing the
            // groups of commands still running in this sandbox: between
            // commands nothing of the sandbox's user runs.
            let keep: Vec<i32> = lock_pids(&inner.running_groups)
                .iter()
                .copied()
                .filter(|g| *g != pgid)
                .collect();
            let spare = inner.resident_pids();
            tokio::task::spawn_blocking(move || sys::kill_uid_outside(uid, &keep, &spare))
                .await
                .ok();
        }
    }
    Ok(ExecOutput {
        truncated: out.dropped > 0 || err.dropped > 0,
        stdout: out.data,
        stderr: err.data,
        status: convert(status),
        duration,
        timed_out,
    })
}
