"""Starting the real wsd binary for tests driven by python3-websockets.

Every wait is bounded; servers listen on 127.0.0.1 with an ephemeral port
(the port is read from wsd's "listening on" log line).
"""
import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time

WSD = None          # set by run_all.py
PLUGIN_DIR = None   # set by run_all.py


def probe_config(extra=""):
    """The probe plugin on "/" (default) and the echo plugin on /echo."""
    return (
        f'plugin_dir: ["{PLUGIN_DIR}"]\n'
        "plugins:\n"
        "  - name: probe\n"
        "    file: probe.so\n"
        "    default: true\n"
        '    paths: ["/"]\n'
        "    config:\n"
        "      events_file: EVENTS_FILE\n"
        "  - name: echo\n"
        "    file: echo.so\n"
        '    paths: ["/echo"]\n' + extra
    )


def plugin_config(*plugins, extra=""):
    """A config with the given plugins: (name, file, paths, default) tuples."""
    text = f'plugin_dir: ["{PLUGIN_DIR}"]\nplugins:\n'
    for name, file, paths, default in plugins:
        text += (f"  - name: {name}\n    file: {file}\n"
                 f"    paths: [{', '.join(repr(p) for p in paths)}]\n"
                 f"    default: {'true' if default else 'false'}\n")
    return text + extra


async def recv(ws, timeout=5.0):
    """ws.recv() bounded by a timeout."""
    return await asyncio.wait_for(ws.recv(), timeout)


async def closed_by_server(ws, timeout=5.0):
    """Reads until the connection ends; returns the ConnectionClosed raised.
    Fails when a message arrives instead or nothing happens within timeout."""
    import websockets
    try:
        msg = await asyncio.wait_for(ws.recv(), timeout)
    except websockets.exceptions.ConnectionClosed as e:
        return e
    raise AssertionError(f"expected the connection to close, got a message: {msg!r:.200}")


async def send_then_closed(ws, message, timeout=5.0):
    """Sends a message the server is expected to refuse by closing; returns
    the ConnectionClosed (the close may already interrupt the send)."""
    import websockets
    try:
        await asyncio.wait_for(ws.send(message), timeout)
    except websockets.exceptions.ConnectionClosed as e:
        return e
    return await closed_by_server(ws, timeout)


def base_mode():
    return os.environ.get("WSD_TEST_MODE") == "base"


class Server:
    def __init__(self, yaml_body, args=(), start_timeout=10.0, files=None, env=None, nofile=None):
        """files: {name: bytes} written into the server's folder first (the
        config's folder, so relative paths in yaml_body find them).
        nofile: RLIMIT_NOFILE (soft and hard) for wsd, which cannot raise it."""
        self.dir = tempfile.mkdtemp(prefix="wsd-py-")
        for name, data in (files or {}).items():
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data)
        self.events_file = os.path.join(self.dir, "events.log")
        text = "host: 127.0.0.1\nport: 0\nlog_level: debug\n" + yaml_body
        text = text.replace("EVENTS_FILE", self.events_file)
        if base_mode() and "\nmode:" not in "\n" + text:
            # One suite, two modes: WSD_TEST_MODE=base runs every server in BASE mode.
            text += "\nmode: base\n"
        self.config = os.path.join(self.dir, "server.yaml")
        with open(self.config, "w") as f:
            f.write(text)
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log_file = open(self.log_path, "w")
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.proc = subprocess.Popen([WSD, "--config", self.config, *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log_file,
                                     env={**os.environ, **(env or {})}, preexec_fn=limit)
        self.port = None
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            log = self.log()
            if "wsd ready" in log:
                self.ports = [int(p) for p in re.findall(r"listening on [^ ]*:(\d+)", log)]
                self.port = self.ports[0]   # the first listener (host/port)
                return
            if self.proc.poll() is not None:
                raise RuntimeError("wsd exited at start:\n" + log)
            time.sleep(0.01)
        raise RuntimeError("wsd did not become ready:\n" + self.log())

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self):
        with open(self.log_path, errors="replace") as f:  # plugins may log binary payloads
            return f.read()

    def events(self):
        try:
            with open(self.events_file) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_events(self, needle, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events() if needle in e]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    async def await_events(self, needle, count=1, timeout=5.0):
        """wait_events without blocking the event loop (the client keeps
        answering pings and close frames meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events() if needle in e]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.01)

    async def await_exit(self, timeout=10.0):
        """Waits (without blocking the loop) until wsd exits; returns its
        status, or None when it is still running after timeout."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.proc.poll()

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if not os.environ.get("WSD_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)


def process_only(reason):
    """Marks a test of PROCESS-mode routing (cross-worker push, dispatch
    modes): skipped when the suite runs in BASE mode, where the documented
    behaviour differs and has tests of its own. `reason` says which."""
    def mark(fn):
        fn.wsd_process_only = reason
        return fn
    return mark


def requires(path, what):
    """Marks a test that needs an installed program (path): run_all reports
    it as skipped, not failed, when the program is missing."""
    def mark(fn):
        fn.wsd_requires = (path, what)
        return fn
    return mark


def pending(reason):
    """Marks a test of a feature that is not built yet (reason names the
    issue): run_all reports it as skipped instead of running it. Remove the
    mark in the change that builds the feature."""
    def mark(fn):
        fn.wsd_pending = reason
        return fn
    return mark
