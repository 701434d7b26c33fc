"""Servers under test for the benchmark scripts: wsd (PROCESS or BASE mode,
echo or broadcast plugin) and the Node.js `ws` package, each started on a
free loopback port, checked to answer before use, and stopped for sure.

Every server runs in its own session (process group), so stop() can kill
wsd's workers too, and stop_all() (called from the scripts' finally blocks)
leaves nothing behind after an error or Ctrl-C.
"""
import json
import os
import selectors
import signal
import socket
import subprocess
import time

import wsclient

HOST = "127.0.0.1"
CHECK_TEXT = b"wsd-bench-check"

_live = set()


def free_port():
    """A port nobody listens on now. wsd is told the number (its port 0 is
    only logged at level info, which would also log every connection of the
    broadcast plugin); the window until it binds is short and only loopback
    listeners could take it."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pinned_to(cpus):
    """A Popen preexec_fn that confines the child (and what it spawns) to
    these CPUs, or None when cpus is empty."""
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


class Server:
    """A started server process. kind is 'echo' or 'broadcast' (the check)."""

    def __init__(self, label, argv, kind, log_path, port=None, port_from_stdout=False,
                 slow=False, cpus=None):
        """slow: the server runs under valgrind: longer start, check and stop
        timeouts (a SIGKILL would lose callgrind's output). cpus: the CPUs it
        may run on (inherited by its worker processes), or None for any."""
        self.label = label
        self.kind = kind
        self.check_timeout = 20.0 if slow else 2.0
        self.stop_timeout = 120.0 if slow else 5.0
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if port_from_stdout else self.log,
                                     stderr=self.log, start_new_session=True,
                                     preexec_fn=pinned_to(cpus))
        _live.add(self)
        self.pid = self.proc.pid
        self.port = port
        try:
            if port_from_stdout:
                self.port = self._read_port(10.0)
            self._wait_answering(120.0 if slow else 20.0)
        except BaseException:
            self.stop()
            raise

    def _read_port(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise RuntimeError(f"{self.label}: no port announced within {timeout} s\n{self.log_tail()}")
            chunk = os.read(self.proc.stdout.fileno(), 256)
            if not chunk:
                raise RuntimeError(f"{self.label}: exited before announcing its port\n{self.log_tail()}")
            line += chunk
        sel.close()
        words = line.split()
        if len(words) != 2 or words[0] != b"port":
            raise RuntimeError(f"{self.label}: unexpected first line {line!r}")
        return int(words[1])

    def _wait_answering(self, timeout):
        """Retries the check until it passes; the server may still be
        binding or (wsd PROCESS) waiting for its workers' hello."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label}: exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                self._check()
                return
            except (OSError, ValueError, ConnectionError) as e:
                last = e
                time.sleep(0.1)
        raise RuntimeError(f"{self.label}: did not answer within {timeout} s ({last})\n{self.log_tail()}")

    def _check(self):
        ws = wsclient.WebSocket(HOST, self.port, "/", timeout=self.check_timeout)
        try:
            if self.kind == "echo":
                for opcode in (wsclient.TEXT, wsclient.BINARY):
                    ws.send(opcode, CHECK_TEXT)
                    got = ws.recv()
                    if got != (opcode, CHECK_TEXT):
                        raise ValueError(f"echo check got {got!r}")
            else:
                status = wsclient.http_get(HOST, self.port, "/?message=" + CHECK_TEXT.decode())
                if status != 200:
                    raise ValueError(f"broadcast GET answered {status}")
                got = ws.recv()
                if got[1] != CHECK_TEXT:
                    raise ValueError(f"broadcast check got {got!r}")
        finally:
            ws.close()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM (wsd stops gracefully, closing its workers), then SIGKILL
        for the whole process group, whatever is left of it."""
        if self not in _live:
            return
        _live.discard(self)
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def stop_all():
    for server in list(_live):
        server.stop()


# ---------------------------------------------------------------- wsd

WSD_CONFIG = """\
# Written by bench/servers.py for one benchmark run.
host: {host}
port: {port}
mode: {mode}
worker_num: {workers}
reactor_num: {reactors}
log_level: warning
shutdown_timeout: {shutdown_timeout}s
max_connection: 1000000
plugins:
  - name: {plugin}
    file: {plugin_file}
    default: true
    paths: ["/"]
    config:
      relay: {relay}
"""


def start_wsd(wsd, plugins_dir, mode, workers, reactors, kind, workdir, label, wrapper=(), cpus=None):
    """wsd with the echo plugin (kind 'echo') or the broadcast example
    (kind 'broadcast'). wrapper: a command to run it under (valgrind); the
    master then waits longer for its workers to stop, as they must write
    their profiles before they exit."""
    port = free_port()
    plugin = "echo" if kind == "echo" else "broadcast"
    cfg = os.path.join(workdir, f"{label}.yaml")
    plugin_file = os.path.join(os.path.abspath(plugins_dir), plugin + ".so")
    with open(cfg, "w") as f:
        f.write(WSD_CONFIG.format(host=HOST, port=port, mode=mode, workers=workers, reactors=reactors,
                                  shutdown_timeout=30 if wrapper else 1, plugin=plugin,
                                  plugin_file=plugin_file, relay="true" if kind == "broadcast" else "false"))
    argv = list(wrapper) + [os.path.abspath(wsd), "--config", cfg]
    return Server(label, argv, kind, os.path.join(workdir, f"{label}.log"), port=port, slow=bool(wrapper),
                  cpus=cpus)


# ---------------------------------------------------------------- Node ws

# The echo server of the `ws` package's README; with the argument "relay", a
# chat room instead: each message goes to every client (the broadcast the
# load generator's --publish-ws uses; wsd's broadcast example with relay:
# true). GET /?message=TEXT also sends TEXT to every client.
NODE_SERVER = """\
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');
const server = http.createServer((req, res) => {
  const message = new URL(req.url, 'http://localhost').searchParams.get('message');
  if (message === null) { res.writeHead(400); res.end(); return; }
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
  res.end('ok');
});
const wss = new WebSocketServer({ server });
const relay = process.argv[2] === 'relay';
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => {
  if (!relay) { ws.send(data, { binary: isBinary }); return; }
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
}));
server.listen(0, '127.0.0.1', () => console.log('port', server.address().port));
"""


def install_node_ws(workdir, version):
    """npm-installs ws@version into workdir/node (a temporary folder) and
    writes the server there. Returns (server.js path, installed version)."""
    folder = os.path.join(workdir, "node")
    os.makedirs(folder, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", folder, "--no-audit", "--no-fund", "--no-save",
                    "--loglevel=error", f"ws@{version}"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(folder, "node_modules", "ws", "package.json")) as f:
        installed = json.load(f)["version"]
    js = os.path.join(folder, "server.js")
    with open(js, "w") as f:
        f.write(NODE_SERVER)
    return js, installed


def start_node(node, js, kind, workdir, label):
    argv = [node, js] + (["relay"] if kind == "broadcast" else [])
    return Server(label, argv, kind, os.path.join(workdir, f"{label}.log"), port_from_stdout=True)
