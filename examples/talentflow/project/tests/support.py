"""Test machinery: forced interleavings, fresh imports, loopback servers, a Celery worker."""
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import psycopg
from django.conf import settings
from django.db import connection

from apps.common.hooks import listening

PROJECT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout=15.0, what="condition"):
    """Poll ``predicate`` (a state check, not a guess) until true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        pause.wait(0.002)


class Observer:
    """A separate autocommit connection that watches other backends' lock waits."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.conn = psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
            dbname="postgres", autocommit=True,
        )

    def blocked(self, pid):
        row = self.conn.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid]).fetchone()
        return bool(row and row[0])

    def terminate(self, pid):
        self.conn.execute("SELECT pg_terminate_backend(%s)", [pid])

    def close(self):
        self.conn.close()


class Worker:
    """Runs ``fn`` in a thread with its own database connection (short lock timeouts)."""

    def __init__(self, name, fn, db=True):
        self.name = name
        self.fn = fn
        self.db = db
        self.result = None
        self.error = None
        self.pid = None
        self.arrived = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        try:
            if self.db:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '8s'")
                    cursor.execute("SET deadlock_timeout = '50ms'")
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
        finally:
            if self.db:
                connection.close()
            self.done.set()

    def start(self):
        self.thread.start()

    def join(self, timeout=20):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError(f"{self.name} did not finish")


def race(first, second, checkpoint_name, second_waits=True, timeout=15):
    """Force the interleaving of two concurrent operations at ``checkpoint_name``.

    ``first`` runs until it reaches the checkpoint; then ``second`` starts, and
    ``first`` continues only once ``second`` is either blocked on a database
    lock held by ``first`` or has reached the checkpoint itself. With
    ``second_waits``, ``second`` then holds at the checkpoint until ``first``
    has finished (committed). Returns the two ``Worker`` objects.
    """
    a = Worker("race-first", first)
    b = Worker("race-second", second)
    observer = Observer()

    def listener(**context):
        me = threading.current_thread()
        if me is a.thread and not a.arrived.is_set():
            a.arrived.set()
            b.start()
            wait_until(
                lambda: b.arrived.is_set() or b.done.is_set() or (b.pid is not None and observer.blocked(b.pid)),
                timeout, "the second operation to block or arrive",
            )
        elif me is b.thread and not b.arrived.is_set():
            b.arrived.set()
            if second_waits and not a.done.wait(timeout):
                raise TimeoutError("first operation did not finish")

    try:
        with listening(checkpoint_name, listener):
            a.start()
            a.join(timeout + 5)
            if not b.thread.is_alive() and not b.done.is_set():
                b.start()  # first never reached the checkpoint
            b.join(timeout + 5)
    finally:
        observer.close()
    return a, b


def run_threads(*fns, timeout=20, db=True):
    workers = [Worker(f"worker-{i}", fn, db=db) for i, fn in enumerate(fns)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout)
    return workers


# -------------------------------------------------------------- fresh imports


@contextlib.contextmanager
def fresh_modules(*prefixes):
    """Temporarily forget modules under ``prefixes`` so the next import runs them anew."""
    saved = {name: mod for name, mod in sys.modules.items() if any(name == p or name.startswith(p + ".") for p in prefixes)}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if any(n == p or n.startswith(p + ".") for p in prefixes)]:
            del sys.modules[name]
        sys.modules.update(saved)


def load_settings(module, env, monkeypatch):
    """Import a settings module afresh under ``env``; returns its namespace as a dict."""
    for key in ("TALENTFLOW_ENV", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DB_CONN_MAX_AGE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with fresh_modules("talentflow.settings"):
        mod = importlib.import_module(module)
        return {k: v for k, v in vars(mod).items() if k.isupper()}


def run_python(code, env=None, timeout=60):
    """Run Python code in a fresh interpreter in the project directory."""
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


# ------------------------------------------------------------ loopback HTTP


class LoopbackServer:
    """An HTTP server on 127.0.0.1 that records requests; ``routes`` maps path -> handler."""

    def __init__(self, routes=None, host="127.0.0.1"):
        self.requests = []
        self.routes = routes or {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    status, headers, payload = 200, {"Content-Type": "application/json"}, b'{"secret": "internal"}'
                else:
                    status, headers, payload = route(self.path, self.headers, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = host
        # shutdown() returns at the loop's next poll: a short interval keeps
        # every test's teardown short (0.05 s cost up to 50 ms a test).
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def json_route(payload, status=200):
    def route(path, headers, body):
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode("utf-8")

    return route


def redirect_route(location):
    def route(path, headers, body):
        return 302, {"Location": location}, b""

    return route


class IdentityProvider:
    """Token and userinfo endpoints on 127.0.0.1; records every request."""

    def __init__(self, email="rita@acme.example", verified=True):
        self.email = email
        self.verified = verified
        self.codes = {"good-code": "provider-token-1"}
        self.server = LoopbackServer({"/token": self._token, "/userinfo": self._userinfo})

    def _token(self, path, headers, body):
        form = parse_qs(body.decode())
        token = self.codes.get(form.get("code", [""])[0])
        if token is None:
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        return 200, {"Content-Type": "application/json"}, json.dumps({"access_token": token}).encode()

    def _userinfo(self, path, headers, body):
        if headers.get("Authorization") not in {f"Bearer {t}" for t in self.codes.values()}:
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_token"}'
        payload = {"email": self.email, "email_verified": self.verified}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def calls(self, path):
        return [r for r in self.server.requests if r["path"].split("?")[0] == path]



# ------------------------------------------------------------- Celery worker


class CeleryWorker:
    """A real Celery worker process (solo pool) against the private Redis."""

    def __init__(self):
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "talentflow.settings.testing"
        env["PYTHONPATH"] = str(PROJECT)
        env["TALENTFLOW_CELERY_WORKER"] = "1"
        self.log = tempfile.NamedTemporaryFile(prefix="talentflow-worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "talentflow", "worker", "-P", "solo", "-c", "1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
             "-n", f"tests-{os.getpid()}@localhost"],
            cwd=PROJECT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, app, timeout=60):
        """Waits for the worker to answer a ping; fails at once if it exits first
        (a worker that cannot import the project never answers)."""
        from talentflow.celery import ping

        result = ping.apply_async()
        deadline = time.monotonic() + timeout
        while not result.ready():
            if self.proc.poll() is not None:
                with open(self.log.name, errors="replace") as log:
                    tail = log.read()[-2000:]
                raise RuntimeError(f"celery worker exited with {self.proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"celery worker did not answer a ping within {timeout} s")
            time.sleep(0.05)
        assert result.get(timeout=1) == "pong"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        os.unlink(self.log.name)


def committed_db():
    """Marker for tests whose threads need to see the test's rows (see conftest ``committed``)."""
    import pytest

    return pytest.mark.committed
