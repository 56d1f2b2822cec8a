//! The few system calls std does not offer, each wrapped once and audited here,
//! plus `/proc` helpers.

use std::io;
use std::path::Path;

/// Network confinement applied to a child before it executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetNs {
    /// Share the host's network.
    Host,
    /// A fresh network namespace (needs CAP_SYS_ADMIN, i.e. root).
    New,
    /// A fresh user + network namespace (unprivileged hosts that allow user namespaces).
    NewWithUserNs,
}

/// What the pre-exec hook does in the child, in this order: network namespace
/// (bringing loopback up), rlimits, then dropping to `user`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confinement {
    pub(crate) netns: NetNs,
    /// (address space bytes, processes, cpu seconds)
    pub(crate) rlimits: Option<(u64, u64, u64)>,
    /// (uid, gid) to switch to; requires root.
    pub(crate) user: Option<(u32, u32)>,
}

/// Installs `c` as a pre-exec hook of `cmd`.
pub(crate) fn confine(cmd: &mut std::process::Command, c: Confinement) {
    use std::os::unix::process::CommandExt;
    #[expect(
        unsafe_code,
        reason = "pre_exec runs between fork and exec; the hook only makes async-signal-safe \
                  system calls (unshare, socket, ioctl, close, setrlimit, setgroups, setgid, \
                  setuid) on stack data and allocates nothing"
    )]
    unsafe {
        cmd.pre_exec(move || apply(c));
    }
}

#[expect(
    unsafe_code,
    reason = "raw system calls on plain stack values; called only from the pre_exec hook"
)]
fn apply(c: Confinement) -> io::Result<()> {
    fn check(r: libc::c_int) -> io::Result<()> {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
    // SAFETY: every call below takes plain integers or pointers to live stack
    // values, and all are async-signal-safe.
    unsafe {
        match c.netns {
            NetNs::Host => {}
            NetNs::New => check(libc::unshare(libc::CLONE_NEWNET))?,
            NetNs::NewWithUserNs => {
                check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET))?;
            }
        }
        if c.netns != NetNs::Host {
            // Bring `lo` up so the command can use 127.0.0.1 inside its namespace.
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if fd >= 0 {
                let mut req: libc::ifreq = std::mem::zeroed();
                for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
                    *dst = *src as libc::c_char;
                }
                if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 {
                    req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                    libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut req);
                }
                libc::close(fd);
            }
        }
        if let Some((as_bytes, nproc, cpu)) = c.rlimits {
            for (res, v) in [
                (libc::RLIMIT_AS, as_bytes),
                (libc::RLIMIT_NPROC, nproc),
                (libc::RLIMIT_CPU, cpu),
                (libc::RLIMIT_CORE, 0),
            ] {
                // CPU: SIGXCPU at the soft limit, SIGKILL one second later.
                let hard = if res == libc::RLIMIT_CPU {
                    v.saturating_add(1)
                } else {
                    v
                };
                let lim = libc::rlimit {
                    rlim_cur: v as libc::rlim_t,
                    rlim_max: hard as libc::rlim_t,
                };
                check(libc::setrlimit(res, &lim))?;
            }
        }
        if let Some((uid, gid)) = c.user {
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(gid))?;
            check(libc::setuid(uid))?;
        }
    }
    Ok(())
}

/// Sends `sig` to a process (`pid > 0`) or a process group (`pid < 0`).
/// A missing target is not an error.
pub(crate) fn kill(pid: i32, sig: i32) -> io::Result<()> {
    if pid == 0 || pid == -1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing pid 0 or -1",
        ));
    }
    #[expect(
        unsafe_code,
        reason = "kill(2) with integer arguments; 0 and -1 excluded above"
    )]
    // SAFETY: plain system call on integers.
    let r = unsafe { libc::kill(pid, sig) };
    if r == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// Whether a process group still has members.
pub(crate) fn group_alive(pgid: i32) -> bool {
    #[expect(
        unsafe_code,
        reason = "kill(2) with signal 0 only probes for existence"
    )]
    // SAFETY: plain system call on integers; signal 0 sends nothing.
    let r = unsafe { libc::kill(-pgid, 0) };
    r == 0
}

/// Whether this process may create entries in directory `dir` (access(2)
/// with write and search permission).
pub(crate) fn access_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    #[expect(
        unsafe_code,
        reason = "access(2) on a NUL-terminated path that outlives the call"
    )]
    // SAFETY: `c` is a valid C string for the duration of the call.
    let r = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) };
    r == 0
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// The start time (in clock ticks since boot) of `pid`, from `/proc/<pid>/stat`.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// (pid, process group) of the live (non-zombie) processes owned by `uid`.
pub(crate) fn processes_of_uid(uid: u32) -> Vec<(i32, i32)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        if e.metadata().ok()?.uid() != uid {
            return None;
        }
        // Zombies are dead already; their parent (or init) reaps them.
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ');
        let state = fields.next()?;
        let pgid: i32 = fields.nth(1)?.parse().ok()?;
        (state != "Z").then_some((pid, pgid))
    })
    .collect()
}

/// Pids of processes owned by `uid`.
pub(crate) fn pids_of_uid(uid: u32) -> Vec<i32> {
    processes_of_uid(uid).into_iter().map(|(p, _)| p).collect()
}

/// SIGKILLs every process of `uid` whose process group is not in `keep`
/// (commands still running) and whose pid is not in `spare` (residents),
/// until none is left (bounded). Returns how many were signalled. For
/// processes that left their command's group (`setsid`).
pub(crate) fn kill_uid_outside(uid: u32, keep: &[i32], spare: &[i32]) -> usize {
    if uid == 0 || uid == euid() {
        return 0;
    }
    let mut total = 0;
    for _ in 0..50 {
        let strays: Vec<i32> = processes_of_uid(uid)
            .into_iter()
            .filter(|(p, g)| !keep.contains(g) && !spare.contains(p))
            .map(|(p, _)| p)
            .collect();
        if strays.is_empty() {
            break;
        }
        for p in &strays {
            let _ = kill(*p, libc::SIGKILL);
        }
        total += strays.len();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    total
}

/// Pids of processes whose working directory is inside `dir`.
pub(crate) fn pids_with_cwd_under(dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            (pid != me && cwd.starts_with(dir)).then_some(pid)
        })
        .collect()
}

/// SIGKILLs every process of `uid` until none is left (bounded), for sandboxes
/// that own a private uid. Returns how many were signalled.
pub(crate) fn kill_uid(uid: u32) -> usize {
    if uid == 0 || uid == euid() {
        return 0;
    }
    let mut total = 0;
    for _ in 0..50 {
        let pids = pids_of_uid(uid);
        if pids.is_empty() {
            break;
        }
        for p in &pids {
            let _ = kill(*p, libc::SIGKILL);
        }
        total += pids.len();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    total
}
