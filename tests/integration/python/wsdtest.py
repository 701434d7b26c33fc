"""Starting the real wsd binary for tests driven by python3-websockets.

Every wait is bounded; servers listen on 127.0.0.1 with an ephemeral port
(the port is read from wsd's "listening on" log line).
"""
import os
import re
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


class Server:
    def __init__(self, yaml_body, args=(), start_timeout=10.0):
        self.dir = tempfile.mkdtemp(prefix="wsd-py-")
        self.events_file = os.path.join(self.dir, "events.log")
        text = "host: 127.0.0.1\nport: 0\nlog_level: debug\n" + yaml_body
        text = text.replace("EVENTS_FILE", self.events_file)
        self.config = os.path.join(self.dir, "server.yaml")
        with open(self.config, "w") as f:
            f.write(text)
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([WSD, "--config", self.config, *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.port = None
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            log = self.log()
            if "wsd ready" in log:
                m = re.search(r"listening on [^ ]*:(\d+)", log)
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError("wsd exited at start:\n" + log)
            time.sleep(0.01)
        raise RuntimeError("wsd did not become ready:\n" + self.log())

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self):
        with open(self.log_path) as f:
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
