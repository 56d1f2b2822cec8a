# debugenv's pytest fork server and its client (one file, two modes).
#
#   python -s -P -c SCRIPT server SOCKET PLUGINS MODULE...
#   python -s -P -c SCRIPT client SOCKET PID START_TIME -- PYTEST_ARG...
#
# The server imports the named third-party modules once (never anything of
# the workspace: it runs in / with no workspace on sys.path), makes itself
# non-dumpable (no ptrace, no /proc/PID/mem for the sandbox's user) and forks
# one fresh child per request. A child takes the client's stdin, stdout and
# stderr (passed over the socket), its working directory, environment and
# arguments, and runs `python -m pytest ARGS` in-process: the workspace's code
# is imported by the child only, so every edit is seen.
#
# The client checks that the socket's owner is the process the harness
# started (pid and start time from SO_PEERCRED and /proc), sends the request
# and exits with the child's status. When the server is unreachable or is not
# that process, it writes the reason to $DEBUGENV_PRELOAD_NOTE (when set) and
# execs the same pytest run cold: the result never depends on the server.
import os
import socket
import struct
import sys

MAGIC = b"DEBUGENV-PRELOAD-1"


def start_time(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def pack(words):
    out = [struct.pack("!I", len(words))]
    for w in words:
        out.append(struct.pack("!I", len(w)))
        out.append(w)
    return b"".join(out)


def unpack(data, at):
    (n,) = struct.unpack_from("!I", data, at)
    at += 4
    words = []
    for _ in range(n):
        (size,) = struct.unpack_from("!I", data, at)
        at += 4
        words.append(data[at : at + size])
        at += size
    return words, at


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


# ---------------------------------------------------------------- client


def client(argv):
    path, pid, start = argv[0], int(argv[1]), int(argv[2])
    args = argv[4:] if argv[3:4] == ["--"] else argv[3:]
    try:
        conn = connect(path, pid, start)
    except (OSError, ValueError, EOFError) as e:
        why = ""
        try:
            with open(path + ".why") as f:
                why = " (the server: %s)" % f.read(500)
        except OSError:
            pass
        cold(args, str(e) + why)
    fds = [0, 1, 2]
    env = [k + b"=" + v for k, v in os.environb.items()]
    body = MAGIC + pack([os.getcwdb()]) + pack([a.encode() for a in args]) + pack(env)
    try:
        conn.sendmsg(
            [struct.pack("!I", len(body)), body],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", *fds))],
        )
        status = struct.unpack("!i", recv_exact(conn, 4))[0]
    except (OSError, EOFError) as e:
        # The child may have run part of the tests: no cold re-run (its
        # output is already mixed in); the harness sees a crash.
        sys.stderr.write("debugenv-preload: lost the test process: %s\n" % e)
        note("lost: %s" % e)
        os._exit(70)
    os._exit(status)


def connect(path, pid, start):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(path)
    cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    peer, uid, _ = struct.unpack("3i", cred)
    if peer != pid or uid != os.getuid() or start_time(peer) != start:
        raise ValueError("the socket's server is not the harness's (pid %d)" % peer)
    conn.settimeout(None)
    return conn


def note(text):
    path = os.environ.get("DEBUGENV_PRELOAD_NOTE")
    if path:
        try:
            with open(path, "a") as f:
                f.write(text.replace("\n", " ") + "\n")
        except OSError:
            pass


def cold(args, reason):
    note("cold: %s" % reason)
    os.environ.pop("DEBUGENV_PRELOAD_NOTE", None)
    os.execv(sys.executable, [sys.executable, "-s", "-m", "pytest"] + args)


# ---------------------------------------------------------------- server


def server(argv):
    import signal

    path, plugins, modules = argv[0], argv[1], argv[2:]
    plugins = [p for p in plugins.split(",") if p and p != "-"]
    # Started in the workspace: remember it, then leave it.
    workspace = os.path.realpath(os.getcwd())
    os.chdir("/")
    try:
        os.setsid()
    except OSError:  # already a session leader
        pass
    set_dumpable(0)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    for stale in (path, path + ".why"):
        try:
            os.unlink(stale)
        except FileNotFoundError:
            pass
    listener.bind(path)
    os.umask(old)
    listener.listen(64)
    # Clients wait in the backlog while the imports run.
    for name in modules:
        try:
            __import__(name)
        except Exception as e:  # a module that needs settings: the child imports it
            sys.stderr.write("debugenv-preload: %s not preloaded: %r\n" % (name, e))
    refusal = why_not_serve(plugins, workspace)
    if refusal:
        # Clients find the socket refusing and the reason beside it.
        try:
            with open(path + ".why", "w") as f:
                f.write(refusal)
        except OSError:
            pass
        listener.close()
        os._exit(3)
    # What the imports made lives as long as the server: out of the
    # collector's sight, so that no child's collections walk it (pytest
    # collects at every session's end) nor copy its pages.
    import gc

    gc.collect()
    gc.freeze()
    import selectors

    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    children = {}  # conn fd -> (conn, child pid)
    while True:
        for key, _ in sel.select(timeout=1.0):
            if key.data is None:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                pid = serve(conn, listener, sel)
                if pid:
                    children[conn.fileno()] = (conn, pid)
                    sel.register(conn, selectors.EVENT_READ, pid)
                else:
                    conn.close()
            else:
                # The client went away (done, or killed by a timeout): its
                # child must not outlive it.
                conn, pid = children.pop(key.fd)
                sel.unregister(conn)
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                conn.close()
        while True:
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if done == 0:
                break


def why_not_serve(plugins, workspace):
    """Why forks of this process would not run as a cold pytest would, or None."""
    for name, module in list(sys.modules.items()):
        # pytest rewrites the asserts of a plugin as it imports it.
        for p in plugins:
            if name == p or name.startswith(p + "."):
                return "the plugin %s got imported" % p
        # Workspace code must be imported by each child, so edits are seen
        # (an editable install could bring it in).
        f = getattr(module, "__file__", None)
        if isinstance(f, str):
            real = os.path.realpath(f)
            if real == workspace or real.startswith(workspace.rstrip("/") + "/"):
                return "%s comes from the workspace (%s)" % (name, f)
    # A fork carries one thread only: a thread started by an import would
    # be missing in every child.
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return "an import started a thread"
    return None


def set_dumpable(flag):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_DUMPABLE = 4
    if libc.prctl(PR_SET_DUMPABLE, flag, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")


def serve(conn, listener, sel):
    """Reads one request and forks its child; returns the child's pid."""
    try:
        conn.settimeout(10)
        # One recvmsg loop for the whole message: the descriptors ride on
        # its first bytes, and a plain recv would drop them.
        fds = []
        data = b""
        size = None
        while size is None or len(data) < 4 + size:
            want = 4 - len(data) if size is None else 4 + size - len(data)
            msg, anc, _, _ = conn.recvmsg(want, socket.CMSG_SPACE(struct.calcsize("3i")))
            if not msg:
                return None
            data += msg
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    whole = len(payload) // 4 * 4
                    fds.extend(struct.unpack("%di" % (whole // 4), payload[:whole]))
            if size is None and len(data) >= 4:
                (size,) = struct.unpack("!I", data[:4])
                if size > 64 << 20:
                    return None
        data = data[4:]
        conn.settimeout(None)
        if not data.startswith(MAGIC) or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            return None
        (cwd,), at = unpack(data, len(MAGIC))
        args, at = unpack(data, at)
        env, at = unpack(data, at)
    except (OSError, EOFError, struct.error, ValueError):
        return None
    pid = os.fork()
    if pid == 0:
        try:
            child(conn, listener, sel, fds, cwd, args, env)
        finally:
            os._exit(70)
    for fd in fds:
        os.close(fd)
    return pid


def child(conn, listener, sel, fds, cwd, args, env):
    import signal

    os.setsid()
    sel.close()
    listener.close()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    set_dumpable(1)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    for item in env:
        k, _, v = item.partition(b"=")
        os.environb[k] = v
    import time

    time.tzset()  # TZ as the run's environment says
    sys.path.insert(0, os.fsdecode(cwd))
    extra = os.environ.get("PYTHONPATH")
    if extra:
        sys.path[1:1] = [p for p in extra.split(os.pathsep) if p]
    sys.argv = ["pytest"] + [os.fsdecode(a) for a in args]
    # New standard streams on the passed descriptors.
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False, buffering=1 if os.isatty(1) else -1)
    sys.stderr = open(2, "w", closefd=False, buffering=1)
    status = 1
    try:
        import runpy

        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as e:
        code = e.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code & 0xFF
        else:
            sys.stderr.write("%s\n" % code)
            status = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        conn.sendall(struct.pack("!i", status))
    except OSError:
        pass
    os._exit(status)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "server":
        server(sys.argv[2:])
    elif mode == "client":
        client(sys.argv[2:])
    else:
        sys.stderr.write("usage: preload server SOCKET MODULE... | client SOCKET PID START -- ARG...\n")
        sys.exit(2)
